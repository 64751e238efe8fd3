//! People and settings as the settings window shows them: never a secret or a
//! token, amounts already formatted by the core (`£1,234.56`, or `£•••` in privacy
//! mode), so money is formatted in one place.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::AppService;
use crate::loopback::redirect_uri_for_port;
use crate::menu::shown;
use crate::settings::Settings;
use crate::snapshot::{AccountSnapshot, ConnectionState};

/// A person as the settings window sees them.
#[derive(Debug, Clone, Serialize)]
pub struct PersonView {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub state: ConnectionState,
    pub error: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    pub approval_due_at: Option<DateTime<Utc>>,
    /// Desktop notifications of their new transactions (chosen per person).
    pub notify_transactions: bool,
    pub accounts: Vec<AccountView>,
}

/// An account as the window shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    pub id: String,
    pub name: String,
    pub currency: String,
    pub balance: String,
    pub total_balance: String,
    /// The low-balance alert threshold, if set ("100.00").
    pub low_balance_alert: Option<String>,
    pub pots: Vec<PotView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PotView {
    pub id: String,
    pub name: String,
    pub balance: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SettingsView {
    pub poll_interval_secs: u64,
    pub privacy_mode: bool,
    /// Thresholds by `acc_…` id, as decimal strings.
    pub low_balance_alerts: BTreeMap<String, String>,
    /// The redirect URL to register at developers.monzo.com.
    pub redirect_uri: String,
    /// What reading the settings file found wrong, if anything (each value named).
    pub notice: Option<String>,
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

impl AppService {
    pub fn people(&self) -> Vec<PersonView> {
        let settings = self.household().settings();
        let snapshot = self.engine.snapshot();
        settings
            .people
            .iter()
            .map(|person| {
                let seen = snapshot.people.iter().find(|p| p.id == person.id);
                PersonView {
                    id: person.id.clone(),
                    name: person.name.clone(),
                    client_id: person.client_id.clone(),
                    redirect_uri: person.redirect_uri.clone(),
                    // Not polled yet (just added): say so rather than guess.
                    state: seen.map_or(ConnectionState::Stale, |p| p.state),
                    error: seen.and_then(|p| p.error.clone()),
                    updated_at: seen.and_then(|p| p.updated_at),
                    approval_due_at: person.approval_due_at(),
                    notify_transactions: person.notify_transactions,
                    accounts: seen
                        .map(|p| p.accounts.iter().map(|a| account_view(a, &settings)).collect())
                        .unwrap_or_default(),
                }
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
