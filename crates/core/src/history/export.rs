//! Every stored transaction as CSV (RFC 4180, through the `csv` crate): Monzo's ids,
//! amounts as decimal strings in major units (as `status --json` writes money),
//! times in RFC 3339 UTC.
//!
//! Text from Monzo (descriptions, merchants) is made safe for a spreadsheet: a cell
//! beginning with `=`, `+`, `-` or `@` (or a tab or carriage return) gets a leading
//! `'`, so it is not run as a formula (OWASP, "CSV Injection"), and control
//! characters are taken out. Amounts are numbers and written as they are.

use std::io::Write;

use rusqlite::params;

use super::daily::Selection;
use super::store::stored_time;
use super::{end_of_uk_day, HistoryError, HistoryStore};
use crate::money::{Currency, Money};

const HEADER: [&str; 15] = [
    "id",
    "account_id",
    "account",
    "created",
    "settled",
    "amount",
    "currency",
    "local_amount",
    "local_currency",
    "description",
    "merchant",
    "category",
    "pot_id",
    "declined",
    "counterparty_account_id",
];

/// A CSV writer as RFC 4180 has it: CRLF line ends, quotes where needed.
pub fn csv_writer<W: Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out)
}

/// A text cell a spreadsheet will show as text.
pub fn safe_cell(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    // What is written is judged, not what came: taking a control character out can
    // bring a formula sign to the front; leading spaces are skipped by spreadsheets.
    let risky = clean.trim_start().starts_with(['=', '+', '-', '@']);
    if risky {
        format!("'{clean}")
    } else {
        clean
    }
}

fn decimal(minor: Option<i64>, currency: Option<&str>) -> String {
    match (minor, currency) {
        (Some(minor), Some(code)) => Money::from_minor(minor, Currency::from_code(code)).to_decimal_string(),
        _ => String::new(),
    }
}

impl HistoryStore {
    /// Writes the transactions of `selection`'s accounts (made on its UK days) to
    /// `out`, oldest first; returns how many. Errors: the database, or `out` (a
    /// closed pipe is the caller's to handle).
    pub fn export_transactions(&self, selection: &Selection, out: impl Write) -> Result<usize, HistoryError> {
        // Stored times compare as text: "" is before every time, "~" after.
        let from = selection
            .from
            .and_then(|d| d.pred_opt())
            .map(|d| stored_time(end_of_uk_day(d)))
            .unwrap_or_default();
        let to = selection
            .to
            .map(|d| stored_time(end_of_uk_day(d)))
            .unwrap_or_else(|| "~".to_owned());
        let mut writer = csv_writer(out);
        let written = |e: csv::Error| HistoryError::Input(format!("The CSV could not be written: {e}"));
        writer.write_record(HEADER).map_err(written)?;
        let accounts: Vec<String> = self.daily_accounts(selection)?.into_iter().collect();
        let mut count = 0;
        for account_id in accounts {
            let rows: Vec<Vec<String>> = self.with(|db| {
                let mut query = db.prepare_cached(
                    "SELECT t.id, t.account_id, a.name, t.created, t.settled, t.amount, t.currency, t.local_amount,
                        t.local_currency, t.description, t.merchant, t.category, t.pot_id, t.declined,
                        t.counterparty_account_id
                     FROM transactions t JOIN accounts a ON a.account_id = t.account_id
                     WHERE t.account_id = ?1 AND t.created >= ?2 AND t.created < ?3 ORDER BY t.created, t.id",
                )?;
                let rows = query.query_map(params![account_id, from, to], |r| {
                    let currency: String = r.get(6)?;
                    let local_currency: Option<String> = r.get(8)?;
                    Ok(vec![
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        safe_cell(&r.get::<_, String>(2)?),
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                        decimal(r.get(5)?, Some(&currency)),
                        currency.clone(),
                        decimal(r.get(7)?, local_currency.as_deref()),
                        local_currency.unwrap_or_default(),
                        safe_cell(&r.get::<_, String>(9)?),
                        safe_cell(&r.get::<_, Option<String>>(10)?.unwrap_or_default()),
                        safe_cell(&r.get::<_, String>(11)?),
                        r.get::<_, Option<String>>(12)?.unwrap_or_default(),
                        if r.get::<_, bool>(13)? { "true" } else { "false" }.to_owned(),
                        r.get::<_, Option<String>>(14)?.unwrap_or_default(),
                    ])
                })?;
                rows.collect()
            })?;
            for row in rows {
                writer.write_record(&row).map_err(written)?;
                count += 1;
            }
        }
        writer
            .flush()
            .map_err(|e| HistoryError::Input(format!("The CSV could not be written: {e}")))?;
        Ok(count)
    }

    /// The ids of the accounts `selection` picks.
    fn daily_accounts(&self, selection: &Selection) -> Result<Vec<String>, HistoryError> {
        Ok(self
            .held_accounts(selection)?
            .into_iter()
            .map(|held| held.account_id)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_a_spreadsheet_would_run_get_a_quote_and_control_characters_go() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("+44 shop"), "'+44 shop");
        assert_eq!(safe_cell("-minus"), "'-minus");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("Tesco\u{1b}[31m\n"), "Tesco[31m");
        assert_eq!(safe_cell("Café"), "Café");
        assert_eq!(safe_cell("\n=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(safe_cell("\u{1}  @x"), "'  @x");
    }
}
