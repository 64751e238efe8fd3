//! The tray's month at a glance: what each account spent this UK month so far, and
//! what it had spent last month by the same point, by the rules of
//! [`super::spending`] (money out, refunds netted; pot transfers, declined ones
//! and transfers between the household's own accounts left out).

use std::collections::HashMap;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use chrono_tz::Europe::London;

use super::daily::Selection;
use super::spending::month_bounds;
use super::{uk_day, HistoryError, HistoryStore};
use crate::money::{Currency, Money};

/// One account's month so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthToDate {
    /// Spent since the 1st of this UK month.
    pub this_month: Money,
    /// Spent last month from its 1st to the same point (the same day of the month
    /// and UK clock time, or its last day when it is shorter); `None` when history
    /// does not reach back to its 1st.
    pub last_month: Option<Money>,
}

impl HistoryStore {
    /// Per account id, [`MonthToDate`] at `now`, for every account whose history is
    /// whole since the 1st of this month.
    pub fn month_to_date(&self, now: DateTime<Utc>) -> Result<HashMap<String, MonthToDate>, HistoryError> {
        let today = uk_day(now);
        let first = today.with_day(1).unwrap_or(today);
        let (this_start, _) = month_bounds(first);
        let last_first = first.checked_sub_months(chrono::Months::new(1)).unwrap_or(first);
        let (last_start, last_end) = month_bounds(last_first);
        // The same point last month: the same day of the month (or its last day) at
        // the same UK clock time, summer time or not.
        let local_now = now.with_timezone(&London);
        let same_day = last_first
            .with_day(today.day())
            .unwrap_or_else(|| first.pred_opt().unwrap_or(last_first));
        let last_until = London
            .from_local_datetime(&same_day.and_time(local_now.time()))
            .earliest()
            .map_or(last_end, |t| t.with_timezone(&Utc))
            .min(last_end);
        let sums = |start, end| -> Result<HashMap<String, i64>, HistoryError> {
            let mut sums: HashMap<String, i64> = HashMap::new();
            for spent in self.spent_between(start, end)? {
                *sums.entry(spent.account_id).or_default() += spent.spent;
            }
            Ok(sums)
        };
        let this = sums(this_start, now)?;
        let last = sums(last_start, last_until)?;
        let mut out = HashMap::new();
        for account in self.held_accounts(&Selection::default())? {
            let currency = Currency::from_code(&account.currency);
            let money =
                |minor: Option<&i64>| Money::from_minor(minor.copied().unwrap_or(0), currency.clone());
            // Only what history holds whole: nothing while an import has not yet
            // reached this month's 1st, no comparison until it reaches last month's.
            // (The day history is whole from may be held only from its middle: a
            // month is whole only when that day is before it.)
            let complete_from = self.complete_from(&account.account_id, today)?;
            if complete_from >= first {
                continue;
            }
            let covers_last_month = complete_from < last_first;
            out.insert(
                account.account_id.clone(),
                MonthToDate {
                    this_month: money(this.get(&account.account_id)),
                    last_month: covers_last_month.then(|| money(last.get(&account.account_id))),
                },
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transactions::example_payment;

    fn spent(id: &str, minor: i64, at: &str) -> crate::transactions::Transaction {
        let mut t = example_payment(id, minor, "Shop", &[]).transaction;
        t.created = at.parse().unwrap();
        t
    }

    #[test]
    fn this_month_so_far_against_last_month_by_the_same_point() {
        let store = HistoryStore::in_memory().unwrap();
        store
            .with(|db| {
                db.execute_batch(
                    "INSERT INTO accounts (account_id, name, currency, import_done) VALUES
                        ('acc_d', 'Current Account', 'GBP', 1), ('acc_n', 'New Account', 'GBP', 0);
                     INSERT INTO account_people VALUES ('acc_d', 'p1', 'Dana'), ('acc_n', 'p1', 'Dana');",
                )
            })
            .unwrap();
        store
            .keep_transactions(
                "acc_d",
                &[
                    // This month (UK): from 1 March 00:00 GMT.
                    spent("tx_1", -1_000, "2026-03-01T00:30:00Z"),
                    spent("tx_2", -230, "2026-03-10T09:00:00Z"),
                    // Last month, before the same point (10 February 12:00)…
                    spent("tx_3", -500, "2026-02-01T08:00:00Z"),
                    spent("tx_4", -50, "2026-02-10T11:59:00Z"),
                    // …and after it, not counted.
                    spent("tx_5", -9_999, "2026-02-10T12:01:00Z"),
                    // Before last month.
                    spent("tx_6", -7_777, "2026-01-31T23:00:00Z"),
                ],
            )
            .unwrap();
        store
            .keep_transactions("acc_n", &[spent("tx_7", -120, "2026-03-02T10:00:00Z")])
            .unwrap();
        let now = "2026-03-10T12:00:00Z".parse().unwrap();
        let month = store.month_to_date(now).unwrap();
        let minor = |m: &Money| m.to_minor().unwrap();
        let dana = &month["acc_d"];
        assert_eq!(minor(&dana.this_month), 1_230);
        assert_eq!(dana.last_month.as_ref().map(minor), Some(550));
        // An import still under way holds this month only in part: no line.
        assert!(!month.contains_key("acc_n"));
        // Cut short by Monzo's 5 minutes, it holds the last 90 days whole.
        store
            .with(|db| {
                db.execute(
                    "UPDATE accounts SET readable_from = '2025-12-10T12:00:00.000Z' WHERE account_id = 'acc_n'",
                    [],
                )
            })
            .unwrap();
        let month = store.month_to_date(now).unwrap();
        assert_eq!(minor(&month["acc_n"].this_month), 120);
        assert_eq!(month["acc_n"].last_month.as_ref().map(minor), Some(0));
    }

    #[test]
    fn the_same_point_last_month_is_the_same_uk_clock_time_across_summer_time() {
        let store = HistoryStore::in_memory().unwrap();
        store
            .with(|db| {
                db.execute_batch(
                    "INSERT INTO accounts (account_id, name, currency, import_done) VALUES ('acc_d', 'Current Account', 'GBP', 1);
                     INSERT INTO account_people VALUES ('acc_d', 'p1', 'Dana');",
                )
            })
            .unwrap();
        store
            .keep_transactions(
                "acc_d",
                &[
                    // 30 March 12:30 BST: after 12:00 UK time, so not by "this point".
                    spent("tx_1", -100, "2026-03-30T11:30:00Z"),
                    // 30 March 11:30 BST: before it.
                    spent("tx_2", -7, "2026-03-30T10:30:00Z"),
                ],
            )
            .unwrap();
        // 30 April 12:00 BST.
        let month = store
            .month_to_date("2026-04-30T11:00:00Z".parse().unwrap())
            .unwrap();
        assert_eq!(
            month["acc_d"].last_month.as_ref().map(|m| m.to_minor().unwrap()),
            Some(7)
        );
        // 31 May → 30 April, the last day of the shorter month.
        let month = store
            .month_to_date("2026-05-31T11:00:00Z".parse().unwrap())
            .unwrap();
        assert_eq!(
            month["acc_d"].last_month.as_ref().map(|m| m.to_minor().unwrap()),
            Some(0)
        );
    }
}
