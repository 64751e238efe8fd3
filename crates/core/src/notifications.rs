//! Which notifications a new snapshot calls for. Edge-triggered: each is said once
//! when something changes, never again on every poll.
//!
//! - approval needed in the Monzo app (a person enters `awaiting_approval`);
//! - sign-in ended (a person enters `signed_out`);
//! - back online after an outage (`stale` → `live`);
//! - a reminder a week before a person's 90-day in-app approval runs out;
//! - a low balance, per account with a threshold, when it drops below it (re-armed
//!   once it is back above).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::menu::shown;
use crate::snapshot::{ConnectionState, Snapshot};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub title: String,
    pub body: String,
}

/// How long before the approval runs out the reminder comes.
pub const APPROVAL_REMINDER_DAYS: i64 = 7;

#[derive(Debug, Default)]
pub struct Notifier {
    states: HashMap<String, ConnectionState>,
    reminded: HashSet<(String, DateTime<Utc>)>,
    below: HashSet<String>,
}

impl Notifier {
    /// Compares with what was seen before. `thresholds` maps `acc_…` ids to an amount
    /// in major units.
    pub fn update(
        &mut self,
        snapshot: &Snapshot,
        thresholds: &BTreeMap<String, Decimal>,
        privacy: bool,
        now: DateTime<Utc>,
    ) -> Vec<Notification> {
        let mut out = Vec::new();
        for person in &snapshot.people {
            let before = self.states.insert(person.id.clone(), person.state);
            let name = &person.name;
            if before != Some(person.state) {
                match (before, person.state) {
                    (_, ConnectionState::AwaitingApproval) => out.push(Notification {
                        title: format!("Approve access for {name} in the Monzo app"),
                        body: "Open the Monzo app on the phone and approve access; balances appear by themselves once approved."
                            .into(),
                    }),
                    (_, ConnectionState::SignedOut) => out.push(Notification {
                        title: format!("{name} needs to sign in again"),
                        body: format!("Monzo ended the sign-in. Choose \"Reconnect {name}…\" in the tray menu."),
                    }),
                    (Some(ConnectionState::Stale), ConnectionState::Live) => out.push(Notification {
                        title: "Monzo is reachable again".into(),
                        body: format!("{name}'s balances are up to date."),
                    }),
                    _ => {}
                }
            }
            if let Some(due) = person.approval_due_at {
                let soon = due - chrono::Duration::days(APPROVAL_REMINDER_DAYS) <= now;
                if soon && self.reminded.insert((person.id.clone(), due)) {
                    out.push(Notification {
                        title: format!("{name}: Monzo will ask for approval again"),
                        body: format!(
                            "Monzo asks every 90 days. On {} it will ask {name} to approve access in the Monzo app again.",
                            due.format("%-d %B")
                        ),
                    });
                }
            }
            if person.state != ConnectionState::Live {
                continue;
            }
            for account in &person.accounts {
                let Some(threshold) = thresholds.get(&account.id) else {
                    self.below.remove(&account.id);
                    continue;
                };
                let key = format!("{}:{}", person.id, account.id);
                if account.balance.amount() < *threshold {
                    if self.below.insert(key) {
                        out.push(Notification {
                            title: format!("Low balance: {name}'s {}", account.name),
                            body: format!("The balance is {}.", shown(&account.balance, privacy)),
                        });
                    }
                } else {
                    self.below.remove(&key);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, Money};
    use crate::snapshot::{AccountSnapshot, PersonSnapshot};

    fn snap(state: ConnectionState, balance: i64, due: Option<DateTime<Utc>>) -> Snapshot {
        let gbp = |m| Money::from_minor(m, Currency::from_code("GBP"));
        Snapshot {
            people: vec![PersonSnapshot {
                id: "p1".into(),
                name: "Dana".into(),
                state,
                error: None,
                updated_at: None,
                approval_due_at: due,
                closed_or_deleted: vec![],
                accounts: vec![AccountSnapshot {
                    id: "acc_1".into(),
                    name: "Current Account".into(),
                    account_type: "uk_retail".into(),
                    currency: "GBP".into(),
                    balance: gbp(balance),
                    total_balance: gbp(balance),
                    spend_today: gbp(0),
                    pots: vec![],
                }],
            }],
        }
    }

    fn titles(n: &[Notification]) -> Vec<&str> {
        n.iter().map(|n| n.title.as_str()).collect()
    }

    #[test]
    fn state_changes_are_said_once() {
        let mut notifier = Notifier::default();
        let none = BTreeMap::new();
        let now = Utc::now();
        let first = notifier.update(
            &snap(ConnectionState::AwaitingApproval, 0, None),
            &none,
            false,
            now,
        );
        assert_eq!(titles(&first), ["Approve access for Dana in the Monzo app"]);
        assert!(notifier
            .update(
                &snap(ConnectionState::AwaitingApproval, 0, None),
                &none,
                false,
                now
            )
            .is_empty());
        assert!(notifier
            .update(&snap(ConnectionState::Live, 0, None), &none, false, now)
            .is_empty());
        assert!(notifier
            .update(&snap(ConnectionState::Stale, 0, None), &none, false, now)
            .is_empty());
        let back = notifier.update(&snap(ConnectionState::Live, 0, None), &none, false, now);
        assert_eq!(titles(&back), ["Monzo is reachable again"]);
        let out = notifier.update(&snap(ConnectionState::SignedOut, 0, None), &none, false, now);
        assert_eq!(titles(&out), ["Dana needs to sign in again"]);
        assert!(notifier
            .update(&snap(ConnectionState::SignedOut, 0, None), &none, false, now)
            .is_empty());
    }

    #[test]
    fn the_approval_reminder_comes_a_week_ahead_once() {
        let mut notifier = Notifier::default();
        let none = BTreeMap::new();
        let now = Utc::now();
        let far = Some(now + chrono::Duration::days(30));
        assert!(notifier
            .update(&snap(ConnectionState::Live, 0, far), &none, false, now)
            .is_empty());
        let near = Some(now + chrono::Duration::days(6));
        let out = notifier.update(&snap(ConnectionState::Live, 0, near), &none, false, now);
        assert_eq!(titles(&out), ["Dana: Monzo will ask for approval again"]);
        assert!(notifier
            .update(&snap(ConnectionState::Live, 0, near), &none, false, now)
            .is_empty());
    }

    #[test]
    fn low_balance_fires_on_crossing_and_rearms() {
        let mut notifier = Notifier::default();
        let thresholds = BTreeMap::from([("acc_1".to_owned(), Decimal::new(10000, 2))]);
        let now = Utc::now();
        assert!(notifier
            .update(&snap(ConnectionState::Live, 20000, None), &thresholds, false, now)
            .is_empty());
        let low = notifier.update(&snap(ConnectionState::Live, 5000, None), &thresholds, false, now);
        assert_eq!(low[0].body, "The balance is £50.00.");
        assert!(notifier
            .update(&snap(ConnectionState::Live, 4000, None), &thresholds, false, now)
            .is_empty());
        assert!(notifier
            .update(&snap(ConnectionState::Live, 15000, None), &thresholds, false, now)
            .is_empty());
        let again = notifier.update(&snap(ConnectionState::Live, 100, None), &thresholds, true, now);
        assert_eq!(
            again[0].body, "The balance is £•••.",
            "privacy mode hides the amount"
        );
    }
}
