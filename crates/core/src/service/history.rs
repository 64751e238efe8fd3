//! History through the façade (see [`crate::history`]): daily balances, the
//! transactions as CSV, a month's spending, and each person's import state in
//! words, the same for the command line and the window.

use std::io::Write;
use std::time::Duration;

use chrono::{Datelike, NaiveDate};

use super::command_line::to_json;
use super::AppService;
use crate::error::{Error, Result};
use crate::history::daily::{DailyBalances, Selection, REBUILT_POTS_NOTE};
use crate::history::import::ImportState;
use crate::history::spending::{parse_month, MonthSpending};
use crate::history::{parse_day, uk_day, HistoryStore};
use crate::settings::PersonSettings;
use crate::snapshot::ConnectionState;

/// What `history`, `export transactions` and the window's History view are asked
/// for, as given (names and dates are checked here).
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    /// A person's name (any case); none: everyone.
    pub person: Option<String>,
    /// An account's id or name ("Joint Account").
    pub account: Option<String>,
    /// `YYYY-MM-DD`, UK days, both ends included.
    pub from: Option<String>,
    pub to: Option<String>,
}

/// How `history` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryFormat {
    Table,
    Json,
    Csv,
}

/// What `history` prints: notes (standard error; in the JSON document too) and
/// the daily balances.
#[derive(Debug)]
pub struct HistoryReport {
    pub notes: Vec<String>,
    pub printed: String,
}

/// How long `login` waits for the in-app approval before importing (as Home
/// Assistant's Monzo integration waits in its `wait_for_approval` step).
pub const APPROVAL_WAIT: Duration = Duration::from_secs(300);

/// "4,210".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A person's history in one sentence: under way, cut short by Monzo's 5-minute
/// rule, or how far it goes. `None` when nothing is known yet.
pub fn import_sentence(name: &str, state: &ImportState) -> Option<String> {
    let back_to = state
        .oldest
        .map(|t| uk_day(t).format("%B %Y").to_string())
        .map(|month| format!("back to {month}, "))
        .unwrap_or_default();
    let count = format!("{} transactions", thousands(state.transactions));
    if state.importing {
        return Some(format!("Importing {name}'s history: {back_to}{count}"));
    }
    if let Some(day) = state.cut_before {
        return Some(format!(
            "History before {} can be read only in the 5 minutes after a sign-in: Reconnect {name} to import it ({name}'s history: {back_to}{count})",
            day.format("%-d %B %Y")
        ));
    }
    (state.accounts > 0).then(|| format!("{name}'s history: {back_to}{count}"))
}

fn store(service: &AppService) -> Result<&std::sync::Arc<HistoryStore>> {
    service.engine.history().ok_or_else(|| {
        Error::InvalidInput("History is not kept in this run: its database could not be opened (the reason was given when monzo-tray started).".into())
    })
}

fn day(text: Option<&str>, flag: &str) -> Result<Option<NaiveDate>> {
    Ok(text.map(|t| parse_day(t, flag)).transpose()?)
}

impl AppService {
    fn selection(&self, query: &HistoryQuery) -> Result<Selection> {
        let people = match &query.person {
            Some(name) => vec![self.household().person(name)?.id],
            None => Vec::new(),
        };
        let from = day(query.from.as_deref(), "--from")?;
        let to = day(query.to.as_deref(), "--to")?;
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                return Err(Error::InvalidInput(format!(
                    "--from ({from}) is after --to ({to})."
                )));
            }
        }
        Ok(Selection {
            people,
            account: query.account.clone(),
            from,
            to,
        })
    }

    /// Each person's history in a sentence (see [`import_sentence`]), with what
    /// stops history being written, if anything.
    pub fn history_notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = self.engine.history_trouble().into_iter().collect();
        if self.engine.history().is_none() {
            return notes;
        }
        for person in self.household().settings().people {
            if !person.keep_history {
                notes.push(format!(
                    "{} keeps no history (turned off in the window).",
                    person.name
                ));
                continue;
            }
            notes.extend(self.person_history_sentence(&person));
        }
        notes
    }

    /// [`import_sentence`] for `person` as history stands; `None` without history.
    fn person_history_sentence(&self, person: &PersonSettings) -> Option<String> {
        let state = self.engine.history()?.import_state(person).ok()?;
        import_sentence(&person.name, &state)
    }

    /// One person's history sentence for the window, with what stops history
    /// being written when something does (a full disk).
    pub(crate) fn history_line(&self, person: &PersonSettings) -> Option<String> {
        if !person.keep_history {
            return None;
        }
        let trouble = self.engine.history_trouble();
        let sentence = self.person_history_sentence(person);
        match (sentence, trouble) {
            (Some(sentence), Some(trouble)) => Some(format!("{sentence}. {trouble}")),
            (sentence, trouble) => sentence.or(trouble),
        }
    }

    /// The daily balances of `query` (every account when it names none).
    pub fn daily_balances(&self, query: &HistoryQuery) -> Result<DailyBalances> {
        let selection = self.selection(query)?;
        let balances = store(self)?.daily_balances(&selection, self.household().clock().now())?;
        if query.account.is_some() && balances.accounts.is_empty() {
            return Err(Error::InvalidInput(format!(
                "History has no account called \"{}\"; `monzo-tray history` lists them.",
                query.account.as_deref().unwrap_or_default()
            )));
        }
        Ok(balances)
    }

    /// `history`: daily balances as a table, JSON or CSV, and the notes.
    pub fn history_report(&self, query: &HistoryQuery, format: HistoryFormat) -> Result<HistoryReport> {
        let balances = self.daily_balances(query)?;
        let mut notes = self.history_notes();
        if balances
            .accounts
            .iter()
            .any(|a| a.days.iter().any(|d| d.pots_rebuilt))
        {
            notes.push(REBUILT_POTS_NOTE.to_owned());
        }
        if balances.accounts.is_empty() {
            notes.push(super::history_view::NO_HISTORY_YET.to_owned());
        }
        let printed = match format {
            HistoryFormat::Json => to_json(&serde_json::json!({
                "notes": notes,
                "accounts": balances.accounts,
                "household": balances.household,
            }))?,
            HistoryFormat::Csv => history_csv(&balances)?,
            HistoryFormat::Table => history_table(&balances),
        };
        Ok(HistoryReport { notes, printed })
    }

    /// `export transactions --csv`: writes every stored transaction of `query` to
    /// `out`; returns how many.
    pub fn export_transactions(&self, query: &HistoryQuery, out: impl Write) -> Result<usize> {
        let selection = self.selection(query)?;
        Ok(store(self)?.export_transactions(&selection, out)?)
    }

    /// `spending`: the month's spending (`YYYY-MM`; this UK month when `None`).
    pub fn spending(&self, month: Option<&str>) -> Result<MonthSpending> {
        let first_day = match month {
            Some(text) => parse_month(text)?,
            None => {
                let today = uk_day(self.household().clock().now());
                today.with_day0(0).unwrap_or(today)
            }
        };
        Ok(store(self)?.spending(first_day)?)
    }

    /// `spending`, printed: a table or its JSON document.
    pub fn spending_report(&self, month: Option<&str>, json: bool) -> Result<String> {
        let spending = self.spending(month)?;
        if json {
            return to_json(&spending);
        }
        let mut out = format!("Spending in {}\n", spending.month);
        if spending.categories.is_empty() {
            out.push_str("  nothing spent (or no history for that month)\n");
        }
        for category in &spending.categories {
            out.push_str(&format!(
                "  {:<20} {:>14}\n",
                category.category,
                category.amount.display()
            ));
        }
        for spender in &spending.spenders {
            out.push_str(&format!("\n{}\n", spender.name));
            for category in &spender.categories {
                out.push_str(&format!(
                    "  {:<20} {:>14}\n",
                    category.category,
                    category.amount.display()
                ));
            }
        }
        Ok(out)
    }

    /// Waits (at most `wait`) for `name`'s in-app approval, then imports their whole
    /// history while Monzo's 5 minutes last, telling `progress` how it goes: what
    /// `login` does when no engine runs. Returns the last sentence.
    pub async fn import_after_sign_in(
        &self,
        name: &str,
        wait: Duration,
        progress: impl Fn(&str),
    ) -> Result<String> {
        let person = self.household().person(name)?;
        let until = tokio::time::Instant::now() + wait;
        let mut told = false;
        loop {
            let snapshot = self.engine.poll_balances().await;
            let live = snapshot
                .people
                .iter()
                .any(|p| p.id == person.id && p.state == ConnectionState::Live);
            if live {
                break;
            }
            if tokio::time::Instant::now() >= until {
                return Ok(format!(
                    "{name}'s history is imported once access is approved in the Monzo app and monzo-tray runs (the tray app or `monzo-tray headless`)."
                ));
            }
            if !told {
                progress(&format!(
                    "Waiting for {name} to approve access in the Monzo app, to import their history…"
                ));
                told = true;
            }
            // Home Assistant's Monzo integration asks every 5 s in its wait for approval.
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        self.engine.import_history_now().await;
        let person: PersonSettings = self.household().person(name)?;
        let state = store(self)?.import_state(&person)?;
        Ok(import_sentence(name, &state).unwrap_or_else(|| format!("{name} has no history to import.")))
    }

    /// Polls once and imports what Monzo's 5 minutes allow: the demo's history.
    pub async fn import_history_now(&self) {
        self.engine.poll_balances().await;
        self.engine.import_history_now().await;
    }
}

fn history_table(balances: &DailyBalances) -> String {
    let mut out = String::new();
    for account in &balances.accounts {
        out.push_str(&format!(
            "{} — {} ({})\n  {:<10} {:>14} {:>14} {:>14}\n",
            account.people.join(" & "),
            account.name,
            account.currency,
            "date",
            "balance",
            "pots",
            "total"
        ));
        for day in &account.days {
            out.push_str(&format!(
                "  {:<10} {:>14} {:>14} {:>14}{}\n",
                day.date,
                day.balance.display(),
                day.pots.display(),
                day.total.display(),
                if day.pots_rebuilt { "  (pots rebuilt)" } else { "" }
            ));
        }
        out.push('\n');
    }
    for (currency, days) in &balances.household {
        out.push_str(&format!("Household total ({currency}, with pots)\n"));
        for day in days {
            out.push_str(&format!("  {:<10} {:>14}\n", day.date, day.total.display()));
        }
    }
    out
}

fn history_csv(balances: &DailyBalances) -> Result<String> {
    let mut writer = crate::history::export::csv_writer(Vec::new());
    let failed = |e: csv::Error| Error::InvalidInput(format!("could not write CSV: {e}"));
    writer
        .write_record([
            "date",
            "account_id",
            "account",
            "people",
            "currency",
            "balance",
            "pots",
            "total",
            "pots_rebuilt",
        ])
        .map_err(failed)?;
    for account in &balances.accounts {
        let people = crate::history::export::safe_cell(&account.people.join(" & "));
        let name = crate::history::export::safe_cell(&account.name);
        for day in &account.days {
            writer
                .write_record([
                    day.date.to_string(),
                    account.account_id.clone(),
                    name.clone(),
                    people.clone(),
                    account.currency.clone(),
                    day.balance.to_decimal_string(),
                    day.pots.to_decimal_string(),
                    day.total.to_decimal_string(),
                    day.pots_rebuilt.to_string(),
                ])
                .map_err(failed)?;
        }
    }
    for (currency, days) in &balances.household {
        for day in days {
            writer
                .write_record([
                    day.date.to_string(),
                    String::new(),
                    "Household total".into(),
                    String::new(),
                    currency.clone(),
                    String::new(),
                    String::new(),
                    day.total.to_decimal_string(),
                    String::new(),
                ])
                .map_err(failed)?;
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Error::InvalidInput(format!("could not write CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::InvalidInput(format!("could not write CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_sentences_say_progress_the_cut_and_how_far_back() {
        let oldest = "2019-03-04T10:00:00Z".parse().ok();
        let importing = ImportState {
            transactions: 4210,
            oldest,
            accounts: 2,
            importing: true,
            cut_before: None,
        };
        assert_eq!(
            import_sentence("Dana", &importing).unwrap(),
            "Importing Dana's history: back to March 2019, 4,210 transactions"
        );
        let cut = ImportState {
            importing: false,
            cut_before: NaiveDate::from_ymd_opt(2026, 9, 3),
            ..importing.clone()
        };
        assert!(import_sentence("Dana", &cut)
            .unwrap()
            .starts_with("History before 3 September 2026 can be read only in the 5 minutes after a sign-in: Reconnect Dana to import it"));
        assert_eq!(import_sentence("Dana", &ImportState::default()), None);
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
