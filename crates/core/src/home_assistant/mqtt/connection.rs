//! One long-lived connection to the broker. rumqttc's event loop runs on a task of
//! its own (it must be polled for anything to move), reconnects with a growing
//! pause, and publishes what it sees on a `watch` channel: connected or why not,
//! acknowledgements, and an `epoch` that grows whenever everything must be
//! published again (a new connection: the broker may have lost retained messages;
//! Home Assistant announcing itself on `<prefix>/status`).
//!
//! Dropping the connection ends the task without a DISCONNECT, so the broker sends
//! the last will and Home Assistant shows the entities unavailable.

use std::io::ErrorKind;
use std::time::Duration;

use rumqttc::{AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, MqttOptions, Packet, QoS};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::super::HaFailure;

/// How long one attempt to connect may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_RECONNECT_PAUSE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct LinkState {
    pub(crate) connected: bool,
    /// Why the last attempt failed; `None` before the first attempt ends.
    pub(crate) failure: Option<HaFailure>,
    /// Grows when everything must be published again.
    pub(crate) epoch: u64,
    /// QoS 1 publishes the broker acknowledged, since the start.
    pub(crate) acked: u64,
}

impl LinkState {
    /// The first attempt has not ended yet.
    pub(crate) fn connecting(&self) -> bool {
        !self.connected && self.failure.is_none()
    }
}

pub(crate) struct MqttConnection {
    client: AsyncClient,
    state: watch::Receiver<LinkState>,
    task: JoinHandle<()>,
}

impl Drop for MqttConnection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The failure, in the words the status line and the settings screen use.
pub(crate) fn classify(error: &ConnectionError, address: &str) -> HaFailure {
    match error {
        ConnectionError::ConnectionRefused(
            ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized,
        ) => HaFailure::Unauthorized,
        ConnectionError::ConnectionRefused(code) => HaFailure::Rejected(format!(
            "the broker at {address} refused the connection ({code:?})"
        )),
        ConnectionError::Tls(e) => {
            // rustls says it in Debug or Display form, depending on the error.
            let text = e.to_string();
            let plain = text.to_lowercase().replace(' ', "");
            let why = if plain.contains("notvalidforname") {
                "its certificate is not for that host name".to_owned()
            } else if plain.contains("unknownissuer") || plain.contains("invalidpeercertificate") {
                "its certificate is not trusted (give the CA file that signed it)".to_owned()
            } else {
                // It may quote the broker's certificate.
                crate::text::line(&text)
            };
            HaFailure::Rejected(format!("TLS with {address} failed: {why}"))
        }
        ConnectionError::Io(e) if e.kind() == ErrorKind::ConnectionRefused => {
            HaFailure::Unreachable(format!("nothing accepts connections at {address}"))
        }
        ConnectionError::Io(e) if e.kind() == ErrorKind::InvalidData => HaFailure::Rejected(format!(
            "{address} does not answer like an MQTT broker (mqtts:// for a TLS port?)"
        )),
        ConnectionError::NetworkTimeout => {
            HaFailure::Unreachable(format!("{address} did not answer in time"))
        }
        ConnectionError::Io(e) => HaFailure::Unreachable(format!("could not connect to {address}: {e}")),
        ConnectionError::NotConnAck(_) => {
            HaFailure::Rejected(format!("{address} does not answer like an MQTT broker"))
        }
        _ => HaFailure::Unreachable(format!("the connection to {address} dropped")),
    }
}

impl MqttConnection {
    /// Starts connecting at once; `status_topic` is subscribed on every connection.
    pub(crate) fn start(options: MqttOptions, address: String, status_topic: String) -> Self {
        let (client, events) = AsyncClient::new(options, 512);
        let (sender, state) = watch::channel(LinkState::default());
        let task = tokio::spawn(run(events, client.clone(), sender, address, status_topic));
        Self { client, state, task }
    }

    pub(crate) fn client(&self) -> &AsyncClient {
        &self.client
    }

    pub(crate) fn state(&self) -> LinkState {
        self.state.borrow().clone()
    }

    pub(crate) fn watch(&self) -> watch::Receiver<LinkState> {
        self.state.clone()
    }

    /// Waits for the first attempt to end, at most `limit`.
    pub(crate) async fn settled(&self, limit: Duration) -> LinkState {
        let mut state = self.state.clone();
        let _ = tokio::time::timeout(limit, state.wait_for(|s| !s.connecting())).await;
        self.state()
    }
}

async fn run(
    mut events: EventLoop,
    client: AsyncClient,
    sender: watch::Sender<LinkState>,
    address: String,
    status_topic: String,
) {
    let mut pause = Duration::from_millis(500);
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                tracing::info!(broker = %address, "connected to the MQTT broker");
                pause = Duration::from_millis(500);
                // The request queue is empty right after connecting; if it were
                // full the next connection would subscribe again.
                if let Err(err) = client.try_subscribe(&status_topic, QoS::AtLeastOnce) {
                    tracing::warn!(%err, "could not subscribe to Home Assistant's status");
                }
                sender.send_modify(|s| {
                    s.connected = true;
                    s.failure = None;
                    s.epoch += 1;
                });
            }
            Ok(Event::Incoming(Packet::Publish(p))) if p.topic == status_topic => {
                if p.payload.as_ref() == b"online" {
                    tracing::info!("Home Assistant announced itself; publishing everything again");
                    sender.send_modify(|s| s.epoch += 1);
                }
            }
            Ok(Event::Incoming(Packet::PubAck(_))) => sender.send_modify(|s| s.acked += 1),
            Ok(_) => {}
            Err(err) => {
                let failure = classify(&err, &address);
                tracing::warn!(broker = %address, ?failure, "MQTT connection failed");
                sender.send_modify(|s| {
                    s.connected = false;
                    s.failure = Some(failure);
                });
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_RECONNECT_PAUSE);
            }
        }
    }
}

/// Connects once and lets go ("Test connection"): no will, nothing published.
pub(crate) async fn check(options: MqttOptions, address: &str) -> Result<(), HaFailure> {
    let (_client, mut events) = AsyncClient::new(options, 8);
    let attempt = async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(err) => return Err(classify(&err, address)),
            }
        }
    };
    tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), attempt)
        .await
        .unwrap_or_else(|_| {
            Err(HaFailure::Unreachable(format!(
                "{address} did not answer in time"
            )))
        })
}
