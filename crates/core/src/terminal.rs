//! What the command line prints for people: the balance table, the people list, and
//! the line per poll of `headless`. Columns are aligned by terminal cells.

use crate::error::{Error, Result};
use crate::home_assistant::PushState;
use crate::settings::{PersonSettings, Settings};
use crate::snapshot::{ConnectionState, PersonSnapshot, Snapshot};
use crate::text;
use crate::transactions::{AccountTransaction, TransactionRecord};
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

fn local_time(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&chrono::Local).format("%H:%M").to_string()
}

fn state_line(person: &PersonSnapshot) -> String {
    let updated = person.updated_at.as_ref().map(local_time);
    match (person.state, updated) {
        (ConnectionState::Live, Some(at)) => format!("live, updated {at}"),
        (ConnectionState::Stale, Some(at)) => format!("offline, last updated {at}"),
        (ConnectionState::AwaitingApproval, _) => "approve access in the Monzo app".to_owned(),
        (ConnectionState::SignedOut, _) => "sign in again".to_owned(),
        (state, _) => state.as_str().replace('_', " "),
    }
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
        if let Some(error) = person
            .error
            .as_deref()
            .filter(|_| person.state != ConnectionState::Live)
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

/// One line per poll cycle, for `headless`.
pub fn cycle_line(snapshot: &Snapshot, push: Option<&PushState>) -> String {
    let people: Vec<String> = snapshot
        .people
        .iter()
        .map(|p| format!("{}={}", p.name, p.state.as_str()))
        .collect();
    let accounts: usize = snapshot.people.iter().map(|p| p.accounts.len()).sum();
    let home_assistant = push
        .map(|state| format!("; Home Assistant {}", state.summary()))
        .unwrap_or_default();
    format!(
        "{} poll: {} ({} accounts){home_assistant}",
        chrono::Local::now().format("%Y-%m-%d %H:%M:%S"),
        if people.is_empty() {
            "no people".to_owned()
        } else {
            people.join(", ")
        },
        accounts
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
        let what = match (&r.merchant, &r.pot_id) {
            (Some(merchant), _) => merchant.clone(),
            (None, Some(pot)) => {
                let pot = snapshot.pot_name(pot).unwrap_or_else(|| "a pot".into());
                if r.amount.is_negative() {
                    format!("To {pot}")
                } else {
                    format!("From {pot}")
                }
            }
            (None, None) => r.description.clone(),
        };
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
                    id: "acc_1".into(),
                    name: "Current Account".into(),
                    account_type: "uk_retail".into(),
                    currency: "GBP".into(),
                    balance: gbp(123456),
                    total_balance: gbp(200000),
                    spend_today: gbp(0),
                    pots: vec![
                        pot("Holiday ☀️", 150000),
                        pot("旅行の貯金", 5),
                        pot("🎉🎉 Party", 2500),
                        pot("Plain", 1),
                    ],
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
}
