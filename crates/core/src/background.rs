//! The app's background work, started together and stopped together: the poll
//! engine, and the Home Assistant push that follows its snapshots. [`run`] returns
//! only when both have stopped and what they hold is saved (tokens rotated during a
//! refresh are in the keyring), so a caller that waits for it before exiting loses
//! no sign-in (mini-redis's `server::run` is the model).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::engine::Engine;

use crate::home_assistant::{link, PushState};
/// The one signal that stops the background work: [`Stop::cancel`] asks (from a
/// signal handler, the tray's Quit, a failed write), every task holding a clone
/// stops, and nothing else does: dropping a clone asks nothing. (tokio-util's
/// cancellation token; a `watch` channel's closing meant "stop" to one task and
/// "never stop" to another.)
pub use tokio_util::sync::CancellationToken as Stop;

/// How often the settings file is looked at for another process's change (a `login`
/// or `ha connect` beside the running app, a hand edit). Reading a small file is
/// cheaper than a file watcher's thread, and works the same on every platform.
pub(crate) const SETTINGS_WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// Polls and pushes until `stop` is cancelled, following changes other processes
/// make to the settings; then gives up a poll under way, lets a push under way end,
/// saves what the sessions hold, and returns the names of people whose rotated
/// tokens could not be stored (they must sign in again). How the push stands is
/// published on `push_status`.
pub async fn run(
    engine: Arc<Engine>,
    push_status: watch::Sender<Option<PushState>>,
    stop: Stop,
) -> Vec<String> {
    let settings = tokio::spawn(follow_settings(engine.clone(), stop.clone()));
    let statistics = tokio::spawn(import_statistics_daily(engine.clone(), stop.clone()));
    let push = tokio::spawn(link::follow(
        engine.household().clone(),
        engine.subscribe(),
        engine.new_transactions(),
        push_status,
        stop.clone(),
    ));
    let lost = engine.run(stop).await;
    if let Err(err) = push.await {
        tracing::warn!(%err, "the Home Assistant push ended abnormally");
    }
    settings.abort();
    statistics.abort();
    tracing::info!("polling and pushing stopped");
    lost
}

/// How often the statistics import looks whether it is due.
const STATISTICS_CHECK_INTERVAL: Duration = Duration::from_secs(60);
/// How often the balance history goes to Home Assistant's long-term statistics
/// again (each day adds a point; the import replaces what is there).
const STATISTICS_EVERY: chrono::Duration = chrono::Duration::hours(24);
/// How long after a failed import it is tried again.
const STATISTICS_RETRY: chrono::Duration = chrono::Duration::hours(1);

/// Imports the balance history into Home Assistant's long-term statistics when
/// Home Assistant is connected (through REST) and someone is live: at once after a
/// connection (a new address), then daily, until `stop`.
async fn import_statistics_daily(engine: Arc<Engine>, stop: Stop) {
    let Some(store) = engine.history().cloned() else {
        return;
    };
    let mut last: Option<(String, chrono::DateTime<chrono::Utc>)> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(STATISTICS_CHECK_INTERVAL) => {}
            () = stop.cancelled() => return,
        }
        let household = engine.household();
        let settings = household.settings();
        let Some(url) = settings
            .home_assistant
            .url
            .clone()
            .filter(|_| settings.home_assistant.enabled)
        else {
            continue;
        };
        let now = household.clock().now();
        let due = last
            .as_ref()
            .is_none_or(|(done_for, at)| *done_for != url || now - *at >= STATISTICS_EVERY);
        let snapshot = engine.snapshot();
        if !due
            || !snapshot
                .people
                .iter()
                .any(|p| p.state == crate::snapshot::ConnectionState::Live)
        {
            continue;
        }
        match crate::home_assistant::statistics::import_balance_history(household, &store, &snapshot, now)
            .await
        {
            Ok(count) => {
                tracing::info!(count, "balance history imported into Home Assistant's statistics");
                last = Some((url, now));
            }
            Err(failure) => {
                // Not every minute: each try reads the whole history again.
                last = Some((url, now - STATISTICS_EVERY + STATISTICS_RETRY));
                let failure =
                    crate::home_assistant::failure_line(crate::settings::HaTransport::Rest, &failure);
                tracing::warn!(%failure, "balance history not imported into Home Assistant's statistics; tried again in an hour");
            }
        }
    }
}

/// Reads the settings again every [`SETTINGS_WATCH_INTERVAL`] and tells the engine
/// what changed, until `stop`.
async fn follow_settings(engine: Arc<Engine>, stop: Stop) {
    let household = engine.household().clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(SETTINGS_WATCH_INTERVAL) => {}
            () = stop.cancelled() => return,
        }
        let people_before = household.settings().people;
        match household.reload_if_changed() {
            Ok(true) => {
                let people_changed = household.settings().people != people_before;
                tracing::info!(
                    people_changed,
                    "the settings were changed elsewhere; following them"
                );
                engine.settings_changed(people_changed);
            }
            Ok(false) => {}
            Err(err) => tracing::debug!(%err, "could not read the settings again"),
        }
    }
}
