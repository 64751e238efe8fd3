//! Home Assistant from the settings window: what is set up (never the token or the
//! password, only whether one is stored), testing, saving, and the push status.

use serde::Serialize;
use tokio::sync::watch;

use super::AppService;
use crate::error::{Error, Result};
use crate::home_assistant::{link, mqtt, PushState};
use crate::secrets::SecretKind;
use crate::settings::{HaTransport, MqttSettings, DEFAULT_BASE_TOPIC, DEFAULT_DISCOVERY_PREFIX};
use crate::words;

#[derive(Debug, Clone, Serialize)]
pub struct HomeAssistantView {
    pub(crate) transport: HaTransport,
    pub(crate) url: Option<String>,
    /// The broker, `mqtt://[user@]host:port`, when MQTT is set up.
    pub(crate) mqtt_url: Option<String>,
    pub(crate) enabled: bool,
    pub(crate) token_stored: bool,
    pub(crate) password_stored: bool,
    pub(crate) status: Option<PushState>,
    /// How the push stands in words, with its last good push ("Pushing: all good ·
    /// last pushed 14:02"); `None` while Home Assistant is not set up.
    pub(crate) status_line: Option<String>,
}

/// How the push stands, as the window shows it (see [`HomeAssistantView::status_line`]).
#[derive(Debug, Clone, Serialize)]
pub struct PushStatusView {
    pub(crate) status_line: Option<String>,
}

impl AppService {
    /// How the Home Assistant push stands (`None` when it is not set up).
    pub(crate) fn push_status(&self) -> Option<PushState> {
        self.push_status.borrow().clone()
    }

    /// [`Self::push_status`] in words, for the window (see [`words::push_status_line`]).
    pub fn push_status_view(&self) -> PushStatusView {
        PushStatusView {
            status_line: self
                .push_status()
                .map(|s| words::push_status_line(&s, words::local_offset())),
        }
    }

    /// Changes of [`Self::push_status`], for those who follow them.
    pub fn push_status_changes(&self) -> watch::Receiver<Option<PushState>> {
        self.push_status.clone()
    }

    /// Home Assistant as the window shows it: never the token or password, only
    /// whether one is stored.
    pub async fn home_assistant(&self) -> HomeAssistantView {
        let settings = self.household().settings().home_assistant;
        let stored = |kind| async move {
            matches!(
                self.household().secrets().get(link::SECRET_OWNER, kind).await,
                Ok(Some(_))
            )
        };
        HomeAssistantView {
            transport: settings.transport,
            url: settings.url,
            mqtt_url: settings.mqtt.map(|m| m.url),
            enabled: settings.enabled,
            token_stored: stored(SecretKind::HomeAssistantToken).await,
            password_stored: stored(SecretKind::MqttPassword).await,
            status: self.push_status(),
            status_line: self.push_status_view().status_line,
        }
    }

    /// The token typed, or the stored one when the field was left empty and the
    /// address is the one it was stored for: a token is never sent to another
    /// server than the one it was made on.
    async fn token_or_stored(&self, url: &str, token: &str) -> Result<String> {
        if !token.trim().is_empty() {
            return Ok(token.to_owned());
        }
        let paste = || {
            Error::InvalidInput("Paste a long-lived access token from your Home Assistant profile.".into())
        };
        let stored_for = self.household().settings().home_assistant.url;
        if !stored_for.is_some_and(|stored| same_server(&stored, url, false)) {
            return Err(paste());
        }
        self.household()
            .secrets()
            .get(link::SECRET_OWNER, SecretKind::HomeAssistantToken)
            .await?
            .ok_or_else(paste)
    }

    /// The broker settings typed (prefixes and CA file kept from before), and the
    /// password typed or, left empty, the stored one when it was stored for the same
    /// broker and user; none without a user name.
    async fn mqtt_input(&self, url: &str, password: &str) -> Result<(MqttSettings, Option<String>)> {
        let before = self.household().settings().home_assistant.mqtt;
        let settings = mqtt::settings_from_input(
            url,
            before.as_ref().and_then(|m| m.ca_file.clone()),
            before
                .as_ref()
                .map_or(DEFAULT_DISCOVERY_PREFIX, |m| &m.discovery_prefix),
            before.as_ref().map_or(DEFAULT_BASE_TOPIC, |m| &m.base_topic),
        )?;
        if !settings.url.contains('@') {
            return Ok((settings, None));
        }
        if !password.is_empty() {
            return Ok((settings, Some(password.to_owned())));
        }
        if !before.is_some_and(|b| same_server(&b.url, &settings.url, true)) {
            return Ok((settings, None));
        }
        let stored = self
            .household()
            .secrets()
            .get(link::SECRET_OWNER, SecretKind::MqttPassword)
            .await?;
        Ok((settings, stored))
    }

    /// "Test connection": reads `/api/` or connects to the broker; saves nothing.
    /// Says what answered: "Connected: Home Assistant answers.", "Connected: the
    /// broker accepts us."; a failure is an error of its kind (see
    /// [`crate::home_assistant::HaFailure::into_error`]).
    pub async fn test_home_assistant(
        &self,
        transport: HaTransport,
        url: &str,
        secret: &str,
    ) -> Result<String> {
        match transport {
            HaTransport::Rest => {
                let token = self.token_or_stored(url, secret).await?;
                let ca = self.household().settings().home_assistant.ca_file;
                link::test_connection(url, &token, ca).await?;
                Ok("Connected: Home Assistant answers.".to_owned())
            }
            HaTransport::Mqtt => {
                let (settings, password) = self.mqtt_input(url, secret).await?;
                link::test_mqtt(&settings, password.as_deref()).await?;
                Ok("Connected: the broker accepts us.".to_owned())
            }
        }
    }

    /// Saves the address and its secret (tested first; nothing saved if the test
    /// fails) and the on/off switch, then pushes at once.
    pub async fn save_home_assistant(
        &self,
        transport: HaTransport,
        url: &str,
        secret: &str,
        enabled: bool,
    ) -> Result<()> {
        match transport {
            HaTransport::Rest => {
                let token = self.token_or_stored(url, secret).await?;
                let ca = self.household().settings().home_assistant.ca_file;
                link::connect(self.household(), url, &token, ca).await?;
            }
            HaTransport::Mqtt => {
                let (settings, password) = self.mqtt_input(url, secret).await?;
                link::connect_mqtt(self.household(), settings, password.as_deref()).await?;
            }
        }
        self.household().update(|s| s.home_assistant.enabled = enabled)?;
        self.engine.refresh_now();
        Ok(())
    }

    /// The window's statistics fields, with the MQTT transport: Home Assistant's
    /// address and a long-lived token (typed, or the stored one for the same
    /// address) are tested and kept, the token in the keyring; the running app
    /// imports the balance history at once. An empty address forgets both. Returns
    /// the sentence. Errors: not on MQTT, no token, or the test failed.
    pub async fn save_statistics_link(&self, url: &str, token: &str) -> Result<String> {
        if url.trim().is_empty() {
            if self.household().settings().home_assistant.url.is_none() {
                return Ok("Saved.".into());
            }
            return self.forget_statistics().await;
        }
        self.require_mqtt()?;
        let token = self.token_or_stored(url, token).await?;
        let ca = self.household().settings().home_assistant.ca_file;
        link::connect_statistics(self.household(), url, &token, ca).await?;
        Ok("Saved: the balance history goes to Home Assistant's long-term statistics; the token is kept in the keyring.".into())
    }

    /// `ha statistics --off`: forgets the address and token kept for the
    /// statistics import. Returns the sentence.
    pub async fn forget_statistics(&self) -> Result<String> {
        self.require_mqtt()?;
        link::forget_statistics(self.household()).await?;
        Ok(
            "No more balance history goes to Home Assistant's long-term statistics; the token is forgotten."
                .into(),
        )
    }

    /// Statistics need their own address and token only with the MQTT transport.
    pub(super) fn require_mqtt(&self) -> Result<()> {
        let ha = self.household().settings().home_assistant;
        if ha.transport == crate::settings::HaTransport::Mqtt && ha.mqtt.is_some() {
            return Ok(());
        }
        Err(Error::InvalidInput(
            "Connect through MQTT first (ha connect --mqtt): through the REST API (ha connect --url) the balance history already goes to the long-term statistics.".into(),
        ))
    }
}

/// Whether two addresses name the same server: scheme, host (any case) and port
/// (the scheme's own when not written), and with `with_user` the user name too.
/// Addresses that cannot be read are the same only when written the same.
fn same_server(a: &str, b: &str, with_user: bool) -> bool {
    if a.trim() == b.trim() {
        return true;
    }
    let (Ok(a), Ok(b)) = (url::Url::parse(a.trim()), url::Url::parse(b.trim())) else {
        return false;
    };
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
        && (!with_user || a.username() == b.username())
}

#[cfg(test)]
mod tests {
    use super::same_server;

    #[test]
    fn a_stored_secret_goes_only_to_the_server_it_was_stored_for() {
        assert!(same_server(
            "http://ha.local:8123",
            "http://HA.local:8123/",
            false
        ));
        assert!(same_server(
            "https://ha.example.org",
            "https://ha.example.org:443",
            false
        ));
        assert!(!same_server(
            "http://ha.local:8123",
            "http://evil.example:8123",
            false
        ));
        assert!(!same_server(
            "http://ha.local:8123",
            "https://ha.local:8123",
            false
        ));
        assert!(!same_server(
            "http://ha.local:8123",
            "http://ha.local:8124",
            false
        ));
        assert!(same_server(
            "mqtt://ha@broker:1883",
            "mqtt://ha@broker:1883",
            true
        ));
        assert!(!same_server(
            "mqtt://ha@broker:1883",
            "mqtt://other@broker:1883",
            true
        ));
        assert!(!same_server(
            "mqtt://ha@broker:1883",
            "mqtt://ha@elsewhere:1883",
            true
        ));
        assert!(!same_server("ha.local", "other.local", false));
    }
}
