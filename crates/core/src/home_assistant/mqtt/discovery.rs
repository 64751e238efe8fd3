//! The MQTT discovery messages a snapshot calls for, as Home Assistant's MQTT
//! integration reads them: per sensor a retained config (with its device) and a
//! retained state; one availability topic for them all. Pure: no connection here.
//!
//! Devices: one per account and owner, "<person> <account name>", model the
//! account's type name; one per pot, model "Pot", `via_device` its account. Unique
//! ids start with the Monzo `acc_`/`pot_` id; the person's id follows, because a
//! joint account is listed under each owner and each owner gets their own sensors
//! (as with the REST transport). `object_id` is the entity id the REST transport
//! uses, so both transports give the same entity ids.

use serde_json::{json, Value};

use super::super::entities::{EntityIds, SensorKind};
use super::super::states::with_entity_ids;
use crate::snapshot::Snapshot;

/// Where messages go: Home Assistant's discovery prefix and our own base topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    pub discovery_prefix: String,
    pub base: String,
}

/// One message to publish. An empty retained payload removes what was there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub payload: String,
    pub retain: bool,
}

/// The node id in discovery topics: groups our configs under one name.
const NODE_ID: &str = "monzo_tray";

/// Topic levels may only hold what Home Assistant's discovery topic accepts
/// (`[a-zA-Z0-9_-]`); Monzo's ids already do, this only guards against surprises.
fn topic_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `<monzo id>_<person id>_<kind>`.
pub fn unique_id(person_id: &str, monzo_id: &str, kind: SensorKind) -> String {
    topic_safe(&format!("{monzo_id}_{person_id}_{}", kind.key()))
}

fn device_id(person_id: &str, monzo_id: &str) -> String {
    topic_safe(&format!("monzo_tray_{monzo_id}_{person_id}"))
}

impl Topics {
    pub fn availability(&self) -> String {
        format!("{}/availability", self.base)
    }

    /// Home Assistant announces itself here (`online`) after it starts.
    pub fn home_assistant_status(&self) -> String {
        format!("{}/status", self.discovery_prefix)
    }

    pub fn config(&self, unique_id: &str) -> String {
        format!("{}/sensor/{NODE_ID}/{unique_id}/config", self.discovery_prefix)
    }

    pub fn state(&self, unique_id: &str) -> String {
        format!("{}/sensor/{unique_id}/state", self.base)
    }
}

/// Everything that should be on the broker for this snapshot: availability first,
/// then per sensor its config before its state (Home Assistant subscribes to the
/// state topic when the config arrives, and then gets the retained state).
pub fn desired_messages(snapshot: &Snapshot, ids: &mut EntityIds, topics: &Topics) -> Vec<Message> {
    let mut messages = vec![Message {
        topic: topics.availability(),
        payload: "online".into(),
        retain: true,
    }];
    for (sensor, entity_id) in with_entity_ids(snapshot, ids) {
        let wanted = &sensor.wanted;
        let unique_id = unique_id(&wanted.person_id, &wanted.monzo_id, wanted.kind);
        let account_device = device_id(&wanted.person_id, sensor.account_id);
        let device = if wanted.kind == SensorKind::PotBalance {
            json!({
                "identifiers": [device_id(&wanted.person_id, &wanted.monzo_id)],
                "name": format!("{} {}", wanted.person_name, wanted.thing_name),
                "manufacturer": "Monzo",
                "model": "Pot",
                "via_device": account_device,
            })
        } else {
            json!({
                "identifiers": [account_device],
                "name": format!("{} {}", wanted.person_name, sensor.account_name),
                "manufacturer": "Monzo",
                "model": sensor.account_name,
            })
        };
        let object_id = entity_id.strip_prefix("sensor.").unwrap_or(&entity_id);
        let config: Value = json!({
            "name": sensor.short_label,
            "object_id": object_id,
            "unique_id": unique_id,
            "state_topic": topics.state(&unique_id),
            "availability_topic": topics.availability(),
            "device_class": "monetary",
            "state_class": "total",
            "unit_of_measurement": sensor.money.currency().code(),
            "suggested_display_precision": sensor.money.currency().exponent(),
            "icon": sensor.icon,
            "device": device,
        });
        messages.push(Message {
            topic: topics.config(&unique_id),
            payload: config.to_string(),
            retain: true,
        });
        messages.push(Message {
            topic: topics.state(&unique_id),
            payload: sensor.money.to_decimal_string(),
            retain: true,
        });
    }
    messages
}

/// What removes a remembered sensor (key `"<person>/<monzo id>/<kind>"`): empty
/// retained config and state. Home Assistant removes the entity, and the device
/// with its last entity.
pub fn removal_messages(key: &str, topics: &Topics) -> Vec<Message> {
    let mut parts = key.splitn(3, '/');
    let (Some(person_id), Some(monzo_id), Some(kind)) = (parts.next(), parts.next(), parts.next()) else {
        return Vec::new();
    };
    let unique_id = topic_safe(&format!("{monzo_id}_{person_id}_{kind}"));
    [topics.config(&unique_id), topics.state(&unique_id)]
        .into_iter()
        .map(|topic| Message {
            topic,
            payload: String::new(),
            retain: true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, Money};
    use crate::snapshot::{AccountSnapshot, ConnectionState, PersonSnapshot, PotSnapshot};

    fn snapshot() -> Snapshot {
        let gbp = Currency::from_code("GBP");
        Snapshot {
            people: vec![PersonSnapshot {
                id: "p_dana".into(),
                name: "Dana".into(),
                state: ConnectionState::Live,
                error: None,
                updated_at: None,
                approval_due_at: None,
                accounts: vec![AccountSnapshot {
                    id: "acc_1".into(),
                    name: "Current Account".into(),
                    account_type: "uk_retail".into(),
                    currency: "GBP".into(),
                    balance: Money::from_minor(123456, gbp.clone()),
                    total_balance: Money::from_minor(173456, gbp.clone()),
                    spend_today: Money::from_minor(-1230, gbp.clone()),
                    pots: vec![PotSnapshot {
                        id: "pot_9".into(),
                        name: "Holiday ☀️".into(),
                        currency: "GBP".into(),
                        balance: Money::from_minor(50000, gbp),
                    }],
                }],
            }],
            home_assistant: None,
        }
    }

    fn topics() -> Topics {
        Topics {
            discovery_prefix: "homeassistant".into(),
            base: "monzo_tray".into(),
        }
    }

    #[test]
    fn devices_sensors_and_states_as_home_assistant_reads_them() {
        let mut ids = EntityIds::new();
        let messages = desired_messages(&snapshot(), &mut ids, &topics());
        assert_eq!(messages[0].topic, "monzo_tray/availability");
        assert_eq!(messages.len(), 1 + 4 * 2);
        assert!(messages.iter().all(|m| m.retain));

        let config = |unique: &str| -> Value {
            let topic = format!("homeassistant/sensor/monzo_tray/{unique}/config");
            let m = messages.iter().find(|m| m.topic == topic).expect(&topic);
            serde_json::from_str(&m.payload).unwrap()
        };
        let balance = config("acc_1_p_dana_balance");
        assert_eq!(balance["object_id"], "monzo_dana_current_account_balance");
        assert_eq!(balance["name"], "Balance");
        assert_eq!(balance["device_class"], "monetary");
        assert_eq!(balance["state_class"], "total");
        assert_eq!(balance["unit_of_measurement"], "GBP");
        assert_eq!(balance["availability_topic"], "monzo_tray/availability");
        assert_eq!(balance["device"]["name"], "Dana Current Account");
        assert_eq!(balance["device"]["model"], "Current Account");
        assert_eq!(balance["device"]["manufacturer"], "Monzo");

        let pot = config("pot_9_p_dana_pot_balance");
        assert_eq!(pot["object_id"], "monzo_dana_holiday_balance");
        assert_eq!(pot["device"]["name"], "Dana Holiday ☀️");
        assert_eq!(pot["device"]["model"], "Pot");
        assert_eq!(pot["device"]["via_device"], balance["device"]["identifiers"][0]);

        let state = messages
            .iter()
            .find(|m| m.topic == balance["state_topic"])
            .unwrap();
        assert_eq!(state.payload, "1234.56");
        let spend = config("acc_1_p_dana_spend_today");
        let spend_state = messages.iter().find(|m| m.topic == spend["state_topic"]).unwrap();
        assert_eq!(spend_state.payload, "-12.30");
    }

    #[test]
    fn a_removed_sensor_is_an_empty_retained_config_and_state() {
        let mut ids = EntityIds::new();
        let messages = desired_messages(&snapshot(), &mut ids, &topics());
        let removal = removal_messages("p_dana/pot_9/pot_balance", &topics());
        assert_eq!(removal.len(), 2);
        for m in &removal {
            assert!(m.retain && m.payload.is_empty());
            assert!(messages.iter().any(|d| d.topic == m.topic), "{}", m.topic);
        }
    }

    #[test]
    fn odd_ids_never_make_wildcards_in_topics() {
        assert_eq!(
            unique_id("p/x", "acc+#1", SensorKind::Balance),
            "acc__1_p_x_balance"
        );
    }
}
