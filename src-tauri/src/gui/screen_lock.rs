//! Pauses polling while the screen is locked and catches up on unlock, where the
//! desktop says so: the screensavers of GNOME, KDE/freedesktop, Cinnamon and MATE
//! all send `ActiveChanged(bool)` on the session bus.

use std::sync::Arc;

use futures::StreamExt;
use monzo_tray_core::service::AppService;
use zbus::message::Type;
use zbus::MatchRule;

const SCREENSAVERS: [&str; 4] = [
    "org.gnome.ScreenSaver",
    "org.freedesktop.ScreenSaver",
    "org.cinnamon.ScreenSaver",
    "org.mate.ScreenSaver",
];

pub fn follow(service: Arc<AppService>) {
    tauri::async_runtime::spawn(async move {
        if let Err(err) = watch(&service).await {
            tracing::info!(%err, "not following the screen lock (no session bus)");
        }
    });
}

async fn watch(service: &AppService) -> zbus::Result<()> {
    let connection = zbus::Connection::session().await?;
    let rule = MatchRule::builder()
        .msg_type(Type::Signal)
        .member("ActiveChanged")?
        .build();
    let mut signals = zbus::MessageStream::for_match_rule(rule, &connection, None).await?;
    while let Some(message) = signals.next().await {
        let Ok(message) = message else { continue };
        let header = message.header();
        let from_screensaver = header
            .interface()
            .is_some_and(|i| SCREENSAVERS.contains(&i.as_str()));
        if !from_screensaver {
            continue;
        }
        if let Ok(locked) = message.body().deserialize::<bool>() {
            tracing::info!(locked, "screen lock changed");
            service.set_paused(locked);
        }
    }
    Ok(())
}
