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
pub(crate) mod rest;
pub(crate) mod retire;
pub mod statistics;
pub(crate) mod wanted;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use rest::{HaClient, RestTransport};

use self::entities::EntityIds;
use self::retire::Retirement;
use crate::settings::HaTransport;
use crate::snapshot::Snapshot;
use crate::transactions::AccountTransaction;

/// How a push to Home Assistant (or a test of the connection) failed. The words
/// for each kind are [`failure_line`]'s, which names the party that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HaFailure {
    /// The token (REST) or the user name and password (MQTT) were refused.
    Unauthorized,
    /// Nothing answered, or not in time; why, in a few words.
    Unreachable(String),
    /// It answered, but not as it should (an error status, not Home Assistant's API,
    /// a TLS failure, a connection the broker refused); why, in a few words.
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

impl PushStatus {
    /// The status as one lowercase word (`ok`, `unreachable`), as serialised: for
    /// log lines and scripts.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PushStatus::Off => "off",
            PushStatus::Ok => "ok",
            PushStatus::Unauthorized => "unauthorized",
            PushStatus::Unreachable => "unreachable",
            PushStatus::Rejected => "rejected",
        }
    }
}

/// Who a failure is about: Home Assistant itself (REST) or the MQTT broker.
fn party(transport: HaTransport) -> &'static str {
    match transport {
        HaTransport::Rest => "Home Assistant",
        HaTransport::Mqtt => "The MQTT broker",
    }
}

/// The one sentence for a push status on `transport`, without a full stop, as the
/// tray, the settings window, the command line and a failed connection test all say
/// it: "Pushing: all good", "The MQTT broker could not be reached: nothing accepts
/// connections at broker:1883". `message` is the failure's few words (see
/// [`HaFailure`]), already one safe line.
pub(crate) fn status_line(transport: HaTransport, status: PushStatus, message: Option<&str>) -> String {
    let who = party(transport);
    let with_why = |what: String| match message {
        Some(why) if !why.is_empty() => format!("{what}: {why}"),
        _ => what,
    };
    // A refusal says what to do; a note (no token stored) follows in brackets.
    let with_note = |what: String| match message {
        Some(note) if !note.is_empty() => format!("{what} ({note})"),
        _ => what,
    };
    match (status, transport) {
        (PushStatus::Off, _) => "Not pushing (switched off)".to_owned(),
        (PushStatus::Ok, _) => "Pushing: all good".to_owned(),
        (PushStatus::Unauthorized, HaTransport::Rest) => with_note(format!(
            "{who} refused the token; make a new long-lived access token on your Home Assistant profile page"
        )),
        (PushStatus::Unauthorized, HaTransport::Mqtt) => with_note(format!(
            "{who} refused the user name or password (or this user may not connect)"
        )),
        (PushStatus::Unreachable, _) => with_why(format!("{who} could not be reached")),
        (PushStatus::Rejected, _) => with_why(format!("{who} could not be used")),
    }
}

/// [`status_line`] for `failure`: what a failed test of the connection says.
pub(crate) fn failure_line(transport: HaTransport, failure: &HaFailure) -> String {
    let (status, message) = failure.parts();
    status_line(transport, status, message)
}

impl HaFailure {
    /// The status it leaves, and its few words (made one safe line: they reach the
    /// tray and the terminal).
    fn parts(&self) -> (PushStatus, Option<&str>) {
        match self {
            HaFailure::Unauthorized => (PushStatus::Unauthorized, None),
            HaFailure::Unreachable(m) => (PushStatus::Unreachable, Some(m.as_str())),
            HaFailure::Rejected(m) => (PushStatus::Rejected, Some(m.as_str())),
        }
    }

    /// A failed connection test as an error with a stable code per kind
    /// (`home_assistant_unauthorized`, `…_unreachable`, `…_rejected`) and
    /// [`failure_line`]'s sentence.
    pub(crate) fn into_error(self, transport: HaTransport) -> crate::Error {
        let code = match self {
            HaFailure::Unauthorized => "home_assistant_unauthorized",
            HaFailure::Unreachable(_) => "home_assistant_unreachable",
            HaFailure::Rejected(_) => "home_assistant_rejected",
        };
        crate::Error::HomeAssistant {
            code,
            message: format!("{}.", failure_line(transport, &self)),
        }
    }
}

/// How the push to Home Assistant stands; published on its own `watch` channel
/// beside the snapshot (see [`link`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushState {
    /// Which way balances go: `rest` or `mqtt`.
    pub(crate) transport: HaTransport,
    pub status: PushStatus,
    /// The failure's few words (see [`HaFailure`]), one safe line; none for a
    /// refusal, whose line says it all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<String>,
    pub last_ok_at: Option<DateTime<Utc>>,
}

impl PushState {
    /// Set up on `transport` but switched off.
    pub(crate) fn off(transport: HaTransport) -> Self {
        Self {
            transport,
            status: PushStatus::Off,
            message: None,
            last_ok_at: None,
        }
    }

    /// A good push just now.
    pub(crate) fn ok(transport: HaTransport) -> Self {
        Self {
            status: PushStatus::Ok,
            last_ok_at: Some(Utc::now()),
            ..Self::off(transport)
        }
    }

    /// The state after `failure`, keeping when the last good push was.
    pub fn failed(transport: HaTransport, failure: HaFailure, last_ok_at: Option<DateTime<Utc>>) -> Self {
        let (status, message) = failure.parts();
        // Shown in the tray and the terminal (see `text`).
        let message = message.map(crate::text::line);
        Self {
            transport,
            status,
            message,
            last_ok_at,
        }
    }

    /// Whether the push is failing (not off, not all good).
    pub(crate) fn is_failing(&self) -> bool {
        !matches!(self.status, PushStatus::Off | PushStatus::Ok)
    }

    /// [`status_line`] for this state, without the time of the last good push.
    pub(crate) fn line(&self) -> String {
        status_line(self.transport, self.status, self.message.as_deref())
    }

    /// The tray's and `headless`'s line when the push is failing; `None` when it
    /// is off or all good.
    pub fn problem_line(&self) -> Option<String> {
        self.is_failing().then(|| self.line())
    }

    /// For `headless`'s line per poll: the status word, and the sentence when
    /// failing: `ok`, `unreachable: Home Assistant could not be reached: …`.
    pub(crate) fn summary(&self) -> String {
        match self.problem_line() {
            Some(line) => format!("{}: {line}", self.status.as_str()),
            None => self.status.as_str().to_owned(),
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

    pub(crate) fn boxed(transport: Box<dyn Transport>) -> Self {
        Self {
            transport,
            retirement: Retirement::default(),
        }
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
    pub(crate) async fn retire_all(&mut self, ids: &EntityIds) -> PushReport {
        let all: Vec<(String, String)> = ids.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        self.transport
            .push(&Snapshot::default(), &mut ids.clone(), &all)
            .await
    }

    pub(crate) async fn link_changed(&self) {
        self.transport.link_changed().await
    }

    pub fn verify_next_push(&mut self) {
        self.transport.verify_next_push();
    }

    /// See [`Transport::announce`].
    pub(crate) async fn announce(
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
            "Home Assistant refused the token; make a new long-lived access token on your Home Assistant profile page"
        );
        assert_eq!(
            state(HaTransport::Mqtt, PushStatus::Unauthorized)
                .problem_line()
                .unwrap(),
            "The MQTT broker refused the user name or password (or this user may not connect)"
        );
        assert_eq!(
            state(HaTransport::Mqtt, PushStatus::Unreachable)
                .problem_line()
                .unwrap(),
            "The MQTT broker could not be reached"
        );
    }

    /// Every status and failure kind, for both transports: the right party named,
    /// the refusal said once, the few words of why kept.
    #[test]
    fn one_line_for_every_status_and_failure_of_both_transports() {
        use HaTransport::{Mqtt, Rest};
        let failed = |transport, failure| PushState::failed(transport, failure, None).line();
        assert_eq!(PushState::off(Rest).line(), "Not pushing (switched off)");
        assert_eq!(PushState::off(Mqtt).line(), "Not pushing (switched off)");
        assert_eq!(PushState::ok(Rest).line(), "Pushing: all good");
        assert_eq!(PushState::ok(Mqtt).line(), "Pushing: all good");
        assert_eq!(
            failed(Rest, HaFailure::Unauthorized),
            "Home Assistant refused the token; make a new long-lived access token on your Home Assistant profile page"
        );
        let mqtt_refusal = failed(Mqtt, HaFailure::Unauthorized);
        assert_eq!(
            mqtt_refusal,
            "The MQTT broker refused the user name or password (or this user may not connect)"
        );
        assert!(!mqtt_refusal.contains("token"), "{mqtt_refusal}");
        assert_eq!(
            failed(Rest, HaFailure::Unreachable("it did not answer in time".into())),
            "Home Assistant could not be reached: it did not answer in time"
        );
        assert_eq!(
            failed(
                Mqtt,
                HaFailure::Unreachable("nothing accepts connections at b:1883".into())
            ),
            "The MQTT broker could not be reached: nothing accepts connections at b:1883"
        );
        assert_eq!(
            failed(Rest, HaFailure::Rejected("HTTP 500".into())),
            "Home Assistant could not be used: HTTP 500"
        );
        assert_eq!(
            failed(Mqtt, HaFailure::Rejected("TLS with b:8883 failed: x".into())),
            "The MQTT broker could not be used: TLS with b:8883 failed: x"
        );
        // Words from outside are one safe line.
        assert_eq!(
            failed(Rest, HaFailure::Rejected("bad\nline".into())),
            "Home Assistant could not be used: bad line"
        );
    }

    /// A failed test is an error with a code per kind, in the status line's words.
    #[test]
    fn a_failed_test_keeps_its_kind_and_names_the_party() {
        let cases = [
            (
                HaTransport::Rest,
                HaFailure::Unauthorized,
                "home_assistant_unauthorized",
                "Home Assistant refused the token",
            ),
            (
                HaTransport::Mqtt,
                HaFailure::Unauthorized,
                "home_assistant_unauthorized",
                "The MQTT broker refused the user name or password",
            ),
            (
                HaTransport::Rest,
                HaFailure::Unreachable("x".into()),
                "home_assistant_unreachable",
                "Home Assistant could not be reached: x.",
            ),
            (
                HaTransport::Mqtt,
                HaFailure::Unreachable("x".into()),
                "home_assistant_unreachable",
                "The MQTT broker could not be reached: x.",
            ),
            (
                HaTransport::Rest,
                HaFailure::Rejected("y".into()),
                "home_assistant_rejected",
                "Home Assistant could not be used: y.",
            ),
            (
                HaTransport::Mqtt,
                HaFailure::Rejected("y".into()),
                "home_assistant_rejected",
                "The MQTT broker could not be used: y.",
            ),
        ];
        for (transport, failure, code, start) in cases {
            let err = failure.into_error(transport);
            assert_eq!(err.code(), code);
            assert!(err.to_string().starts_with(start), "{err}");
        }
    }

    #[test]
    fn the_summary_is_the_status_word_then_the_line() {
        assert_eq!(PushState::ok(HaTransport::Mqtt).summary(), "ok");
        assert_eq!(
            PushState::failed(HaTransport::Rest, HaFailure::Unreachable("x".into()), None).summary(),
            "unreachable: Home Assistant could not be reached: x"
        );
    }
}
