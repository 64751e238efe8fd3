//! A household's money history, kept locally: every transaction since each account
//! opened, and every balance seen, in one SQLite database per household ([`store`]).
//!
//! - Fed by the engine: each poll's changed balances and pots ([`observe`]), every
//!   transaction it reads, and the full import of each account after a sign-in
//!   ([`import`]: Monzo lets every transaction be read only in the 5 minutes after a
//!   sign-in, then only the last 90 days; Monzo's docs, "Transactions").
//! - Read by the command line and the window as aggregates, never raw rows in bulk:
//!   end-of-day balances ([`daily`]), spending per category ([`spending`]), and the
//!   transactions as CSV ([`export`]).
//!
//! It holds no secret: no token, no account number, only Monzo's ids.

pub mod daily;
pub mod export;
pub mod import;
pub mod month;
pub mod observe;
pub mod spending;
pub mod store;

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::London;

pub use self::store::{HistoryStore, HISTORY_FILE};

/// What went wrong with history. History never stops the balances: the engine goes
/// on without it and says so.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("The history database {path} cannot be used ({reason}). Balances go on; history is not kept until it can be.")]
    Unavailable { path: String, reason: String },
    #[error("The disk is full, so history is not being written. Balances and Home Assistant go on; free some space and history resumes.")]
    DiskFull,
    #[error("The history database failed: {0}")]
    Database(String),
    #[error("{0}")]
    Input(String),
}

/// The household's history file: `<data dir>/<household id>/history.sqlite3`
/// (`data_dir` is the platform's data folder with `monzo-tray` on it, e.g.
/// `$XDG_DATA_HOME/monzo-tray` on Linux).
pub fn history_path(data_dir: &Path, household_id: &str) -> PathBuf {
    data_dir.join(household_id).join(HISTORY_FILE)
}

/// The platform's data folder for monzo-tray (`$XDG_DATA_HOME/monzo-tray`,
/// `~/Library/Application Support/monzo-tray`, `%APPDATA%\monzo-tray`). Errors when
/// the platform has none (no home folder).
pub fn default_data_dir() -> Result<PathBuf, HistoryError> {
    dirs::data_dir()
        .map(|d| d.join("monzo-tray"))
        .ok_or_else(|| HistoryError::Input("There is no data folder for history on this system; give one with --data-dir or MONZO_TRAY_DATA_DIR.".into()))
}

/// The UK day a time falls on: Monzo's statements end days at midnight UK time.
pub fn uk_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&London).date_naive()
}

/// The first instant after the UK day `day` (its midnight, as UTC).
pub(crate) fn end_of_uk_day(day: NaiveDate) -> DateTime<Utc> {
    let next = day.succ_opt().unwrap_or(day);
    let midnight = next.and_hms_opt(0, 0, 0).unwrap_or_default();
    // Midnight exists on every UK day: the clocks change at 01:00 and 02:00.
    London
        .from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

/// Reads a date given on the command line (`YYYY-MM-DD`).
pub fn parse_day(text: &str, flag: &str) -> Result<NaiveDate, HistoryError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        HistoryError::Input(format!(
            "{flag} takes a date as YYYY-MM-DD, e.g. 2026-03-31; \"{text}\" is not one."
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uk_days_end_at_uk_midnight_in_summer_and_winter() {
        let summer: DateTime<Utc> = "2026-07-01T23:30:00Z".parse().unwrap();
        assert_eq!(uk_day(summer).to_string(), "2026-07-02");
        let winter: DateTime<Utc> = "2026-12-01T23:30:00Z".parse().unwrap();
        assert_eq!(uk_day(winter).to_string(), "2026-12-01");
        let day = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
        assert_eq!(end_of_uk_day(day).to_rfc3339(), "2026-07-01T23:00:00+00:00");
    }
}
