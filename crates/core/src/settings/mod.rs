//! Settings: people and their OAuth client ids, poll interval, privacy mode, Home
//! Assistant. Never a secret (those are in the keyring).
//!
//! The file is `settings.json` in the config dir (`--config-dir` or
//! `MONZO_TRAY_CONFIG_DIR`, else `$XDG_CONFIG_HOME/monzo-tray`): a flat JSON object of keys. Writes are atomic
//! (temporary file, fsync, rename). Reading is value by value ([`read`]): a value
//! that cannot be used is replaced by its default and named in a warning; only a file
//! that is not a JSON object at all is moved aside (never over an earlier backup), the
//! person is told, and monzo-tray starts clean.

mod patch;
mod read;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::atomic_file;
use crate::error::{Error, Result};
use crate::file_lock::FileLock;

pub(crate) const SETTINGS_FILE: &str = "settings.json";
/// The folder of the household's lock files (see `file_lock`), beside the settings.
pub(crate) const LOCKS_DIR: &str = "locks";
/// Held while a process changes the settings (see [`SettingsFile::update`]).
const SETTINGS_LOCK_FILE: &str = "settings.lock";
/// How long a change to the settings waits for another process's change to finish:
/// each is one read and one atomic write, so this is only ever reached by a stuck
/// process.
const SETTINGS_LOCK_TIMEOUT: Duration = Duration::from_secs(10);
/// Seconds between polls unless the person chooses otherwise: Home Assistant's own
/// Monzo integration polls every minute too.
pub(crate) const DEFAULT_POLL_INTERVAL_SECS: u64 = 60;
/// The shortest and longest poll interval a person may choose, in seconds: Monzo's
/// rate limits are not published (docs.monzo.com), and users report being limited
/// after a few dozen requests in 5 minutes, so never faster than every 10 s.
pub const MIN_POLL_INTERVAL_SECS: u64 = 10;
pub const MAX_POLL_INTERVAL_SECS: u64 = 86_400;
/// Monzo asks for the in-app approval again after this long (observed by apps;
/// Monzo's docs do not say).
pub(crate) const APPROVAL_LIFETIME_DAYS: i64 = 90;
/// Home Assistant's default MQTT discovery prefix (its MQTT option of that name).
pub(crate) const DEFAULT_DISCOVERY_PREFIX: &str = "homeassistant";
/// Where our MQTT states and availability go unless the person chooses otherwise.
pub(crate) const DEFAULT_BASE_TOPIC: &str = "monzo_tray";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// This household's own random id (`h_…`): its keyring entries are filed under
    /// it, so two config folders (households) never share one. `None` only in a file
    /// from before household ids, until it is first opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) household_id: Option<String>,
    pub people: Vec<PersonSettings>,
    pub(crate) poll_interval_secs: u64,
    pub(crate) privacy_mode: bool,
    /// Low-balance alert thresholds in major units, by Monzo `acc_…` id.
    pub(crate) low_balance_alerts: std::collections::BTreeMap<String, rust_decimal::Decimal>,
    pub home_assistant: HomeAssistantSettings,
    /// Keyring owners (person ids, `home_assistant`) whose entries are still filed
    /// the way they were before household ids: moved at the next start.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) secrets_to_move: Vec<String>,
    /// Keyring owners whose entries are to be deleted (a person removed while the
    /// keyring could not be reached): tried again at every start.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) secrets_to_delete: Vec<String>,
    /// Person entries this version could not use, kept verbatim (written back after
    /// the readable people on save).
    #[serde(skip)]
    pub(crate) unreadable_people: Vec<Value>,
    /// Keys written by other parts or newer versions, kept as they are.
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            household_id: None,
            people: Vec::new(),
            poll_interval_secs: DEFAULT_POLL_INTERVAL_SECS,
            privacy_mode: false,
            low_balance_alerts: Default::default(),
            home_assistant: HomeAssistantSettings::default(),
            secrets_to_move: Vec::new(),
            secrets_to_delete: Vec::new(),
            unreadable_people: Vec::new(),
            other: Map::new(),
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HomeAssistantSettings {
    pub transport: HaTransport,
    /// Home Assistant's own address, for the REST transport.
    pub url: Option<String>,
    pub(crate) enabled: bool,
    /// The broker, for the MQTT transport.
    pub(crate) mqtt: Option<MqttSettings>,
    /// A CA certificate (PEM) to trust for an https URL with a private CA.
    pub(crate) ca_file: Option<PathBuf>,
    /// Entity ids, chosen once per Monzo id: see `home_assistant::entities`.
    pub(crate) entities: std::collections::BTreeMap<String, String>,
    /// Keys of newer versions, kept as they are.
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

/// An MQTT broker that Home Assistant's MQTT integration listens to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MqttSettings {
    /// `mqtt://[user@]host:port` or `mqtts://…`; never a password (that is in the keyring).
    pub url: String,
    /// A CA certificate (PEM) to trust for `mqtts://` with a private CA.
    pub(crate) ca_file: Option<PathBuf>,
    /// Home Assistant's discovery prefix (its MQTT option of that name).
    pub(crate) discovery_prefix: String,
    /// Where states and availability are published.
    pub(crate) base_topic: String,
    /// Keys of newer versions, kept as they are.
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

impl MqttSettings {
    /// The broker at `url` with the default topics and the system's CA roots.
    pub(crate) fn new(url: String) -> Self {
        Self {
            url,
            ca_file: None,
            discovery_prefix: DEFAULT_DISCOVERY_PREFIX.into(),
            base_topic: DEFAULT_BASE_TOPIC.into(),
            other: Map::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonSettings {
    /// Our stable id for this person (entries in the keyring are filed under it).
    pub id: String,
    pub name: String,
    pub(crate) client_id: String,
    /// The redirect URL this person's client was registered with.
    pub(crate) redirect_uri: String,
    pub signed_in_at: Option<DateTime<Utc>>,
    /// When data was first seen after the last in-app approval; Monzo asks again
    /// `APPROVAL_LIFETIME_DAYS` later.
    pub approved_at: Option<DateTime<Utc>>,
    /// The Monzo user (`user_…`) this person is bound to: the `user_id` of the token
    /// reply at their first sign-in. A later sign-in as another Monzo user is refused.
    pub monzo_user_id: Option<String>,
    /// Desktop notifications of this person's new transactions. Off unless they
    /// choose it: on a shared desktop they would show one person's spending to
    /// another.
    pub(crate) notify_transactions: bool,
    /// Keep this person's money history (every transaction, balances over time) in
    /// the household's history database. On unless they turn it off.
    #[serde(rename = "history")]
    pub(crate) keep_history: bool,
    /// Keys of newer versions, kept as they are.
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

impl PersonSettings {
    /// A person for unit tests: `id`, `name`, a client, never signed in.
    #[cfg(test)]
    pub(crate) fn example(id: &str, name: &str) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            client_id: "oauth2client_example".into(),
            redirect_uri: "http://127.0.0.1:8457/callback".into(),
            signed_in_at: None,
            approved_at: None,
            monzo_user_id: None,
            notify_transactions: false,
            keep_history: true,
            other: Map::new(),
        }
    }

    pub(crate) fn approval_due_at(&self) -> Option<DateTime<Utc>> {
        self.approved_at
            .map(|t| t + chrono::Duration::days(APPROVAL_LIFETIME_DAYS))
    }
}

impl Settings {
    /// The poll interval, never below [`MIN_POLL_INTERVAL_SECS`] whatever the file says.
    pub(crate) fn poll_interval(&self) -> Duration {
        Duration::from_secs(
            self.poll_interval_secs
                .clamp(MIN_POLL_INTERVAL_SECS, MAX_POLL_INTERVAL_SECS),
        )
    }

    pub(crate) fn person_by_name(&self, name: &str) -> Option<&PersonSettings> {
        let name = name.trim();
        self.people.iter().find(|p| p.name == name).or_else(|| {
            self.people
                .iter()
                .find(|p| p.name.to_lowercase() == name.to_lowercase())
        })
    }

    pub(crate) fn person_by_id(&self, id: &str) -> Option<&PersonSettings> {
        self.people.iter().find(|p| p.id == id)
    }

    pub(crate) fn person_by_id_mut(&mut self, id: &str) -> Option<&mut PersonSettings> {
        self.people.iter_mut().find(|p| p.id == id)
    }
}

/// Where the settings live unless the command line says otherwise: `monzo-tray` in
/// the platform's config folder (`dirs::config_dir`).
///
/// Errors: [`Error::InvalidInput`] when the platform knows none for this user.
pub fn default_config_dir() -> Result<PathBuf> {
    dirs::config_dir().map(|d| d.join("monzo-tray")).ok_or_else(|| {
        Error::InvalidInput(
            "No config folder is known for this user; give one with --config-dir or MONZO_TRAY_CONFIG_DIR."
                .into(),
        )
    })
}

/// What loading found besides the settings: a warning to show the person.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) settings: Settings,
    pub(crate) warning: Option<String>,
    /// The text read, to tell a later change of the file (`None`: no file, or one
    /// that was set aside).
    pub(crate) text: Option<String>,
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

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, action: &'static str, source: std::io::Error) -> Error {
        Error::SettingsIo {
            action,
            path: self.path.display().to_string(),
            source,
        }
    }

    /// The lock file held while a process changes the settings.
    fn lock_path(&self) -> PathBuf {
        self.path.with_file_name(LOCKS_DIR).join(SETTINGS_LOCK_FILE)
    }

    /// The lock file of one person (their tokens: refresh, sign-in, removal).
    pub(crate) fn person_lock_path(&self, person_id: &str) -> PathBuf {
        // Person ids are ours (`p_` and letters), but a hand edit could make one a path.
        let safe: String = person_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.path
            .with_file_name(LOCKS_DIR)
            .join(format!("person-{safe}.lock"))
    }

    /// The folder the settings are in.
    pub(crate) fn dir(&self) -> &Path {
        self.path.parent().unwrap_or_else(|| Path::new("."))
    }

    /// The file's text, `None` when there is none. A UTF-8 byte-order mark (left by
    /// some Windows editors) is not part of the JSON.
    fn read_text(&self) -> Result<Option<String>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(Some(match text.strip_prefix('\u{feff}') {
                Some(rest) => rest.to_owned(),
                None => text,
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io_error("read", e)),
        }
    }

    /// Reads the settings (removing the temporary files of writes killed half-way,
    /// see `atomic_file`). Missing file: defaults. A value that cannot be used: its
    /// default, named in the warning, everything else kept. Not a JSON object at all:
    /// the file is set aside as `settings.json.broken-<time>` (never over an earlier
    /// one) and defaults are returned with a warning.
    pub(crate) fn load(&self) -> Result<Loaded> {
        // What a write killed half-way left behind (the settings themselves are whole).
        atomic_file::remove_abandoned_temporaries(&self.path);
        let text = self.read_text()?;
        self.parse(text.as_deref())
    }

    /// What `text` (the file's contents, `None` for no file) holds; see [`Self::load`].
    fn parse(&self, text: Option<&str>) -> Result<Loaded> {
        let Some(text) = text else {
            return Ok(Loaded {
                settings: Settings::default(),
                warning: None,
                text: None,
            });
        };
        let problem = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => {
                let read = read::settings(map);
                let warning = (!read.warnings.is_empty()).then(|| read.warnings.join(" "));
                return Ok(Loaded {
                    settings: read.settings,
                    warning,
                    text: Some(text.to_owned()),
                });
            }
            Ok(_) => "it is not a JSON object".to_owned(),
            Err(parse_error) => parse_error.to_string(),
        };
        let backup =
            atomic_file::set_aside(&self.path, "broken").map_err(|e| self.io_error("set aside", e))?;
        let warning = format!(
            "The settings file could not be read ({problem}); it was kept as {} and monzo-tray started with empty settings. Sign-ins in the keyring are untouched.",
            backup.display()
        );
        Ok(Loaded {
            settings: Settings::default(),
            warning: Some(warning),
            text: None,
        })
    }

    /// Reads the file again if its text is not `known` (another process, or a
    /// person, changed it). `None` when it is unchanged.
    pub(crate) fn reload_if_changed(&self, known: Option<&str>) -> Result<Option<Loaded>> {
        let text = self.read_text()?;
        if text.as_deref() == known {
            return Ok(None);
        }
        self.parse(text.as_deref()).map(Some)
    }

    /// Changes the settings as they are on disk now, under the settings lock, so
    /// that no change of another process is lost: the file is read, `change` is made
    /// to what it holds, and only the values `change` touched are written back
    /// (atomically); everything else in the file, including hand edits, values this
    /// version cannot read and keys it does not know, stays as it is. Returns the
    /// settings now in the file, their text, and what `change` returned.
    ///
    /// Errors: [`Error::Busy`] when another process holds the lock for
    /// `SETTINGS_LOCK_TIMEOUT`; [`Error::SettingsIo`].
    pub(crate) fn update<T>(&self, change: impl FnOnce(&mut Settings) -> T) -> Result<Updated<T>> {
        let _lock = FileLock::acquire_blocking(&self.lock_path(), "the settings", SETTINGS_LOCK_TIMEOUT)?;
        let loaded = self.load()?;
        let raw = match &loaded.text {
            Some(text) => serde_json::from_str::<Value>(text)
                .map_err(|e| self.io_error("read", std::io::Error::other(e)))?,
            None => Value::Object(Map::new()),
        };
        let before = loaded.settings;
        let mut after = before.clone();
        let out = change(&mut after);
        if after == before {
            return Ok(Updated {
                settings: before,
                text: loaded.text,
                out,
            });
        }
        let encode = |s: &Settings| {
            serde_json::to_value(s).map_err(|e| self.io_error("encode", std::io::Error::other(e)))
        };
        let mut raw = raw;
        patch::apply(&mut raw, &encode(&before)?, &encode(&after)?);
        let mut text = serde_json::to_string_pretty(&raw)
            .map_err(|e| self.io_error("encode", std::io::Error::other(e)))?;
        text.push('\n');
        atomic_file::write(&self.path, text.as_bytes()).map_err(|e| self.io_error("write", e))?;
        let settings = self.parse(Some(&text))?.settings;
        Ok(Updated {
            settings,
            text: Some(text),
            out,
        })
    }

    /// Writes `settings` as the whole file, atomically (tests: a file as an older
    /// version or a person left it). Changes go through [`Self::update`].
    #[cfg(test)]
    fn save(&self, settings: &Settings) -> Result<()> {
        let mut value =
            serde_json::to_value(settings).map_err(|e| self.io_error("encode", std::io::Error::other(e)))?;
        if let Some(Value::Array(people)) = value.get_mut("people") {
            people.extend(settings.unreadable_people.iter().cloned());
        }
        let text = serde_json::to_vec_pretty(&value)
            .map_err(|e| self.io_error("encode", std::io::Error::other(e)))?;
        atomic_file::write(&self.path, &text).map_err(|e| self.io_error("write", e))
    }
}

/// What [`SettingsFile::update`] left in the file.
#[derive(Debug)]
pub(crate) struct Updated<T> {
    pub(crate) settings: Settings,
    /// The file's text now (`None`: there is no file, nothing was changed).
    pub(crate) text: Option<String>,
    /// What the change returned.
    pub(crate) out: T,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backups(dir: &Path) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().contains("broken"))
            .collect();
        found.sort();
        found
    }

    #[test]
    fn round_trip_keeps_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::in_dir(dir.path());
        assert_eq!(file.load().unwrap().settings, Settings::default());
        std::fs::write(
            file.path(),
            r#"{"people":[{"id":"p1","name":"Dana","client_id":"c","redirect_uri":"http://r","colour":"teal"}],
                "poll_interval_secs":30,"ha_entities":{"acc_1":"x"},
                "home_assistant":{"url":"http://ha","webhook":{"id":"w"},"mqtt":{"url":"mqtt://h:1","qos":2}}}"#,
        )
        .unwrap();
        let loaded = file.load().unwrap();
        assert_eq!(loaded.warning, None);
        let settings = loaded.settings;
        assert_eq!(settings.poll_interval_secs, 30);
        file.save(&settings).unwrap();
        let again: Value = serde_json::from_str(&std::fs::read_to_string(file.path()).unwrap()).unwrap();
        assert_eq!(again["ha_entities"]["acc_1"], "x");
        assert_eq!(again["people"][0]["colour"], "teal");
        assert_eq!(again["home_assistant"]["webhook"]["id"], "w");
        assert_eq!(again["home_assistant"]["mqtt"]["qos"], 2);
        assert_eq!(again["home_assistant"]["mqtt"]["base_topic"], DEFAULT_BASE_TOPIC);
    }

    /// A file some Windows editors saved with a UTF-8 byte-order mark is read as the
    /// settings it holds (not set aside, nobody signed out), and a change keeps
    /// everything in it.
    #[test]
    fn a_byte_order_mark_is_read_past() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::in_dir(dir.path());
        std::fs::write(
            file.path(),
            "\u{feff}{\"people\":[{\"id\":\"p1\",\"name\":\"Dana\",\"client_id\":\"c\",\"redirect_uri\":\"http://r\"}],\"poll_interval_secs\":30}",
        )
        .unwrap();
        let loaded = file.load().unwrap();
        assert_eq!(loaded.warning, None);
        assert_eq!(loaded.settings.people.len(), 1);
        assert_eq!(loaded.settings.poll_interval_secs, 30);
        assert!(backups(dir.path()).is_empty(), "nothing set aside");
        file.update(|s| s.privacy_mode = true).unwrap();
        let again = file.load().unwrap().settings;
        assert_eq!(again.people.len(), 1);
        assert!(again.privacy_mode);
    }

    /// A save goes over the file already there (a rename onto an existing file has
    /// its own rules on Windows), also while someone else reads it for a moment (as
    /// another monzo-tray or a virus scanner does), and leaves nothing else in the
    /// folder.
    #[test]
    fn a_save_replaces_the_existing_file_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::in_dir(dir.path());
        let mut settings = Settings {
            poll_interval_secs: 30,
            ..Settings::default()
        };
        file.save(&settings).unwrap();
        settings.poll_interval_secs = 45;
        settings.privacy_mode = true;
        let reader = std::fs::File::open(file.path()).unwrap();
        let reading = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(reader);
        });
        file.save(&settings).unwrap();
        reading.join().unwrap();
        let loaded = file.load().unwrap();
        assert_eq!(loaded.warning, None);
        assert_eq!(loaded.settings, settings);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [SETTINGS_FILE]);
    }

    /// One wrong value costs that value only, named in one sentence each.
    #[test]
    fn a_wrong_value_is_replaced_by_its_default_and_everything_else_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::in_dir(dir.path());
        std::fs::write(
            file.path(),
            r#"{
              "people": [
                {"id":"p1","name":"Dana","client_id":"c1","redirect_uri":"http://r","approved_at":"yesterday","monzo_user_id":"user_1"},
                {"id":"p2","name":"Alex","client_id":"c2","redirect_uri":"http://r","signed_in_at":"2026-01-01T00:00:00Z"},
                {"name":"Broken"},
                42
              ],
              "poll_interval_secs": "sixty",
              "privacy_mode": true,
              "low_balance_alerts": {"acc_1": "100.00", "acc_2": "lots"},
              "home_assistant": {
                "transport": "carrier_pigeon", "url": "http://ha:8123", "enabled": true,
                "entities": {"p1/acc_1/balance": "sensor.monzo_dana_current_account_balance", "p1/acc_1/x": 5}
              }
            }"#,
        )
        .unwrap();
        let loaded = file.load().unwrap();
        let settings = &loaded.settings;
        let warning = loaded.warning.clone().unwrap();
        // Everything readable is kept.
        assert_eq!(
            settings
                .people
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>(),
            ["Dana", "Alex"]
        );
        assert_eq!(settings.people[0].approved_at, None);
        assert_eq!(settings.people[0].monzo_user_id.as_deref(), Some("user_1"));
        assert!(settings.people[1].signed_in_at.is_some());
        assert_eq!(settings.poll_interval_secs, DEFAULT_POLL_INTERVAL_SECS);
        assert!(settings.privacy_mode);
        assert_eq!(settings.low_balance_alerts.len(), 1);
        assert_eq!(settings.home_assistant.transport, HaTransport::Rest);
        assert_eq!(settings.home_assistant.url.as_deref(), Some("http://ha:8123"));
        assert!(settings.home_assistant.enabled);
        assert_eq!(settings.home_assistant.entities.len(), 1);
        // Each replaced value is named.
        for named in [
            "\"approved_at\" is \"yesterday\"",
            "\"poll_interval_secs\" is \"sixty\"",
            "\"acc_2\"",
            "\"carrier_pigeon\"",
            "\"p1/acc_1/x\"",
            "person 3",
            "person 4",
        ] {
            assert!(warning.contains(named), "{named} not in: {warning}");
        }
        assert!(backups(dir.path()).is_empty(), "nothing is set aside");
        // Unreadable people stay in the file after a save.
        file.save(settings).unwrap();
        let again: Value = serde_json::from_str(&std::fs::read_to_string(file.path()).unwrap()).unwrap();
        assert_eq!(again["people"].as_array().unwrap().len(), 4);
        assert_eq!(again["people"][2]["name"], "Broken");
        assert_eq!(again["people"][3], 42);
        assert_eq!(again["poll_interval_secs"], DEFAULT_POLL_INTERVAL_SECS);
    }

    /// "people" that is not a list, and a person whose id an earlier one has: kept
    /// in the file, not used, and nobody's Home Assistant entities count as a removed
    /// person's.
    #[test]
    fn people_that_cannot_be_used_are_kept_and_remove_nobody() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::in_dir(dir.path());
        let entities = r#""home_assistant": {"entities": {"p1/acc_1/balance": "sensor.a", "p2/acc_2/balance": "sensor.b"}}"#;
        std::fs::write(file.path(), format!(r#"{{"people": "Dana", {entities}}}"#)).unwrap();
        let loaded = file.load().unwrap();
        assert!(loaded.warning.unwrap().contains("kept in the file"));
        assert!(loaded.settings.people.is_empty());
        let present = crate::home_assistant::people_ids(&loaded.settings);
        assert!(present.contains("p1") && present.contains("p2"), "{present:?}");
        file.save(&loaded.settings).unwrap();
        let again: Value = serde_json::from_str(&std::fs::read_to_string(file.path()).unwrap()).unwrap();
        assert_eq!(again["people"], serde_json::json!(["Dana"]), "the value is kept");
        assert_eq!(again["home_assistant"]["entities"].as_object().unwrap().len(), 2);

        let person = |name: &str| {
            format!(r#"{{"id":"p1","name":"{name}","client_id":"c","redirect_uri":"http://r"}}"#)
        };
        std::fs::write(
            file.path(),
            format!(
                r#"{{"people": [{}, {}], {entities}}}"#,
                person("Dana"),
                person("Alex")
            ),
        )
        .unwrap();
        let loaded = file.load().unwrap();
        assert!(loaded.warning.unwrap().contains("same id as an earlier one"));
        let names: Vec<_> = loaded.settings.people.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Dana"]);
        assert_eq!(loaded.settings.unreadable_people.len(), 1);
    }

    #[test]
    fn a_broken_file_is_kept_aside_and_reported_and_backups_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::in_dir(dir.path());
        for (n, text) in ["{ not json", "[1, 2]", "{ again not json"].iter().enumerate() {
            std::fs::write(file.path(), text).unwrap();
            let loaded = file.load().unwrap();
            assert!(loaded.warning.unwrap().contains("could not be read"));
            assert_eq!(loaded.settings, Settings::default());
            assert_eq!(backups(dir.path()).len(), n + 1);
        }
        let mut kept: Vec<String> = backups(dir.path())
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        kept.sort();
        assert_eq!(kept, ["[1, 2]", "{ again not json", "{ not json"]);
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
            monzo_user_id: None,
            notify_transactions: false,
            keep_history: true,
            other: Map::new(),
        };
        assert_eq!(
            person.approval_due_at().unwrap().to_rfc3339(),
            "2026-04-01T00:00:00+00:00"
        );
    }
}
