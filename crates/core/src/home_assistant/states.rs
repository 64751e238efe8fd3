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

/// One sensor the snapshot calls for, whichever transport carries it.
pub(crate) struct Sensor<'a> {
    pub wanted: Wanted,
    pub money: &'a Money,
    /// "Dana Current Account Balance".
    pub label: String,
    /// What the label says after the device's name: "Balance", "Spend Today".
    pub short_label: &'static str,
    pub icon: &'static str,
    /// The account it belongs to (for an account's own sensors, itself).
    pub account_id: &'a str,
    /// The account's type name, "Current Account".
    pub account_name: &'a str,
}

pub(crate) fn sensors(snapshot: &Snapshot) -> Vec<Sensor<'_>> {
    let mut out = Vec::new();
    // Only live people: stale balances are not news, and a signed-out person's
    // last values stay as they were in Home Assistant.
    for person in snapshot
        .people
        .iter()
        .filter(|p| p.state == ConnectionState::Live)
    {
        for account in &person.accounts {
            let sensor = |monzo_id: &str, kind, thing: &str, money, short_label, icon| Sensor {
                wanted: Wanted {
                    person_id: person.id.clone(),
                    monzo_id: monzo_id.to_owned(),
                    kind,
                    person_name: person.name.clone(),
                    thing_name: thing.to_owned(),
                },
                money,
                label: format!("{} {thing} {short_label}", person.name),
                short_label,
                icon,
                account_id: &account.id,
                account_name: &account.name,
            };
            let (id, name) = (account.id.as_str(), account.name.as_str());
            out.push(sensor(
                id,
                SensorKind::Balance,
                name,
                &account.balance,
                "Balance",
                "mdi:bank",
            ));
            out.push(sensor(
                id,
                SensorKind::TotalBalance,
                name,
                &account.total_balance,
                "Total Balance",
                "mdi:bank",
            ));
            out.push(sensor(
                id,
                SensorKind::SpendToday,
                name,
                &account.spend_today,
                "Spend Today",
                "mdi:cash-minus",
            ));
            for pot in &account.pots {
                out.push(sensor(
                    &pot.id,
                    SensorKind::PotBalance,
                    &pot.name,
                    &pot.balance,
                    "Balance",
                    "mdi:piggy-bank",
                ));
            }
        }
    }
    out
}

/// Every sensor with its entity id (new ones chosen and added to `ids`).
pub(crate) fn with_entity_ids<'a>(snapshot: &'a Snapshot, ids: &mut EntityIds) -> Vec<(Sensor<'a>, String)> {
    let sensors = sensors(snapshot);
    let wanted: Vec<Wanted> = sensors.iter().map(|s| s.wanted.clone()).collect();
    assign(ids, &wanted);
    sensors
        .into_iter()
        .filter_map(|s| {
            let entity_id = ids
                .get(&key(&s.wanted.person_id, &s.wanted.monzo_id, s.wanted.kind))?
                .clone();
            Some((s, entity_id))
        })
        .collect()
}

/// The states to push, entity ids assigned (new ones added to `ids`).
pub fn desired_states(snapshot: &Snapshot, ids: &mut EntityIds) -> Vec<EntityState> {
    with_entity_ids(snapshot, ids)
        .into_iter()
        .map(|(s, entity_id)| EntityState {
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
