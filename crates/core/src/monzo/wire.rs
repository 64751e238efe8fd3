//! Monzo's replies as they come over the wire, read strictly where it matters and
//! tolerantly everywhere else.
//!
//! Strict: the list a reply exists for (`accounts`, `pots`) and the amounts
//! (`balance`, `currency`, `spend_today`, a pot's `balance`) must be there with the
//! documented type. A reply without them is malformed ([`Error::Decode`]): read as
//! "nothing there" it would make a person's accounts vanish downstream (Home
//! Assistant's own integration met `{}` from `/accounts` in the wild as
//! `KeyError: 'accounts'`). Tolerant: unknown fields and unknown account types are
//! ignored, since Monzo adds both over time (Monzo's docs, `source/includes/*.md`).

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::text;

/// One entry of `GET /accounts`.
#[derive(Debug, Clone, Deserialize)]
pub struct WireAccount {
    /// `acc_…`.
    pub id: String,
    /// `uk_retail`, `uk_retail_joint`, … (see `snapshot::account_type_name`).
    #[serde(rename = "type", deserialize_with = "text::deserialize_line")]
    pub(crate) account_type: String,
    /// Closed accounts are still listed, with `closed: true`.
    #[serde(default)]
    pub(crate) closed: bool,
    /// When the account was opened (RFC 3339): where its full history starts.
    #[serde(default)]
    pub(crate) created: Option<chrono::DateTime<chrono::Utc>>,
}

/// `GET /balance`: amounts in minor units of `currency`.
#[derive(Debug, Clone, Deserialize)]
pub struct WireBalance {
    /// The available balance; negative when overdrawn.
    pub(crate) balance: i64,
    /// Balance plus every pot. Not in every sample of Monzo's docs: when absent, the
    /// engine adds the pots itself.
    #[serde(default)]
    pub(crate) total_balance: Option<i64>,
    /// ISO 4217 code.
    pub(crate) currency: String,
    /// Negative when money was spent today (Monzo's sign).
    pub(crate) spend_today: i64,
}

/// One entry of `GET /pots`.
#[derive(Debug, Clone, Deserialize)]
pub struct WirePot {
    /// `pot_…`.
    pub(crate) id: String,
    /// Made safe to show as it is read (see [`text`]), as every name from Monzo is.
    #[serde(deserialize_with = "text::deserialize_line")]
    pub(crate) name: String,
    /// Minor units of the pot's currency.
    pub(crate) balance: i64,
    /// Absent in some samples: the account's currency is assumed then.
    #[serde(default)]
    pub(crate) currency: Option<String>,
    /// Deleted pots are still listed, with `deleted: true`.
    #[serde(default)]
    pub(crate) deleted: bool,
    /// "Added security": withdrawals only in the Monzo app.
    #[serde(default)]
    pub(crate) locked: bool,
}

/// One entry of `GET /transactions`: amounts in minor units, negative for money out.
#[derive(Debug, Clone, Deserialize)]
pub struct WireTransaction {
    /// `tx_…`.
    pub(crate) id: String,
    /// RFC 3339.
    pub(crate) created: chrono::DateTime<chrono::Utc>,
    pub(crate) amount: i64,
    pub(crate) currency: String,
    #[serde(default, deserialize_with = "text::deserialize_line_opt")]
    pub(crate) description: Option<String>,
    /// An object with `expand[]=merchant`, else the merchant's id; null for transfers.
    #[serde(default)]
    pub(crate) merchant: Option<WireMerchant>,
    #[serde(default, deserialize_with = "text::deserialize_line_opt")]
    pub(crate) category: Option<String>,
    /// "" while pending.
    #[serde(default)]
    pub(crate) settled: Option<String>,
    /// Only on declined transactions (`INSUFFICIENT_FUNDS`, …).
    #[serde(default)]
    pub(crate) decline_reason: Option<String>,
    /// The amount as spent abroad, in `local_currency`.
    #[serde(default)]
    pub(crate) local_amount: Option<i64>,
    #[serde(default)]
    pub(crate) local_currency: Option<String>,
    /// A pot transfer carries `pot_id`. Values are kept as JSON: Monzo puts all
    /// sorts there.
    #[serde(default)]
    pub(crate) metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// The other side of a transfer (`account_id`, `user_id`, …); `{}` for card
    /// payments. Kept as JSON: its fields vary by kind of transfer.
    #[serde(default)]
    pub(crate) counterparty: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `merchant` as Monzo sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum WireMerchant {
    Expanded {
        #[serde(default, deserialize_with = "text::deserialize_line_opt")]
        name: Option<String>,
        #[serde(default, deserialize_with = "text::deserialize_line_opt")]
        category: Option<String>,
    },
    /// Not expanded: only the `merch_…` id.
    Id(String),
}

#[derive(Deserialize)]
struct TransactionsReply {
    transactions: Vec<WireTransaction>,
}

#[derive(Deserialize)]
struct AccountsReply {
    accounts: Vec<WireAccount>,
}

#[derive(Deserialize)]
struct PotsReply {
    pots: Vec<WirePot>,
}

/// Decodes a JSON reply body into its documented shape; anything else is
/// [`Error::Decode`], naming what was wrong. Shared with the fuzz targets.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    // serde's message may quote a piece of the reply.
    serde_json::from_slice(body).map_err(|e| Error::Decode(text::line(&e.to_string())))
}

/// `{"accounts": [...]}`; `{}` or `{"accounts": null}` is malformed, not "no accounts".
pub fn decode_accounts(body: &[u8]) -> Result<Vec<WireAccount>> {
    decode::<AccountsReply>(body).map(|r| r.accounts)
}

/// `{"pots": [...]}`; `{}` or `{"pots": null}` is malformed, not "no pots".
pub fn decode_pots(body: &[u8]) -> Result<Vec<WirePot>> {
    decode::<PotsReply>(body).map(|r| r.pots)
}

/// One pot (the reply to a pot move): its `id` and `balance` must be there.
pub fn decode_pot(body: &[u8]) -> Result<WirePot> {
    decode(body)
}

/// `{"transactions": [...]}`; `{}` or a null list is malformed, not "none".
pub fn decode_transactions(body: &[u8]) -> Result<Vec<WireTransaction>> {
    decode::<TransactionsReply>(body).map(|r| r.transactions)
}

/// `{"balance", "currency", "spend_today", "total_balance"?}`.
pub fn decode_balance(body: &[u8]) -> Result<WireBalance> {
    decode(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transactions_are_read_tolerantly_but_not_without_their_list() {
        let body = br#"{"transactions": [
            {"id": "tx_1", "created": "2026-11-29T10:00:00.000Z", "amount": -1230, "currency": "GBP",
             "description": "TESCO", "merchant": {"id": "m", "name": "Tesco Metro", "category": "groceries"},
             "category": "groceries", "settled": "", "metadata": {"x": 1}, "surprise": [1]},
            {"id": "tx_2", "created": "2026-11-29T10:01:00Z", "amount": 0, "currency": "EUR", "merchant": "merch_1"},
            {"id": "tx_3", "created": "2026-11-29T10:02:00Z", "amount": 500, "currency": "GBP", "merchant": null,
             "category": "a_category_from_the_future", "metadata": {"pot_id": "pot_1"}}
        ]}"#;
        let txs = decode_transactions(body).unwrap();
        assert_eq!(txs.len(), 3);
        assert!(
            matches!(&txs[0].merchant, Some(WireMerchant::Expanded { name: Some(n), .. }) if n == "Tesco Metro")
        );
        assert!(matches!(&txs[1].merchant, Some(WireMerchant::Id(id)) if id == "merch_1"));
        assert!(txs[2].merchant.is_none());
        for bad in [
            &b"{}"[..],
            br#"{"transactions": null}"#,
            br#"{"transactions": [{"id": "tx_1"}]}"#,
        ] {
            assert!(matches!(decode_transactions(bad), Err(Error::Decode(_))));
        }
    }

    #[test]
    fn unknown_fields_and_types_are_tolerated() {
        let body = br#"{"accounts":[{"id":"acc_1","type":"uk_new_thing","closed":false,"owners":[{"x":1}],"surprise":true}]}"#;
        let accounts = decode_accounts(body).unwrap();
        assert_eq!(accounts[0].account_type, "uk_new_thing");
        assert!(decode_accounts(br#"{"accounts":[]}"#).unwrap().is_empty());
        let pots = decode_pots(br#"{"pots":[{"id":"pot_1","name":"A","balance":5,"style":"x"}]}"#).unwrap();
        assert_eq!(
            (pots[0].balance, pots[0].deleted, pots[0].locked),
            (5, false, false)
        );
    }

    /// Names and descriptions are made safe to show as they are read: no line break
    /// adds a line to a table, no escape sequence reaches a terminal.
    #[test]
    fn names_and_descriptions_are_cleaned_as_they_are_read() {
        let pots = decode_pots(
            br#"{"pots":[{"id":"pot_1","name":"Bills\nHousehold total with pots: \u00a30.00\u001b]0;x\u0007","balance":5}]}"#,
        )
        .unwrap();
        assert_eq!(
            pots[0].name,
            "Bills Household total with pots: \u{a3}0.00\u{FFFD}]0;x\u{FFFD}"
        );
        let body = br#"{"transactions": [{"id": "tx_1", "created": "2026-11-29T10:00:00Z", "amount": -1, "currency": "GBP",
            "description": "A\r\nB", "category": "x\u202ey", "merchant": {"name": "M\u009b2J", "category": "c\td"}}]}"#;
        let tx = &decode_transactions(body).unwrap()[0];
        assert_eq!(tx.description.as_deref(), Some("A  B"));
        assert_eq!(tx.category.as_deref(), Some("x\u{FFFD}y"));
        assert!(
            matches!(&tx.merchant, Some(WireMerchant::Expanded { name: Some(n), category: Some(c) }) if n == "M\u{FFFD}2J" && c == "c d")
        );
        let Err(Error::Decode(why)) = decode_pots(br#"{"pots": "\u001b]0;x\u0007"}"#) else {
            panic!("malformed");
        };
        assert!(!why.chars().any(char::is_control), "{why:?}");
    }

    /// Each reply that is not the documented shape is malformed, never "nothing there".
    #[test]
    fn replies_missing_what_they_exist_for_are_malformed() {
        let accounts: [&[u8]; 7] = [
            b"{}",
            br#"{"accounts": null}"#,
            br#"{"accounts": {}}"#,
            br#"{"accounts": [{"type": "uk_retail"}]}"#,
            br#"{"accounts": [{"id": "acc_1"}]}"#,
            br#"{"accounts": [1]}"#,
            b"{\"accounts\": [",
        ];
        for body in accounts {
            assert!(
                matches!(decode_accounts(body), Err(Error::Decode(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let pots: [&[u8]; 5] = [
            b"{}",
            br#"{"pots": null}"#,
            br#"{"pots": [{"id": "pot_1", "name": "A"}]}"#,
            br#"{"pots": [{"id": "pot_1", "name": "A", "balance": null}]}"#,
            br#"{"pots": [{"id": "pot_1", "name": "A", "balance": "12"}]}"#,
        ];
        for body in pots {
            assert!(
                matches!(decode_pots(body), Err(Error::Decode(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let balances: [&[u8]; 5] = [
            b"{}",
            br#"{"currency": "GBP", "spend_today": 0}"#,
            br#"{"balance": null, "currency": "GBP", "spend_today": 0}"#,
            br#"{"balance": 1.5, "currency": "GBP", "spend_today": 0}"#,
            br#"{"balance": 100, "spend_today": 0}"#,
        ];
        for body in balances {
            assert!(
                matches!(decode_balance(body), Err(Error::Decode(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let ok = decode_balance(br#"{"balance": -5, "currency": "GBP", "spend_today": -1230}"#).unwrap();
        assert_eq!((ok.balance, ok.total_balance, ok.spend_today), (-5, None, -1230));
    }
}
