//! When an entity made for an account or pot may be removed from Home Assistant.
//!
//! Removing is the one thing here that can lose a person's own work (with MQTT, a
//! device goes from Home Assistant's registry with the area and name they gave it),
//! so it needs positive evidence, never one reply's silence:
//! - the person was removed from monzo-tray (they are no longer in settings);
//! - Monzo lists the account as `closed` or the pot as `deleted`;
//! - or the account or pot was missing from two well-formed lists in a row. Two,
//!   because one list can be partial (an account Monzo failed to list once, a pot
//!   missing from one reply), while something gone for good is gone from the next
//!   list too. For an account, "two lists" means two reads of the account list,
//!   not two polls: the engine keeps the account list for minutes, so polls in
//!   between repeat the same (perhaps partial) list. So does a pot whose account is
//!   not listed now (or not known): its pots were not read at all. A pot whose
//!   account is listed had its pots read in each poll, so two polls are two lists.
//!   Waiting for the next read costs at most ten minutes of an entity that should
//!   have gone; deleting on one partial reply costs a person's Home Assistant
//!   set-up.
//!
//! Nothing is judged for a person who is not live: a stale or signed-out person's
//! last lists say nothing about now.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::entities::{EntityIds, EntityKey};
use crate::snapshot::{ConnectionState, Snapshot};

/// Remembers, per entity key, the poll in which its account or pot was first found
/// missing (the person's `updated_at` and `accounts_listed_at` then), and the
/// account each pot was last seen in.
#[derive(Debug, Default)]
pub(crate) struct Retirement {
    missing_since: HashMap<String, FirstMissing>,
    /// Pot id → the id of the account it was last listed under.
    pot_accounts: HashMap<String, String>,
}

#[derive(Debug, Clone, Copy)]
struct FirstMissing {
    polled: DateTime<Utc>,
    accounts_listed: Option<DateTime<Utc>>,
}

impl Retirement {
    /// The remembered entities `(key, entity id)` that may go now. `people` are the
    /// ids of everyone in settings.
    pub(crate) fn due(
        &mut self,
        snapshot: &Snapshot,
        ids: &EntityIds,
        people: &HashSet<String>,
    ) -> Vec<(String, String)> {
        for person in snapshot
            .people
            .iter()
            .filter(|p| p.state == ConnectionState::Live)
        {
            for account in &person.accounts {
                for pot in &account.pots {
                    self.pot_accounts.insert(pot.id.clone(), account.id.clone());
                }
            }
        }
        let mut due = Vec::new();
        for (key, entity_id) in ids {
            let Some(parsed) = EntityKey::parse(key) else {
                // Not a key this version makes: leave it alone.
                continue;
            };
            if !people.contains(&parsed.person_id) {
                due.push((key.clone(), entity_id.clone()));
                continue;
            }
            let Some(person) = snapshot.people.iter().find(|p| p.id == parsed.person_id) else {
                continue;
            };
            let (ConnectionState::Live, Some(polled)) = (person.state, person.updated_at) else {
                continue;
            };
            let listed = person
                .accounts
                .iter()
                .any(|a| a.id == parsed.monzo_id || a.pots.iter().any(|p| p.id == parsed.monzo_id));
            if listed {
                self.missing_since.remove(key);
            } else if person.closed_or_deleted.contains(&parsed.monzo_id) {
                due.push((key.clone(), entity_id.clone()));
            } else {
                let now = FirstMissing {
                    polled,
                    accounts_listed: person.accounts_listed_at,
                };
                // A pot of an account listed now: its pots were read in this poll.
                let pots_read = self
                    .pot_accounts
                    .get(&parsed.monzo_id)
                    .is_some_and(|account| person.accounts.iter().any(|a| a.id == *account));
                match self.missing_since.get(key) {
                    // Missing from an earlier well-formed list as well.
                    Some(first)
                        if first.polled < now.polled
                            && (pots_read || first.accounts_listed < now.accounts_listed) =>
                    {
                        due.push((key.clone(), entity_id.clone()))
                    }
                    Some(_) => {}
                    None => {
                        self.missing_since.insert(key.clone(), now);
                    }
                }
            }
        }
        self.missing_since.retain(|key, _| ids.contains_key(key));
        due
    }

    /// Forgets a key once its entity is removed.
    pub(crate) fn removed(&mut self, key: &str) {
        self.missing_since.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, Money};
    use crate::snapshot::{AccountSnapshot, PersonSnapshot, PotSnapshot};

    fn at(minute: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-11-29T10:{minute:02}:00Z"))
            .unwrap()
            .with_timezone(&Utc)
    }

    fn dana(polled: u32, state: ConnectionState, pots: &[&str], evidence: &[&str]) -> Snapshot {
        dana_listed(polled, polled, state, pots, evidence)
    }

    /// Polled at minute `polled` with the account list read at minute `listed`.
    fn dana_listed(
        polled: u32,
        listed: u32,
        state: ConnectionState,
        pots: &[&str],
        evidence: &[&str],
    ) -> Snapshot {
        let gbp = |m| Money::from_minor(m, Currency::from_code("GBP"));
        Snapshot {
            people: vec![PersonSnapshot {
                id: "p1".into(),
                name: "Dana".into(),
                state,
                updated_at: Some(at(polled)),
                accounts_listed_at: Some(at(listed)),
                accounts: vec![AccountSnapshot {
                    balance: gbp(1),
                    total_balance: gbp(1),
                    pots: pots
                        .iter()
                        .map(|id| PotSnapshot {
                            id: (*id).into(),
                            name: "Pot".into(),
                            currency: "GBP".into(),
                            balance: gbp(1),
                            locked: false,
                        })
                        .collect(),
                    ..crate::snapshot::example_account()
                }],
                closed_or_deleted: evidence.iter().map(|e| (*e).to_owned()).collect(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn ids() -> EntityIds {
        EntityIds::from([
            ("p1/acc_1/balance".to_owned(), "sensor.a".to_owned()),
            ("p1/pot_a/pot_balance".to_owned(), "sensor.pot_a".to_owned()),
            ("p1/pot_b/pot_balance".to_owned(), "sensor.pot_b".to_owned()),
        ])
    }

    fn keys(due: &[(String, String)]) -> Vec<&str> {
        due.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn one_partial_list_removes_nothing_and_a_second_one_does() {
        let people = HashSet::from(["p1".to_owned()]);
        let mut retirement = Retirement::default();
        let live = ConnectionState::Live;
        assert!(retirement
            .due(&dana(1, live, &["pot_a", "pot_b"], &[]), &ids(), &people)
            .is_empty());
        // pot_b missing once: kept, however often the same poll is looked at.
        assert!(retirement
            .due(&dana(2, live, &["pot_a"], &[]), &ids(), &people)
            .is_empty());
        assert!(retirement
            .due(&dana(2, live, &["pot_a"], &[]), &ids(), &people)
            .is_empty());
        // Back in the next list: the count starts again.
        assert!(retirement
            .due(&dana(3, live, &["pot_a", "pot_b"], &[]), &ids(), &people)
            .is_empty());
        assert!(retirement
            .due(&dana(4, live, &["pot_a"], &[]), &ids(), &people)
            .is_empty());
        // A stale poll in between says nothing.
        assert!(retirement
            .due(&dana(5, ConnectionState::Stale, &[], &[]), &ids(), &people)
            .is_empty());
        // Missing from a second well-formed list: now it may go.
        let due = retirement.due(&dana(6, live, &["pot_a"], &[]), &ids(), &people);
        assert_eq!(keys(&due), ["p1/pot_b/pot_balance"]);
    }

    #[test]
    fn positive_evidence_removes_at_once_and_a_removed_person_goes_entirely() {
        let people = HashSet::from(["p1".to_owned()]);
        let mut retirement = Retirement::default();
        let due = retirement.due(
            &dana(1, ConnectionState::Live, &["pot_a"], &["pot_b"]),
            &ids(),
            &people,
        );
        assert_eq!(keys(&due), ["p1/pot_b/pot_balance"]);
        // Not live (even with nothing listed): nothing goes.
        let nobody_listed = dana(2, ConnectionState::SignedOut, &[], &[]);
        assert!(retirement.due(&nobody_listed, &ids(), &people).is_empty());
        // The person removed from settings: everything of theirs goes, whatever the
        // snapshot says (even before any poll).
        let due = retirement.due(&Snapshot::default(), &ids(), &HashSet::new());
        assert_eq!(due.len(), 3);
    }

    /// Polls between two reads of the account list repeat the same list: an account
    /// missing from it (and its pots, not read at all) is missing from one list,
    /// however many polls; a pot missing while its account is listed is missing
    /// from each poll's list of pots.
    #[test]
    fn polls_that_repeat_a_kept_account_list_are_one_list() {
        let people = HashSet::from(["p1".to_owned()]);
        let mut retirement = Retirement::default();
        let live = ConnectionState::Live;
        let mut nobody_listed = dana_listed(0, 0, live, &["pot_a", "pot_b"], &[]);
        assert!(retirement.due(&nobody_listed, &ids(), &people).is_empty());
        // The account list read at 1 without acc_1, then kept for polls 2..=9.
        nobody_listed.people[0].accounts.clear();
        for minute in 1..10 {
            nobody_listed.people[0].updated_at = Some(at(minute));
            nobody_listed.people[0].accounts_listed_at = Some(at(1));
            assert!(
                retirement.due(&nobody_listed, &ids(), &people).is_empty(),
                "{minute}"
            );
        }
        // Read again at 10, still without it: now they may go.
        nobody_listed.people[0].updated_at = Some(at(10));
        nobody_listed.people[0].accounts_listed_at = Some(at(10));
        assert_eq!(retirement.due(&nobody_listed, &ids(), &people).len(), 3);

        // pot_b gone from acc_1's pots, acc_1 listed (from the kept list): two polls.
        let mut retirement = Retirement::default();
        assert!(retirement
            .due(
                &dana_listed(20, 20, live, &["pot_a", "pot_b"], &[]),
                &ids(),
                &people
            )
            .is_empty());
        assert!(retirement
            .due(&dana_listed(21, 20, live, &["pot_a"], &[]), &ids(), &people)
            .is_empty());
        let due = retirement.due(&dana_listed(22, 20, live, &["pot_a"], &[]), &ids(), &people);
        assert_eq!(keys(&due), ["p1/pot_b/pot_balance"]);
    }
}
