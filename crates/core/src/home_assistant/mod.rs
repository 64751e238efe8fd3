//! Home Assistant: every balance as an entity, through its REST API or MQTT discovery.
//!
//! - [`entities`]: the kinds of entity as data, their keys, and entity ids chosen
//!   once per Monzo id and remembered.
//! - [`wanted`]: the entities a snapshot calls for.
//! - [`retire`]: when an entity may be removed (positive evidence only).
//! - [`rest`]: the REST transport: states set through Home Assistant's API.
//! - [`mqtt`]: the MQTT transport: discovery, entities with devices.
//! - [`link`]: either transport wired to the engine and settings.
//!
//! Here: what both transports share: the [`Transport`] interface, the [`Pusher`]
//! that drives one, and the push status ([`PushState`]) the tray and window show.
//!
//! New transactions reach Home Assistant too: through REST as the event
//! `monzo_tray_transaction` on its bus, through MQTT on each account's Transaction
//! event entity (event type `transaction_created`).

pub mod entities;
pub mod link;
pub mod mqtt;
pub mod rest;
pub mod retire;
pub mod wanted;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use rest::{HaClient, RestTransport};

use self::entities::EntityIds;
use self::retire::Retirement;
use crate::settings::HaTransport;
use crate::snapshot::Snapshot;
use crate::transactions::AccountTransaction;

/// How a push to Home Assistant failed, in the words the status line uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HaFailure {
    /// The token (REST) or the user name and password (MQTT) were refused.
    Unauthorized,
    Unreachable(String),
    Rejected(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PushStatus {
    Off,
    Ok,
    Unauthorized,
    Unreachable,
    Rejected,
}

/// How the push to Home Assistant stands; published on its own `watch` channel
/// beside the snapshot (see [`link`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushState {
    /// Which way balances go: `rest` or `mqtt`.
    pub transport: HaTransport,
    pub status: PushStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub last_ok_at: Option<DateTime<Utc>>,
}

impl PushState {
    /// Set up on `transport` but switched off.
    pub fn off(transport: HaTransport) -> Self {
        Self {
            transport,
            status: PushStatus::Off,
            message: None,
            last_ok_at: None,
        }
    }

    /// A good push just now.
    pub fn ok(transport: HaTransport) -> Self {
        Self {
            status: PushStatus::Ok,
            last_ok_at: Some(Utc::now()),
            ..Self::off(transport)
        }
    }

    /// The state after `failure`, keeping when the last good push was.
    pub fn failed(transport: HaTransport, failure: HaFailure, last_ok_at: Option<DateTime<Utc>>) -> Self {
        let (status, message) = match failure {
            HaFailure::Unauthorized => (
                PushStatus::Unauthorized,
                // REST's tray line already says "the token was refused".
                (transport == HaTransport::Mqtt)
                    .then(|| "the broker refused the user name or password".to_owned()),
            ),
            // Shown in the tray and the terminal (see `text`).
            HaFailure::Unreachable(m) => (PushStatus::Unreachable, Some(crate::text::line(&m))),
            HaFailure::Rejected(m) => (PushStatus::Rejected, Some(crate::text::line(&m))),
        };
        Self {
            transport,
            status,
            message,
            last_ok_at,
        }
    }

    /// The tray's line when something is wrong.
    pub fn problem_line(&self) -> Option<String> {
        let (who, refused) = match self.transport {
            HaTransport::Rest => ("Home Assistant", "the token was refused"),
            HaTransport::Mqtt => ("MQTT broker", "the user name or password was refused"),
        };
        match self.status {
            PushStatus::Off | PushStatus::Ok => None,
            PushStatus::Unauthorized => Some(format!("{who}: {refused}")),
            PushStatus::Unreachable => Some(format!("{who}: not reachable")),
            PushStatus::Rejected => Some(format!(
                "{who}: {}",
                self.message.as_deref().unwrap_or("rejected the update")
            )),
        }
    }

    /// For the terminal: `ok`, `unreachable (…)`.
    pub fn summary(&self) -> String {
        let status = serde_json::to_value(self.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        match &self.message {
            Some(message) => format!("{status} ({message})"),
            None => status,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// Requests (REST) or messages (MQTT) sent to Home Assistant in this push.
    pub requests: usize,
    pub state: PushState,
}

/// One way into Home Assistant. A push sends what changed since the last good one
/// and removes the entities in `retiring` (`(key, entity id)`; the caller decided
/// they may go), taking each removed one out of `ids`; new entity ids are added to
/// `ids`. The caller saves `ids`.
#[async_trait::async_trait]
pub trait Transport: Send + Sync {
    fn kind(&self) -> HaTransport;

    async fn push(
        &mut self,
        snapshot: &Snapshot,
        ids: &mut EntityIds,
        retiring: &[(String, String)],
    ) -> PushReport;

    /// Resolves when the connection calls for a push (MQTT: connected, lost, Home
    /// Assistant restarted); never, where there is no connection to watch (REST).
    async fn link_changed(&self) {
        std::future::pending::<()>().await
    }

    /// Reads back on the next push whether Home Assistant still has our states
    /// (REST forgets them when Home Assistant restarts); nothing to do for MQTT.
    fn verify_next_push(&mut self) {}

    /// Hands the `waiting` transactions to Home Assistant (REST: events on its bus;
    /// MQTT: on the accounts' event entities), oldest first, removing each one from
    /// `waiting` once Home Assistant took it, also when a later one fails: what is
    /// left is what to try again, and nothing taken is sent twice. Returns the
    /// requests or messages sent.
    async fn announce(
        &mut self,
        waiting: &mut Vec<AccountTransaction>,
    ) -> std::result::Result<usize, HaFailure>;
}

/// A transport with the memory that decides removals: what pushes the snapshot.
pub struct Pusher {
    transport: Box<dyn Transport>,
    retirement: Retirement,
}

impl Pusher {
    pub fn new(transport: impl Transport + 'static) -> Self {
        Self::boxed(Box::new(transport))
    }

    pub fn boxed(transport: Box<dyn Transport>) -> Self {
        Self {
            transport,
            retirement: Retirement::default(),
        }
    }

    pub fn kind(&self) -> HaTransport {
        self.transport.kind()
    }

    /// Pushes `snapshot`; removes what [`Retirement`] finds due. `people` are the
    /// ids of everyone in settings (someone missing from it was removed).
    pub async fn push(
        &mut self,
        snapshot: &Snapshot,
        ids: &mut EntityIds,
        people: &HashSet<String>,
    ) -> PushReport {
        let retiring = self.retirement.due(snapshot, ids, people);
        let report = self.transport.push(snapshot, ids, &retiring).await;
        for (key, _) in &retiring {
            if !ids.contains_key(key) {
                self.retirement.removed(key);
            }
        }
        report
    }

    /// Removes every entity in `ids` (switching transports); `ids` itself is kept, so
    /// the other transport gives the same entity ids.
    pub async fn retire_all(&mut self, ids: &EntityIds) -> PushReport {
        let all: Vec<(String, String)> = ids.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        self.transport
            .push(&Snapshot::default(), &mut ids.clone(), &all)
            .await
    }

    pub async fn link_changed(&self) {
        self.transport.link_changed().await
    }

    pub fn verify_next_push(&mut self) {
        self.transport.verify_next_push();
    }

    /// See [`Transport::announce`].
    pub async fn announce(
        &mut self,
        waiting: &mut Vec<AccountTransaction>,
    ) -> std::result::Result<usize, HaFailure> {
        self.transport.announce(waiting).await
    }
}

/// The ids of everyone in `settings`: what [`Pusher::push`] needs to tell a removed
/// person from one not polled yet.
///
/// A person whose entry could not be read (kept in the file as it was, see
/// `settings::read`) is still in settings: their id counts when it can be read.
/// When even that cannot, nobody can be told apart from them, so every person with
/// a remembered entity counts as present and nothing is removed for being absent
/// until the file is fixed. A hand-edit must never delete Home Assistant entities.
pub fn people_ids(settings: &crate::settings::Settings) -> HashSet<String> {
    let mut ids: HashSet<String> = settings.people.iter().map(|p| p.id.clone()).collect();
    for entry in &settings.unreadable_people {
        match entry.get("id").and_then(serde_json::Value::as_str) {
            Some(id) => {
                ids.insert(id.to_owned());
            }
            None => ids.extend(
                settings
                    .home_assistant
                    .entities
                    .keys()
                    .filter_map(|key| entities::EntityKey::parse(key))
                    .map(|key| key.person_id),
            ),
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A person whose entry in settings.json cannot be used (a hand-edit gone wrong)
    /// is not a removed person: their entities stay.
    #[test]
    fn an_unreadable_person_is_not_a_removed_one() {
        let mut settings = crate::settings::Settings::default();
        settings.home_assistant.entities = [
            ("p1/acc_1/balance", "sensor.a"),
            ("p2/acc_2/balance", "sensor.b"),
            ("p3/acc_3/balance", "sensor.c"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        settings.unreadable_people = vec![serde_json::json!({"id": "p1", "name": 5})];
        assert!(people_ids(&settings).contains("p1"));
        assert!(
            !people_ids(&settings).contains("p2"),
            "p2 is not in settings at all"
        );
        // An entry without even a readable id: nobody is removed for being absent.
        settings.unreadable_people.push(serde_json::json!("garbage"));
        let ids = people_ids(&settings);
        for person in ["p1", "p2", "p3"] {
            assert!(ids.contains(person), "{person}");
        }
    }

    #[test]
    fn the_tray_line_names_what_is_wrong_for_each_transport() {
        let state = |transport, status| PushState {
            transport,
            status,
            message: None,
            last_ok_at: None,
        };
        assert_eq!(state(HaTransport::Rest, PushStatus::Ok).problem_line(), None);
        assert_eq!(
            state(HaTransport::Rest, PushStatus::Unauthorized)
                .problem_line()
                .unwrap(),
            "Home Assistant: the token was refused"
        );
        assert_eq!(
            state(HaTransport::Mqtt, PushStatus::Unauthorized)
                .problem_line()
                .unwrap(),
            "MQTT broker: the user name or password was refused"
        );
        assert_eq!(
            state(HaTransport::Mqtt, PushStatus::Unreachable)
                .problem_line()
                .unwrap(),
            "MQTT broker: not reachable"
        );
    }
}
