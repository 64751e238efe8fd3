//! Which notifications a new snapshot calls for. Edge-triggered: each is said once
//! when something changes, never again on every poll.
//!
//! - approval needed in the Monzo app (a person enters `awaiting_approval`);
//! - sign-in ended (a person enters `signed_out`);
//! - back online after an outage (`stale` → `live`);
//! - a reminder a week before a person's 90-day in-app approval runs out;
//! - a low balance, per account with a threshold, when it drops below it (re-armed
//!   once it is back above);
//! - new transactions, for the people who chose them ([`transactions`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::menu::shown;
use crate::settings::{Settings, APPROVAL_LIFETIME_DAYS};
use crate::snapshot::{ConnectionState, Snapshot};
use crate::text;
use crate::transactions::AccountTransaction;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub title: String,
    pub body: String,
}

impl Notification {
    /// Title and body made one safe line each (see [`text`]): names typed into
    /// settings reach notifications as they were typed.
    fn cleaned(self) -> Self {
        Self {
            title: text::line(&self.title),
            body: text::line(&self.body),
        }
    }
}

/// How long before the approval runs out the reminder comes.
pub(crate) const APPROVAL_REMINDER_DAYS: i64 = 7;

#[derive(Debug, Default)]
pub struct Notifier {
    states: HashMap<String, ConnectionState>,
    reminded: HashSet<(String, DateTime<Utc>)>,
    below: HashSet<String>,
}

impl Notifier {
    /// Compares with what was seen before. `thresholds` maps `acc_…` ids to an amount
    /// in major units.
    pub(crate) fn update(
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
                            "Monzo asks every {APPROVAL_LIFETIME_DAYS} days. On {} it will ask {name} to approve access in the Monzo app again.",
                            due.format("%-d %B")
                        ),
                    });
                }
            }
            if person.state != ConnectionState::Live {
                continue;
            }
            for account in &person.accounts {
                // A joint account is listed under each owner: alerted per owner.
                let key = format!("{}:{}", person.id, account.id);
                let Some(threshold) = thresholds.get(&account.id) else {
                    // No alert (cleared): set again later, it fires again.
                    self.below.remove(&key);
                    continue;
                };
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
        out.into_iter().map(Notification::cleaned).collect()
    }
}

/// How many transactions one grouped notification names.
const NAMED_IN_GROUP: usize = 3;

/// The notifications new transactions call for: each is told once, to the first of
/// the people who see its account (a joint account: both owners) who chose
/// transaction notifications; several for one person at once are one notification.
/// "Dana · -£12.30 Tesco Metro"; "Dana · 5 new transactions". Privacy mode hides
/// amounts and merchants. `pot_name` names a pot by id.
pub(crate) fn transactions(
    new: &[AccountTransaction],
    settings: &Settings,
    pot_name: impl Fn(&str) -> Option<String>,
) -> Vec<Notification> {
    let privacy = settings.privacy_mode;
    let mut by_person: Vec<(String, Vec<&AccountTransaction>)> = Vec::new();
    for item in new {
        let chosen = item
            .people
            .iter()
            .find(|(id, _)| settings.person_by_id(id).is_some_and(|p| p.notify_transactions));
        let Some((_, name)) = chosen else { continue };
        match by_person.iter_mut().find(|(n, _)| n == name) {
            Some((_, items)) => items.push(item),
            None => by_person.push((name.clone(), vec![item])),
        }
    }
    let line = |item: &AccountTransaction| {
        let t = &item.transaction;
        let declined = if t.declined { " (declined)" } else { "" };
        format!("{} {}{declined}", t.amount.display_signed(), t.what(&pot_name))
    };
    by_person
        .into_iter()
        .map(|(name, items)| match items.as_slice() {
            [one] => Notification {
                title: if privacy {
                    format!("{name} · new transaction")
                } else {
                    format!("{name} · {}", line(one))
                },
                body: one.account.clone(),
            },
            many => Notification {
                title: format!("{name} · {} new transactions", many.len()),
                body: if privacy {
                    "Open the tray menu's Recent lists to see them.".to_owned()
                } else {
                    let mut named: Vec<String> =
                        many.iter().rev().take(NAMED_IN_GROUP).map(|i| line(i)).collect();
                    if many.len() > NAMED_IN_GROUP {
                        named.push(format!("and {} more", many.len() - NAMED_IN_GROUP));
                    }
                    named.join(", ")
                },
            },
        })
        .map(Notification::cleaned)
        .collect()
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
                accounts: vec![AccountSnapshot {
                    opened: None,
                    balance: gbp(balance),
                    total_balance: gbp(balance),
                    pots: vec![],
                    ..crate::snapshot::example_account()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn titles(n: &[Notification]) -> Vec<&str> {
        n.iter().map(|n| n.title.as_str()).collect()
    }

    fn new_transaction(id: &str, minor: i64, merchant: &str, people: &[(&str, &str)]) -> AccountTransaction {
        crate::transactions::example_payment(id, minor, merchant, people)
    }

    fn household(notify: &[&str], privacy: bool) -> Settings {
        let person = |id: &str, name: &str| crate::settings::PersonSettings {
            id: id.into(),
            name: name.into(),
            client_id: "c".into(),
            redirect_uri: "r".into(),
            signed_in_at: None,
            approved_at: None,
            monzo_user_id: None,
            notify_transactions: notify.contains(&id),
            keep_history: true,
            other: Default::default(),
        };
        Settings {
            people: vec![person("p1", "Dana"), person("p2", "Alex")],
            privacy_mode: privacy,
            ..Settings::default()
        }
    }

    /// A name typed into settings with a line break or escape sequence in it, and
    /// whatever Monzo calls a merchant, are one plain line in a notification.
    #[test]
    fn notifications_are_one_safe_line() {
        let odd = [("p1", "Dana\n\u{1b}]0;x\u{7}")];
        let one = [new_transaction("tx_1", -1230, "Tesco\u{202e}", &odd)];
        let said = transactions(&one, &household(&["p1"], false), |_| None);
        assert_eq!(said[0].title, "Dana \u{FFFD}]0;x\u{FFFD} · -£12.30 Tesco\u{FFFD}");
        let mut snapshot = snap(ConnectionState::SignedOut, 100, None);
        snapshot.people[0].name = "Dana\r\nAlex".into();
        let said = Notifier::default().update(&snapshot, &BTreeMap::new(), false, Utc::now());
        assert_eq!(said[0].title, "Dana  Alex needs to sign in again");
    }

    /// Opt-in per person; one notification per transaction, grouped when several
    /// come at once; a joint account's transaction told once; privacy hides what.
    #[test]
    fn transactions_are_told_to_those_who_chose_them_once() {
        let dana = [("p1", "Dana")];
        let joint = [("p1", "Dana"), ("p2", "Alex")];
        let one = [new_transaction("tx_1", -1230, "Tesco Metro", &dana)];
        assert!(
            transactions(&one, &household(&[], false), |_| None).is_empty(),
            "off by default"
        );
        let said = transactions(&one, &household(&["p1"], false), |_| None);
        assert_eq!(titles(&said), ["Dana · -£12.30 Tesco Metro"]);
        assert_eq!(said[0].body, "Current Account");

        let five: Vec<AccountTransaction> = (1..=5)
            .map(|n| new_transaction(&format!("tx_{n}"), -100 * n, &format!("Shop {n}"), &dana))
            .collect();
        let said = transactions(&five, &household(&["p1"], false), |_| None);
        assert_eq!(titles(&said), ["Dana · 5 new transactions"]);
        assert_eq!(
            said[0].body,
            "-£5.00 Shop 5, -£4.00 Shop 4, -£3.00 Shop 3, and 2 more"
        );

        // A joint account: once, to the first owner who chose notifications.
        let shared = [new_transaction("tx_9", -4599, "Sainsbury's", &joint)];
        assert_eq!(
            titles(&transactions(&shared, &household(&["p1", "p2"], false), |_| None)),
            ["Dana · -£45.99 Sainsbury's"]
        );
        assert_eq!(
            titles(&transactions(&shared, &household(&["p2"], false), |_| None)),
            ["Alex · -£45.99 Sainsbury's"]
        );

        // Privacy mode: neither amount nor merchant.
        let said = transactions(&one, &household(&["p1"], true), |_| None);
        assert_eq!(titles(&said), ["Dana · new transaction"]);
        let said = transactions(&five, &household(&["p1"], true), |_| None);
        let all = format!("{} {}", said[0].title, said[0].body);
        assert!(!all.contains('£') && !all.contains("Shop"), "{all}");
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

    /// Clearing an alert and setting it again while still below fires it again.
    #[test]
    fn a_cleared_alert_set_again_while_below_fires_again() {
        let mut notifier = Notifier::default();
        let thresholds = BTreeMap::from([("acc_1".to_owned(), Decimal::new(10000, 2))]);
        let none = BTreeMap::new();
        let now = Utc::now();
        let low = snap(ConnectionState::Live, 5000, None);
        assert_eq!(notifier.update(&low, &thresholds, false, now).len(), 1);
        assert!(notifier.update(&low, &none, false, now).is_empty());
        let again = notifier.update(&low, &thresholds, false, now);
        assert_eq!(titles(&again), ["Low balance: Dana's Current Account"]);
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
