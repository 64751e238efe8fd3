//! The settings window follows events, not a timer: a new snapshot, a change of the
//! Home Assistant push status, and a step of the sign-in under way are each sent to
//! the window as a Tauri event (no payload: the window asks for the redacted view it
//! needs). With no window open, nothing is sent.

use std::sync::Arc;

use monzo_tray_core::service::AppService;
use tauri::{AppHandle, Emitter, Manager};

use super::window::SETTINGS;

pub const SNAPSHOT_CHANGED: &str = "snapshot-changed";
pub const PUSH_STATUS_CHANGED: &str = "push-status-changed";
pub const SIGN_IN_CHANGED: &str = "sign-in-changed";

pub fn forward(app: AppHandle, service: Arc<AppService>) {
    tauri::async_runtime::spawn(async move {
        let mut changes = service.changes();
        loop {
            let event = tokio::select! {
                changed = changes.snapshot.changed() => changed.map(|_| SNAPSHOT_CHANGED),
                changed = changes.push_status.changed() => changed.map(|_| PUSH_STATUS_CHANGED),
                changed = changes.sign_in.changed() => changed.map(|_| SIGN_IN_CHANGED),
            };
            let Ok(event) = event else {
                break;
            };
            tell_window(&app, event);
        }
    });
}

/// Sends `event` to the settings window, if it is open.
pub fn tell_window(app: &AppHandle, event: &str) {
    if app.get_webview_window(SETTINGS).is_some() {
        if let Err(err) = app.emit_to(SETTINGS, event, ()) {
            tracing::debug!(%err, event, "could not tell the settings window");
        }
    }
}
