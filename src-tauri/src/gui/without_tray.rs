//! When no tray icon can be seen, the settings window is the app: it opens by itself
//! (at start, after at most [`FIRST_ANSWER`], and whenever the tray host goes away),
//! says why in one line, and closing it asks whether to quit, since nothing else
//! would remain on screen. The window learns of changes through
//! [`TRAY_HOST_CHANGED`] and of a close to confirm through [`QUIT_ASKED`].

use std::time::Duration;

use monzo_tray_core::tray_host::no_tray_host_line;
use serde::Serialize;
use tauri::{AppHandle, Emitter};

use super::tray_host::TrayHost;
use super::window::{self, SETTINGS};

pub const TRAY_HOST_CHANGED: &str = "tray-host-changed";
pub const QUIT_ASKED: &str = "quit-asked";

/// How long start-up waits to learn whether a tray host is there before opening the
/// window anyway: an app nobody can see is worse than a window too many. (The
/// answer takes one D-Bus call, milliseconds on a working session bus.)
const FIRST_ANSWER: Duration = Duration::from_secs(3);

/// What the settings window shows about the tray: `shown` is `null` while not
/// known; `line` (one sentence) only when no tray host is there.
#[derive(Debug, Clone, Serialize)]
pub struct TrayHostView {
    pub shown: Option<bool>,
    pub line: Option<String>,
}

pub fn view(host: &TrayHost) -> TrayHostView {
    let shown = *host.borrow();
    let desktop = std::env::var("XDG_CURRENT_DESKTOP").ok();
    TrayHostView {
        shown,
        line: (shown == Some(false)).then(|| no_tray_host_line(desktop.as_deref())),
    }
}

/// Whether closing the settings window leaves the app on screen (in the tray).
pub fn tray_shown(host: &TrayHost) -> bool {
    *host.borrow() == Some(true)
}

/// Opens the settings window when the tray cannot be seen, now and on every change.
pub fn follow(app: AppHandle, mut host: TrayHost) {
    tauri::async_runtime::spawn(async move {
        // The guard `wait_for` returns is dropped at once: it holds the value's lock.
        let known = tokio::time::timeout(FIRST_ANSWER, host.wait_for(Option::is_some))
            .await
            .is_ok_and(|answer| answer.is_ok());
        if !tray_shown(&host) {
            tracing::info!(known, "no tray icon can be seen: opening the settings window");
            window::open_settings(&app);
        }
        while host.changed().await.is_ok() {
            let shown = *host.borrow_and_update();
            if shown == Some(false) {
                tracing::info!("the tray host went away: opening the settings window");
                window::open_settings(&app);
            }
            if let Err(err) = app.emit_to(SETTINGS, TRAY_HOST_CHANGED, ()) {
                tracing::debug!(%err, "could not tell the settings window about the tray");
            }
        }
    });
}

/// The settings window was asked to close. With a tray to fall back on it closes;
/// without one it stays, and asks whether to quit.
pub fn on_close_requested(app: &AppHandle, host: &TrayHost, api: &tauri::CloseRequestApi) {
    if tray_shown(host) {
        return;
    }
    api.prevent_close();
    if let Err(err) = app.emit_to(SETTINGS, QUIT_ASKED, ()) {
        tracing::warn!(%err, "could not ask the settings window whether to quit");
    }
}
