//! The MQTT discovery messages a snapshot calls for, as Home Assistant's MQTT
//! integration reads them: per sensor a retained config (with its device) and a
//! retained state; one availability topic for them all. Pure: no connection here.
//!
//! Devices: one per account and owner, "<person> <account name>", model the
//! account's type name; one per pot, model "Pot", `via_device` its account. Unique
//! ids start with the Monzo `acc_`/`pot_` id; the person's id follows, because a
//! joint account is listed under each owner and each owner gets their own sensors
//! (as with the REST transport).
//!
//! Entity ids: `default_entity_id` is the entity id the REST transport uses
//! (`sensor.monzo_dana_current_account_balance`), so both transports give the same
//! ids. Home Assistant reads it since 2025.10, and since 2026.4 it is the only way:
//! `object_id` was deprecated in 2025.10 and removed (silently dropped) in 2026.4,
//! after which ids would be made from the device and entity names (home-assistant/core
//! #151775, #164460; `homeassistant/components/mqtt/entity.py` of 2026.11). Home
//! Assistant before 2025.10 drops `default_entity_id` and reads `object_id`, so both
//! are sent. Either applies only when the entity is first registered.

use serde_json::{json, Value};

use super::super::entities::{EntityIds, EntityKey, EntityKind, Platform, TRANSACTION_CREATED};
use super::super::wanted::wanted;
use crate::snapshot::Snapshot;
use crate::transactions::{AccountTransaction, TransactionRecord};

/// Where messages go: Home Assistant's discovery prefix and our own base topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Topics {
    pub(crate) discovery_prefix: String,
    pub(crate) base: String,
}

/// One message to publish. An empty retained payload removes what was there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) topic: String,
    pub(crate) payload: String,
    pub(crate) retain: bool,
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

/// `<monzo id>_<person id>_<kind key>`.
pub(crate) fn unique_id(key: &EntityKey) -> String {
    topic_safe(&format!(
        "{}_{}_{}",
        key.monzo_id,
        key.person_id,
        key.kind.description().key
    ))
}

fn device_id(person_id: &str, monzo_id: &str) -> String {
    topic_safe(&format!("monzo_tray_{monzo_id}_{person_id}"))
}

impl Topics {
    pub(crate) fn availability(&self) -> String {
        format!("{}/availability", self.base)
    }

    /// Home Assistant announces itself here (`online`) after it starts.
    pub(crate) fn home_assistant_status(&self) -> String {
        format!("{}/status", self.discovery_prefix)
    }

    /// `<prefix>/<domain>/monzo_tray/<unique id>/config`.
    pub(crate) fn config(&self, domain: &str, unique_id: &str) -> String {
        format!("{}/{domain}/{NODE_ID}/{unique_id}/config", self.discovery_prefix)
    }

    /// `<base>/<domain>/<unique id>/state`.
    pub(crate) fn state(&self, domain: &str, unique_id: &str) -> String {
        format!("{}/{domain}/{unique_id}/state", self.base)
    }
}

/// Everything that should be on the broker for this snapshot: availability first,
/// then per entity its config before its state (Home Assistant subscribes to the
/// state topic when the config arrives, and then gets the retained state).
pub(crate) fn desired_messages(snapshot: &Snapshot, ids: &mut EntityIds, topics: &Topics) -> Vec<Message> {
    let mut messages = vec![Message {
        topic: topics.availability(),
        payload: "online".into(),
        retain: true,
    }];
    for entity in wanted(snapshot, ids, &[Platform::Sensor, Platform::Event]) {
        let key = &entity.key;
        let d = entity.description;
        let unique_id = unique_id(key);
        let account_device = device_id(&key.person_id, entity.account_id);
        let device = if key.kind == EntityKind::PotBalance {
            json!({
                "identifiers": [device_id(&key.person_id, &key.monzo_id)],
                "name": format!("{} {}", entity.person_name, entity.thing_name),
                "manufacturer": "Monzo",
                "model": "Pot",
                "via_device": account_device,
            })
        } else {
            json!({
                "identifiers": [account_device],
                "name": format!("{} {}", entity.person_name, entity.account_name),
                "manufacturer": "Monzo",
                "model": entity.account_name,
            })
        };
        let domain = d.platform.domain();
        let object_id = entity
            .entity_id
            .strip_prefix(domain)
            .and_then(|rest| rest.strip_prefix('.'))
            .unwrap_or(&entity.entity_id);
        let mut config: Value = json!({
            "name": d.name,
            "default_entity_id": entity.entity_id,
            "object_id": object_id,
            "unique_id": unique_id,
            "availability_topic": topics.availability(),
            "icon": d.icon,
            "device": device,
        });
        if let Some(device_class) = d.device_class {
            config["device_class"] = json!(device_class);
        }
        if let Some(state_class) = d.state_class {
            config["state_class"] = json!(state_class);
        }
        config["state_topic"] = json!(topics.state(domain, &unique_id));
        let state = match &entity.value {
            Some(value) => {
                config["unit_of_measurement"] = json!(value.currency().code());
                config["suggested_display_precision"] = json!(value.currency().exponent());
                Some(value.to_decimal_string())
            }
            // An event entity: its events are published as they come, never retained.
            None => {
                config["event_types"] = json!([TRANSACTION_CREATED]);
                None
            }
        };
        messages.push(Message {
            topic: topics.config(domain, &unique_id),
            payload: config.to_string(),
            retain: true,
        });
        if let Some(state) = state {
            messages.push(Message {
                topic: topics.state(domain, &unique_id),
                payload: state,
                retain: true,
            });
        }
    }
    messages
}

/// The events new transactions call for: on the Transaction event entity of each
/// person who sees the account (a joint account's under each owner, as its sensors
/// are), `{"event_type": "transaction_created", …}` with the transaction's data and
/// that person as `person`. Never retained: a retained event would fire again at
/// every Home Assistant restart.
pub(crate) fn event_messages(new: &[AccountTransaction], topics: &Topics) -> Vec<Message> {
    let mut messages = Vec::new();
    for item in new {
        for (person_id, name) in &item.people {
            let key = EntityKey::new(person_id, &item.transaction.account_id, EntityKind::Transaction);
            let mut payload =
                serde_json::to_value(TransactionRecord::new(&item.transaction, name, &item.account))
                    .unwrap_or_default();
            payload["event_type"] = json!(TRANSACTION_CREATED);
            messages.push(Message {
                topic: topics.state(Platform::Event.domain(), &unique_id(&key)),
                payload: payload.to_string(),
                retain: false,
            });
        }
    }
    messages
}

/// What removes a remembered entity: empty retained config and state. Home
/// Assistant removes the entity, and the device with its last entity.
pub(crate) fn removal_messages(key: &EntityKey, topics: &Topics) -> Vec<Message> {
    let unique_id = unique_id(key);
    let domain = key.kind.description().platform.domain();
    [
        topics.config(domain, &unique_id),
        topics.state(domain, &unique_id),
    ]
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
    use crate::snapshot::{example_account, AccountSnapshot, ConnectionState, PersonSnapshot, PotSnapshot};

    fn snapshot() -> Snapshot {
        let gbp = Currency::from_code("GBP");
        Snapshot {
            people: vec![PersonSnapshot {
                id: "p_dana".into(),
                name: "Dana".into(),
                state: ConnectionState::Live,
                accounts: vec![AccountSnapshot {
                    total_balance: Money::from_minor(173456, gbp.clone()),
                    spend_today: Money::from_minor(-1230, gbp.clone()),
                    pots: vec![PotSnapshot {
                        id: "pot_9".into(),
                        balance: Money::from_minor(50000, gbp),
                        ..example_account().pots[0].clone()
                    }],
                    ..example_account()
                }],
                ..Default::default()
            }],
            ..Default::default()
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
        // Availability; config and state per sensor (4); the account's Transaction
        // event entity: a config, no retained state.
        assert_eq!(messages.len(), 1 + 4 * 2 + 1);
        assert!(messages.iter().all(|m| m.retain));

        let config = |unique: &str| -> Value {
            let topic = format!("homeassistant/sensor/monzo_tray/{unique}/config");
            let m = messages.iter().find(|m| m.topic == topic).expect(&topic);
            serde_json::from_str(&m.payload).unwrap()
        };
        let balance = config("acc_1_p_dana_balance");
        // Both keys: default_entity_id for Home Assistant 2025.10 and later (the only
        // one read since 2026.4), object_id for older ones.
        assert_eq!(
            balance["default_entity_id"],
            "sensor.monzo_dana_current_account_balance"
        );
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
        assert_eq!(pot["default_entity_id"], "sensor.monzo_dana_holiday_balance");
        assert_eq!(pot["object_id"], "monzo_dana_holiday_balance");
        assert_eq!(pot["device"]["name"], "Dana Holiday ☀️");
        assert_eq!(pot["device"]["model"], "Pot");
        assert_eq!(pot["device"]["via_device"], balance["device"]["identifiers"][0]);

        let state = messages
            .iter()
            .find(|m| m.topic == balance["state_topic"])
            .unwrap();
        assert_eq!(state.payload, "1234.56");
        // Spent today as Home Assistant's own integration has it: positive, no
        // state class (it starts again every day).
        let spend = config("acc_1_p_dana_spend_today");
        let spend_state = messages.iter().find(|m| m.topic == spend["state_topic"]).unwrap();
        assert_eq!(spend_state.payload, "12.30");
        assert_eq!(spend["name"], "Spent Today");
        assert_eq!(
            spend["default_entity_id"],
            "sensor.monzo_dana_current_account_spend_today"
        );
        assert!(spend.get("state_class").is_none(), "{spend}");
        assert_eq!(spend["device_class"], "monetary");
    }

    #[test]
    fn transactions_are_events_on_the_accounts_event_entity_never_retained() {
        let mut ids = EntityIds::new();
        let messages = desired_messages(&snapshot(), &mut ids, &topics());
        let topic = "homeassistant/event/monzo_tray/acc_1_p_dana_transaction/config";
        let config: Value =
            serde_json::from_str(&messages.iter().find(|m| m.topic == topic).unwrap().payload).unwrap();
        assert_eq!(
            config["default_entity_id"],
            "event.monzo_dana_current_account_transaction"
        );
        assert_eq!(config["event_types"], json!(["transaction_created"]));
        assert_eq!(config["name"], "Transaction");
        assert!(config.get("unit_of_measurement").is_none());
        let balance_config = messages
            .iter()
            .find(|m| m.topic == "homeassistant/sensor/monzo_tray/acc_1_p_dana_balance/config")
            .unwrap();
        let balance: Value = serde_json::from_str(&balance_config.payload).unwrap();
        assert_eq!(config["device"]["identifiers"], balance["device"]["identifiers"]);

        let gbp = Currency::from_code("GBP");
        let new = AccountTransaction {
            transaction: crate::transactions::Transaction {
                id: "tx_1".into(),
                account_id: "acc_joint".into(),
                created: chrono::Utc::now(),
                amount: Money::from_minor(-4599, gbp),
                description: "SAINSBURYS".into(),
                merchant: Some("Sainsbury's".into()),
                category: "groceries".into(),
                pot_id: None,
                declined: false,
                pending: false,
                local_amount: None,
                settled: None,
                counterparty_account_id: None,
            },
            account: "Joint Account".into(),
            people: vec![("p_dana".into(), "Dana".into()), ("p_alex".into(), "Alex".into())],
        };
        let events = event_messages(&[new], &topics());
        assert_eq!(events.len(), 2, "one per owner's event entity");
        assert!(events.iter().all(|m| !m.retain));
        assert_eq!(
            events[0].topic,
            "monzo_tray/event/acc_joint_p_dana_transaction/state"
        );
        let payload: Value = serde_json::from_str(&events[1].payload).unwrap();
        assert_eq!(payload["event_type"], "transaction_created");
        assert_eq!(payload["person"], "Alex");
        assert_eq!(payload["amount"], "-45.99");
        assert_eq!(payload["merchant"], "Sainsbury's");
    }

    #[test]
    fn a_removed_sensor_is_an_empty_retained_config_and_state() {
        let mut ids = EntityIds::new();
        let messages = desired_messages(&snapshot(), &mut ids, &topics());
        let removal = removal_messages(&EntityKey::parse("p_dana/pot_9/pot_balance").unwrap(), &topics());
        assert_eq!(removal.len(), 2);
        for m in &removal {
            assert!(m.retain && m.payload.is_empty());
            assert!(messages.iter().any(|d| d.topic == m.topic), "{}", m.topic);
        }
    }

    #[test]
    fn odd_ids_never_make_wildcards_in_topics() {
        assert_eq!(
            unique_id(&EntityKey::new("p/x", "acc+#1", EntityKind::Balance)),
            "acc__1_p_x_balance"
        );
    }
}
