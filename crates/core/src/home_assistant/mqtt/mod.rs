//! Home Assistant through MQTT discovery: real entities with unique ids and
//! devices, kept by the broker (retained) across Home Assistant restarts, shown
//! unavailable when the app is gone (last will).
//!
//! - [`broker`]: the broker's address, topic prefixes, TLS.
//! - [`discovery`]: the messages a snapshot calls for.
//! - [`connection`]: the long-lived connection and what it sees.
//! - [`transport`]: only what changed, acknowledged by the broker.

pub(crate) mod broker;
pub(crate) mod connection;
pub(crate) mod discovery;
pub(crate) mod transport;

use rand::distr::{Alphanumeric, SampleString};

use self::broker::{availability_will, check_topic_prefix, BrokerAddress};
use self::connection::MqttConnection;
use self::discovery::Topics;
use self::transport::MqttTransport;
use super::HaFailure;
use crate::error::Result;
use crate::settings::MqttSettings;

/// Checks what a person typed and gives the settings to keep (prefixes trimmed,
/// the address without a password).
pub fn settings_from_input(
    url: &str,
    ca_file: Option<std::path::PathBuf>,
    discovery_prefix: &str,
    base_topic: &str,
) -> Result<MqttSettings> {
    let address = BrokerAddress::parse(url)?;
    let settings = MqttSettings {
        url: address.display(),
        ca_file,
        discovery_prefix: check_topic_prefix("discovery prefix", discovery_prefix)?,
        base_topic: check_topic_prefix("base topic", base_topic)?,
        other: Default::default(),
    };
    // Builds the options once, so a bad CA file is reported now, not later.
    address.options("check", None, settings.ca_file.as_deref(), None)?;
    Ok(settings)
}

fn topics(settings: &MqttSettings) -> Topics {
    Topics {
        discovery_prefix: settings.discovery_prefix.clone(),
        base: settings.base_topic.clone(),
    }
}

fn client_id() -> String {
    // Unique per run: two apps with one id would throw each other off the broker.
    format!(
        "monzo-tray-{}",
        Alphanumeric.sample_string(&mut rand::rng(), 8).to_lowercase()
    )
}

/// Connects once, publishes nothing ("Test connection", and before saving).
pub(crate) async fn test(
    settings: &MqttSettings,
    password: Option<&str>,
) -> Result<std::result::Result<(), HaFailure>> {
    let address = BrokerAddress::parse(&settings.url)?;
    let options = address.options(&client_id(), password, settings.ca_file.as_deref(), None)?;
    Ok(connection::check(options, &settings.url).await)
}

/// The transport with its connection, connecting at once.
pub(crate) fn start(settings: &MqttSettings, password: Option<&str>) -> Result<MqttTransport> {
    let topics = topics(settings);
    let address = BrokerAddress::parse(&settings.url)?;
    let options = address.options(
        &client_id(),
        password,
        settings.ca_file.as_deref(),
        Some(availability_will(&topics.availability())),
    )?;
    let connection = MqttConnection::start(options, settings.url.clone(), topics.home_assistant_status());
    Ok(MqttTransport::new(connection, topics))
}
