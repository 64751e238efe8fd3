//! Transactions: what just happened on an account, as the app shows and announces
//! it. The engine reads new ones (`engine::transactions`) and remembers the last one
//! seen per account ([`seen`]); each new one is announced once, as an
//! [`AccountTransaction`], to whoever follows: the tray, the notifier and the Home
//! Assistant pushers.
//!
//! Monzo's facts (docs.monzo.com, "Transactions"): amounts in
//! minor units, negative for money out; `merchant` is an object with
//! `expand[]=merchant`; a pot transfer carries `metadata.pot_id`; `decline_reason`
//! marks a declined one; `local_amount`/`local_currency` are what was spent abroad.

pub mod seen;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::money::{Currency, Money};
use crate::monzo::{WireMerchant, WireTransaction};

/// How many transactions an account's "Recent" list keeps.
pub(crate) const RECENT: usize = 5;

/// One transaction, as the app shows and announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// `tx_…`.
    pub id: String,
    pub(crate) account_id: String,
    pub(crate) created: DateTime<Utc>,
    /// Negative for money out (Monzo's sign).
    pub amount: Money,
    pub(crate) description: String,
    /// The merchant's name, where Monzo knows one.
    pub merchant: Option<String>,
    /// Monzo's category (`groceries`, `eating_out`, …; new ones appear over time).
    pub category: String,
    /// Set on a transfer into (money out) or out of (money in) this pot.
    pub pot_id: Option<String>,
    pub declined: bool,
    /// Still pending (not settled).
    pub(crate) pending: bool,
    /// When Monzo settled it; `None` while pending (and for declined ones).
    pub(crate) settled: Option<DateTime<Utc>>,
    /// The other account of a transfer, where Monzo names it (`counterparty.account_id`):
    /// how a transfer between the household's own accounts is told from spending.
    pub(crate) counterparty_account_id: Option<String>,
    /// What was spent abroad, in the local currency, when it is not the account's.
    pub local_amount: Option<Money>,
}

impl Transaction {
    /// From Monzo's reply for `account_id`.
    pub(crate) fn from_wire(account_id: &str, wire: WireTransaction) -> Self {
        let currency = Currency::from_code(&wire.currency);
        let merchant = match wire.merchant {
            Some(WireMerchant::Expanded { name: Some(name), .. }) if !name.trim().is_empty() => {
                Some(name.trim().to_owned())
            }
            _ => None,
        };
        let pot_id = wire
            .metadata
            .as_ref()
            .and_then(|m| m.get("pot_id"))
            .and_then(|v| v.as_str())
            .filter(|id| !id.is_empty())
            .map(str::to_owned);
        let local_amount = match (wire.local_amount, wire.local_currency.as_deref()) {
            (Some(minor), Some(code)) if !code.is_empty() && !code.eq_ignore_ascii_case(currency.code()) => {
                Some(Money::from_minor(minor, Currency::from_code(code)))
            }
            _ => None,
        };
        Self {
            id: wire.id,
            account_id: account_id.to_owned(),
            created: wire.created,
            amount: Money::from_minor(wire.amount, currency),
            description: wire.description.unwrap_or_default().trim().to_owned(),
            merchant,
            category: wire
                .category
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "general".into()),
            pot_id,
            declined: wire.decline_reason.is_some_and(|r| !r.is_empty()),
            pending: wire.settled.as_deref().is_some_and(str::is_empty),
            settled: wire
                .settled
                .as_deref()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc)),
            counterparty_account_id: wire
                .counterparty
                .as_ref()
                .and_then(|c| c.get("account_id"))
                .and_then(|v| v.as_str())
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
            local_amount,
        }
    }

    /// What it was, in a few words: see [`what`].
    pub(crate) fn what(&self, pot_name: impl Fn(&str) -> Option<String>) -> String {
        what(
            self.merchant.as_deref(),
            self.pot_id.as_deref(),
            &self.description,
            &self.amount,
            pot_name,
        )
    }
}

/// What a transaction was, in a few words, the same in the tray, notifications and
/// the command line: the merchant, else for a pot transfer "To <pot>" (money out)
/// or "From <pot>" (`pot_name` finds the pot's name; "a pot" when it cannot), else
/// Monzo's description, else "Transaction" when Monzo gave none.
pub(crate) fn what(
    merchant: Option<&str>,
    pot_id: Option<&str>,
    description: &str,
    amount: &Money,
    pot_name: impl Fn(&str) -> Option<String>,
) -> String {
    if let Some(merchant) = merchant {
        return merchant.to_owned();
    }
    if let Some(pot) = pot_id {
        let name = pot_name(pot).unwrap_or_else(|| "a pot".into());
        return if amount.is_negative() {
            format!("To {name}")
        } else {
            format!("From {name}")
        };
    }
    if description.is_empty() {
        "Transaction".into()
    } else {
        description.to_owned()
    }
}

/// A household member who sees an account: `(person id, name)`.
pub(crate) type Viewer = (String, String);

/// A transaction with its account's name and who in the household sees the account
/// (a joint account: both owners, in settings order): what is announced when it is
/// new, and what `monzo-tray transactions` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountTransaction {
    pub transaction: Transaction,
    /// The account's name, "Current Account".
    pub account: String,
    pub people: Vec<Viewer>,
}

impl AccountTransaction {
    /// The people who see it, for one line: "Dana", "Dana & Alex".
    pub fn people_names(&self) -> String {
        self.people
            .iter()
            .map(|(_, name)| name.as_str())
            .collect::<Vec<_>>()
            .join(" & ")
    }
}

/// A transaction as the command line and Home Assistant events write it:
/// `{"id","person","account_id","account","created","amount","currency",
/// "description","merchant","category","pot_id"?,"declined"?,"pending"?,
/// "local_amount"?,"local_currency"?}`, the amounts decimal strings in major units,
/// negative for money out (as `status --json` writes money).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransactionRecord {
    pub(crate) id: String,
    pub(crate) person: String,
    pub(crate) account_id: String,
    pub(crate) account: String,
    pub(crate) created: DateTime<Utc>,
    pub(crate) amount: Money,
    pub(crate) currency: String,
    pub(crate) description: String,
    pub(crate) merchant: Option<String>,
    pub(crate) category: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pot_id: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) declined: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) pending: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) local_amount: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) local_currency: Option<String>,
}

impl TransactionRecord {
    /// What it was, in a few words: see [`what`].
    pub(crate) fn what(&self, pot_name: impl Fn(&str) -> Option<String>) -> String {
        what(
            self.merchant.as_deref(),
            self.pot_id.as_deref(),
            &self.description,
            &self.amount,
            pot_name,
        )
    }

    pub(crate) fn new(transaction: &Transaction, person: &str, account: &str) -> Self {
        Self {
            id: transaction.id.clone(),
            person: person.to_owned(),
            account_id: transaction.account_id.clone(),
            account: account.to_owned(),
            created: transaction.created,
            amount: transaction.amount.clone(),
            currency: transaction.amount.currency().code().to_owned(),
            description: transaction.description.clone(),
            merchant: transaction.merchant.clone(),
            category: transaction.category.clone(),
            pot_id: transaction.pot_id.clone(),
            declined: transaction.declined,
            pending: transaction.pending,
            local_currency: transaction
                .local_amount
                .as_ref()
                .map(|m| m.currency().code().to_owned()),
            local_amount: transaction.local_amount.clone(),
        }
    }
}

/// A new card payment in GBP on `acc_1` ("Current Account"), seen by `people`
/// (`(person id, name)`): what the announcement tests start from.
#[cfg(test)]
pub(crate) fn example_payment(
    id: &str,
    minor: i64,
    merchant: &str,
    people: &[(&str, &str)],
) -> AccountTransaction {
    AccountTransaction {
        transaction: Transaction {
            id: id.into(),
            account_id: "acc_1".into(),
            created: Utc::now(),
            amount: Money::from_minor(minor, Currency::from_code("GBP")),
            description: "X".into(),
            merchant: Some(merchant.into()),
            category: "general".into(),
            pot_id: None,
            declined: false,
            pending: false,
            local_amount: None,
            settled: None,
            counterparty_account_id: None,
        },
        account: "Current Account".into(),
        people: people.iter().map(|(i, n)| ((*i).into(), (*n).into())).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monzo::decode_transactions;

    fn read(json: &str) -> Vec<Transaction> {
        decode_transactions(json.as_bytes())
            .unwrap()
            .into_iter()
            .map(|w| Transaction::from_wire("acc_1", w))
            .collect()
    }

    /// A transaction Monzo gave no description reads the same wherever it is shown:
    /// in the tray and notifications (a `Transaction`) as in `monzo-tray
    /// transactions` (its record).
    #[test]
    fn an_empty_description_reads_the_same_everywhere() {
        let txs = read(
            r#"{"transactions": [
              {"id": "tx_1", "created": "2026-11-29T10:00:00Z", "amount": -100, "currency": "GBP", "description": ""}
            ]}"#,
        );
        let record = TransactionRecord::new(&txs[0], "Dana", "Current Account");
        assert_eq!(txs[0].what(|_| None), "Transaction");
        assert_eq!(record.what(|_| None), "Transaction");
    }

    /// Odd transactions: no merchant, a null merchant, an unknown category, a
    /// foreign currency, a zero amount.
    #[test]
    fn odd_transactions_read_sensibly() {
        let txs = read(
            r#"{"transactions": [
              {"id": "tx_1", "created": "2026-11-29T10:00:00Z", "amount": -1230, "currency": "GBP", "description": "TESCO METRO",
               "merchant": {"name": "Tesco Metro", "category": "groceries"}, "category": "groceries", "settled": ""},
              {"id": "tx_2", "created": "2026-11-29T10:01:00Z", "amount": 0, "currency": "GBP", "description": "Card check"},
              {"id": "tx_3", "created": "2026-11-29T10:02:00Z", "amount": -500, "currency": "GBP", "merchant": null,
               "description": "pot_9", "category": "something_new", "metadata": {"pot_id": "pot_9"}},
              {"id": "tx_4", "created": "2026-11-29T10:03:00Z", "amount": -2350, "currency": "GBP", "description": "CAFE",
               "local_amount": -2750, "local_currency": "EUR", "decline_reason": "INSUFFICIENT_FUNDS", "merchant": "merch_1"},
              {"id": "tx_5", "created": "2026-11-29T10:04:00Z", "amount": 50000, "currency": "GBP",
               "metadata": {"pot_id": "pot_9"}, "local_currency": "GBP", "local_amount": 50000}
            ]}"#,
        );
        let pots = |id: &str| (id == "pot_9").then(|| "Holiday".to_owned());
        assert_eq!(txs[0].what(pots), "Tesco Metro");
        assert!(txs[0].pending && !txs[0].declined);
        assert_eq!(txs[1].what(pots), "Card check");
        assert_eq!(txs[1].amount.to_decimal_string(), "0.00");
        assert_eq!(txs[1].category, "general");
        assert_eq!(txs[2].what(pots), "To Holiday");
        assert_eq!(txs[2].category, "something_new");
        assert_eq!(txs[3].what(pots), "CAFE", "a merchant id alone names nothing");
        assert!(txs[3].declined);
        assert_eq!(
            txs[3].local_amount.as_ref().unwrap().to_decimal_string(),
            "-27.50"
        );
        assert_eq!(txs[4].what(pots), "From Holiday");
        assert_eq!(txs[4].local_amount, None, "same currency: nothing foreign");
        assert_eq!(txs[4].what(|_| None), "From a pot");

        let record =
            serde_json::to_value(TransactionRecord::new(&txs[3], "Dana", "Current Account")).unwrap();
        assert_eq!(record["amount"], "-23.50");
        assert_eq!(record["currency"], "GBP");
        assert_eq!(record["declined"], true);
        assert_eq!(record["local_amount"], "-27.50");
        assert_eq!(record["local_currency"], "EUR");
        assert_eq!(record["merchant"], serde_json::Value::Null);
        assert!(record.get("pot_id").is_none());
        let plain = serde_json::to_value(TransactionRecord::new(&txs[0], "Dana", "Current Account")).unwrap();
        assert!(plain.get("declined").is_none() && plain.get("local_amount").is_none());
    }
}
