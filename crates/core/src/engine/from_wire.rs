//! Monzo's replies for one account (`/accounts` entry, `/balance`, `/pots`) made
//! into the account as shown.

use crate::account_types::account_type_name;
use crate::money::{Currency, Money};
use crate::monzo::{WireAccount, WireBalance, WirePot};
use crate::snapshot::{AccountSnapshot, PotSnapshot};

impl AccountSnapshot {
    /// The account as shown, and the `pot_…` ids Monzo lists as deleted (kept out of
    /// `pots`). Amounts are Monzo's minor units in the balance's currency; a pot
    /// without a currency is in the account's. Without `total_balance` in the reply,
    /// the total is the balance plus the live pots held in the same currency.
    pub(crate) fn from_wire(
        account: &WireAccount,
        balance: WireBalance,
        pots: Vec<WirePot>,
    ) -> (Self, Vec<String>) {
        let currency = Currency::from_code(&balance.currency);
        let (deleted, live): (Vec<WirePot>, Vec<WirePot>) = pots.into_iter().partition(|p| p.deleted);
        let total_minor = balance.total_balance.unwrap_or_else(|| {
            let same_currency = |p: &&WirePot| {
                p.currency
                    .as_deref()
                    .is_none_or(|c| c.eq_ignore_ascii_case(currency.code()))
            };
            live.iter()
                .filter(same_currency)
                .fold(balance.balance, |sum, p| sum.saturating_add(p.balance))
        });
        let pots = live
            .into_iter()
            .map(|p| {
                let pot_currency = p
                    .currency
                    .as_deref()
                    .map(Currency::from_code)
                    .unwrap_or_else(|| currency.clone());
                PotSnapshot {
                    id: p.id,
                    name: p.name,
                    currency: pot_currency.code().to_owned(),
                    balance: Money::from_minor(p.balance, pot_currency),
                    locked: p.locked,
                }
            })
            .collect();
        let shown = AccountSnapshot {
            id: account.id.clone(),
            name: account_type_name(&account.account_type),
            account_type: account.account_type.clone(),
            currency: currency.code().to_owned(),
            balance: Money::from_minor(balance.balance, currency.clone()),
            total_balance: Money::from_minor(total_minor, currency.clone()),
            spend_today: Money::from_minor(balance.spend_today, currency),
            pots,
            opened: account.created,
        };
        (shown, deleted.into_iter().map(|p| p.id).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(account_type: &str) -> WireAccount {
        serde_json::from_value(serde_json::json!({"id": "acc_1", "type": account_type})).unwrap()
    }

    fn balance(json: serde_json::Value) -> WireBalance {
        serde_json::from_value(json).unwrap()
    }

    fn pot(id: &str, minor: i64, currency: Option<&str>, deleted: bool) -> WirePot {
        let mut json = serde_json::json!({"id": id, "name": id, "balance": minor, "deleted": deleted});
        if let Some(c) = currency {
            json["currency"] = c.into();
        }
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn monzo_total_is_taken_as_it_is() {
        let (shown, deleted) = AccountSnapshot::from_wire(
            &account("uk_retail"),
            balance(
                serde_json::json!({"balance": 12345, "total_balance": 99999, "currency": "GBP", "spend_today": -250}),
            ),
            vec![pot("pot_1", 5000, Some("GBP"), false)],
        );
        assert_eq!(shown.name, "Current Account");
        assert_eq!(shown.balance.to_decimal_string(), "123.45");
        assert_eq!(shown.total_balance.to_decimal_string(), "999.99");
        assert_eq!(shown.spend_today.to_decimal_string(), "-2.50");
        assert_eq!(shown.pots.len(), 1);
        assert!(deleted.is_empty());
    }

    #[test]
    fn without_a_total_the_live_pots_in_its_currency_are_added() {
        let (shown, deleted) = AccountSnapshot::from_wire(
            &account("uk_retail_joint"),
            balance(serde_json::json!({"balance": 1000, "currency": "GBP", "spend_today": 0})),
            vec![
                pot("pot_gbp", 500, Some("gbp"), false),
                pot("pot_none", 250, None, false),
                pot("pot_eur", 9000, Some("EUR"), false),
                pot("pot_gone", 7000, Some("GBP"), true),
            ],
        );
        assert_eq!(shown.name, "Joint Account");
        assert_eq!(shown.total_balance.to_decimal_string(), "17.50");
        let pots: Vec<(&str, &str)> = shown
            .pots
            .iter()
            .map(|p| (p.id.as_str(), p.currency.as_str()))
            .collect();
        assert_eq!(
            pots,
            [("pot_gbp", "GBP"), ("pot_none", "GBP"), ("pot_eur", "EUR")]
        );
        assert_eq!(deleted, ["pot_gone"]);
    }

    #[test]
    fn amounts_follow_the_currency_exponent() {
        let (shown, _) = AccountSnapshot::from_wire(
            &account("uk_retail"),
            balance(serde_json::json!({"balance": 1500, "currency": "JPY", "spend_today": 0})),
            vec![],
        );
        assert_eq!(shown.currency, "JPY");
        assert_eq!(shown.balance.to_decimal_string(), "1500");
    }
}
