//! End-of-day balances: each account's balance at the end of every UK day (days end
//! at midnight UK time, as Monzo's statements do) back to its first transaction,
//! its pots, and the household's total per currency.
//!
//! An account's balance at the end of a day is its last recorded balance minus
//! every transaction made after that day up to the recording (plus those made after
//! the recording up to the day's end). Declined transactions change nothing (they
//! never moved money). Pending ones count from when they were made, since Monzo's
//! `balance` already counts pending card payments; a settled amount that differs
//! from the authorised one is stored as Monzo updates it (Monzo's docs,
//! "Transactions"; `../shared/monzo-api.md`).
//!
//! Pots: the values recorded by polls from the first one on; before that, rebuilt
//! from the pot transfers in the account's transactions (`metadata.pot_id`;
//! negative = into the pot), and marked rebuilt. Interest paid into a savings pot is
//! not an account transaction, so rebuilt values leave it out.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::store::read_time;
#[cfg(test)]
use super::store::stored_time;
use super::{end_of_uk_day, uk_day, HistoryError, HistoryStore};
use crate::money::{Currency, Money};

/// What to show: whose accounts, which days (UK days, both ends included).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Person ids whose accounts are shown; empty: everyone's.
    pub people: Vec<String>,
    /// An account's id or name (as the app names it, e.g. "Joint Account").
    pub account: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// One account's end-of-day figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayBalance {
    pub date: NaiveDate,
    /// The account's balance (without pots).
    pub balance: Money,
    /// Every pot of the account together.
    pub pots: Money,
    pub total: Money,
    /// Some pot's value that day is rebuilt from transfers, not recorded.
    pub pots_rebuilt: bool,
}

/// One account's history.
#[derive(Debug, Clone, Serialize)]
pub struct AccountHistory {
    pub account_id: String,
    pub name: String,
    /// Names of the people who see it (two for a joint account).
    pub people: Vec<String>,
    pub currency: String,
    pub days: Vec<DayBalance>,
    /// Each pot's own end-of-day values (the same days).
    pub pots: Vec<PotDays>,
}

/// An account's days and its pots' days.
type AccountDays = (Vec<DayBalance>, Vec<PotDays>);

/// One pot's end-of-day values.
#[derive(Debug, Clone, Serialize)]
pub struct PotDays {
    /// Monzo's `pot_…` id.
    pub pot_id: String,
    /// As Monzo names it; "a pot" for one deleted before the app first saw it.
    pub name: String,
    pub days: Vec<PotDay>,
}

/// A pot at the end of a UK day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PotDay {
    pub date: NaiveDate,
    pub balance: Money,
    /// Rebuilt from transfers, not recorded (see the module's note).
    pub rebuilt: bool,
}

/// The household's total (accounts with their pots, each account once) in one
/// currency on one day: no exchange rates, as `status` shows totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HouseholdDay {
    pub date: NaiveDate,
    pub total: Money,
}

/// Daily balances for a selection.
#[derive(Debug, Clone, Serialize, Default)]
pub struct DailyBalances {
    pub accounts: Vec<AccountHistory>,
    /// Per currency code.
    pub household: BTreeMap<String, Vec<HouseholdDay>>,
}

pub(super) struct Held {
    pub(super) account_id: String,
    name: String,
    pub(super) currency: String,
    people: Vec<String>,
}

/// A running sum of amounts made before a time, over amounts sorted by time.
struct Cumulative {
    at: Vec<DateTime<Utc>>,
    sums: Vec<i64>,
}

impl Cumulative {
    fn new(mut items: Vec<(DateTime<Utc>, i64)>) -> Self {
        items.sort_by_key(|(at, _)| *at);
        let mut sum = 0i64;
        let mut sums = Vec::with_capacity(items.len() + 1);
        sums.push(0);
        for (_, amount) in &items {
            sum = sum.saturating_add(*amount);
            sums.push(sum);
        }
        Self {
            at: items.into_iter().map(|(at, _)| at).collect(),
            sums,
        }
    }

    /// The sum of amounts made strictly before `t`.
    fn before(&self, t: DateTime<Utc>) -> i64 {
        self.sums[self.at.partition_point(|at| *at < t)]
    }

    /// The sum of amounts made at or before `t`.
    fn up_to(&self, t: DateTime<Utc>) -> i64 {
        self.sums[self.at.partition_point(|at| *at <= t)]
    }

    fn first(&self) -> Option<DateTime<Utc>> {
        self.at.first().copied()
    }
}

impl HistoryStore {
    /// End-of-day balances for `selection`, up to `today`. Accounts with no recorded
    /// balance yet (never polled) are left out.
    pub fn daily_balances(
        &self,
        selection: &Selection,
        now: DateTime<Utc>,
    ) -> Result<DailyBalances, HistoryError> {
        let held = self.held_accounts(selection)?;
        let today = uk_day(now);
        let mut result = DailyBalances::default();
        for account in held {
            if let Some((days, pots)) = self.account_days(&account, today, selection)? {
                result.accounts.push(AccountHistory {
                    account_id: account.account_id,
                    name: account.name,
                    people: account.people,
                    currency: account.currency,
                    days,
                    pots,
                });
            }
        }
        let mut totals: BTreeMap<String, BTreeMap<NaiveDate, Money>> = BTreeMap::new();
        for account in &result.accounts {
            let per_day = totals.entry(account.currency.clone()).or_default();
            for day in &account.days {
                let sum = match per_day.get(&day.date) {
                    Some(sum) => sum.checked_add(&day.total).unwrap_or_else(|| sum.clone()),
                    None => day.total.clone(),
                };
                per_day.insert(day.date, sum);
            }
        }
        result.household = totals
            .into_iter()
            .map(|(code, days)| {
                let days = days
                    .into_iter()
                    .map(|(date, total)| HouseholdDay { date, total })
                    .collect();
                (code, days)
            })
            .collect();
        Ok(result)
    }

    pub(super) fn held_accounts(&self, selection: &Selection) -> Result<Vec<Held>, HistoryError> {
        self.with(|db| {
            let mut query = db.prepare(
                "SELECT a.account_id, a.name, a.currency, GROUP_CONCAT(p.person_name, char(31)),
                    GROUP_CONCAT(p.person_id, char(31))
                 FROM accounts a
                 JOIN (SELECT rowid AS linked, * FROM account_people ORDER BY rowid) p ON p.account_id = a.account_id
                 GROUP BY a.account_id ORDER BY MIN(p.linked), a.rowid",
            )?;
            let rows = query.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?;
            let mut held = Vec::new();
            for row in rows {
                let (account_id, name, currency, names, ids) = row?;
                let ids: Vec<&str> = ids.split('\u{1f}').collect();
                if !selection.people.is_empty()
                    && !ids.iter().any(|id| selection.people.iter().any(|p| p == id))
                {
                    continue;
                }
                if let Some(wanted) = &selection.account {
                    if wanted != &account_id && !wanted.eq_ignore_ascii_case(&name) {
                        continue;
                    }
                }
                held.push(Held {
                    account_id,
                    name,
                    currency,
                    people: names.split('\u{1f}').map(str::to_owned).collect(),
                });
            }
            Ok(held)
        })
    }

    fn account_days(
        &self,
        account: &Held,
        today: NaiveDate,
        selection: &Selection,
    ) -> Result<Option<AccountDays>, HistoryError> {
        let id = account.account_id.as_str();
        let Some((recorded_at, recorded)) = self.last_recorded(id, "")? else {
            return Ok(None);
        };
        let (amounts, transfers) = self.amounts(id)?;
        let pots = self.pot_histories(id, &transfers)?;
        // While the import has not reached the present, the days before what is
        // known whole (the last 90 days Monzo allows; nothing while it runs) would
        // miss transactions: they are not shown yet.
        let complete_from = self.complete_from(id, today)?;
        let first_day = amounts
            .first()
            .map(uk_day)
            .unwrap_or_else(|| uk_day(recorded_at))
            .max(complete_from)
            .max(selection.from.unwrap_or(NaiveDate::MIN));
        let last_day = today.min(selection.to.unwrap_or(NaiveDate::MAX));
        let currency = Currency::from_code(&account.currency);
        let money = |minor: i64| Money::from_minor(minor, currency.clone());
        let at_recording = amounts.up_to(recorded_at);
        let mut days = Vec::new();
        let mut pot_days: Vec<PotDays> = pots
            .iter()
            .map(|pot| PotDays {
                pot_id: pot.pot_id.clone(),
                name: pot.name.clone(),
                days: Vec::new(),
            })
            .collect();
        let mut day = first_day;
        while day <= last_day {
            let end = end_of_uk_day(day);
            let balance = recorded + amounts.before(end) - at_recording;
            let (mut pots_sum, mut rebuilt) = (0i64, false);
            for (pot, shown) in pots.iter().zip(pot_days.iter_mut()) {
                let (value, was_rebuilt) = pot.value_at(end);
                pots_sum += value;
                rebuilt |= was_rebuilt;
                shown.days.push(PotDay {
                    date: day,
                    balance: money(value),
                    rebuilt: was_rebuilt,
                });
            }
            days.push(DayBalance {
                date: day,
                balance: money(balance),
                pots: money(pots_sum),
                total: money(balance + pots_sum),
                pots_rebuilt: rebuilt,
            });
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }
        Ok(Some((days, pot_days)))
    }

    /// The first day whose balance is known whole: any day once the import is
    /// done; after a cut the start of the 90 days read since; while it runs, today.
    pub(super) fn complete_from(
        &self,
        account_id: &str,
        today: NaiveDate,
    ) -> Result<NaiveDate, HistoryError> {
        self.with(|db| {
            let row: Option<(bool, Option<String>)> = db
                .query_row(
                    "SELECT import_done, readable_from FROM accounts WHERE account_id = ?1",
                    [account_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            Ok(match row {
                Some((false, Some(from))) => read_time(&from).map(uk_day).unwrap_or(today),
                Some((false, None)) => today,
                _ => NaiveDate::MIN,
            })
        })
    }

    fn last_recorded(
        &self,
        account_id: &str,
        pot_id: &str,
    ) -> Result<Option<(DateTime<Utc>, i64)>, HistoryError> {
        self.with(|db| {
            let row: Option<(String, i64)> = db
                .query_row(
                    "SELECT at, value FROM balances WHERE account_id = ?1 AND pot_id = ?2 ORDER BY at DESC LIMIT 1",
                    params![account_id, pot_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .ok();
            Ok(row.and_then(|(at, value)| read_time(&at).map(|at| (at, value))))
        })
    }

    /// The account's money-moving transactions (declined ones left out) as a running
    /// sum, and its pot transfers by pot.
    #[allow(clippy::type_complexity)]
    fn amounts(
        &self,
        account_id: &str,
    ) -> Result<(Cumulative, BTreeMap<String, Vec<(DateTime<Utc>, i64)>>), HistoryError> {
        self.with(|db| {
            let mut query = db.prepare_cached(
                "SELECT created, amount, pot_id FROM transactions WHERE account_id = ?1 AND declined = 0",
            )?;
            let mut all = Vec::new();
            let mut transfers: BTreeMap<String, Vec<(DateTime<Utc>, i64)>> = BTreeMap::new();
            let rows = query.query_map([account_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })?;
            for row in rows {
                let (created, amount, pot) = row?;
                let Some(at) = read_time(&created) else { continue };
                all.push((at, amount));
                if let Some(pot) = pot {
                    transfers.entry(pot).or_default().push((at, amount));
                }
            }
            Ok((Cumulative::new(all), transfers))
        })
    }

    fn pot_histories(
        &self,
        account_id: &str,
        transfers: &BTreeMap<String, Vec<(DateTime<Utc>, i64)>>,
    ) -> Result<Vec<PotHistory>, HistoryError> {
        let mut pots: Vec<String> = self.with(|db| {
            let mut query = db.prepare_cached(
                "SELECT DISTINCT pot_id FROM balances WHERE account_id = ?1 AND pot_id != ''",
            )?;
            let rows = query.query_map([account_id], |r| r.get::<_, String>(0))?;
            rows.collect()
        })?;
        for pot in transfers.keys() {
            if !pots.contains(pot) {
                pots.push(pot.clone());
            }
        }
        let mut histories = Vec::new();
        for pot in pots {
            let observed: Vec<(DateTime<Utc>, i64)> = self.with(|db| {
                let mut query = db.prepare_cached(
                    "SELECT at, value FROM balances WHERE account_id = ?1 AND pot_id = ?2 ORDER BY at",
                )?;
                let rows = query.query_map(params![account_id, pot], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })?;
                let mut observed = Vec::new();
                for row in rows {
                    let (at, value) = row?;
                    if let Some(at) = read_time(&at) {
                        observed.push((at, value));
                    }
                }
                Ok(observed)
            })?;
            let name: Option<String> = self.with(|db| {
                db.query_row("SELECT name FROM pots WHERE pot_id = ?1", [&pot], |r| r.get(0))
                    .optional()
            })?;
            histories.push(PotHistory {
                name: name.unwrap_or_else(|| "a pot".to_owned()),
                transfers: Cumulative::new(transfers.get(&pot).cloned().unwrap_or_default()),
                pot_id: pot,
                observed,
            });
        }
        Ok(histories)
    }
}

/// One pot's recorded values and the transfers that rebuild it before them.
struct PotHistory {
    pot_id: String,
    name: String,
    /// Oldest first. Empty for a pot never seen (deleted before the first poll):
    /// it is rebuilt back from nothing left in it.
    observed: Vec<(DateTime<Utc>, i64)>,
    /// The account's transfers with this pot (negative = into the pot).
    transfers: Cumulative,
}

impl PotHistory {
    /// The pot's value at `t`, and whether it is rebuilt rather than recorded.
    fn value_at(&self, t: DateTime<Utc>) -> (i64, bool) {
        let seen = self.observed.partition_point(|(at, _)| *at <= t);
        if seen > 0 {
            // The last recording, moved on by the transfers since (the app may not
            // have run in between).
            let (at, value) = self.observed[seen - 1];
            return (value + self.transfers.up_to(at) - self.transfers.before(t), false);
        }
        let (anchor_at, anchor) = self
            .observed
            .first()
            .copied()
            .unwrap_or((DateTime::<Utc>::MAX_UTC, 0));
        // Money into the pot is negative on the account: earlier, the pot held less.
        (
            anchor + self.transfers.before(anchor_at) - self.transfers.before(t),
            true,
        )
    }
}

/// The sentence shown beside rebuilt pot values.
pub const REBUILT_POTS_NOTE: &str = "Pot values before the app first saw them are rebuilt from the account's transfers; interest paid into a savings pot is not among them.";

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }
    use crate::transactions::example_payment;

    fn store_with(
        transactions: &[(&str, &str, i64, Option<&str>, bool)],
        balance_at: &str,
        balance: i64,
    ) -> HistoryStore {
        let store = HistoryStore::in_memory().unwrap();
        store
            .with(|db| {
                db.execute_batch(
                    "INSERT INTO accounts (account_id, name, currency, import_done) VALUES ('acc_1', 'Current Account', 'GBP', 1);
                     INSERT INTO account_people VALUES ('acc_1', 'p1', 'Dana');",
                )
            })
            .unwrap();
        let list: Vec<_> = transactions
            .iter()
            .map(
                |(id, created, minor, pot, declined)| crate::transactions::Transaction {
                    created: at(created),
                    pot_id: pot.map(str::to_owned),
                    declined: *declined,
                    ..example_payment(id, *minor, "Shop", &[]).transaction
                },
            )
            .collect();
        store.keep_transactions("acc_1", &list).unwrap();
        store
            .with(|db| {
                db.execute(
                    "INSERT INTO balances VALUES ('acc_1', '', ?1, ?2, 'GBP')",
                    params![stored_time(at(balance_at)), balance],
                )
            })
            .unwrap();
        store
    }

    fn minor(m: &Money) -> i64 {
        m.to_minor().unwrap()
    }

    #[test]
    fn each_day_ends_with_the_balance_less_what_came_after_and_declined_ones_count_for_nothing() {
        let store = store_with(
            &[
                ("tx_1", "2026-03-01T10:00:00Z", 10_000, None, false),
                ("tx_2", "2026-03-02T10:00:00Z", -2_500, None, false),
                ("tx_3", "2026-03-02T11:00:00Z", -99_999, None, true),
                // 23:30 UTC in summer is the next UK day.
                ("tx_4", "2026-03-03T23:30:00Z", -500, None, false),
            ],
            "2026-03-04T12:00:00Z",
            7_000,
        );
        let days = store
            .daily_balances(&Selection::default(), at("2026-03-04T13:00:00Z"))
            .unwrap();
        let account = &days.accounts[0];
        let balances: Vec<(String, i64)> = account
            .days
            .iter()
            .map(|d| (d.date.to_string(), minor(&d.balance)))
            .collect();
        assert_eq!(
            balances,
            [
                ("2026-03-01".to_owned(), 10_000),
                ("2026-03-02".to_owned(), 7_500),
                ("2026-03-03".to_owned(), 7_000),
                ("2026-03-04".to_owned(), 7_000),
            ]
        );
        assert_eq!(minor(&days.household["GBP"][1].total), 7_500);
    }

    #[test]
    fn pots_before_the_first_recording_are_rebuilt_from_transfers_and_marked() {
        let store = store_with(
            &[
                ("tx_1", "2026-03-01T10:00:00Z", 10_000, None, false),
                ("tx_2", "2026-03-02T10:00:00Z", -3_000, Some("pot_1"), false),
                ("tx_3", "2026-03-03T10:00:00Z", 1_000, Some("pot_1"), false),
                // After the last recording (the app was not running): still counted.
                ("tx_4", "2026-03-05T10:00:00Z", -500, Some("pot_1"), false),
            ],
            "2026-03-04T12:00:00Z",
            8_000,
        );
        store
            .with(|db| {
                db.execute(
                    "INSERT INTO balances VALUES ('acc_1', 'pot_1', ?1, 2000, 'GBP')",
                    [stored_time(at("2026-03-04T12:00:00Z"))],
                )
            })
            .unwrap();
        let days = store
            .daily_balances(&Selection::default(), at("2026-03-05T13:00:00Z"))
            .unwrap();
        let pots: Vec<(i64, bool, i64)> = days.accounts[0]
            .days
            .iter()
            .map(|d| (minor(&d.pots), d.pots_rebuilt, minor(&d.total)))
            .collect();
        assert_eq!(
            pots,
            [
                (0, true, 10_000),
                (3_000, true, 10_000),
                (2_000, true, 10_000),
                (2_000, false, 10_000),
                (2_500, false, 10_000)
            ]
        );
        assert_eq!(days.accounts[0].pots[0].days.len(), 5, "each pot's own days");
    }

    #[test]
    fn an_unfinished_import_shows_only_the_days_known_whole() {
        let store = store_with(
            &[
                ("tx_1", "2025-01-01T10:00:00Z", 10_000, None, false),
                ("tx_2", "2026-03-01T10:00:00Z", -100, None, false),
            ],
            "2026-03-04T12:00:00Z",
            8_000,
        );
        let now = at("2026-03-04T13:00:00Z");
        let first = |store: &HistoryStore| {
            store.daily_balances(&Selection::default(), now).unwrap().accounts[0].days[0]
                .date
                .to_string()
        };
        store
            .with(|db| db.execute("UPDATE accounts SET import_done = 0", []))
            .unwrap();
        assert_eq!(first(&store), "2026-03-04", "while it runs: today only");
        store
            .with(|db| {
                db.execute(
                    "UPDATE accounts SET readable_from = '2025-12-05T13:00:00.000Z'",
                    [],
                )
            })
            .unwrap();
        assert_eq!(first(&store), "2025-12-05", "cut: the 90 days read since");
        store
            .with(|db| db.execute("UPDATE accounts SET import_done = 1", []))
            .unwrap();
        assert_eq!(first(&store), "2025-01-01");
    }
}
