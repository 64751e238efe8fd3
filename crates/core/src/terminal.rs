//! What the command line prints for people: the balance table, the people list, and
//! the line per poll of `headless`. Columns are aligned by terminal cells.

use crate::error::{Error, Result};
use crate::home_assistant::PushState;
use crate::settings::{PersonSettings, Settings};
use crate::snapshot::{ConnectionState, PersonSnapshot, Snapshot};
use crate::text;
use crate::transactions::{AccountTransaction, TransactionRecord};
use crate::words;
use unicode_width::UnicodeWidthStr;

/// `text` padded with spaces to `width` terminal cells: counted by display width
/// (`unicode-width`), so CJK characters and emoji, two cells each, keep columns
/// aligned. Made one safe line first (see [`text`]): names from settings come as
/// they were typed there.
fn pad(text: &str, width: usize) -> String {
    let text = text::line(text);
    format!("{text}{}", " ".repeat(width.saturating_sub(text.width())))
}

/// `text` right-aligned in `width` terminal cells, made one safe line.
fn pad_left(text: &str, width: usize) -> String {
    let text = text::line(text);
    format!("{}{text}", " ".repeat(width.saturating_sub(text.width())))
}

/// A person's state line (see [`words::state_line`]) in this machine's local time.
fn state_line(person: &PersonSnapshot) -> String {
    words::state_line(person, chrono::Utc::now(), words::local_offset())
}

pub fn status_table(snapshot: &Snapshot) -> String {
    if snapshot.people.is_empty() {
        return "No one is signed in yet. Add someone with: monzo-tray login --person NAME --client-id ID\n"
            .to_owned();
    }
    let mut out = String::new();
    for person in &snapshot.people {
        out.push_str(&format!(
            "{} · {}\n",
            text::line(&person.name),
            state_line(person)
        ));
        // Why they are not live; a problem's line already says it.
        if let Some(error) = person
            .error
            .as_deref()
            .filter(|_| !matches!(person.state, ConnectionState::Live | ConnectionState::Error))
        {
            out.push_str(&format!("  {}\n", text::line(error)));
        }
        for account in &person.accounts {
            out.push_str(&format!(
                "  {} {}   with pots {}\n",
                pad(&account.name, 24),
                pad_left(&account.balance.display(), 14),
                account.total_balance.display()
            ));
            for pot in &account.pots {
                out.push_str(&format!(
                    "    {} {}\n",
                    pad(&pot.name, 22),
                    pad_left(&pot.balance.display(), 14)
                ));
            }
        }
    }
    let totals: Vec<String> = snapshot.totals().iter().map(|m| m.display()).collect();
    if !totals.is_empty() {
        out.push_str(&format!("Household total with pots: {}\n", totals.join(" · ")));
    }
    out
}

/// The exit code of `monzo-tray status` when someone's balances are not current
/// (signed out, awaiting the in-app approval, offline, in error): the table or JSON
/// is printed all the same, and each person's state says why. 1 stays "nothing could
/// be printed" (one sentence on standard error), 2 a mistake in the command line.
pub(crate) const STATUS_NOT_ALL_LIVE: u8 = 3;

/// What `monzo-tray status` exits with once it has printed: 0 when everyone is live
/// (also when nobody is set up yet), else [`STATUS_NOT_ALL_LIVE`], so a script can
/// tell current figures from last-known ones without reading them.
pub fn status_exit_code(snapshot: &Snapshot) -> u8 {
    if snapshot.people.iter().all(|p| p.state == ConnectionState::Live) {
        0
    } else {
        STATUS_NOT_ALL_LIVE
    }
}

/// One line per poll cycle, for `headless`: each person's state (with what to do
/// when they are not live), how many accounts are up to date, and the push:
/// `2026-11-29 07:29:00 poll: Dana=live, Alex=signed_out (Sign in again); 2
/// accounts up to date; Home Assistant ok`. The accounts of a person who is not
/// live are not counted: their figures are the last ones seen, if any.
pub fn cycle_line(snapshot: &Snapshot, push: Option<&PushState>) -> String {
    let people: Vec<String> = snapshot
        .people
        .iter()
        .map(|p| {
            let name = text::line(&p.name);
            if p.state == ConnectionState::Live {
                return format!("{name}=live");
            }
            format!("{name}={} ({})", p.state.as_str(), text::line(&state_line(p)))
        })
        .collect();
    let live: usize = snapshot
        .people
        .iter()
        .filter(|p| p.state == ConnectionState::Live)
        .map(|p| p.accounts.len())
        .sum();
    let home_assistant = push
        .map(|state| format!("; Home Assistant {}", text::line(&state.summary())))
        .unwrap_or_default();
    format!(
        "{} poll: {}; {live} account{} up to date{home_assistant}",
        chrono::Local::now().format("%Y-%m-%d %H:%M:%S"),
        if people.is_empty() {
            "no people".to_owned()
        } else {
            people.join(", ")
        },
        if live == 1 { "" } else { "s" },
    )
}

/// `monzo-tray transactions`: the newest `limit` of `list` (newest first), only
/// `person`'s and only `account`'s (its name or `acc_…` id) when given. `person` in
/// each record is the person asked about, else everyone who sees the account.
///
/// Errors: an `account` that none of the shown accounts (of `person`) is.
pub fn select_transactions(
    snapshot: &Snapshot,
    list: Vec<AccountTransaction>,
    person: Option<&PersonSettings>,
    account: Option<&str>,
    limit: usize,
) -> Result<Vec<TransactionRecord>> {
    let account = account.map(str::trim);
    let matches = |id: &str, name: &str| account.is_none_or(|a| a == id || a.eq_ignore_ascii_case(name));
    let known = snapshot
        .people
        .iter()
        .filter(|p| person.is_none_or(|wanted| wanted.id == p.id))
        .flat_map(|p| &p.accounts)
        .any(|a| matches(&a.id, &a.name));
    if let (Some(account), false) = (account, known) {
        return Err(Error::InvalidInput(format!(
            "There is no account \"{account}\"{}; `monzo-tray status` lists them.",
            person.map(|p| format!(" of {}", p.name)).unwrap_or_default()
        )));
    }
    Ok(list
        .into_iter()
        .filter(|t| person.is_none_or(|p| t.people.iter().any(|(id, _)| *id == p.id)))
        .filter(|t| matches(&t.transaction.account_id, &t.account))
        .take(limit)
        .map(|t| {
            let who = person.map_or_else(|| t.people_names(), |p| p.name.clone());
            TransactionRecord::new(&t.transaction, &who, &t.account)
        })
        .collect())
}

/// The transactions as a table, newest first, columns aligned by terminal cells.
pub fn transactions_table(records: &[TransactionRecord], snapshot: &Snapshot) -> String {
    if records.is_empty() {
        return "No transactions.\n".to_owned();
    }
    let mut out = String::new();
    for r in records {
        let when = r
            .created
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M")
            .to_string();
        let what = r.what(|id| snapshot.pot_name(id));
        let mark = match (r.declined, r.pending) {
            (true, _) => "  declined",
            (false, true) => "  pending",
            _ => "",
        };
        out.push_str(&format!(
            "{when}  {} {} {} {}{mark}\n",
            pad(&r.person, 14),
            pad(&r.account, 18),
            pad(&what, 26),
            pad_left(&r.amount.display_signed(), 13),
        ));
    }
    out
}

pub fn people_table(settings: &Settings) -> String {
    if settings.people.is_empty() {
        return "No people yet. Add someone with: monzo-tray login --person NAME --client-id ID\n".to_owned();
    }
    let mut out = String::new();
    for person in &settings.people {
        let approval = match person.approval_due_at() {
            Some(due) => format!("in-app approval due again {}", due.format("%Y-%m-%d")),
            None => "in-app approval not seen yet".to_owned(),
        };
        out.push_str(&format!(
            "{}  {}  ({approval})\n",
            pad(&person.name, 16),
            text::line(&person.client_id)
        ));
    }
    out
}

pub fn people_json(settings: &Settings) -> serde_json::Value {
    let people: Vec<serde_json::Value> = settings
        .people
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name,
                "client_id": p.client_id,
                "redirect_uri": p.redirect_uri,
                "signed_in_at": p.signed_in_at,
                "approved_at": p.approved_at,
                "approval_due_at": p.approval_due_at(),
            })
        })
        .collect();
    serde_json::json!({ "people": people })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, Money};
    use crate::snapshot::{AccountSnapshot, PotSnapshot};

    /// Columns line up in terminal cells, whatever the names hold.
    #[test]
    fn the_table_is_aligned_by_display_width() {
        let gbp = |m| Money::from_minor(m, Currency::from_code("GBP"));
        let pot = |name: &str, minor| PotSnapshot {
            id: format!("pot_{name}"),
            name: name.into(),
            currency: "GBP".into(),
            balance: gbp(minor),
            locked: false,
        };
        let snapshot = Snapshot {
            people: vec![PersonSnapshot {
                id: "p1".into(),
                name: "王伟".into(),
                state: ConnectionState::Live,
                accounts: vec![AccountSnapshot {
                    total_balance: gbp(200000),
                    pots: vec![
                        pot("Holiday ☀️", 150000),
                        pot("旅行の貯金", 5),
                        pot("🎉🎉 Party", 2500),
                        pot("Plain", 1),
                    ],
                    ..crate::snapshot::example_account()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let table = status_table(&snapshot);
        let pot_lines: Vec<&str> = table.lines().filter(|l| l.starts_with("    ")).collect();
        assert_eq!(pot_lines.len(), 4, "{table}");
        // Every amount ends in the same terminal column.
        let ends: Vec<usize> = pot_lines.iter().map(|l| l.width()).collect();
        assert!(ends.iter().all(|&e| e == ends[0]), "{ends:?}\n{table}");
        assert!(table.contains("£1,500.00") && table.contains("£0.05"), "{table}");
    }

    fn person(name: &str, state: ConnectionState, accounts: usize) -> PersonSnapshot {
        let gbp = |m| Money::from_minor(m, Currency::from_code("GBP"));
        PersonSnapshot {
            id: name.into(),
            name: name.into(),
            state,
            accounts: (0..accounts)
                .map(|n| AccountSnapshot {
                    id: format!("acc_{name}{n}"),
                    balance: gbp(100),
                    total_balance: gbp(100),
                    pots: vec![],
                    ..crate::snapshot::example_account()
                })
                .collect(),
            ..Default::default()
        }
    }

    /// A name with a line break cannot add a line (a fake household total) to the
    /// table, nor an escape sequence reach the terminal: names from settings come
    /// as typed, and this is their last guard.
    #[test]
    fn names_cannot_add_lines_or_reach_the_terminal_raw() {
        let mut dana = person("Dana\nHousehold total with pots: £0.00", ConnectionState::Live, 1);
        dana.accounts[0].pots.push(PotSnapshot {
            id: "pot_1".into(),
            name: "\u{1b}]0;owned\u{7}Bills\r\nHousehold total with pots: £0.00".into(),
            currency: "GBP".into(),
            balance: Money::from_minor(5, Currency::from_code("GBP")),
            locked: false,
        });
        let snapshot = Snapshot {
            people: vec![dana],
            ..Default::default()
        };
        let table = status_table(&snapshot);
        let totals = table.lines().filter(|l| l.starts_with("Household total")).count();
        assert_eq!(totals, 1, "{table}");
        assert!(!table.chars().any(|c| c.is_control() && c != '\n'), "{table:?}");
        let line = cycle_line(&snapshot, None);
        assert!(!line.chars().any(char::is_control), "{line:?}");
    }

    /// `headless`: a person who is not live is told with what to do, and their
    /// last-seen accounts are not counted as up to date.
    #[test]
    fn the_cycle_line_counts_only_live_accounts_and_says_what_to_do() {
        let snapshot = Snapshot {
            people: vec![
                person("Dana", ConnectionState::Live, 2),
                person("Alex", ConnectionState::SignedOut, 2),
                person("Sam", ConnectionState::AwaitingApproval, 0),
            ],
            ..Default::default()
        };
        let line = cycle_line(&snapshot, None);
        assert!(
            line.ends_with(
                " poll: Dana=live, Alex=signed_out (Sign in again), Sam=awaiting_approval (Approve access in the Monzo app); 2 accounts up to date"
            ),
            "{line}"
        );
    }
}
