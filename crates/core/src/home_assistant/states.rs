//! The sensor states a snapshot calls for: per live account its balance, total
//! balance and spend today; per pot its balance. State is the decimal string in
//! major units; attributes as Home Assistant's own Monzo sensors have them.

use serde::Serialize;
use serde_json::{json, Value};

use super::entities::{assign, key, EntityIds, SensorKind, Wanted};
use crate::money::Money;
use crate::snapshot::{ConnectionState, Snapshot};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityState {
    #[serde(skip)]
    pub entity_id: String,
    pub state: String,
    pub attributes: Value,
}

struct Sensor<'a> {
    wanted: Wanted,
    money: &'a Money,
    label: String,
    icon: &'static str,
}

fn sensors(snapshot: &Snapshot) -> Vec<Sensor<'_>> {
    let mut out = Vec::new();
    // Only live people: stale balances are not news, and a signed-out person's
    // last values stay as they were in Home Assistant.
    for person in snapshot
        .people
        .iter()
        .filter(|p| p.state == ConnectionState::Live)
    {
        let mut push = |monzo_id: &str, kind, thing: &str, money, label: &str, icon| {
            out.push(Sensor {
                wanted: Wanted {
                    person_id: person.id.clone(),
                    monzo_id: monzo_id.to_owned(),
                    kind,
                    person_name: person.name.clone(),
                    thing_name: thing.to_owned(),
                },
                money,
                label: format!("{} {thing} {label}", person.name),
                icon,
            })
        };
        for account in &person.accounts {
            let (id, name) = (account.id.as_str(), account.name.as_str());
            push(
                id,
                SensorKind::Balance,
                name,
                &account.balance,
                "Balance",
                "mdi:bank",
            );
            push(
                id,
                SensorKind::TotalBalance,
                name,
                &account.total_balance,
                "Total Balance",
                "mdi:bank",
            );
            push(
                id,
                SensorKind::SpendToday,
                name,
                &account.spend_today,
                "Spend Today",
                "mdi:cash-minus",
            );
            for pot in &account.pots {
                push(
                    &pot.id,
                    SensorKind::PotBalance,
                    &pot.name,
                    &pot.balance,
                    "Balance",
                    "mdi:piggy-bank",
                );
            }
        }
    }
    out
}

/// The states to push, entity ids assigned (new ones added to `ids`).
pub fn desired_states(snapshot: &Snapshot, ids: &mut EntityIds) -> Vec<EntityState> {
    let sensors = sensors(snapshot);
    let wanted: Vec<Wanted> = sensors.iter().map(|s| s.wanted.clone()).collect();
    assign(ids, &wanted);
    sensors
        .into_iter()
        .filter_map(|s| {
            let entity_id = ids
                .get(&key(&s.wanted.person_id, &s.wanted.monzo_id, s.wanted.kind))?
                .clone();
            Some(EntityState {
                entity_id,
                state: s.money.to_decimal_string(),
                attributes: json!({
                    "unit_of_measurement": s.money.currency().code(),
                    "device_class": "monetary",
                    "state_class": "total",
                    "friendly_name": s.label,
                    "icon": s.icon,
                }),
            })
        })
        .collect()
}

/// Remembered entities whose account or pot is gone: the person was removed, or a
/// live person's Monzo no longer lists it (a deleted pot, a closed account).
pub fn gone(snapshot: &Snapshot, ids: &EntityIds) -> Vec<(String, String)> {
    ids.iter()
        .filter(|(key, _)| {
            let mut parts = key.split('/');
            let (Some(person_id), Some(monzo_id)) = (parts.next(), parts.next()) else {
                return true;
            };
            match snapshot.people.iter().find(|p| p.id == person_id) {
                None => true,
                Some(person) if person.state == ConnectionState::Live => !person
                    .accounts
                    .iter()
                    .any(|a| a.id == monzo_id || a.pots.iter().any(|p| p.id == monzo_id)),
                Some(_) => false,
            }
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
