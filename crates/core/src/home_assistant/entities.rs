//! The entities monzo-tray makes in Home Assistant, as data: one row per kind of
//! entity ([`DESCRIPTIONS`], like the `SensorEntityDescription` tuples of Home
//! Assistant's own `homeassistant/components/monzo/sensor.py`), a typed key per
//! entity ([`EntityKey`]), and the entity ids, chosen once per Monzo id and kind and
//! remembered in settings, so a rename in Monzo changes the friendly name but never
//! the entity id (nor its history).

use std::collections::{BTreeMap, BTreeSet};

use crate::money::Money;
use crate::slug::slugify;
use crate::snapshot::{AccountSnapshot, PotSnapshot};

/// What an entity shows. The order is the order new entity ids are chosen in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum EntityKind {
    Balance,
    TotalBalance,
    SpendToday,
    PotBalance,
    /// An account's new transactions, as events (MQTT's `event` platform; through
    /// REST they are events on Home Assistant's bus instead, with no entity).
    Transaction,
}

/// Home Assistant's platform (entity domain) of an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Platform {
    Sensor,
    Event,
}

impl Platform {
    /// The entity id's domain: `sensor`, `event`.
    pub(crate) fn domain(self) -> &'static str {
        match self {
            Platform::Sensor => "sensor",
            Platform::Event => "event",
        }
    }
}

/// Where an entity's value comes from: an account's figures or a pot's.
#[derive(Clone, Copy)]
pub(crate) enum Source {
    Account(fn(&AccountSnapshot) -> Money),
    Pot(fn(&PotSnapshot) -> Money),
    /// An account's events: no state of its own.
    AccountEvents,
}

/// One kind of entity.
pub(crate) struct EntityDescription {
    pub(crate) kind: EntityKind,
    pub(crate) platform: Platform,
    /// In settings keys and MQTT unique ids, as Home Assistant's integration keys its
    /// sensors: `balance`, `total_balance`, `spend_today`, `pot_balance`.
    pub(crate) key: &'static str,
    /// The end of the entity id: `sensor.monzo_<person>_<account or pot>_<suffix>`.
    pub(crate) suffix: &'static str,
    /// The entity's name on its device; the friendly name is
    /// "<person> <account or pot> <name>".
    pub(crate) name: &'static str,
    pub(crate) icon: &'static str,
    pub(crate) device_class: Option<&'static str>,
    /// `total` lets Home Assistant keep long-term statistics; none for a figure that
    /// starts again every day (Home Assistant's own "Spent today" has none either).
    pub(crate) state_class: Option<&'static str>,
    pub(crate) source: Source,
}

/// Every kind of entity, in [`EntityKind`] order.
pub(crate) const DESCRIPTIONS: [EntityDescription; 5] = [
    EntityDescription {
        kind: EntityKind::Balance,
        platform: Platform::Sensor,
        key: "balance",
        suffix: "balance",
        name: "Balance",
        icon: "mdi:bank",
        device_class: Some("monetary"),
        state_class: Some("total"),
        source: Source::Account(|a| a.balance.clone()),
    },
    EntityDescription {
        kind: EntityKind::TotalBalance,
        platform: Platform::Sensor,
        key: "total_balance",
        suffix: "total_balance",
        name: "Total Balance",
        icon: "mdi:bank",
        device_class: Some("monetary"),
        state_class: Some("total"),
        source: Source::Account(|a| a.total_balance.clone()),
    },
    EntityDescription {
        kind: EntityKind::SpendToday,
        platform: Platform::Sensor,
        key: "spend_today",
        suffix: "spend_today",
        // Home Assistant's own integration (2026.9 and later): the amount spent,
        // positive (`abs(spend_today) / 100`), and no state class.
        name: "Spent Today",
        icon: "mdi:cash-minus",
        device_class: Some("monetary"),
        state_class: None,
        source: Source::Account(|a| a.spend_today.abs()),
    },
    EntityDescription {
        kind: EntityKind::PotBalance,
        platform: Platform::Sensor,
        key: "pot_balance",
        suffix: "balance",
        name: "Balance",
        icon: "mdi:piggy-bank",
        device_class: Some("monetary"),
        state_class: Some("total"),
        source: Source::Pot(|p| p.balance.clone()),
    },
    EntityDescription {
        kind: EntityKind::Transaction,
        platform: Platform::Event,
        key: "transaction",
        suffix: "transaction",
        // As Home Assistant's own integration names its event entity.
        name: "Transaction",
        icon: "mdi:swap-horizontal",
        device_class: None,
        state_class: None,
        source: Source::AccountEvents,
    },
];

/// The event type of a new transaction, on an event entity (Home Assistant's own
/// integration uses the same).
pub(crate) const TRANSACTION_CREATED: &str = "transaction_created";

impl EntityKind {
    pub(crate) fn description(self) -> &'static EntityDescription {
        // DESCRIPTIONS lists every kind in declaration order (checked by a test).
        &DESCRIPTIONS[self as usize]
    }

    fn from_key(key: &str) -> Option<Self> {
        DESCRIPTIONS.iter().find(|d| d.key == key).map(|d| d.kind)
    }
}

/// Which entity: a person's view of one Monzo account or pot, and what it shows.
/// The person is part of it because a joint account is the same `acc_` id under
/// each owner, and each owner gets their own entities (as Home Assistant's own
/// integration gives each config entry its own).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct EntityKey {
    pub(crate) person_id: String,
    /// `acc_…` or `pot_…`.
    pub(crate) monzo_id: String,
    pub(crate) kind: EntityKind,
}

impl EntityKey {
    pub(crate) fn new(person_id: &str, monzo_id: &str, kind: EntityKind) -> Self {
        Self {
            person_id: person_id.to_owned(),
            monzo_id: monzo_id.to_owned(),
            kind,
        }
    }

    /// Reads `"<person id>/<monzo id>/<kind key>"` (how settings remember it);
    /// `None` for anything else.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, '/');
        let (person_id, monzo_id, kind) = (parts.next()?, parts.next()?, parts.next()?);
        Some(Self::new(person_id, monzo_id, EntityKind::from_key(kind)?))
    }
}

impl std::fmt::Display for EntityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            self.person_id,
            self.monzo_id,
            self.kind.description().key
        )
    }
}

/// The remembered choice, as kept in settings: [`EntityKey`] (as text) → entity id.
pub type EntityIds = BTreeMap<String, String>;

/// The entity id an entity gets when it is new and nothing else has it:
/// `<domain>.monzo_<person>_<account or pot>_<suffix>`, slugs as Home Assistant makes
/// them (an empty name slugs to `unknown`, as Home Assistant's `slugify` does for
/// names with nothing to keep).
pub(crate) fn preferred_entity_id(kind: EntityKind, person_name: &str, thing_name: &str) -> String {
    let part = |name: &str| {
        let slug = slugify(name);
        if slug.is_empty() {
            "unknown".to_owned()
        } else {
            slug
        }
    };
    let description = kind.description();
    format!(
        "{}.monzo_{}_{}_{}",
        description.platform.domain(),
        part(person_name),
        part(thing_name),
        description.suffix
    )
}

/// Gives every wanted entity (key, preferred entity id) its entity id, keeping the
/// ones already chosen. New ones are chosen in key order, so the same household
/// always gets the same ids; a taken id gets `_2`, `_3`, …
pub(crate) fn assign(ids: &mut EntityIds, wanted: &[(EntityKey, String)]) {
    let mut taken: BTreeSet<String> = ids.values().cloned().collect();
    let mut new: Vec<&(EntityKey, String)> = wanted
        .iter()
        .filter(|(key, _)| !ids.contains_key(&key.to_string()))
        .collect();
    new.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, preferred) in new {
        let mut candidate = preferred.clone();
        let mut n = 2;
        while taken.contains(&candidate) {
            candidate = format!("{preferred}_{n}");
            n += 1;
        }
        taken.insert(candidate.clone());
        ids.insert(key.to_string(), candidate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pot(person: &str, id: &str, name: &str) -> (EntityKey, String) {
        (
            EntityKey::new(&format!("p_{person}"), id, EntityKind::PotBalance),
            preferred_entity_id(EntityKind::PotBalance, person, name),
        )
    }

    #[test]
    fn the_table_lists_every_kind_in_order_and_keys_read_back() {
        for (i, d) in DESCRIPTIONS.iter().enumerate() {
            assert_eq!(d.kind as usize, i);
            let key = EntityKey::new("p_1", "acc_1", d.kind);
            assert_eq!(EntityKey::parse(&key.to_string()), Some(key));
        }
        assert_eq!(EntityKey::parse("p_1/acc_1/nonsense"), None);
        assert_eq!(EntityKey::parse("p_1/acc_1"), None);
        assert_eq!(
            preferred_entity_id(EntityKind::Transaction, "Dana", "Current Account"),
            "event.monzo_dana_current_account_transaction"
        );
        assert_eq!(
            preferred_entity_id(EntityKind::SpendToday, "Dana", "Current Account"),
            "sensor.monzo_dana_current_account_spend_today"
        );
        assert_eq!(
            preferred_entity_id(EntityKind::PotBalance, "Dana", "💰"),
            "sensor.monzo_dana_unknown_balance"
        );
    }

    #[test]
    fn ids_follow_the_design_and_collisions_are_numbered_stably() {
        let mut ids = EntityIds::new();
        let wanted = vec![
            pot("Dana", "pot_b", "Savings"),
            pot("Dana", "pot_a", "Savings 💰"),
        ];
        assign(&mut ids, &wanted);
        assert_eq!(
            ids["p_Dana/pot_a/pot_balance"],
            "sensor.monzo_dana_savings_balance"
        );
        assert_eq!(
            ids["p_Dana/pot_b/pot_balance"],
            "sensor.monzo_dana_savings_balance_2"
        );

        // The same household listed in another order gets the same ids.
        let mut again = EntityIds::new();
        let reversed: Vec<(EntityKey, String)> = wanted.iter().rev().cloned().collect();
        assign(&mut again, &reversed);
        assert_eq!(ids, again);
    }

    #[test]
    fn a_rename_keeps_the_entity_id() {
        let mut ids = EntityIds::new();
        assign(&mut ids, &[pot("Dana", "pot_a", "Holiday ☀️")]);
        assign(&mut ids, &[pot("Dana", "pot_a", "Summer in Spain")]);
        assert_eq!(
            ids["p_Dana/pot_a/pot_balance"],
            "sensor.monzo_dana_holiday_balance"
        );
        assert_eq!(ids.len(), 1);
    }
}
