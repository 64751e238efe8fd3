//! Desktop notifications (notify-rust). Never blocks the app: shown on a blocking
//! thread; with no notification service it fails fast, and that is only logged.

use monzo_tray_core::notifications::Notification;

pub fn show(notification: Notification) {
    tauri::async_runtime::spawn_blocking(move || {
        let shown = notify_rust::Notification::new()
            .appname("monzo-tray")
            .summary(&notification.title)
            .body(&notification.body)
            .icon("monzo-tray")
            .show();
        if let Err(err) = shown {
            tracing::warn!(%err, title = %notification.title, "could not show a notification");
        }
    });
}
