//! The app's background work, started together and stopped together: the poll
//! engine, and the Home Assistant push that follows its snapshots. [`run`] returns
//! only when both have stopped and what they hold is saved (tokens rotated during a
//! refresh are in the keyring), so a caller that waits for it before exiting loses
//! no sign-in (mini-redis's `server::run` is the model).

use std::sync::Arc;

use tokio::sync::watch;

use crate::engine::Engine;
use crate::home_assistant::{link, PushState};

/// Polls and pushes until `shutdown` turns true; then lets a poll or push under way
/// finish, saves what the sessions hold, and returns. How the push stands is
/// published on `push_status`.
pub async fn run(
    engine: Arc<Engine>,
    push_status: watch::Sender<Option<PushState>>,
    shutdown: watch::Receiver<bool>,
) {
    let push = tokio::spawn(link::follow(
        engine.household().clone(),
        engine.subscribe(),
        engine.new_transactions(),
        push_status,
        shutdown.clone(),
    ));
    engine.run(shutdown).await;
    if let Err(err) = push.await {
        tracing::warn!(%err, "the Home Assistant push ended abnormally");
    }
    tracing::info!("polling and pushing stopped");
}
