//! People and settings as the settings window shows them: never a secret or a
//! token; amounts (`£1,234.56`, or `£•••` in privacy mode), times and sentences
//! already written by the core (see [`crate::words`]), so the window formats
//! nothing and says nothing of its own.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::AppService;
use crate::loopback::redirect_uri_for_port;
use crate::menu::shown;
use crate::settings::Settings;
use crate::snapshot::{AccountSnapshot, ConnectionState, PersonSnapshot};
use crate::words;

/// A person as the settings window sees them.
#[derive(Debug, Clone, Serialize)]
pub struct PersonView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub state: ConnectionState,
    /// Their state in words, saying what to do when they are not live ("Up to date
    /// · updated 2 min ago", "Sign in again"; see [`words::state_line`]). It moves
    /// on with time: [`AppService::state_lines`] gives it again.
    pub(crate) state_line: String,
    pub(crate) error: Option<String>,
    pub(crate) updated_at: Option<DateTime<Utc>>,
    pub(crate) approval_due_at: Option<DateTime<Utc>>,
    /// "Monzo asks for approval in the app again on 27 November 2026.", once the
    /// approval was seen.
    pub(crate) approval_line: Option<String>,
    /// Desktop notifications of their new transactions (chosen per person).
    pub(crate) notify_transactions: bool,
    /// Their money history is kept (on unless they turn it off).
    pub(crate) keep_history: bool,
    /// Their history in a sentence: the import under way, cut short by Monzo's
    /// 5-minute rule (Reconnect), or how far back it goes (see
    /// [`super::history::import_sentence`]); with what stops history being written.
    pub(crate) history_line: Option<String>,
    pub accounts: Vec<AccountView>,
}

/// A person's state line alone, for moving the "updated" words on.
#[derive(Debug, Clone, Serialize)]
pub struct StateLineView {
    /// The person's household id.
    pub(crate) id: String,
    /// See [`PersonView::state_line`].
    pub(crate) state_line: String,
}

/// An account as the window shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) currency: String,
    pub(crate) balance: String,
    pub(crate) total_balance: String,
    /// The low-balance alert threshold, if set ("100.00").
    pub(crate) low_balance_alert: Option<String>,
    pub(crate) pots: Vec<PotView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PotView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) balance: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SettingsView {
    pub(crate) poll_interval_secs: u64,
    pub(crate) privacy_mode: bool,
    /// Thresholds by `acc_…` id, as decimal strings.
    pub low_balance_alerts: BTreeMap<String, String>,
    /// The redirect URL to register at developers.monzo.com.
    pub(crate) redirect_uri: String,
    /// What reading the settings file found wrong, if anything (each value named).
    pub(crate) notice: Option<String>,
}

fn account_view(account: &AccountSnapshot, settings: &Settings) -> AccountView {
    let privacy = settings.privacy_mode;
    AccountView {
        id: account.id.clone(),
        name: account.name.clone(),
        currency: account.currency.clone(),
        balance: shown(&account.balance, privacy),
        total_balance: shown(&account.total_balance, privacy),
        low_balance_alert: settings
            .low_balance_alerts
            .get(&account.id)
            .map(|d| d.to_string()),
        pots: account
            .pots
            .iter()
            .map(|p| PotView {
                id: p.id.clone(),
                name: p.name.clone(),
                balance: shown(&p.balance, privacy),
            })
            .collect(),
    }
}

/// The person `id` as the snapshot has them; someone not polled yet (just added)
/// is offline and not updated yet, rather than guessed at.
fn shown_person(people: &[PersonSnapshot], id: &str) -> PersonSnapshot {
    people
        .iter()
        .find(|p| p.id == id)
        .cloned()
        .unwrap_or_else(|| PersonSnapshot {
            id: id.to_owned(),
            state: ConnectionState::Stale,
            ..Default::default()
        })
}

impl AppService {
    /// Everyone in settings, in settings order, with what the last snapshot holds
    /// of them.
    pub fn people(&self) -> Vec<PersonView> {
        let settings = self.household().settings();
        let snapshot = self.engine.snapshot();
        let (now, offset) = (self.household().clock().now(), words::local_offset());
        settings
            .people
            .iter()
            .map(|person| {
                let seen = shown_person(&snapshot.people, &person.id);
                PersonView {
                    id: person.id.clone(),
                    name: person.name.clone(),
                    client_id: person.client_id.clone(),
                    redirect_uri: person.redirect_uri.clone(),
                    state: seen.state,
                    state_line: words::state_line(&seen, now, offset),
                    error: seen.error.clone(),
                    updated_at: seen.updated_at,
                    approval_due_at: person.approval_due_at(),
                    approval_line: person
                        .approval_due_at()
                        .map(|due| words::approval_due_line(due, offset)),
                    notify_transactions: person.notify_transactions,
                    keep_history: person.keep_history,
                    history_line: self.history_line(person),
                    accounts: seen.accounts.iter().map(|a| account_view(a, &settings)).collect(),
                }
            })
            .collect()
    }

    /// Each person's state line as of now, in settings order: what the window asks
    /// for to move "updated 2 min ago" on, without laying anybody out again.
    pub fn state_lines(&self) -> Vec<StateLineView> {
        let snapshot = self.engine.snapshot();
        let (now, offset) = (self.household().clock().now(), words::local_offset());
        self.household()
            .settings()
            .people
            .iter()
            .map(|person| StateLineView {
                id: person.id.clone(),
                state_line: words::state_line(&shown_person(&snapshot.people, &person.id), now, offset),
            })
            .collect()
    }

    pub fn settings(&self) -> SettingsView {
        let settings = self.household().settings();
        SettingsView {
            poll_interval_secs: settings.poll_interval_secs,
            privacy_mode: settings.privacy_mode,
            low_balance_alerts: settings
                .low_balance_alerts
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
            redirect_uri: redirect_uri_for_port(self.redirect_port),
            notice: self.household().load_warning.clone(),
        }
    }
}
