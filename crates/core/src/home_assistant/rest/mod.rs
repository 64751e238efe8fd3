//! The REST transport: every sensor as a state set through Home Assistant's REST API
//! (`POST /api/states/<entity_id>`). Only what changed since the last good push is
//! sent, a few requests at a time; everything again when Home Assistant has lost the
//! states (it forgets REST-made states on restart: a read-back, at most once per
//! `verify_every`, answers 404).
//!
//! - [`client`]: the REST calls.

pub(crate) mod client;

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::time::Instant;

pub use self::client::HaClient;
use super::entities::{EntityIds, Platform};
use super::wanted::{wanted, WantedEntity};
use super::{HaFailure, PushReport, PushState, Transport};
use crate::settings::HaTransport;
use crate::snapshot::Snapshot;
use crate::transactions::{AccountTransaction, TransactionRecord};

/// The body of `POST /api/states/<entity_id>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct EntityState {
    #[serde(skip)]
    pub(crate) entity_id: String,
    /// The decimal string in major units ("1234.56").
    pub(crate) state: String,
    /// As Home Assistant's own Monzo sensors have them: `unit_of_measurement` (the
    /// currency code), `device_class`, `state_class` (where the row has one),
    /// `friendly_name`, `icon`.
    pub(crate) attributes: Value,
}

impl EntityState {
    fn of(entity: &WantedEntity<'_>) -> Option<Self> {
        let value = entity.value.as_ref()?;
        let d = entity.description;
        let mut attributes = json!({
            "unit_of_measurement": value.currency().code(),
            "friendly_name": entity.friendly_name(),
            "icon": d.icon,
        });
        if let Some(device_class) = d.device_class {
            attributes["device_class"] = json!(device_class);
        }
        if let Some(state_class) = d.state_class {
            attributes["state_class"] = json!(state_class);
        }
        Some(Self {
            entity_id: entity.entity_id.clone(),
            state: value.to_decimal_string(),
            attributes,
        })
    }
}

/// The sensor states to push for `snapshot`, entity ids assigned (new ones added to
/// `ids`).
pub(crate) fn desired_states(snapshot: &Snapshot, ids: &mut EntityIds) -> Vec<EntityState> {
    // Transactions go to Home Assistant's event bus: no entity through REST.
    wanted(snapshot, ids, &[Platform::Sensor])
        .iter()
        .filter_map(EntityState::of)
        .collect()
}

pub struct RestTransport {
    client: HaClient,
    pushed: HashMap<String, EntityState>,
    last_verified: Option<Instant>,
    verify_every: Duration,
    concurrency: usize,
    last_ok_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl RestTransport {
    pub fn new(client: HaClient) -> Self {
        Self {
            client,
            pushed: HashMap::new(),
            last_verified: None,
            verify_every: Duration::from_secs(55),
            concurrency: 4,
            last_ok_at: None,
        }
    }

    fn fail(&self, failure: HaFailure, requests: usize) -> PushReport {
        let state = PushState::failed(HaTransport::Rest, failure, self.last_ok_at);
        tracing::warn!(status = ?state.status, "Home Assistant push failed");
        PushReport { requests, state }
    }
}

#[async_trait::async_trait]
impl Transport for RestTransport {
    fn kind(&self) -> HaTransport {
        HaTransport::Rest
    }

    fn verify_next_push(&mut self) {
        self.last_verified = None;
    }

    async fn push(
        &mut self,
        snapshot: &Snapshot,
        ids: &mut EntityIds,
        retiring: &[(String, String)],
    ) -> PushReport {
        let mut requests = 0;
        let desired = desired_states(snapshot, ids);
        let due = self
            .last_verified
            .is_none_or(|t| t.elapsed() >= self.verify_every);
        if due {
            if let Some(probe) = desired.iter().find(|s| self.pushed.contains_key(&s.entity_id)) {
                requests += 1;
                match self.client.get_state(&probe.entity_id).await {
                    Ok(None) => {
                        tracing::info!("Home Assistant lost the states (restarted?); pushing everything");
                        self.pushed.clear();
                    }
                    Ok(Some(_)) => {}
                    Err(failure) => return self.fail(failure, requests),
                }
                self.last_verified = Some(Instant::now());
            }
        }
        for (key, entity_id) in retiring {
            requests += 1;
            match self.client.delete_state(entity_id).await {
                Ok(()) => {
                    ids.remove(key);
                    self.pushed.remove(entity_id);
                }
                Err(failure) => return self.fail(failure, requests),
            }
        }
        let changed: Vec<EntityState> = desired
            .into_iter()
            .filter(|s| self.pushed.get(&s.entity_id) != Some(s))
            .collect();
        requests += changed.len();
        let client = &self.client;
        let results: Vec<(EntityState, Result<(), HaFailure>)> = futures::stream::iter(changed)
            .map(|state| async move {
                let result = client.set_state(&state).await;
                (state, result)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut failure = None;
        for (state, result) in results {
            match result {
                Ok(()) => {
                    self.pushed.insert(state.entity_id.clone(), state);
                }
                Err(f) => {
                    failure.get_or_insert(f);
                }
            }
        }
        if let Some(failure) = failure {
            return self.fail(failure, requests);
        }
        // What was just written is known to be there: no read-back needed soon.
        self.last_verified.get_or_insert_with(Instant::now);
        let state = PushState::ok(HaTransport::Rest);
        self.last_ok_at = state.last_ok_at;
        PushReport { requests, state }
    }

    /// Each new transaction as the event [`TRANSACTION_EVENT`] on Home Assistant's
    /// bus, once for the household: `person` names everyone who sees the account
    /// ("Dana & Alex" for a joint one).
    async fn announce(&mut self, waiting: &mut Vec<AccountTransaction>) -> Result<usize, HaFailure> {
        let mut fired = 0;
        // One at a time, each removed as soon as it was fired: a push cut off by its
        // time limit keeps what was already taken out of `waiting` too.
        while let Some(item) = waiting.first() {
            let record = TransactionRecord::new(&item.transaction, &item.people_names(), &item.account);
            let data = serde_json::to_value(record).unwrap_or_default();
            self.client.fire_event(TRANSACTION_EVENT, &data).await?;
            waiting.remove(0);
            fired += 1;
        }
        Ok(fired)
    }
}

/// The event each new transaction fires on Home Assistant's bus through REST.
pub(crate) const TRANSACTION_EVENT: &str = "monzo_tray_transaction";

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    fn new_transaction(id: &str) -> AccountTransaction {
        crate::transactions::example_payment(id, -100, "Tesco", &[("p1", "Dana")])
    }

    /// Home Assistant takes two events and then fails: the two are not fired again,
    /// the other two are, once it is back.
    #[tokio::test]
    async fn events_taken_before_a_failure_are_not_fired_again() {
        let fired = Arc::new(AtomicUsize::new(0));
        let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let app = axum::Router::new().route(
            "/api/events/{event}",
            axum::routing::post({
                let (fired, failing) = (fired.clone(), failing.clone());
                move || async move {
                    if failing.load(Ordering::SeqCst) || fired.load(Ordering::SeqCst) == 2 {
                        failing.store(true, Ordering::SeqCst);
                        return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    fired.fetch_add(1, Ordering::SeqCst);
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut transport = RestTransport::new(HaClient::new(&url, "token", None).unwrap());

        let mut waiting: Vec<_> = ["tx_1", "tx_2", "tx_3", "tx_4"]
            .into_iter()
            .map(new_transaction)
            .collect();
        assert!(transport.announce(&mut waiting).await.is_err());
        let left: Vec<_> = waiting.iter().map(|w| w.transaction.id.as_str()).collect();
        assert_eq!(left, ["tx_3", "tx_4"]);
        failing.store(false, Ordering::SeqCst);
        fired.store(10, Ordering::SeqCst);
        assert_eq!(transport.announce(&mut waiting).await.unwrap(), 2);
        assert!(waiting.is_empty());
        assert_eq!(fired.load(Ordering::SeqCst), 12, "four events in all, each once");
    }
}
