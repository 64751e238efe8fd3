//! The full import's state, per account, in the database: where it reads next, and
//! whether Monzo cut it short.
//!
//! Monzo's rule (docs.monzo.com, "Transactions"; `../shared/monzo-api.md`): "After a
//! user has authenticated, your client can fetch all of their transactions, and after
//! 5 minutes, it can only sync the last 90 days of transactions." So the import
//! reads each account from its `created` forward, a page of 100 at a time (`since` =
//! the last id read), oldest first, and keeps where it got to with every page (so a
//! kill, a quit or a 429 resumes there). When Monzo answers
//! `forbidden.verification_required`, the import is cut short under that sign-in: it
//! waits for the next sign-in (Reconnect) to go on, and meanwhile the last 90 days
//! are read ([`ImportStep::recheck_from`]).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rusqlite::{params, OptionalExtension};

use super::store::{read_time, stored_time};
use super::{uk_day, HistoryError, HistoryStore};
use crate::settings::PersonSettings;

/// How long after a sign-in every transaction can be read (Monzo's docs).
pub const FULL_READ_WINDOW: Duration = Duration::minutes(5);
/// How far back Monzo lets transactions be read after that window (Monzo's docs).
pub const READABLE_DAYS: i64 = 90;
/// Where an import starts when Monzo gives no `created` for the account: before
/// Monzo's first current accounts (2017; the prepaid cards began in 2015).
const BEFORE_MONZO: &str = "2015-01-01T00:00:00.000Z";

/// The next page to import for one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImportStep {
    pub(crate) account_id: String,
    /// Monzo's `since`: the last transaction id read, else an RFC 3339 time.
    pub(crate) since: String,
    /// How far the import has got (the time of `since`), to read the oldest first.
    pub(crate) reached: Option<DateTime<Utc>>,
}

/// Whether `person` is inside Monzo's window for reading everything: within
/// [`FULL_READ_WINDOW`] of their sign-in or, as Monzo does not say which counts, of
/// the in-app approval seen after it.
pub(crate) fn in_full_read_window(person: &PersonSettings, now: DateTime<Utc>) -> bool {
    let started = sign_in_key(person);
    read_time(&started).is_some_and(|at| now >= at && now - at < FULL_READ_WINDOW)
}

/// When the person's current window for reading everything started: the later of
/// the sign-in and the in-app approval seen after it (Monzo does not say which
/// counts). A cut is kept under it: a new sign-in, or a new approval (Monzo's
/// 90-day re-approval), gives the import another try.
fn sign_in_key(person: &PersonSettings) -> String {
    let started = match (person.signed_in_at, person.approved_at) {
        (Some(signed), Some(approved)) => Some(signed.max(approved)),
        (signed, approved) => signed.or(approved),
    };
    started.map(stored_time).unwrap_or_default()
}

impl HistoryStore {
    /// The accounts of `account_ids` whose import is not finished and not cut short
    /// under `person`'s current sign-in, oldest progress first.
    pub(crate) fn import_steps(
        &self,
        person: &PersonSettings,
        account_ids: &[String],
    ) -> Result<Vec<ImportStep>, HistoryError> {
        let sign_in = sign_in_key(person);
        let mut steps = self.with(|db| {
            let mut query = db.prepare_cached(
                "SELECT a.import_since, a.opened, t.created FROM accounts a
                 LEFT JOIN transactions t ON t.id = a.import_since
                 WHERE a.account_id = ?1 AND a.import_done = 0
                   AND (a.import_cut_sign_in IS NULL OR a.import_cut_sign_in != ?2)",
            )?;
            let mut steps = Vec::new();
            for account_id in account_ids {
                let row: Option<(Option<String>, Option<String>, Option<String>)> = query
                    .query_row(params![account_id, sign_in], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .optional()?;
                if let Some((since, opened, reached)) = row {
                    let since = since
                        .or(opened.clone())
                        .unwrap_or_else(|| BEFORE_MONZO.to_owned());
                    let reached = reached.or(opened).as_deref().and_then(read_time);
                    steps.push(ImportStep {
                        account_id: account_id.clone(),
                        since,
                        reached,
                    });
                }
            }
            Ok(steps)
        })?;
        steps.sort_by_key(|s| s.reached);
        Ok(steps)
    }

    /// Monzo refused the older part of `account_id` under `person`'s sign-in at
    /// `now`: the import waits for the next sign-in, and the last 90 days are read
    /// at the next re-read.
    pub(crate) fn cut_import(
        &self,
        person: &PersonSettings,
        account_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), HistoryError> {
        // A day inside Monzo's 90, so that the re-read is not refused at its edge.
        let readable_from = stored_time(now - Duration::days(READABLE_DAYS - 1));
        self.with(|db| {
            db.execute(
                "UPDATE accounts SET import_cut_sign_in = ?2, readable_from = ?3, recheck_from = ?3
                 WHERE account_id = ?1",
                params![account_id, sign_in_key(person), readable_from],
            )
            .map(drop)
        })
    }

    /// Monzo does not let this account's transactions be read at all (a loan): the
    /// import is over.
    pub(crate) fn end_import(&self, account_id: &str) -> Result<(), HistoryError> {
        self.with(|db| {
            db.execute(
                "UPDATE accounts SET import_done = 1 WHERE account_id = ?1",
                [account_id],
            )
            .map(drop)
        })
    }

    /// Where `account_id` is to be read again from at `now`, if it is due (once an
    /// hour, see [`RECHECK_EVERY`]): after a cut, the start of the 90 days; else its
    /// oldest pending stored transaction within the 90 days, else a week back.
    pub(crate) fn recheck_due(
        &self,
        account_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, HistoryError> {
        let floor = now - Duration::days(READABLE_DAYS - 1);
        self.with(|db| {
            let row: Option<(Option<String>, Option<String>)> = db
                .query_row(
                    "SELECT recheck_from, rechecked FROM accounts WHERE account_id = ?1",
                    [account_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((from, rechecked)) = row else {
                return Ok(None);
            };
            if let Some(from) = from.as_deref().and_then(read_time) {
                return Ok(Some(from.max(floor)));
            }
            if rechecked
                .as_deref()
                .and_then(read_time)
                .is_some_and(|at| now - at < RECHECK_EVERY)
            {
                return Ok(None);
            }
            let pending: Option<String> = db.query_row(
                "SELECT MIN(created) FROM transactions WHERE account_id = ?1 AND settled IS NULL
                 AND declined = 0 AND created >= ?2",
                params![account_id, stored_time(floor)],
                |r| r.get(0),
            )?;
            let from = pending
                .as_deref()
                .and_then(read_time)
                .unwrap_or(now - Duration::days(7));
            Ok(Some(from.max(floor)))
        })
    }

    /// The re-read of `account_id` finished at `now`.
    pub(crate) fn rechecked(&self, account_id: &str, now: DateTime<Utc>) -> Result<(), HistoryError> {
        self.with(|db| {
            db.execute(
                "UPDATE accounts SET rechecked = ?2, recheck_from = NULL WHERE account_id = ?1",
                params![account_id, stored_time(now)],
            )
            .map(drop)
        })
    }

    /// How far `person`'s history goes, and whether its import is under way or cut.
    pub fn import_state(&self, person: &PersonSettings) -> Result<ImportState, HistoryError> {
        self.with(|db| {
            let (transactions, oldest): (i64, Option<String>) = db.query_row(
                "SELECT COUNT(*), MIN(t.created) FROM transactions t
                 JOIN account_people p ON p.account_id = t.account_id WHERE p.person_id = ?1",
                [&person.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            // A cut account counts as cut until a page is read again under a new
            // sign-in (which clears the cut), whoever's sign-in it was read through.
            let (accounts, unfinished, open_now): (i64, i64, i64) = db.query_row(
                "SELECT COUNT(*), COALESCE(SUM(a.import_done = 0), 0),
                    COALESCE(SUM(a.import_done = 0 AND a.import_cut_sign_in IS NULL), 0)
                 FROM accounts a JOIN account_people p ON p.account_id = a.account_id WHERE p.person_id = ?1",
                [&person.id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let cut_before: Option<String> = db.query_row(
                "SELECT MAX(a.readable_from) FROM accounts a JOIN account_people p ON p.account_id = a.account_id
                 WHERE p.person_id = ?1 AND a.import_done = 0 AND a.import_cut_sign_in IS NOT NULL",
                [&person.id],
                |r| r.get(0),
            )?;
            Ok(ImportState {
                transactions: u64::try_from(transactions).unwrap_or(0),
                oldest: oldest.as_deref().and_then(read_time),
                accounts: u64::try_from(accounts).unwrap_or(0),
                importing: open_now > 0,
                cut_before: if unfinished > open_now {
                    cut_before.as_deref().and_then(read_time).map(uk_day)
                } else {
                    None
                },
            })
        })
    }
}

/// How often each account is read again, to catch what Monzo changed after it was
/// stored (settled, a new amount, declined later).
pub const RECHECK_EVERY: Duration = Duration::hours(1);

/// How far a person's history goes.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct ImportState {
    /// Transactions stored for the person's accounts.
    pub transactions: u64,
    /// The oldest stored.
    pub oldest: Option<DateTime<Utc>>,
    /// Accounts known to history.
    pub accounts: u64,
    /// The import still has pages to read under the current sign-in.
    pub importing: bool,
    /// Monzo's 5-minute rule cut the import short: what came before this UK day
    /// needs a new sign-in.
    pub cut_before: Option<NaiveDate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_read_window_is_five_minutes_from_the_later_of_sign_in_and_approval() {
        let at: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().unwrap();
        let mut dana = PersonSettings::example("p1", "Dana");
        assert!(!in_full_read_window(&dana, at), "never signed in");
        dana.signed_in_at = Some(at);
        assert!(in_full_read_window(&dana, at + Duration::minutes(4)));
        assert!(!in_full_read_window(&dana, at + Duration::minutes(5)));
        dana.approved_at = Some(at + Duration::minutes(3));
        assert!(in_full_read_window(&dana, at + Duration::minutes(7)));
    }
}
