//! Home Assistant wired to the engine: connect/disconnect (token in the keyring,
//! tested before anything is saved), and the task that pushes each new snapshot. A
//! push runs on its own task with a time limit, so Home Assistant trouble never
//! delays Monzo polling or the tray.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::client::{HaClient, HaFailure};
use super::pusher::{PushReport, PushState, PushStatus, Pusher};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::household::Household;
use crate::secrets::SecretKind;
use crate::snapshot::Snapshot;

/// The keyring owner of the Home Assistant token.
pub const SECRET_OWNER: &str = "home_assistant";
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(20);

fn failure_sentence(failure: HaFailure) -> Error {
    match failure {
        HaFailure::Unauthorized => Error::InvalidInput(
            "Home Assistant refused the token; make a new long-lived access token on your profile page."
                .into(),
        ),
        HaFailure::Unreachable(why) => {
            Error::InvalidInput(format!("Home Assistant could not be reached: {why}."))
        }
        HaFailure::Rejected(why) => Error::InvalidInput(format!("Home Assistant answered strangely: {why}.")),
    }
}

/// Tests the connection, then saves: token to the keyring, URL to settings. Nothing
/// is saved if the test fails.
pub async fn connect(household: &Household, url: &str, token: &str, ca_file: Option<PathBuf>) -> Result<()> {
    let client = HaClient::new(url, token, ca_file.as_deref())?;
    client.check().await.map_err(failure_sentence)?;
    household
        .secrets()
        .set(
            SECRET_OWNER,
            SecretKind::HomeAssistantToken,
            &super::client::clean_token(token)?,
        )
        .await?;
    let url = client.base().to_string();
    household.update(|s| {
        s.home_assistant.url = Some(url);
        s.home_assistant.ca_file = ca_file;
        s.home_assistant.enabled = true;
    })
}

/// Tests a connection without saving anything ("Test connection").
pub async fn test_connection(url: &str, token: &str, ca_file: Option<PathBuf>) -> Result<()> {
    HaClient::new(url, token, ca_file.as_deref())?
        .check()
        .await
        .map_err(failure_sentence)
}

/// Stops pushing and forgets the token; entity ids are kept, so connecting again
/// gives the same sensors.
pub async fn disconnect(household: &Household) -> Result<()> {
    household
        .secrets()
        .delete(SECRET_OWNER, SecretKind::HomeAssistantToken)
        .await?;
    household.update(|s| s.home_assistant.enabled = false)
}

/// A pusher for the current settings, kept while URL and token stay the same.
#[derive(Default)]
pub struct PusherSlot {
    current: Option<(String, String, Pusher)>,
}

impl PusherSlot {
    /// Pushes `snapshot` if Home Assistant is set up; publishes the outcome on the
    /// engine. `None` when it is off.
    pub async fn push(&mut self, engine: &Engine, snapshot: &Snapshot) -> Option<PushReport> {
        let household = engine.household();
        let settings = household.settings().home_assistant;
        let url = match (&settings.url, settings.enabled) {
            (Some(url), true) => url.clone(),
            _ => {
                self.current = None;
                engine.set_push_state(settings.url.as_ref().map(|_| PushState::off()));
                return None;
            }
        };
        let token = match household
            .secrets()
            .get(SECRET_OWNER, SecretKind::HomeAssistantToken)
            .await
        {
            Ok(Some(token)) => token,
            Ok(None) => return Some(self.report(engine, PushStatus::Unauthorized, "no token is stored")),
            Err(err) => return Some(self.report(engine, PushStatus::Rejected, &err.to_string())),
        };
        let reuse = matches!(&self.current, Some((u, t, _)) if *u == url && *t == token);
        if !reuse {
            match HaClient::new(&url, &token, settings.ca_file.as_deref()) {
                Ok(client) => self.current = Some((url, token, Pusher::new(client))),
                Err(err) => return Some(self.report(engine, PushStatus::Rejected, &err.to_string())),
            }
        }
        let (_, _, pusher) = self.current.as_mut()?;
        let mut ids = settings.entities.clone();
        let report = match tokio::time::timeout(PUSH_TIMEOUT, pusher.push(snapshot, &mut ids)).await {
            Ok(report) => report,
            Err(_) => PushReport {
                requests: 0,
                state: PushState {
                    status: PushStatus::Unreachable,
                    message: Some("it did not answer in time".into()),
                    last_ok_at: None,
                },
            },
        };
        if ids != settings.entities {
            if let Err(err) = household.update(|s| s.home_assistant.entities = ids) {
                tracing::warn!(%err, "could not remember the Home Assistant entity ids");
            }
        }
        engine.set_push_state(Some(report.state.clone()));
        Some(report)
    }

    /// Forces the next push to read back a state (to notice a restarted Home
    /// Assistant at once).
    pub fn verify_next_push(&mut self) {
        if let Some((_, _, pusher)) = self.current.as_mut() {
            pusher.verify_next_push();
        }
    }

    fn report(&mut self, engine: &Engine, status: PushStatus, message: &str) -> PushReport {
        self.current = None;
        let state = PushState {
            status,
            message: Some(message.to_owned()),
            last_ok_at: None,
        };
        engine.set_push_state(Some(state.clone()));
        PushReport { requests: 0, state }
    }
}

/// Pushes every snapshot whose balances changed, until `shutdown`.
pub async fn follow(engine: Arc<Engine>, mut shutdown: watch::Receiver<bool>) {
    let mut snapshots = engine.subscribe();
    snapshots.mark_changed();
    let mut slot = PusherSlot::default();
    let mut last_people = None;
    loop {
        tokio::select! {
            changed = snapshots.changed() => if changed.is_err() { break },
            _ = shutdown.changed() => break,
        }
        let snapshot = snapshots.borrow_and_update().clone();
        // Our own status updates change the snapshot too; only balances matter here.
        if last_people.as_ref() == Some(&snapshot.people) {
            continue;
        }
        slot.push(&engine, &snapshot).await;
        last_people = Some(snapshot.people);
    }
}
