//! The snapshot: one immutable picture of every person's accounts and pots, with
//! each person's connection state: only what was fetched from Monzo (as Home
//! Assistant's coordinator data is). The engine publishes it on a `watch` channel;
//! the tray, the UI, the command line and the Home Assistant pusher only read it.
//!
//! Serialised, it is the `monzo-tray status --json` document:
//! `{"people":[{"id","name","state","error"?,"updated_at","approval_due_at"?,
//! "accounts":[{"id","name","type","currency","balance","total_balance",
//! "spend_today","pots":[{"id","name","currency","balance"}]}]}]}`, amounts as decimal
//! strings in major units with the currency's ISO 4217 exponent, Monzo's own signs
//! (`spend_today` negative when money was spent).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::money::Money;

/// Where a person's connection to Monzo stands. Serialised as [`Self::as_str`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ConnectionState {
    /// No usable sign-in: never signed in, or Monzo ended it. Needs "Sign in again".
    #[default]
    SignedOut,
    /// Signed in, but Monzo waits for the person to approve access in the Monzo app.
    AwaitingApproval,
    /// Balances are current.
    Live,
    /// Monzo or the network is having trouble; the last known balances are shown.
    Stale,
    /// Something needs attention that waiting will not fix (see `error`).
    Error,
}

impl Serialize for ConnectionState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl ConnectionState {
    /// The name in `status --json` and the UI: `signed_out`, `awaiting_approval`,
    /// `live`, `stale`, `error`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ConnectionState::SignedOut => "signed_out",
            ConnectionState::AwaitingApproval => "awaiting_approval",
            ConnectionState::Live => "live",
            ConnectionState::Stale => "stale",
            ConnectionState::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Snapshot {
    pub people: Vec<PersonSnapshot>,
    /// The last few transactions per account (`acc_…` id), oldest first: the tray's
    /// "Recent" lists. A joint account's list is shared by its owners. Not in
    /// `status --json` (`monzo-tray transactions` prints them).
    #[serde(skip)]
    pub recent: std::collections::BTreeMap<String, Vec<crate::transactions::Transaction>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PersonSnapshot {
    /// Stable id of the person in settings (not Monzo's user id).
    pub id: String,
    pub name: String,
    pub state: ConnectionState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When these balances were fetched; `None` if never.
    pub updated_at: Option<DateTime<Utc>>,
    /// When Monzo will ask for the in-app approval again (90 days after the last one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_due_at: Option<DateTime<Utc>>,
    pub accounts: Vec<AccountSnapshot>,
    /// Monzo ids (`acc_…`, `pot_…`) the last poll found listed as closed (accounts)
    /// or deleted (pots): the positive evidence on which what was made for them
    /// downstream (Home Assistant entities and devices) may be removed. Not in
    /// `status --json`.
    #[serde(skip)]
    pub closed_or_deleted: Vec<String>,
    /// When the account list these accounts come from was read (it is read every
    /// few minutes, not every poll): one list, however many polls reuse it.
    #[serde(skip)]
    pub(crate) accounts_listed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountSnapshot {
    /// Monzo's `acc_…` id: the key for everything about this account.
    pub id: String,
    /// "Current Account", "Joint Account", … as Home Assistant names them.
    pub name: String,
    #[serde(rename = "type")]
    pub account_type: String,
    pub currency: String,
    /// Available balance.
    pub balance: Money,
    /// Balance plus every pot.
    pub total_balance: Money,
    pub spend_today: Money,
    pub pots: Vec<PotSnapshot>,
    /// When Monzo says the account was opened. Not in `status --json`.
    #[serde(skip)]
    pub(crate) opened: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PotSnapshot {
    /// Monzo's `pot_…` id.
    pub id: String,
    /// As Monzo names it, emoji included; made safe to show as it was read (see
    /// `text`).
    pub name: String,
    pub(crate) currency: String,
    pub balance: Money,
    /// "Added security": Monzo lets money out only in its app, not through the API
    /// (Monzo's docs, pots). Not in `status --json`.
    #[serde(skip)]
    pub(crate) locked: bool,
}

impl Snapshot {
    pub fn person(&self, name: &str) -> Option<&PersonSnapshot> {
        self.people.iter().find(|p| p.name == name)
    }

    /// The name of the pot `pot_id`, wherever it is.
    pub(crate) fn pot_name(&self, pot_id: &str) -> Option<String> {
        self.people
            .iter()
            .flat_map(|p| &p.accounts)
            .flat_map(|a| &a.pots)
            .find(|p| p.id == pot_id)
            .map(|p| p.name.clone())
    }

    /// The household's total including pots, one figure per currency, in order of
    /// first appearance: what the tray shows at a glance.
    pub fn totals(&self) -> Vec<Money> {
        let mut totals: Vec<Money> = Vec::new();
        // A joint account is listed under each of its owners; count it once.
        let mut seen = std::collections::HashSet::new();
        for account in self.people.iter().flat_map(|p| &p.accounts) {
            if !seen.insert(account.id.as_str()) {
                continue;
            }
            match totals
                .iter_mut()
                .find(|t| t.currency() == account.total_balance.currency())
            {
                Some(total) => {
                    if let Some(sum) = total.checked_add(&account.total_balance) {
                        *total = sum;
                    }
                }
                None => totals.push(account.total_balance.clone()),
            }
        }
        totals
    }
}

/// Dana (`p1`), live, with a GBP current account [`example_account`]. What unit
/// tests start from.
#[cfg(test)]
pub(crate) fn example() -> Snapshot {
    Snapshot {
        people: vec![PersonSnapshot {
            id: "p1".into(),
            name: "Dana".into(),
            state: ConnectionState::Live,
            accounts: vec![example_account()],
            ..PersonSnapshot::default()
        }],
        ..Snapshot::default()
    }
}

/// A GBP current account `acc_1`: £1,234.56, £2,734.56 with its pot "Holiday ☀️"
/// (`pot_1`, £1,500.00), nothing spent today. What unit tests start from.
#[cfg(test)]
pub(crate) fn example_account() -> AccountSnapshot {
    let gbp = |minor| Money::from_minor(minor, crate::money::Currency::from_code("GBP"));
    AccountSnapshot {
        opened: None,
        id: "acc_1".into(),
        name: "Current Account".into(),
        account_type: "uk_retail".into(),
        currency: "GBP".into(),
        balance: gbp(123456),
        total_balance: gbp(273456),
        spend_today: gbp(0),
        pots: vec![PotSnapshot {
            id: "pot_1".into(),
            name: "Holiday ☀️".into(),
            currency: "GBP".into(),
            balance: gbp(150000),
            locked: false,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn account(id: &str, minor: i64, currency: &str) -> AccountSnapshot {
        let c = Currency::from_code(currency);
        AccountSnapshot {
            opened: None,
            id: id.into(),
            currency: currency.into(),
            balance: Money::from_minor(minor, c.clone()),
            total_balance: Money::from_minor(minor, c.clone()),
            spend_today: Money::zero(c),
            pots: vec![],
            ..example_account()
        }
    }

    fn person(name: &str, accounts: Vec<AccountSnapshot>) -> PersonSnapshot {
        PersonSnapshot {
            id: name.into(),
            name: name.into(),
            state: ConnectionState::Live,
            error: None,
            updated_at: None,
            approval_due_at: None,
            accounts,
            ..Default::default()
        }
    }

    #[test]
    fn totals_count_joint_accounts_once_and_keep_currencies_apart() {
        let snap = Snapshot {
            people: vec![
                person(
                    "Dana",
                    vec![account("acc_1", 1000, "GBP"), account("acc_joint", 500, "GBP")],
                ),
                person(
                    "Alex",
                    vec![account("acc_joint", 500, "GBP"), account("acc_2", 700, "EUR")],
                ),
            ],
            ..Default::default()
        };
        let totals: Vec<String> = snap.totals().iter().map(|m| m.to_decimal_string()).collect();
        assert_eq!(totals, ["15.00", "7.00"]);
    }

    #[test]
    fn json_shape_matches_the_status_contract() {
        let snap = Snapshot {
            people: vec![person("Dana", vec![account("acc_1", -1230, "GBP")])],
            ..Default::default()
        };
        let json = serde_json::to_value(&snap).unwrap();
        let acc = &json["people"][0]["accounts"][0];
        assert_eq!(json["people"][0]["state"], "live");
        assert_eq!(acc["balance"], "-12.30");
        assert_eq!(acc["type"], "uk_retail");
        assert!(json["people"][0].get("error").is_none());
    }
}
