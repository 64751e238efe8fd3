//! Pushes the snapshot into Home Assistant: only what changed since the last good
//! push, a few requests at a time; everything again when Home Assistant has lost
//! the states (it forgets REST-made states on restart: a read-back, at most once per
//! `verify_every`, answers 404); entities of deleted pots and removed people deleted.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use tokio::time::Instant;

use super::client::{HaClient, HaFailure};
use super::entities::EntityIds;
use super::states::{desired_states, gone, EntityState};
use crate::settings::HaTransport;
use crate::snapshot::Snapshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PushStatus {
    Off,
    Ok,
    Unauthorized,
    Unreachable,
    Rejected,
}

/// What the snapshot says about Home Assistant.
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
    pub fn off() -> Self {
        Self {
            transport: HaTransport::Rest,
            status: PushStatus::Off,
            message: None,
            last_ok_at: None,
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
            HaFailure::Unreachable(m) => (PushStatus::Unreachable, Some(m)),
            HaFailure::Rejected(m) => (PushStatus::Rejected, Some(m)),
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// Requests sent to Home Assistant in this push.
    pub requests: usize,
    pub state: PushState,
}

pub struct Pusher {
    client: HaClient,
    pushed: HashMap<String, EntityState>,
    last_verified: Option<Instant>,
    verify_every: Duration,
    concurrency: usize,
    state: PushState,
}

impl Pusher {
    pub fn new(client: HaClient) -> Self {
        Self {
            client,
            pushed: HashMap::new(),
            last_verified: None,
            verify_every: Duration::from_secs(55),
            concurrency: 4,
            state: PushState::off(),
        }
    }

    pub fn client(&self) -> &HaClient {
        &self.client
    }

    /// Reads back one state on the next push, whenever the last check was.
    pub fn verify_next_push(&mut self) {
        self.last_verified = None;
    }

    fn fail(&mut self, failure: HaFailure, requests: usize) -> PushReport {
        self.state = PushState::failed(HaTransport::Rest, failure, self.state.last_ok_at);
        tracing::warn!(status = ?self.state.status, "Home Assistant push failed");
        PushReport {
            requests,
            state: self.state.clone(),
        }
    }

    /// One push. `ids` gains new entities and loses deleted ones; the caller saves it.
    pub async fn push(&mut self, snapshot: &Snapshot, ids: &mut EntityIds) -> PushReport {
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
        for (key, entity_id) in gone(snapshot, ids) {
            requests += 1;
            match self.client.delete_state(&entity_id).await {
                Ok(()) => {
                    ids.remove(&key);
                    self.pushed.remove(&entity_id);
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
        self.state = PushState {
            transport: HaTransport::Rest,
            status: PushStatus::Ok,
            message: None,
            last_ok_at: Some(Utc::now()),
        };
        PushReport {
            requests,
            state: self.state.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
