//! The settings window: made when asked for and destroyed when closed, so the tray
//! alone stays light (a live webview costs far more memory than the tray: the README's
//! Performance section has the figures).

use tauri::{AppHandle, Emitter, Manager, WebviewUrl, WebviewWindowBuilder};

pub const SETTINGS: &str = "settings";

/// Which tab the window shows when it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Settings,
    History,
}

pub fn open_settings(app: &AppHandle) {
    open(app, Tab::Settings);
}

/// Opens the window on `tab` (an open window is brought up and, for History,
/// told to show it: the `show-history` event).
pub fn open(app: &AppHandle, tab: Tab) {
    if let Some(window) = app.get_webview_window(SETTINGS) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
        if tab == Tab::History {
            if let Err(err) = window.emit("show-history", ()) {
                tracing::warn!(%err, "could not show the History view");
            }
        }
        return;
    }
    let page = match tab {
        Tab::Settings => "index.html",
        Tab::History => "index.html#history",
    };
    let built = WebviewWindowBuilder::new(app, SETTINGS, WebviewUrl::App(page.into()))
        .title("monzo-tray")
        .inner_size(620.0, 720.0)
        .min_inner_size(420.0, 480.0)
        .build();
    if let Err(err) = built {
        tracing::error!(%err, "could not open the settings window");
    }
}
