//! Spending per category for a month (UK time), for the household and per person.
//!
//! Spending is money out (a negative amount), with a refund from a merchant (money in
//! at a merchant) netted in its category. Left out: pot transfers (`metadata.pot_id`),
//! declined transactions (they moved no money), money in that is not a refund
//! (salary, transfers in), and transfers between the household's own accounts
//! (`counterparty.account_id` is one of them). A joint account's spending is shown
//! once, as the joint account's, not as either owner's (a joint account is one of
//! Monzo's `*_joint` types, or one two people of the household see).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rusqlite::params;
use serde::Serialize;

use super::store::{read_time, stored_time};
use super::{end_of_uk_day, HistoryError, HistoryStore};
use crate::money::{Currency, Money};

/// Money spent in one category, in one currency: positive is spent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategorySpend {
    /// Monzo's category (`groceries`, `eating_out`, …).
    pub category: String,
    /// ISO 4217 code of `amount`.
    pub currency: String,
    pub amount: Money,
}

/// What one person (or a joint account) spent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpenderSpend {
    /// The person's name, or the joint account's ("Joint Account").
    pub name: String,
    /// Biggest first.
    pub categories: Vec<CategorySpend>,
}

/// A month's spending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthSpending {
    /// `YYYY-MM`.
    pub month: String,
    /// The household's, biggest first.
    pub categories: Vec<CategorySpend>,
    pub spenders: Vec<SpenderSpend>,
}

/// The first day of the month `YYYY-MM`.
pub fn parse_month(text: &str) -> Result<NaiveDate, HistoryError> {
    NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d").map_err(|_| {
        HistoryError::Input(format!(
            "--month takes a month as YYYY-MM, e.g. 2026-03; \"{text}\" is not one."
        ))
    })
}

type Totals = BTreeMap<(String, String), i64>;

fn ranked(totals: &Totals) -> Vec<CategorySpend> {
    let mut list: Vec<CategorySpend> = totals
        .iter()
        .filter(|(_, minor)| **minor != 0)
        .map(|((category, currency), minor)| CategorySpend {
            category: category.clone(),
            currency: currency.clone(),
            amount: Money::from_minor(*minor, Currency::from_code(currency)),
        })
        .collect();
    // Per currency (no exchange rates), biggest first within it.
    list.sort_by(|a, b| {
        a.currency
            .cmp(&b.currency)
            .then(b.amount.amount().cmp(&a.amount.amount()))
            .then(a.category.cmp(&b.category))
    });
    list
}

/// One transaction that counts as spending (see the module's rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpentTransaction {
    pub account_id: String,
    pub created: DateTime<Utc>,
    /// Monzo's description, and the merchant's name when Monzo gave one.
    pub description: String,
    pub merchant: Option<String>,
    pub category: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Minor units, positive for money spent (a refund is negative).
    pub spent: i64,
    /// Whose spending it is: the person's name, or the joint account's.
    pub spender: String,
}

/// The UK month starting on `first_day`, as `[start, end)` instants.
pub fn month_bounds(first_day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = end_of_uk_day(first_day.pred_opt().unwrap_or(first_day));
    let next_month = first_day
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first_day);
    (start, end_of_uk_day(next_month.pred_opt().unwrap_or(next_month)))
}

impl HistoryStore {
    /// Every transaction made in `[start, end)` that counts as spending (see the
    /// module's rules), oldest first.
    pub fn spent_between(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<SpentTransaction>, HistoryError> {
        type Row = (
            String,
            String,
            String,
            Option<String>,
            String,
            i64,
            String,
            String,
        );
        let rows: Vec<Row> = self.with(|db| {
            let mut query = db.prepare(
                "SELECT t.account_id, t.created, t.description, t.merchant, t.category, t.amount, t.currency,
                    (SELECT CASE WHEN COUNT(*) > 1 OR a.account_type LIKE '%joint%' THEN a.name ELSE MIN(p.person_name) END
                     FROM account_people p WHERE p.account_id = t.account_id)
                 FROM transactions t JOIN accounts a ON a.account_id = t.account_id
                 WHERE t.created >= ?1 AND t.created < ?2 AND t.declined = 0 AND t.pot_id IS NULL
                   AND (t.counterparty_account_id IS NULL
                        OR t.counterparty_account_id NOT IN (SELECT account_id FROM accounts))
                 ORDER BY t.created",
            )?;
            let rows = query.query_map(params![stored_time(start), stored_time(end)], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get::<_, Option<String>>(7)?.unwrap_or_default(),
                ))
            })?;
            rows.collect()
        })?;
        Ok(rows
            .into_iter()
            .filter_map(
                |(account_id, created, description, merchant, category, amount, currency, spender)| {
                    // Money out, or a refund from a merchant (netted in its category).
                    if amount >= 0 && merchant.is_none() {
                        return None;
                    }
                    Some(SpentTransaction {
                        account_id,
                        created: read_time(&created)?,
                        description,
                        merchant,
                        category,
                        currency,
                        spent: -amount,
                        spender,
                    })
                },
            )
            .collect())
    }

    /// Spending in the UK month starting on `first_day` (see the module's rules).
    pub fn spending(&self, first_day: NaiveDate) -> Result<MonthSpending, HistoryError> {
        let (start, end) = month_bounds(first_day);
        let mut household = Totals::new();
        let mut by_spender: BTreeMap<String, Totals> = BTreeMap::new();
        for spent in self.spent_between(start, end)? {
            let key = (spent.category, spent.currency);
            *household.entry(key.clone()).or_default() += spent.spent;
            *by_spender
                .entry(spent.spender)
                .or_default()
                .entry(key)
                .or_default() += spent.spent;
        }
        Ok(MonthSpending {
            month: format!("{:04}-{:02}", first_day.year(), first_day.month()),
            categories: ranked(&household),
            spenders: by_spender
                .iter()
                .map(|(name, totals)| SpenderSpend {
                    name: name.clone(),
                    categories: ranked(totals),
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transactions::{example_payment, Transaction};

    fn payment(id: &str, minor: i64, category: &str, merchant: bool) -> Transaction {
        let mut t = example_payment(id, minor, "Shop", &[]).transaction;
        t.created = "2026-03-10T12:00:00Z".parse().unwrap();
        t.category = category.into();
        if !merchant {
            t.merchant = None;
        }
        t
    }

    #[test]
    fn money_out_with_refunds_netted_and_pots_declines_income_and_own_transfers_left_out() {
        let store = HistoryStore::in_memory().unwrap();
        store
            .with(|db| {
                db.execute_batch(
                    "INSERT INTO accounts (account_id, name, currency) VALUES
                        ('acc_d', 'Current Account', 'GBP'), ('acc_j', 'Joint Account', 'GBP');
                     INSERT INTO account_people VALUES ('acc_d', 'p1', 'Dana'), ('acc_j', 'p1', 'Dana'),
                        ('acc_j', 'p2', 'Sam');",
                )
            })
            .unwrap();
        let mut declined = payment("tx_5", -7_000, "groceries", true);
        declined.declined = true;
        let mut to_pot = payment("tx_6", -1_000, "savings", false);
        to_pot.pot_id = Some("pot_1".into());
        let mut own = payment("tx_7", -5_000, "transfers", false);
        own.counterparty_account_id = Some("acc_j".into());
        let mut outside = payment("tx_8", -300, "transfers", false);
        outside.counterparty_account_id = Some("acc_elsewhere".into());
        let mut last_month = payment("tx_9", -100, "groceries", true);
        last_month.created = "2026-02-28T23:59:00Z".parse().unwrap();
        store
            .keep_transactions(
                "acc_d",
                &[
                    payment("tx_1", -2_000, "groceries", true),
                    payment("tx_2", 500, "groceries", true),
                    payment("tx_3", 250_000, "income", false),
                    declined,
                    to_pot,
                    own,
                    outside,
                    last_month,
                ],
            )
            .unwrap();
        store
            .keep_transactions("acc_j", &[payment("tx_4", -1_200, "eating_out", true)])
            .unwrap();
        let march = store.spending(parse_month("2026-03").unwrap()).unwrap();
        let minor = |list: &[CategorySpend]| -> Vec<(String, i64)> {
            list.iter()
                .map(|c| (c.category.clone(), c.amount.to_minor().unwrap()))
                .collect()
        };
        assert_eq!(
            minor(&march.categories),
            [
                ("groceries".to_owned(), 1_500),
                ("eating_out".to_owned(), 1_200),
                ("transfers".to_owned(), 300)
            ]
        );
        let names: Vec<&str> = march.spenders.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Dana", "Joint Account"]);
        assert_eq!(
            minor(&march.spenders[1].categories),
            [("eating_out".to_owned(), 1_200)]
        );
        assert!(parse_month("March").is_err());
    }
}
