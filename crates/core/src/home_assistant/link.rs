//! Home Assistant wired to settings and the snapshot: connect/disconnect for either
//! transport (token or broker password in the keyring, tested before anything is
//! saved), and the task that pushes each new snapshot and publishes how the push
//! stands on a `watch` channel of its own. A push runs on its own task with a time
//! limit, so Home Assistant trouble never delays Monzo polling or the tray.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use super::mqtt;
use super::rest::client::{clean_token, HaClient};
use super::rest::RestTransport;
use super::{people_ids, HaFailure, PushReport, PushState, PushStatus, Pusher, Transport};
use crate::error::{Error, Result};
use crate::household::Household;
use crate::secrets::SecretKind;
use crate::settings::{HaTransport, HomeAssistantSettings, MqttSettings};
use crate::snapshot::Snapshot;
use crate::transactions::AccountTransaction;

/// The keyring owner of Home Assistant's secrets: its long-lived token (REST) and
/// the MQTT broker's password.
pub const SECRET_OWNER: &str = crate::household::HOME_ASSISTANT_OWNER;
/// What one push may take, at most.
pub(crate) const PUSH_TIMEOUT: Duration = Duration::from_secs(20);
/// What a removal on switching transports may take, at most.
const RETIRE_TIMEOUT: Duration = Duration::from_secs(15);

/// A failed connection test as an error of its kind, in the status line's words.
fn test_failed(transport: HaTransport, failure: HaFailure) -> Error {
    failure.into_error(transport)
}

/// Tests the connection, then saves: token to the keyring, URL to settings. Nothing
/// is saved if the test fails. Coming from MQTT, its entities are removed first (best
/// effort), so the REST states can take the same entity ids.
pub async fn connect(household: &Household, url: &str, token: &str, ca_file: Option<PathBuf>) -> Result<()> {
    let url = check_and_keep_token(household, url, token, ca_file.as_deref()).await?;
    retire(household, HaTransport::Mqtt).await;
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
    test_mqtt(&settings, password).await?;
    let secrets = household.secrets();
    match password {
        Some(password) => {
            secrets
                .set(SECRET_OWNER, SecretKind::MqttPassword, password)
                .await?
        }
        None => secrets.delete(SECRET_OWNER, SecretKind::MqttPassword).await?,
    }
    retire(household, HaTransport::Rest).await;
    household.update(|s| {
        s.home_assistant.transport = HaTransport::Mqtt;
        s.home_assistant.mqtt = Some(settings);
        s.home_assistant.enabled = true;
    })
}

/// Tests Home Assistant at `url` with `token` (`GET /api/`), then keeps the token in
/// the keyring. Returns the address as it is saved. Nothing is kept if the test
/// fails.
async fn check_and_keep_token(
    household: &Household,
    url: &str,
    token: &str,
    ca_file: Option<&std::path::Path>,
) -> Result<String> {
    let client = HaClient::new(url, token, ca_file)?;
    client
        .check()
        .await
        .map_err(|f| test_failed(HaTransport::Rest, f))?;
    household
        .secrets()
        .set(SECRET_OWNER, SecretKind::HomeAssistantToken, &clean_token(token)?)
        .await?;
    Ok(client.base().to_string())
}

/// With the MQTT transport: tests Home Assistant's own address with a long-lived
/// access token, then keeps them (the token in the keyring, as the REST transport
/// does) for the long-term statistics import alone, which MQTT cannot carry. The
/// push stays on the broker. Nothing is saved if the test fails.
pub async fn connect_statistics(
    household: &Household,
    url: &str,
    token: &str,
    ca_file: Option<PathBuf>,
) -> Result<()> {
    let url = check_and_keep_token(household, url, token, ca_file.as_deref()).await?;
    household.update(|s| {
        s.home_assistant.url = Some(url);
        s.home_assistant.ca_file = ca_file;
    })
}

/// With the MQTT transport: forgets Home Assistant's address and token, so no more
/// statistics are imported; the push through the broker goes on.
pub async fn forget_statistics(household: &Household) -> Result<()> {
    household
        .secrets()
        .delete(SECRET_OWNER, SecretKind::HomeAssistantToken)
        .await?;
    household.update(|s| s.home_assistant.url = None)
}

/// Tests a connection without saving anything ("Test connection").
pub(crate) async fn test_connection(url: &str, token: &str, ca_file: Option<PathBuf>) -> Result<()> {
    HaClient::new(url, token, ca_file.as_deref())?
        .check()
        .await
        .map_err(|f| test_failed(HaTransport::Rest, f))
}

/// Tests a broker without saving anything ("Test connection").
pub(crate) async fn test_mqtt(settings: &MqttSettings, password: Option<&str>) -> Result<()> {
    mqtt::test(settings, password)
        .await?
        .map_err(|f| test_failed(HaTransport::Mqtt, f))
}

/// Stops pushing and forgets the token and password; entity ids are kept, so
/// connecting again gives the same entities.
pub async fn disconnect(household: &Household) -> Result<()> {
    for kind in [SecretKind::HomeAssistantToken, SecretKind::MqttPassword] {
        household.secrets().delete(SECRET_OWNER, kind).await?;
    }
    household.update(|s| s.home_assistant.enabled = false)
}

/// What a transport is made from: the settings in use and their secret. While it
/// stays the same, the transport made from it (its memory of what was pushed, its
/// connection) is kept.
#[derive(PartialEq, Eq)]
enum TransportKey {
    /// Home Assistant's address, the token, a CA file.
    Rest(String, String, Option<PathBuf>),
    /// The broker and its password.
    Mqtt(MqttSettings, Option<String>),
}

type Refusal = (PushStatus, String);

/// The transport `settings` call for, with its secret from the keyring; `Ok(None)`
/// when Home Assistant is not set up or is switched off.
async fn key_for(
    household: &Household,
    settings: &HomeAssistantSettings,
) -> std::result::Result<Option<TransportKey>, Refusal> {
    if !settings.enabled {
        return Ok(None);
    }
    let secret = |kind| async move {
        household
            .secrets()
            .get(SECRET_OWNER, kind)
            .await
            .map_err(|err| (PushStatus::Rejected, err.to_string()))
    };
    Ok(match (settings.transport, &settings.url, &settings.mqtt) {
        (HaTransport::Rest, Some(url), _) => {
            let token = secret(SecretKind::HomeAssistantToken)
                .await?
                .ok_or((PushStatus::Unauthorized, "no token is stored".to_owned()))?;
            Some(TransportKey::Rest(url.clone(), token, settings.ca_file.clone()))
        }
        (HaTransport::Mqtt, _, Some(broker)) => {
            let password = secret(SecretKind::MqttPassword).await?;
            Some(TransportKey::Mqtt(broker.clone(), password))
        }
        _ => None,
    })
}

/// Makes the transport; MQTT starts connecting at once.
fn build(key: &TransportKey) -> std::result::Result<Box<dyn Transport>, Refusal> {
    let refused = |err: Error| (PushStatus::Rejected, err.to_string());
    Ok(match key {
        TransportKey::Rest(url, token, ca_file) => Box::new(RestTransport::new(
            HaClient::new(url, token, ca_file.as_deref()).map_err(refused)?,
        )),
        TransportKey::Mqtt(broker, password) => {
            Box::new(mqtt::start(broker, password.as_deref()).map_err(refused)?)
        }
    })
}

/// Removes what the `kind` transport made, when it is the one in use: switching
/// transports, so the other can take the same entity ids. Best effort: if the old
/// side cannot be reached the switch still happens, and the log says what was left.
async fn retire(household: &Household, kind: HaTransport) {
    let settings = household.settings().home_assistant;
    if settings.transport != kind {
        return;
    }
    let Ok(Some(key)) = key_for(household, &settings).await else {
        return;
    };
    let Ok(transport) = build(&key) else {
        return;
    };
    let mut pusher = Pusher::boxed(transport);
    match tokio::time::timeout(RETIRE_TIMEOUT, pusher.retire_all(&settings.entities)).await {
        Ok(report) if report.state.status == PushStatus::Ok => {
            tracing::info!(removed = report.requests, ?kind, "removed what the old transport made")
        }
        _ => tracing::warn!(
            ?kind,
            "could not remove what the old transport made; with REST Home Assistant may number the new entities _2, with MQTT the old ones stay, unavailable"
        ),
    }
}

/// The pusher for the current settings, and how the push stands.
pub struct PusherSlot {
    current: Option<(TransportKey, Pusher)>,
    status: watch::Sender<Option<PushState>>,
}

impl PusherSlot {
    /// Publishes how the push stands on `status` (`None` while Home Assistant is not
    /// set up).
    pub fn new(status: watch::Sender<Option<PushState>>) -> Self {
        Self {
            current: None,
            status,
        }
    }

    fn publish(&self, state: Option<PushState>) {
        self.status.send_if_modified(|s| {
            let changed = *s != state;
            *s = state;
            changed
        });
    }

    /// Pushes `snapshot` if Home Assistant is set up and switched on. `None` when it
    /// is not.
    pub async fn push(&mut self, household: &Household, snapshot: &Snapshot) -> Option<PushReport> {
        let settings = household.settings();
        let ha = &settings.home_assistant;
        let configured = match ha.transport {
            HaTransport::Rest => ha.url.is_some(),
            HaTransport::Mqtt => ha.mqtt.is_some(),
        };
        if !(configured && ha.enabled) {
            self.current = None;
            self.publish(configured.then(|| PushState::off(ha.transport)));
            return None;
        }
        if let Err(report) = self.prepare(household, ha).await {
            self.publish(Some(report.state.clone()));
            return Some(report);
        }
        let (_, pusher) = self.current.as_mut()?;
        let mut ids = ha.entities.clone();
        let people = people_ids(&settings);
        let report = match tokio::time::timeout(PUSH_TIMEOUT, pusher.push(snapshot, &mut ids, &people)).await
        {
            Ok(report) => report,
            Err(_) => PushReport {
                requests: 0,
                state: PushState::failed(
                    ha.transport,
                    HaFailure::Unreachable("it did not answer in time".into()),
                    None,
                ),
            },
        };
        if ids != ha.entities {
            if let Err(err) = household.update(|s| s.home_assistant.entities = ids) {
                tracing::warn!(%err, "could not remember the Home Assistant entity ids");
            }
        }
        self.publish(Some(report.state.clone()));
        Some(report)
    }

    /// Makes `current` match the settings: keeps the pusher when nothing changed.
    async fn prepare(
        &mut self,
        household: &Household,
        settings: &HomeAssistantSettings,
    ) -> std::result::Result<(), PushReport> {
        let refused = |(status, message): Refusal| PushReport {
            requests: 0,
            state: PushState {
                status,
                message: Some(message),
                ..PushState::off(settings.transport)
            },
        };
        let key = key_for(household, settings).await.map_err(|r| {
            self.current = None;
            refused(r)
        })?;
        let Some(key) = key else {
            self.current = None;
            return Ok(());
        };
        if self.current.as_ref().is_some_and(|(k, _)| *k == key) {
            return Ok(());
        }
        // The old connection (if any) ends first: one MQTT client per app.
        self.current = None;
        let transport = build(&key).map_err(refused)?;
        self.current = Some((key, Pusher::boxed(transport)));
        Ok(())
    }

    /// Hands the `waiting` transactions to Home Assistant, if it is set up and
    /// switched on, removing each one it took (see [`Transport::announce`]).
    /// `None`: not set up (nothing to keep); `Some(Err)`: try the rest again later.
    pub async fn announce(
        &mut self,
        household: &Household,
        waiting: &mut Vec<AccountTransaction>,
    ) -> Option<std::result::Result<usize, HaFailure>> {
        let settings = household.settings().home_assistant;
        if self.prepare(household, &settings).await.is_err() {
            return Some(Err(HaFailure::Unreachable("not connected".into())));
        }
        let (_, pusher) = self.current.as_mut()?;
        Some(
            tokio::time::timeout(PUSH_TIMEOUT, pusher.announce(waiting))
                .await
                .unwrap_or_else(|_| Err(HaFailure::Unreachable("it did not answer in time".into()))),
        )
    }

    /// Resolves when the connection calls for a push; never without one.
    pub(crate) async fn link_changed(&self) {
        match &self.current {
            Some((_, pusher)) => pusher.link_changed().await,
            None => std::future::pending().await,
        }
    }
}

/// New transactions kept for Home Assistant while it cannot take them, at most:
/// past it the oldest are dropped (said in the log).
const WAITING_TRANSACTIONS: usize = 1000;

/// Pushes every new snapshot (and whenever the connection calls for it) and hands
/// over new transactions, publishing how the push stands on `status`, until `stop`
/// is cancelled. Transactions Home Assistant could not take are tried again with the
/// next push; with Home Assistant not set up they are not kept.
pub(crate) async fn follow(
    household: std::sync::Arc<Household>,
    mut snapshots: watch::Receiver<Snapshot>,
    mut transactions: broadcast::Receiver<AccountTransaction>,
    status: watch::Sender<Option<PushState>>,
    stop: crate::background::Stop,
) {
    snapshots.mark_changed();
    let mut slot = PusherSlot::new(status);
    let mut waiting: Vec<AccountTransaction> = Vec::new();
    loop {
        let mut push = true;
        tokio::select! {
            changed = snapshots.changed() => if changed.is_err() { break },
            _ = slot.link_changed() => {},
            received = transactions.recv() => {
                match received {
                    Ok(new) => waiting.push(new),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "new transactions were missed for Home Assistant");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
                while let Ok(new) = transactions.try_recv() {
                    waiting.push(new);
                }
                push = false;
            }
            () = stop.cancelled() => break,
        }
        if push {
            let snapshot = snapshots.borrow_and_update().clone();
            slot.push(&household, &snapshot).await;
        }
        if waiting.is_empty() {
            continue;
        }
        match slot.announce(&household, &mut waiting).await {
            Some(Err(failure)) => {
                tracing::warn!(
                    ?failure,
                    waiting = waiting.len(),
                    "Home Assistant did not take the new transactions; will try again"
                );
                let over = waiting.len().saturating_sub(WAITING_TRANSACTIONS);
                if over > 0 {
                    tracing::warn!(dropped = over, "too many transactions waiting for Home Assistant");
                    waiting.drain(..over);
                }
            }
            _ => waiting.clear(),
        }
    }
}
