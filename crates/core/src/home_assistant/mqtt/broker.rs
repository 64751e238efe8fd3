//! Where the broker is and how to reach it: `mqtt://[user@]host:port` or
//! `mqtts://…` as people type it, topic prefixes checked, and rumqttc options with
//! TLS (the system's roots, or a CA file) built from them.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{LastWill, MqttOptions, QoS, TlsConfiguration, Transport};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use url::Url;

use crate::error::{Error, Result};

const DEFAULT_PORT: u16 = 1883;
const DEFAULT_TLS_PORT: u16 = 8883;

/// A broker address, checked. Never holds a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BrokerAddress {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) tls: bool,
    pub(crate) username: Option<String>,
}

impl BrokerAddress {
    /// Reads `mqtt://[user@]host[:port]` or `mqtts://…`. A password in the URL is
    /// refused: it would end up in settings, which are not secret.
    pub(crate) fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let example = "e.g. mqtt://homeassistant.local:1883 or mqtts://user@broker.example:8883";
        let url = Url::parse(text).map_err(|e| {
            Error::InvalidInput(format!("\"{text}\" is not a broker address ({e}); {example}"))
        })?;
        let tls = match url.scheme() {
            "mqtt" => false,
            "mqtts" => true,
            _ => {
                return Err(Error::InvalidInput(format!(
                    "\"{text}\" needs to start with mqtt:// or mqtts://, {example}"
                )))
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Error::InvalidInput(format!("\"{text}\" has no host name; {example}")))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if url.password().is_some() {
            return Err(Error::InvalidInput(
                "Leave the password out of the broker address: give mqtt://user@host:port, and the password separately (it is kept in the keyring).".into(),
            ));
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(Error::InvalidInput(format!(
                "\"{text}\" has more than a host and port; {example}"
            )));
        }
        let username =
            match url.username() {
                "" => None,
                name => Some(percent_decode(name).ok_or_else(|| {
                    Error::InvalidInput(format!("The user name in \"{text}\" is not valid."))
                })?),
            };
        let port = url
            .port()
            .unwrap_or(if tls { DEFAULT_TLS_PORT } else { DEFAULT_PORT });
        Ok(Self {
            host,
            port,
            tls,
            username,
        })
    }

    /// The address as settings keep it: no password, ever.
    pub(crate) fn display(&self) -> String {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        let user = self
            .username
            .as_deref()
            .map(|u| format!("{}@", percent_encoding::utf8_percent_encode(u, USERINFO)))
            .unwrap_or_default();
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{user}{host}:{}", self.port)
    }

    /// rumqttc options for a connection as `client_id`, with `password` when a user
    /// name is given, an optional last will, and TLS as the address asks.
    pub(crate) fn options(
        &self,
        client_id: &str,
        password: Option<&str>,
        ca_file: Option<&Path>,
        will: Option<LastWill>,
    ) -> Result<MqttOptions> {
        let mut options = MqttOptions::new(client_id, &self.host, self.port);
        options.set_keep_alive(Duration::from_secs(30));
        options.set_clean_session(true);
        // Discovery messages are small; this leaves room for long names.
        options.set_max_packet_size(64 * 1024, 64 * 1024);
        if let Some(user) = &self.username {
            options.set_credentials(user, password.unwrap_or_default());
        }
        if let Some(will) = will {
            options.set_last_will(will);
        }
        if self.tls {
            options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(Arc::new(
                tls_config(ca_file)?,
            ))));
        } else if ca_file.is_some() {
            return Err(Error::InvalidInput(
                "A CA file is only used with mqtts:// addresses.".into(),
            ));
        }
        Ok(options)
    }
}

fn percent_decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|v| v.into_owned())
}

/// What a user name may keep unescaped in a URL (RFC 3986 "unreserved").
const USERINFO: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// TLS as rustls does it, with ring like the rest of the app: the CA file's
/// certificates if one is given, else the system's roots.
pub(crate) fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| {
                Error::InvalidInput(format!("Could not read the CA file {}: {e}", path.display()))
            })?;
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| {
                    Error::InvalidInput(format!("{} is not a PEM certificate: {e}", path.display()))
                })?;
                roots.add(cert).map_err(|e| {
                    Error::InvalidInput(format!(
                        "{} holds a certificate rustls refuses: {e}",
                        path.display()
                    ))
                })?;
                added += 1;
            }
            if added == 0 {
                return Err(Error::InvalidInput(format!(
                    "{} holds no PEM certificate.",
                    path.display()
                )));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                // One unusable system certificate should not stop the others.
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(Error::InvalidInput(
                    "No trusted certificates were found on this system; give the broker's CA file.".into(),
                ));
            }
        }
    }
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::InvalidInput(format!("Could not set up TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(config)
}

/// Checks a topic prefix as typed: levels of plain characters, no wildcards.
pub(crate) fn check_topic_prefix(what: &str, prefix: &str) -> Result<String> {
    let prefix = prefix.trim().trim_end_matches('/');
    let bad = |why: &str| {
        Err(Error::InvalidInput(format!(
            "The {what} \"{prefix}\" {why}; use something like \"homeassistant\" or \"home/monzo\"."
        )))
    };
    if prefix.is_empty() {
        return bad("is empty");
    }
    if prefix.contains(['+', '#']) {
        return bad("contains an MQTT wildcard (+ or #), which cannot be published to");
    }
    if prefix.starts_with('$') {
        return bad("starts with $, which brokers keep for themselves");
    }
    if prefix.starts_with('/') || prefix.split('/').any(str::is_empty) {
        return bad("has an empty level");
    }
    if prefix.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return bad("contains spaces or control characters");
    }
    Ok(prefix.to_owned())
}

/// The last will: the broker marks every entity unavailable when the app is gone.
pub(crate) fn availability_will(topic: &str) -> LastWill {
    LastWill::new(topic, "offline", QoS::AtLeastOnce, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_people_type_them() {
        let a = BrokerAddress::parse(" mqtt://192.168.1.5 ").unwrap();
        assert_eq!(
            (a.host.as_str(), a.port, a.tls, a.username),
            ("192.168.1.5", 1883, false, None)
        );
        let a = BrokerAddress::parse("mqtts://ha%40home+1@broker.example").unwrap();
        assert_eq!(a.port, 8883);
        assert!(a.tls);
        assert_eq!(a.username.as_deref(), Some("ha@home+1"));
        assert_eq!(a.display(), "mqtts://ha%40home%2B1@broker.example:8883");
        assert_eq!(
            BrokerAddress::parse("mqtt://[::1]:1884").unwrap().display(),
            "mqtt://[::1]:1884"
        );

        for (text, says) in [
            ("homeassistant.local:1883", "mqtt://"),
            ("http://ha.local:8123", "mqtt://"),
            ("mqtt://user:hunter2@ha.local", "password"),
            ("mqtt://ha.local/topic", "more than a host"),
            ("mqtt://", "host"),
            ("mqtt://ha.local:99999", "not a broker address"),
        ] {
            let message = BrokerAddress::parse(text).unwrap_err().to_string();
            assert!(message.contains(says), "{text}: {message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
    }

    #[test]
    fn topic_prefixes() {
        assert_eq!(
            check_topic_prefix("x", "homeassistant/").unwrap(),
            "homeassistant"
        );
        assert_eq!(check_topic_prefix("x", "home/monzo").unwrap(), "home/monzo");
        for (bad, says) in [
            ("home/#", "wildcard"),
            ("+/x", "wildcard"),
            ("", "empty"),
            ("a//b", "empty level"),
            ("$SYS", "$"),
            ("my prefix", "spaces"),
        ] {
            let message = check_topic_prefix("discovery prefix", bad)
                .unwrap_err()
                .to_string();
            assert!(message.contains(says), "{bad}: {message}");
        }
    }

    #[test]
    fn a_ca_file_that_is_not_one_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let address = BrokerAddress::parse("mqtts://broker.example").unwrap();
        let message = address
            .options("t", None, Some(&path), None)
            .unwrap_err()
            .to_string();
        assert!(message.contains("no PEM certificate"), "{message}");
        let plain = BrokerAddress::parse("mqtt://broker.example").unwrap();
        assert!(plain.options("t", None, Some(&path), None).is_err());
    }
}
