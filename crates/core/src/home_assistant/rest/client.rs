//! Home Assistant's REST API, as the pusher uses it: `GET /api/` to test the
//! connection, `POST/GET/DELETE /api/states/<entity_id>`, and
//! `POST /api/events/<event_type>` for new transactions.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use url::Url;

use super::EntityState;
use crate::error::{Error, Result};
use crate::home_assistant::HaFailure;

#[derive(Clone)]
pub struct HaClient {
    http: reqwest::Client,
    base: Url,
    token: String,
}

/// Reads a Home Assistant URL as people type it: scheme required, a trailing slash
/// or a path prefix (behind a reverse proxy) fine.
pub(crate) fn parse_url(text: &str) -> Result<Url> {
    let text = text.trim();
    if !text.starts_with("http://") && !text.starts_with("https://") {
        return Err(Error::InvalidInput(format!(
            "\"{text}\" needs to start with http:// or https://, e.g. http://homeassistant.local:8123"
        )));
    }
    let mut url =
        Url::parse(text).map_err(|e| Error::InvalidInput(format!("\"{text}\" is not a URL: {e}")))?;
    if url.host_str().unwrap_or_default().is_empty() {
        return Err(Error::InvalidInput(format!("\"{text}\" has no host name")));
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    Ok(url)
}

/// Checks a long-lived token as pasted: surrounding spaces dropped, none inside.
pub(crate) fn clean_token(token: &str) -> Result<String> {
    let token = token.trim();
    if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::InvalidInput(
            "That is not a Home Assistant token: make a long-lived access token on your Home Assistant profile page and paste it whole.".into(),
        ));
    }
    Ok(token.to_owned())
}

impl HaClient {
    pub fn new(url: &str, token: &str, ca_file: Option<&Path>) -> Result<Self> {
        let base = parse_url(url)?;
        let token = clean_token(token)?;
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none());
        if let Some(ca) = ca_file {
            let pem = std::fs::read(ca).map_err(|e| {
                Error::InvalidInput(format!("Could not read the CA file {}: {e}", ca.display()))
            })?;
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                Error::InvalidInput(format!("{} is not a PEM certificate: {e}", ca.display()))
            })?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder
            .build()
            .map_err(|e| Error::InvalidInput(format!("Could not set up HTTPS: {e}")))?;
        Ok(Self { http, base, token })
    }

    pub(crate) fn base(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}{path}"));
        url
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> std::result::Result<(u16, String), HaFailure> {
        let reply = request.bearer_auth(&self.token).send().await.map_err(|e| {
            HaFailure::Unreachable(if e.is_timeout() {
                "it did not answer in time".into()
            } else {
                "the connection failed".into()
            })
        })?;
        let status = reply.status().as_u16();
        let body = reply.text().await.unwrap_or_default();
        match status {
            200..=299 | 404 => Ok((status, body)),
            401 | 403 => Err(HaFailure::Unauthorized),
            _ => {
                // Home Assistant's words reach the tray and the terminal: made safe
                // to show here, where they enter.
                let message = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|v| v.get("message").and_then(Value::as_str).map(crate::text::line))
                    .unwrap_or_else(|| format!("HTTP {status}"));
                Err(HaFailure::Rejected(message))
            }
        }
    }

    /// `GET /api/config`'s `version` ("2026.11.0"): what the statistics import
    /// sends depends on it. A version it cannot read counts as the oldest known.
    pub(crate) async fn version(
        &self,
    ) -> std::result::Result<super::super::statistics::HaVersion, HaFailure> {
        let (status, body) = self.send(self.http.get(self.url("/api/config"))).await?;
        if status != 200 {
            return Err(HaFailure::Rejected(format!(
                "Home Assistant answered HTTP {status} for its configuration"
            )));
        }
        let version = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("version").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default();
        Ok(super::super::statistics::HaVersion::parse(&version)
            .unwrap_or(super::super::statistics::HaVersion { year: 2024, month: 3 }))
    }

    /// `GET /api/`: reachable, the token accepted, and really Home Assistant.
    pub(crate) async fn check(&self) -> std::result::Result<(), HaFailure> {
        let (status, body) = self.send(self.http.get(self.url("/api/"))).await?;
        let running = serde_json::from_str::<Value>(&body)
            .ok()
            .is_some_and(|v| v.get("message").and_then(Value::as_str) == Some("API running."));
        if status == 200 && running {
            Ok(())
        } else {
            Err(HaFailure::Rejected(
                "that address does not answer like Home Assistant's API".into(),
            ))
        }
    }

    pub(crate) async fn set_state(&self, state: &EntityState) -> std::result::Result<(), HaFailure> {
        let url = self.url(&format!("/api/states/{}", state.entity_id));
        match self.send(self.http.post(url).json(state)).await? {
            (404, _) => Err(HaFailure::Rejected(
                "Home Assistant has no states API at that address".into(),
            )),
            _ => Ok(()),
        }
    }

    /// The state as Home Assistant has it, or `None` if it does not know it.
    pub(crate) async fn get_state(&self, entity_id: &str) -> std::result::Result<Option<Value>, HaFailure> {
        let (status, body) = self
            .send(self.http.get(self.url(&format!("/api/states/{entity_id}"))))
            .await?;
        if status == 404 {
            return Ok(None);
        }
        Ok(serde_json::from_str(&body).ok())
    }

    /// `POST /api/events/<event_type>` with `data`: fires an event on Home
    /// Assistant's bus (an admin token may fire any event type).
    pub(crate) async fn fire_event(
        &self,
        event_type: &str,
        data: &Value,
    ) -> std::result::Result<(), HaFailure> {
        let url = self.url(&format!("/api/events/{event_type}"));
        match self.send(self.http.post(url).json(data)).await? {
            (404, _) => Err(HaFailure::Rejected(
                "Home Assistant has no events API at that address".into(),
            )),
            _ => Ok(()),
        }
    }

    pub(crate) async fn delete_state(&self, entity_id: &str) -> std::result::Result<(), HaFailure> {
        self.send(self.http.delete(self.url(&format!("/api/states/{entity_id}"))))
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_tokens_as_people_type_them() {
        assert_eq!(
            parse_url("http://ha.local:8123/").unwrap().as_str(),
            "http://ha.local:8123/"
        );
        assert_eq!(
            parse_url(" https://x.example/ha/ ").unwrap().as_str(),
            "https://x.example/ha"
        );
        assert!(parse_url("ha.local:8123")
            .unwrap_err()
            .to_string()
            .contains("http://"));
        assert!(parse_url("http://").is_err());
        assert_eq!(clean_token("  abc.def \n").unwrap(), "abc.def");
        assert!(clean_token("abc def").is_err());
        assert!(clean_token("").is_err());
    }
}
