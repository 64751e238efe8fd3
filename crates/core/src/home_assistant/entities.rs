//! Which Home Assistant entity ids the household's balances get. An id is chosen
//! once per Monzo `acc_`/`pot_` id and kind, and remembered in settings, so a rename
//! in Monzo changes the friendly name but never the entity id (nor its history).

use std::collections::{BTreeMap, BTreeSet};

use super::slug::slugify;

/// What a sensor measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SensorKind {
    Balance,
    TotalBalance,
    SpendToday,
    PotBalance,
}

impl SensorKind {
    fn suffix(self) -> &'static str {
        match self {
            SensorKind::Balance | SensorKind::PotBalance => "balance",
            SensorKind::TotalBalance => "total_balance",
            SensorKind::SpendToday => "spend_today",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            SensorKind::Balance => "balance",
            SensorKind::TotalBalance => "total_balance",
            SensorKind::SpendToday => "spend_today",
            SensorKind::PotBalance => "pot_balance",
        }
    }
}

/// The remembered choice: `"<person id>/<acc_ or pot_ id>/<kind>"` → entity id. The
/// person is part of the key because a joint account is the same `acc_` id under
/// each owner, and each owner gets their own sensors (as Home Assistant's own
/// integration gives each config entry its own).
pub type EntityIds = BTreeMap<String, String>;

pub fn key(person_id: &str, monzo_id: &str, kind: SensorKind) -> String {
    format!("{person_id}/{monzo_id}/{}", kind.key())
}

/// A sensor that needs an entity id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Wanted {
    pub person_id: String,
    pub monzo_id: String,
    pub kind: SensorKind,
    pub person_name: String,
    /// The account's type name or the pot's name.
    pub thing_name: String,
}

/// Gives every wanted sensor its entity id, keeping the ones already chosen. New
/// ones are chosen in the order of their Monzo ids, so the same household always
/// gets the same ids; a taken id gets `_2`, `_3`, …
pub fn assign(ids: &mut EntityIds, wanted: &[Wanted]) {
    let mut taken: BTreeSet<String> = ids.values().cloned().collect();
    let mut new: Vec<&Wanted> = wanted
        .iter()
        .filter(|w| !ids.contains_key(&key(&w.person_id, &w.monzo_id, w.kind)))
        .collect();
    new.sort_by(|a, b| (&a.person_id, &a.monzo_id, a.kind).cmp(&(&b.person_id, &b.monzo_id, b.kind)));
    for w in new {
        let base = format!(
            "sensor.monzo_{}_{}_{}",
            slugify(&w.person_name),
            slugify(&w.thing_name),
            w.kind.suffix()
        );
        let mut candidate = base.clone();
        let mut n = 2;
        while taken.contains(&candidate) {
            candidate = format!("{base}_{n}");
            n += 1;
        }
        taken.insert(candidate.clone());
        ids.insert(key(&w.person_id, &w.monzo_id, w.kind), candidate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pot(person: &str, id: &str, name: &str) -> Wanted {
        Wanted {
            person_id: format!("p_{person}"),
            monzo_id: id.into(),
            kind: SensorKind::PotBalance,
            person_name: person.into(),
            thing_name: name.into(),
        }
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
            ids[&key("p_Dana", "pot_a", SensorKind::PotBalance)],
            "sensor.monzo_dana_savings_balance"
        );
        assert_eq!(
            ids[&key("p_Dana", "pot_b", SensorKind::PotBalance)],
            "sensor.monzo_dana_savings_balance_2"
        );

        // The same household listed in another order gets the same ids.
        let mut again = EntityIds::new();
        let reversed: Vec<Wanted> = wanted.iter().rev().cloned().collect();
        assign(&mut again, &reversed);
        assert_eq!(ids, again);
    }

    #[test]
    fn a_rename_keeps_the_entity_id() {
        let mut ids = EntityIds::new();
        assign(&mut ids, &[pot("Dana", "pot_a", "Holiday ☀️")]);
        assign(&mut ids, &[pot("Dana", "pot_a", "Summer in Spain")]);
        assert_eq!(
            ids[&key("p_Dana", "pot_a", SensorKind::PotBalance)],
            "sensor.monzo_dana_holiday_balance"
        );
        assert_eq!(ids.len(), 1);
    }
}
