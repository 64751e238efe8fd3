//! Reading `settings.json` value by value. One value of the wrong type (a hand edit,
//! or a value written by a newer or older version) costs that value only: it is
//! replaced by its default, with one sentence naming it, and everything else is
//! kept. Keys this version does not know are kept as they are and written back on
//! save, so a newer version's settings survive a downgrade.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{HomeAssistantSettings, MqttSettings, PersonSettings, Settings};

/// What reading found: the settings, person entries that could not be used (kept
/// verbatim so saving does not lose them), and one sentence per value replaced.
pub(super) struct Read {
    pub(crate) settings: Settings,
    pub(crate) warnings: Vec<String>,
}

/// The fields of one JSON object, taken out one by one; what is left are the keys
/// this version does not know.
struct Fields<'w> {
    map: Map<String, Value>,
    /// Where the object is, for the sentences: `settings.json`, `Dana's entry`.
    place: String,
    warnings: &'w mut Vec<String>,
}

/// A value as a person would recognise it in their file, kept short.
fn preview(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

impl<'w> Fields<'w> {
    fn new(map: Map<String, Value>, place: String, warnings: &'w mut Vec<String>) -> Self {
        Self { map, place, warnings }
    }

    /// The value of `key`, or `default` (said once) when it cannot be read.
    fn get<T: DeserializeOwned + Serialize>(&mut self, key: &str, default: T) -> T {
        let Some(value) = self.map.remove(key) else {
            return default;
        };
        match T::deserialize(&value) {
            Ok(read) => read,
            Err(err) => {
                let instead = match serde_json::to_value(&default) {
                    Ok(Value::Null) | Err(_) => "it is left empty".to_owned(),
                    Ok(used) => format!("monzo-tray uses {used} instead"),
                };
                self.warnings.push(format!(
                    "In {}, \"{key}\" is {} and cannot be used ({err}); {instead}.",
                    self.place,
                    preview(&value)
                ));
                default
            }
        }
    }

    /// The value of a key the object cannot do without: `None` when it is missing or
    /// unreadable (the caller says what that costs).
    fn required<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        T::deserialize(self.map.remove(key)?).ok()
    }

    /// A map read entry by entry: an unreadable entry is left out, said once.
    fn map_of<V: DeserializeOwned>(&mut self, key: &str) -> BTreeMap<String, V> {
        let mut out = BTreeMap::new();
        match self.map.remove(key) {
            None | Some(Value::Null) => {}
            Some(Value::Object(entries)) => {
                for (name, value) in entries {
                    match V::deserialize(&value) {
                        Ok(read) => {
                            out.insert(name, read);
                        }
                        Err(err) => self.warnings.push(format!(
                            "In {}, \"{key}\" has \"{name}\": {}, which cannot be used ({err}); it is left out.",
                            self.place,
                            preview(&value)
                        )),
                    }
                }
            }
            Some(other) => self.warnings.push(format!(
                "In {}, \"{key}\" is {} instead of a list of entries; it is left empty.",
                self.place,
                preview(&other)
            )),
        }
        out
    }

    fn object(&mut self, key: &str) -> Option<Map<String, Value>> {
        match self.map.remove(key)? {
            Value::Object(map) => Some(map),
            Value::Null => None,
            other => {
                self.warnings.push(format!(
                    "In {}, \"{key}\" is {} instead of a group of settings; its defaults are used.",
                    self.place,
                    preview(&other)
                ));
                None
            }
        }
    }

    fn rest(self) -> Map<String, Value> {
        self.map
    }
}

/// Reads a whole settings object.
pub(super) fn settings(map: Map<String, Value>) -> Read {
    let mut warnings = Vec::new();
    let defaults = Settings::default();
    let mut fields = Fields::new(map, "settings.json".into(), &mut warnings);
    let (people, unreadable_people) = match fields.map.remove("people") {
        None | Some(Value::Null) => (Vec::new(), Vec::new()),
        Some(Value::Array(entries)) => people(entries, fields.warnings),
        Some(other) => {
            // Kept (as an entry of the list), so saving loses nothing and nobody's
            // Home Assistant entities are taken for those of a removed person.
            fields.warnings.push(format!(
                "In settings.json, \"people\" is {} instead of a list; nobody is loaded from it, and it is kept in the file.",
                preview(&other)
            ));
            (Vec::new(), vec![other])
        }
    };
    let household_id = fields.get("household_id", defaults.household_id);
    let poll_interval_secs = fields.get("poll_interval_secs", defaults.poll_interval_secs);
    let privacy_mode = fields.get("privacy_mode", defaults.privacy_mode);
    let low_balance_alerts = fields.map_of("low_balance_alerts");
    let home_assistant = match fields.object("home_assistant") {
        Some(map) => home_assistant(map, fields.warnings),
        None => HomeAssistantSettings::default(),
    };
    let secrets_to_move = fields.get("secrets_to_move", defaults.secrets_to_move);
    let secrets_to_delete = fields.get("secrets_to_delete", defaults.secrets_to_delete);
    let other = fields.rest();
    Read {
        settings: Settings {
            household_id,
            people,
            poll_interval_secs,
            privacy_mode,
            low_balance_alerts,
            home_assistant,
            secrets_to_move,
            secrets_to_delete,
            unreadable_people,
            other,
        },
        warnings,
    }
}

/// People one by one: an entry without what a sign-in needs (id, name, client id,
/// redirect URL) cannot be used, but is kept in the file as it was.
fn people(entries: Vec<Value>, warnings: &mut Vec<String>) -> (Vec<PersonSettings>, Vec<Value>) {
    let mut people = Vec::new();
    let mut unreadable = Vec::new();
    for (index, entry) in entries.into_iter().enumerate() {
        let Value::Object(map) = &entry else {
            warnings.push(format!(
                "In settings.json, person {} is {}, not a person; it is kept in the file but not used.",
                index + 1,
                preview(&entry)
            ));
            unreadable.push(entry);
            continue;
        };
        let name = map.get("name").and_then(Value::as_str).map(str::to_owned);
        let place = match &name {
            Some(name) => format!("{name}'s entry in settings.json"),
            None => format!("person {} in settings.json", index + 1),
        };
        let named = name.as_deref().map(|n| format!(" (\"{n}\")")).unwrap_or_default();
        let mut fields = Fields::new(map.clone(), place, warnings);
        let id = fields.required::<String>("id");
        let name = fields.required::<String>("name");
        let client_id = fields.required::<String>("client_id");
        let redirect_uri = fields.required::<String>("redirect_uri");
        let (Some(id), Some(name), Some(client_id), Some(redirect_uri)) = (id, name, client_id, redirect_uri)
        else {
            fields.warnings.push(format!(
                "In settings.json, person {}{named} lacks an id, name, client id or redirect URL; the entry is kept in the file but not used (sign them in again to use them).",
                index + 1
            ));
            unreadable.push(entry);
            continue;
        };
        if people.iter().any(|p: &PersonSettings| p.id == id) {
            fields.warnings.push(format!(
                "In settings.json, person {}{named} has the same id as an earlier one; the entry is kept in the file but not used.",
                index + 1
            ));
            unreadable.push(entry);
            continue;
        }
        let signed_in_at = fields.get("signed_in_at", None);
        let approved_at = fields.get("approved_at", None);
        let monzo_user_id = fields.get("monzo_user_id", None);
        let notify_transactions = fields.get("notify_transactions", false);
        let keep_history = fields.get("history", true);
        let other = fields.rest();
        people.push(PersonSettings {
            id,
            name,
            client_id,
            redirect_uri,
            signed_in_at,
            approved_at,
            monzo_user_id,
            notify_transactions,
            keep_history,
            other,
        });
    }
    (people, unreadable)
}

fn home_assistant(map: Map<String, Value>, warnings: &mut Vec<String>) -> HomeAssistantSettings {
    let defaults = HomeAssistantSettings::default();
    let mut fields = Fields::new(map, "the Home Assistant settings".into(), warnings);
    let transport = fields.get("transport", defaults.transport);
    let url = fields.get("url", defaults.url);
    let enabled = fields.get("enabled", defaults.enabled);
    let ca_file = fields.get("ca_file", defaults.ca_file);
    let entities = fields.map_of("entities");
    let mqtt = fields.object("mqtt").and_then(|map| mqtt(map, fields.warnings));
    let other = fields.rest();
    HomeAssistantSettings {
        transport,
        url,
        enabled,
        mqtt,
        ca_file,
        entities,
        other,
    }
}

fn mqtt(map: Map<String, Value>, warnings: &mut Vec<String>) -> Option<MqttSettings> {
    let mut fields = Fields::new(map, "the MQTT broker settings".into(), warnings);
    let Some(url) = fields.required::<String>("url") else {
        fields
            .warnings
            .push("The MQTT broker settings have no usable address; connect to the broker again.".into());
        return None;
    };
    let defaults = MqttSettings::new(url);
    let ca_file = fields.get("ca_file", defaults.ca_file);
    let discovery_prefix = fields.get("discovery_prefix", defaults.discovery_prefix);
    let base_topic = fields.get("base_topic", defaults.base_topic);
    let other = fields.rest();
    Some(MqttSettings {
        url: defaults.url,
        ca_file,
        discovery_prefix,
        base_topic,
        other,
    })
}
