//! Publishes the snapshot as discovery messages: only what changed since the last
//! acknowledged push, everything again after a reconnect or when Home Assistant
//! announces itself; removals of what the caller found may go. A push counts as
//! done when the broker has acknowledged every message (QoS 1).

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use rumqttc::QoS;

use super::connection::{LinkState, MqttConnection, CONNECT_TIMEOUT};
use super::discovery::{desired_messages, event_messages, removal_messages, Message, Topics};
use crate::home_assistant::entities::{EntityIds, EntityKey};
use crate::home_assistant::{HaFailure, PushReport, PushState, Transport};
use crate::settings::HaTransport;
use crate::snapshot::Snapshot;
use crate::transactions::AccountTransaction;

const ACK_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct MqttTransport {
    connection: MqttConnection,
    topics: Topics,
    /// Topic → payload the broker acknowledged, since `epoch`.
    published: HashMap<String, String>,
    epoch: u64,
    /// The connection as the last push found it: a change since calls for a push.
    seen: LinkState,
    last_ok_at: Option<chrono::DateTime<Utc>>,
}

impl MqttTransport {
    pub(crate) fn new(connection: MqttConnection, topics: Topics) -> Self {
        Self {
            connection,
            topics,
            published: HashMap::new(),
            epoch: 0,
            seen: LinkState::default(),
            last_ok_at: None,
        }
    }

    fn fail(&self, failure: HaFailure, requests: usize) -> PushReport {
        PushReport {
            requests,
            state: PushState::failed(HaTransport::Mqtt, failure, self.last_ok_at),
        }
    }

    /// Publishes `messages` (QoS 1) and waits until the broker acknowledged them all.
    /// Publishes `messages` at QoS 1 and waits for the broker's acknowledgements.
    /// On failure, also says how many of the first messages were acknowledged
    /// (a broker acknowledges QoS 1 messages in the order they were sent, MQTT
    /// 3.1.1 section 4.6, and nothing else is published meanwhile).
    async fn publish_acked(&self, link: &LinkState, messages: &[Message]) -> Result<(), (usize, HaFailure)> {
        let acked_before = self.connection.state().acked;
        let client = self.connection.client();
        for message in messages {
            let sent = client
                .publish(
                    message.topic.clone(),
                    QoS::AtLeastOnce,
                    message.retain,
                    message.payload.clone().into_bytes(),
                )
                .await;
            if sent.is_err() {
                return Err((
                    acked_since(&self.connection.state(), acked_before, messages.len()),
                    HaFailure::Unreachable("the MQTT connection closed".into()),
                ));
            }
        }
        let target = acked_before + messages.len() as u64;
        let mut watch = self.connection.watch();
        let acked = tokio::time::timeout(
            ACK_TIMEOUT,
            watch.wait_for(|s| s.acked >= target || !s.connected || s.epoch != link.epoch),
        )
        .await;
        let state = self.connection.state();
        if acked.is_err() || state.acked < target {
            let acked = acked_since(&state, acked_before, messages.len());
            return Err((
                acked,
                state.failure.unwrap_or_else(|| {
                    HaFailure::Unreachable("the broker did not acknowledge in time".into())
                }),
            ));
        }
        Ok(())
    }

    async fn link(&self) -> LinkState {
        let state = self.connection.state();
        if state.connecting() {
            // The first push right after start: give the connection its chance.
            self.connection
                .settled(CONNECT_TIMEOUT + Duration::from_secs(1))
                .await
        } else {
            state
        }
    }
}

#[async_trait::async_trait]
impl Transport for MqttTransport {
    fn kind(&self) -> HaTransport {
        HaTransport::Mqtt
    }

    /// Resolves when the connection has changed, since the last push looked, in a
    /// way that calls for a push: it came up or went down, or Home Assistant asked
    /// for everything again. At once if that happened during the last push.
    async fn link_changed(&self) {
        let mut watch = self.connection.watch();
        let seen = &self.seen;
        let _ = watch
            .wait_for(|s| s.connected != seen.connected || s.epoch != seen.epoch || s.failure != seen.failure)
            .await;
    }

    async fn push(
        &mut self,
        snapshot: &Snapshot,
        ids: &mut EntityIds,
        retiring: &[(String, String)],
    ) -> PushReport {
        let link = self.link().await;
        self.seen = link.clone();
        if !link.connected {
            let failure = link
                .failure
                .unwrap_or_else(|| HaFailure::Unreachable("still connecting to the broker".into()));
            return self.fail(failure, 0);
        }
        if link.epoch != self.epoch {
            self.published.clear();
            self.epoch = link.epoch;
        }
        let mut messages = desired_messages(snapshot, ids, &self.topics);
        for (key, _) in retiring {
            if let Some(parsed) = EntityKey::parse(key) {
                messages.extend(removal_messages(&parsed, &self.topics));
            }
        }
        let changed: Vec<Message> = messages
            .into_iter()
            .filter(|m| self.published.get(&m.topic) != Some(&m.payload))
            .collect();
        if let Err((_, failure)) = self.publish_acked(&link, &changed).await {
            // Whatever did get through is published again on the next push.
            self.published.clear();
            return self.fail(failure, changed.len());
        }
        for message in changed.iter() {
            self.published
                .insert(message.topic.clone(), message.payload.clone());
        }
        for (key, _) in retiring {
            ids.remove(key);
        }
        let state = PushState::ok(HaTransport::Mqtt);
        self.last_ok_at = state.last_ok_at;
        PushReport {
            requests: changed.len(),
            state,
        }
    }

    /// Each new transaction on the Transaction event entity of each person who sees
    /// its account, acknowledged by the broker, never retained.
    async fn announce(&mut self, waiting: &mut Vec<AccountTransaction>) -> Result<usize, HaFailure> {
        let link = self.link().await;
        if !link.connected {
            return Err(link
                .failure
                .unwrap_or_else(|| HaFailure::Unreachable("still connecting to the broker".into())));
        }
        let messages = event_messages(waiting, &self.topics);
        match self.publish_acked(&link, &messages).await {
            Ok(()) => {
                waiting.clear();
                Ok(messages.len())
            }
            Err((acked, failure)) => {
                let taken = fully_announced(waiting, acked);
                waiting.drain(..taken);
                Err(failure)
            }
        }
    }
}

/// Of `sent` messages published after the count of acknowledgements was
/// `acked_before`, how many are acknowledged in `state`.
fn acked_since(state: &LinkState, acked_before: u64, sent: usize) -> usize {
    usize::try_from(state.acked.saturating_sub(acked_before))
        .unwrap_or(usize::MAX)
        .min(sent)
}

/// How many of the first `waiting` transactions had every one of their event
/// messages acknowledged, when the first `acked` messages of
/// [`event_messages`]`(waiting)` were (one message per person who sees the account).
fn fully_announced(waiting: &[AccountTransaction], acked: usize) -> usize {
    let mut messages = 0;
    waiting
        .iter()
        .take_while(|item| {
            messages += item.people.len();
            messages <= acked
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen_by(people: &[&str]) -> AccountTransaction {
        let people: Vec<(&str, &str)> = people.iter().map(|p| (*p, *p)).collect();
        crate::transactions::example_payment("tx_1", -100, "Tesco", &people)
    }

    /// A joint account's transaction is two messages (Dana's and Alex's event
    /// entity): it is taken only once both were acknowledged.
    #[test]
    fn a_transaction_is_taken_when_all_its_messages_were_acknowledged() {
        let waiting = [seen_by(&["p1"]), seen_by(&["p1", "p2"]), seen_by(&["p2"])];
        assert_eq!(fully_announced(&waiting, 0), 0);
        assert_eq!(fully_announced(&waiting, 1), 1);
        assert_eq!(fully_announced(&waiting, 2), 1, "half of the joint one");
        assert_eq!(fully_announced(&waiting, 3), 2);
        assert_eq!(fully_announced(&waiting, 4), 3);
        let state = |acked| LinkState {
            connected: false,
            failure: None,
            epoch: 0,
            acked,
        };
        assert_eq!(acked_since(&state(12), 10, 4), 2);
        assert_eq!(acked_since(&state(30), 10, 4), 4, "never more than were sent");
    }
}
