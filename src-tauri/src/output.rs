//! What the command line prints for people: the balance table and the people list.

use monzo_tray_core::settings::Settings;
use monzo_tray_core::snapshot::{ConnectionState, PersonSnapshot, Snapshot};

fn pad(text: &str, width: usize) -> String {
    let len = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(len)))
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
        out.push_str(&format!("{} · {}\n", person.name, state_line(person)));
        if let Some(error) = person
            .error
            .as_deref()
            .filter(|_| person.state != ConnectionState::Live)
        {
            out.push_str(&format!("  {error}\n"));
        }
        for account in &person.accounts {
            out.push_str(&format!(
                "  {} {:>14}   with pots {}\n",
                pad(&account.name, 24),
                account.balance.display(),
                account.total_balance.display()
            ));
            for pot in &account.pots {
                out.push_str(&format!(
                    "    {} {:>14}\n",
                    pad(&pot.name, 22),
                    pot.balance.display()
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
pub fn cycle_line(snapshot: &Snapshot) -> String {
    let people: Vec<String> = snapshot
        .people
        .iter()
        .map(|p| format!("{}={}", p.name, p.state.as_str()))
        .collect();
    let accounts: usize = snapshot.people.iter().map(|p| p.accounts.len()).sum();
    let home_assistant = match &snapshot.home_assistant {
        Some(state) => format!(
            "; Home Assistant {}{}",
            serde_json::to_value(state.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            state
                .message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        ),
        None => String::new(),
    };
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
            person.client_id
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
