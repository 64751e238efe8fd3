//! Settings: people and their OAuth client ids, poll interval, privacy mode. Never a
//! secret (those are in the keyring).
//!
//! The file is `settings.json` in the config dir (`MONZO_TRAY_CONFIG_DIR`, else
//! `$XDG_CONFIG_HOME/monzo-tray`): a flat JSON object of keys, the format
//! tauri-plugin-store reads and writes, so the desktop shell can use the plugin on the
//! same file. Writes are atomic (temporary file, fsync, rename). A file that is not
//! valid JSON is moved aside to a backup, the person is told, and we start clean.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const SETTINGS_FILE: &str = "settings.json";
pub const DEFAULT_POLL_INTERVAL_SECS: u64 = 60;
/// Monzo asks for the in-app approval again after this long.
pub const APPROVAL_LIFETIME_DAYS: i64 = 90;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default)]
    pub people: Vec<PersonSettings>,
    #[serde(default = "default_poll_interval")]
    pub poll_interval_secs: u64,
    #[serde(default)]
    pub privacy_mode: bool,
    /// Low-balance alert thresholds in major units, by Monzo `acc_…` id.
    #[serde(default)]
    pub low_balance_alerts: std::collections::BTreeMap<String, rust_decimal::Decimal>,
    #[serde(default)]
    pub home_assistant: HomeAssistantSettings,
    /// Keys written by other parts or newer versions, kept as they are.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

fn default_poll_interval() -> u64 {
    DEFAULT_POLL_INTERVAL_SECS
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            people: Vec::new(),
            poll_interval_secs: DEFAULT_POLL_INTERVAL_SECS,
            privacy_mode: false,
            low_balance_alerts: Default::default(),
            home_assistant: HomeAssistantSettings::default(),
            other: serde_json::Map::new(),
        }
    }
}

/// How balances reach Home Assistant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HaTransport {
    /// States set through its REST API (`url` and a token).
    #[default]
    Rest,
    /// Entities and devices through MQTT discovery (`mqtt`).
    Mqtt,
}

/// Where Home Assistant is; its token (or the broker's password) is in the keyring.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeAssistantSettings {
    #[serde(default)]
    pub transport: HaTransport,
    /// Home Assistant's own address, for the REST transport.
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub enabled: bool,
    /// The broker, for the MQTT transport.
    #[serde(default)]
    pub mqtt: Option<MqttSettings>,
    /// A CA certificate (PEM) to trust for an https URL with a private CA.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Entity ids, chosen once per Monzo id: see `home_assistant::entities`.
    #[serde(default)]
    pub entities: std::collections::BTreeMap<String, String>,
}

/// An MQTT broker that Home Assistant's MQTT integration listens to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MqttSettings {
    /// `mqtt://[user@]host:port` or `mqtts://…`; never a password (that is in the keyring).
    pub url: String,
    /// A CA certificate (PEM) to trust for `mqtts://` with a private CA.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Home Assistant's discovery prefix (its MQTT option of that name).
    #[serde(default = "default_discovery_prefix")]
    pub discovery_prefix: String,
    /// Where states and availability are published.
    #[serde(default = "default_base_topic")]
    pub base_topic: String,
}

pub fn default_discovery_prefix() -> String {
    "homeassistant".into()
}

pub fn default_base_topic() -> String {
    "monzo_tray".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonSettings {
    /// Our stable id for this person (entries in the keyring are filed under it).
    pub id: String,
    pub name: String,
    pub client_id: String,
    /// The redirect URL this person's client was registered with.
    pub redirect_uri: String,
    #[serde(default)]
    pub signed_in_at: Option<DateTime<Utc>>,
    /// When data was first seen after the last in-app approval; Monzo asks again
    /// `APPROVAL_LIFETIME_DAYS` later.
    #[serde(default)]
    pub approved_at: Option<DateTime<Utc>>,
}

impl PersonSettings {
    pub fn approval_due_at(&self) -> Option<DateTime<Utc>> {
        self.approved_at
            .map(|t| t + chrono::Duration::days(APPROVAL_LIFETIME_DAYS))
    }
}

impl Settings {
    pub fn poll_interval(&self) -> Duration {
        Duration::from_secs(self.poll_interval_secs.max(10))
    }

    pub fn person_by_name(&self, name: &str) -> Option<&PersonSettings> {
        let name = name.trim();
        self.people.iter().find(|p| p.name == name).or_else(|| {
            self.people
                .iter()
                .find(|p| p.name.to_lowercase() == name.to_lowercase())
        })
    }

    pub fn person_by_id(&self, id: &str) -> Option<&PersonSettings> {
        self.people.iter().find(|p| p.id == id)
    }

    pub fn person_by_id_mut(&mut self, id: &str) -> Option<&mut PersonSettings> {
        self.people.iter_mut().find(|p| p.id == id)
    }
}

/// Where the settings live, from `MONZO_TRAY_CONFIG_DIR` or the platform's config dir.
pub fn config_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("MONZO_TRAY_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::config_dir().map(|d| d.join("monzo-tray")).ok_or_else(|| {
        Error::InvalidInput("No config folder is known for this user; set MONZO_TRAY_CONFIG_DIR.".into())
    })
}

/// What loading found besides the settings: a warning to show the person.
#[derive(Debug)]
pub struct Loaded {
    pub settings: Settings,
    pub warning: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SettingsFile {
    path: PathBuf,
}

impl SettingsFile {
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            path: dir.join(SETTINGS_FILE),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, action: &'static str, source: std::io::Error) -> Error {
        Error::SettingsIo {
            action,
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Reads the settings. Missing file: defaults. Unreadable JSON: the file is moved
    /// to `settings.json.broken-<time>` and defaults are returned with a warning.
    pub fn load(&self) -> Result<Loaded> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Loaded {
                    settings: Settings::default(),
                    warning: None,
                })
            }
            Err(e) => return Err(self.io_error("read", e)),
        };
        match serde_json::from_str::<Settings>(&text) {
            Ok(settings) => Ok(Loaded {
                settings,
                warning: None,
            }),
            Err(parse_error) => {
                let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
                let backup = self
                    .path
                    .with_file_name(format!("{SETTINGS_FILE}.broken-{stamp}"));
                std::fs::rename(&self.path, &backup).map_err(|e| self.io_error("set aside", e))?;
                let warning = format!(
                    "The settings file could not be read ({parse_error}); it was kept as {} and monzo-tray started with empty settings. Sign-ins in the keyring are untouched.",
                    backup.display()
                );
                tracing::warn!("{warning}");
                Ok(Loaded {
                    settings: Settings::default(),
                    warning: Some(warning),
                })
            }
        }
    }

    /// Writes atomically: a crash leaves either the old file or the new one.
    pub fn save(&self, settings: &Settings) -> Result<()> {
        use std::io::Write;
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.io_error("create the folder of", e))?;
        let text = serde_json::to_vec_pretty(settings)
            .map_err(|e| self.io_error("encode", std::io::Error::other(e)))?;
        let tmp = self
            .path
            .with_file_name(format!(".{SETTINGS_FILE}.{}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&text)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            // Make the rename itself durable.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(())
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            self.io_error("write", e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::in_dir(dir.path());
        assert_eq!(file.load().unwrap().settings, Settings::default());
        std::fs::write(
            file.path(),
            r#"{"people":[],"poll_interval_secs":30,"ha_entities":{"acc_1":"x"}}"#,
        )
        .unwrap();
        let loaded = file.load().unwrap().settings;
        assert_eq!(loaded.poll_interval_secs, 30);
        file.save(&loaded).unwrap();
        let again: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(file.path()).unwrap()).unwrap();
        assert_eq!(again["ha_entities"]["acc_1"], "x");
    }

    #[test]
    fn a_broken_file_is_kept_aside_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::in_dir(dir.path());
        std::fs::write(file.path(), "{ not json").unwrap();
        let loaded = file.load().unwrap();
        assert!(loaded.warning.unwrap().contains("could not be read"));
        assert_eq!(loaded.settings, Settings::default());
        let backups: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("broken"))
            .collect();
        assert_eq!(backups.len(), 1);
        assert_eq!(std::fs::read_to_string(backups[0].path()).unwrap(), "{ not json");
    }

    #[test]
    fn approval_due_is_ninety_days_on() {
        let approved = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let person = PersonSettings {
            id: "p".into(),
            name: "Dana".into(),
            client_id: "c".into(),
            redirect_uri: "http://127.0.0.1:8457/callback".into(),
            signed_in_at: None,
            approved_at: Some(approved),
        };
        assert_eq!(
            person.approval_due_at().unwrap().to_rfc3339(),
            "2026-04-01T00:00:00+00:00"
        );
    }
}
