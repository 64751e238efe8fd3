//! Home Assistant wired to the engine: connect/disconnect for either transport
//! (token or broker password in the keyring, tested before anything is saved), and
//! the task that pushes each new snapshot. A push runs on its own task with a time
//! limit, so Home Assistant trouble never delays Monzo polling or the tray.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::client::{HaClient, HaFailure};
use super::mqtt::{self, pusher::MqttPusher};
use super::pusher::{PushReport, PushState, PushStatus, Pusher};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::household::Household;
use crate::secrets::SecretKind;
use crate::settings::{HaTransport, HomeAssistantSettings, MqttSettings};
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

fn mqtt_failure_sentence(failure: HaFailure) -> Error {
    match failure {
        HaFailure::Unauthorized => Error::InvalidInput(
            "The MQTT broker refused the user name or password (or this user may not connect).".into(),
        ),
        HaFailure::Unreachable(why) => {
            Error::InvalidInput(format!("The MQTT broker could not be reached: {why}."))
        }
        HaFailure::Rejected(why) => Error::InvalidInput(format!("The MQTT broker could not be used: {why}.")),
    }
}

/// Tests the connection, then saves: token to the keyring, URL to settings. Nothing
/// is saved if the test fails. Coming from MQTT, its entities are removed first (best
/// effort), so the REST states can take the same entity ids.
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
    retire_mqtt(household).await;
    let url = client.base().to_string();
    household.update(|s| {
        s.home_assistant.transport = HaTransport::Rest;
        s.home_assistant.url = Some(url);
        s.home_assistant.ca_file = ca_file;
        s.home_assistant.enabled = true;
    })
}

/// Tests the broker, then saves: password (if any) to the keyring, the broker to
/// settings. Nothing is saved if the test fails. Coming from REST, its states are
/// deleted first (best effort), so discovery can take the same entity ids.
pub async fn connect_mqtt(
    household: &Household,
    settings: MqttSettings,
    password: Option<&str>,
) -> Result<()> {
    mqtt::test(&settings, password)
        .await?
        .map_err(mqtt_failure_sentence)?;
    let secrets = household.secrets();
    match password {
        Some(password) => {
            secrets
                .set(SECRET_OWNER, SecretKind::MqttPassword, password)
                .await?
        }
        None => secrets.delete(SECRET_OWNER, SecretKind::MqttPassword).await?,
    }
    retire_rest(household).await;
    household.update(|s| {
        s.home_assistant.transport = HaTransport::Mqtt;
        s.home_assistant.mqtt = Some(settings);
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

/// Tests a broker without saving anything ("Test connection").
pub async fn test_mqtt(settings: &MqttSettings, password: Option<&str>) -> Result<()> {
    mqtt::test(settings, password)
        .await?
        .map_err(mqtt_failure_sentence)
}

/// Stops pushing and forgets the token and password; entity ids are kept, so
/// connecting again gives the same sensors.
pub async fn disconnect(household: &Household) -> Result<()> {
    for kind in [SecretKind::HomeAssistantToken, SecretKind::MqttPassword] {
        household.secrets().delete(SECRET_OWNER, kind).await?;
    }
    household.update(|s| s.home_assistant.enabled = false)
}

/// What a removal on switching transports may take, at most.
const RETIRE_TIMEOUT: Duration = Duration::from_secs(15);

/// Removes the REST transport's states, when it was the one in use.
async fn retire_rest(household: &Household) {
    let settings = household.settings().home_assistant;
    let (HaTransport::Rest, true, Some(url)) = (settings.transport, settings.enabled, settings.url) else {
        return;
    };
    let Ok(Some(token)) = household
        .secrets()
        .get(SECRET_OWNER, SecretKind::HomeAssistantToken)
        .await
    else {
        return;
    };
    let Ok(client) = HaClient::new(&url, &token, settings.ca_file.as_deref()) else {
        return;
    };
    // Everything remembered is "gone" from an empty snapshot; the ids are kept.
    let mut scratch = settings.entities.clone();
    let (mut pusher, nobody) = (Pusher::new(client), Snapshot::default());
    let removal = pusher.push(&nobody, &mut scratch);
    match tokio::time::timeout(RETIRE_TIMEOUT, removal).await {
        Ok(report) if report.state.status == PushStatus::Ok => {
            tracing::info!(
                removed = report.requests,
                "removed the REST states before switching to MQTT"
            )
        }
        _ => {
            tracing::warn!("could not remove the REST states; Home Assistant may number the new entities _2")
        }
    }
}

/// Removes the MQTT transport's entities and devices, when it was the one in use.
async fn retire_mqtt(household: &Household) {
    let settings = household.settings().home_assistant;
    let (HaTransport::Mqtt, true, Some(mqtt)) = (settings.transport, settings.enabled, settings.mqtt) else {
        return;
    };
    let password = household
        .secrets()
        .get(SECRET_OWNER, SecretKind::MqttPassword)
        .await
        .ok()
        .flatten();
    let Ok(mut pusher) = mqtt::start(&mqtt, password.as_deref()) else {
        return;
    };
    let (mut scratch, nobody) = (settings.entities.clone(), Snapshot::default());
    let removal = pusher.push(&nobody, &mut scratch);
    match tokio::time::timeout(RETIRE_TIMEOUT, removal).await {
        Ok(report) if report.state.status == PushStatus::Ok => {
            tracing::info!(
                removed = report.requests,
                "removed the MQTT entities before switching to REST"
            )
        }
        _ => tracing::warn!("could not remove the MQTT entities; they stay in Home Assistant, unavailable"),
    }
}

/// The pusher in use, kept while its settings and secret stay the same.
enum Active {
    Rest {
        key: (String, String),
        pusher: Pusher,
    },
    Mqtt {
        key: (MqttSettings, Option<String>),
        pusher: MqttPusher,
    },
}

/// A pusher for the current settings.
#[derive(Default)]
pub struct PusherSlot {
    current: Option<Active>,
}

impl PusherSlot {
    /// Pushes `snapshot` if Home Assistant is set up; publishes the outcome on the
    /// engine. `None` when it is off.
    pub async fn push(&mut self, engine: &Engine, snapshot: &Snapshot) -> Option<PushReport> {
        let household = engine.household();
        let settings = household.settings().home_assistant;
        let configured = match settings.transport {
            HaTransport::Rest => settings.url.is_some(),
            HaTransport::Mqtt => settings.mqtt.is_some(),
        };
        if !(configured && settings.enabled) {
            self.current = None;
            engine.set_push_state(configured.then(|| PushState {
                transport: settings.transport,
                ..PushState::off()
            }));
            return None;
        }
        if let Err(report) = self.prepare(engine, &settings).await {
            return Some(report);
        }
        let mut ids = settings.entities.clone();
        let push = async {
            match self.current.as_mut() {
                Some(Active::Rest { pusher, .. }) => Some(pusher.push(snapshot, &mut ids).await),
                Some(Active::Mqtt { pusher, .. }) => Some(pusher.push(snapshot, &mut ids).await),
                None => None,
            }
        };
        let report = match tokio::time::timeout(PUSH_TIMEOUT, push).await {
            Ok(Some(report)) => report,
            Ok(None) => return None,
            Err(_) => PushReport {
                requests: 0,
                state: PushState {
                    transport: settings.transport,
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

    /// Makes `current` match the settings: reuses the pusher when nothing changed.
    async fn prepare(
        &mut self,
        engine: &Engine,
        settings: &HomeAssistantSettings,
    ) -> std::result::Result<(), PushReport> {
        let secrets = engine.household().secrets();
        match (&settings.transport, &settings.url, &settings.mqtt) {
            (HaTransport::Rest, Some(url), _) => {
                let token = match secrets.get(SECRET_OWNER, SecretKind::HomeAssistantToken).await {
                    Ok(Some(token)) => token,
                    Ok(None) => {
                        return Err(self.report(engine, PushStatus::Unauthorized, "no token is stored"))
                    }
                    Err(err) => return Err(self.report(engine, PushStatus::Rejected, &err.to_string())),
                };
                let key = (url.clone(), token);
                if matches!(&self.current, Some(Active::Rest { key: k, .. }) if *k == key) {
                    return Ok(());
                }
                match HaClient::new(&key.0, &key.1, settings.ca_file.as_deref()) {
                    Ok(client) => {
                        self.current = Some(Active::Rest {
                            key,
                            pusher: Pusher::new(client),
                        })
                    }
                    Err(err) => return Err(self.report(engine, PushStatus::Rejected, &err.to_string())),
                }
            }
            (HaTransport::Mqtt, _, Some(mqtt)) => {
                let password = match secrets.get(SECRET_OWNER, SecretKind::MqttPassword).await {
                    Ok(password) => password,
                    Err(err) => return Err(self.report(engine, PushStatus::Rejected, &err.to_string())),
                };
                let key = (mqtt.clone(), password);
                if matches!(&self.current, Some(Active::Mqtt { key: k, .. }) if *k == key) {
                    return Ok(());
                }
                // The old connection (if any) ends first: one client per app.
                self.current = None;
                match mqtt::start(&key.0, key.1.as_deref()) {
                    Ok(pusher) => self.current = Some(Active::Mqtt { key, pusher }),
                    Err(err) => return Err(self.report(engine, PushStatus::Rejected, &err.to_string())),
                }
            }
            _ => self.current = None,
        }
        Ok(())
    }

    /// Forces the next push to read back a state (to notice a restarted Home
    /// Assistant at once). MQTT needs none: Home Assistant announces itself.
    pub fn verify_next_push(&mut self) {
        if let Some(Active::Rest { pusher, .. }) = self.current.as_mut() {
            pusher.verify_next_push();
        }
    }

    /// Resolves when the MQTT connection calls for a push (connected, lost, or
    /// Home Assistant restarted); never for REST.
    pub async fn link_changed(&self) {
        match &self.current {
            Some(Active::Mqtt { pusher, .. }) => pusher.link_changed().await,
            _ => std::future::pending().await,
        }
    }

    fn report(&mut self, engine: &Engine, status: PushStatus, message: &str) -> PushReport {
        self.current = None;
        let state = PushState {
            transport: engine.household().settings().home_assistant.transport,
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
        let link_changed = tokio::select! {
            changed = snapshots.changed() => if changed.is_err() { break } else { false },
            _ = slot.link_changed() => true,
            _ = shutdown.changed() => break,
        };
        let snapshot = snapshots.borrow_and_update().clone();
        // Our own status updates change the snapshot too; only balances matter here.
        if !link_changed && last_people.as_ref() == Some(&snapshot.people) {
            continue;
        }
        slot.push(&engine, &snapshot).await;
        last_people = Some(snapshot.people);
    }
}
