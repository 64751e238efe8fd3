//! The settings window: made when asked for and destroyed when closed, so the tray
//! alone stays light (a live webview costs far more memory than the tray: the README's
//! Performance section has the figures).

use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder};

pub const SETTINGS: &str = "settings";

pub fn open_settings(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(SETTINGS) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
        return;
    }
    let built = WebviewWindowBuilder::new(app, SETTINGS, WebviewUrl::App("index.html".into()))
        .title("monzo-tray")
        .inner_size(620.0, 720.0)
        .min_inner_size(420.0, 480.0)
        .build();
    if let Err(err) = built {
        tracing::error!(%err, "could not open the settings window");
    }
}
