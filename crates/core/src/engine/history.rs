//! The engine's part in history (see [`crate::history`]): each poll's balances and
//! every transaction it reads go into the household's history database, and the
//! full import runs beside the poll loop, never in it, so balances are never late
//! for it.
//!
//! The import's budget, per person (Monzo publishes no rate limits; one report saw
//! 429 after about 30 requests in 5 minutes, monzo/docs#66):
//! - inside Monzo's 5 minutes after a sign-in, pages back to back, oldest data not
//!   yet read first, until every account is read or Monzo says the window is over
//!   (`forbidden.verification_required`);
//! - outside it, at most one request per poll;
//! - a 429 holds the person's every request back for `Retry-After` (else
//!   [`DEFAULT_RATE_LIMIT_PAUSE`]): the tray and window show the person as
//!   rate-limited, saying why.
//!
//! Once an hour each account is read again from its oldest pending transaction
//! (within the 90 days Monzo allows), so settled, changed and later-declined
//! transactions are updated in place.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::SecondsFormat;
use tokio::sync::Notify;

use super::transactions::{is_unreadable, is_verification_required, page, pages, shown_accounts, PAGE};
use super::Engine;
use crate::error::Error;
use crate::history::import::in_full_read_window;
use crate::history::{observe::observe, HistoryError, HistoryStore};
use crate::settings::PersonSettings;
use crate::snapshot::{ConnectionState, PersonSnapshot};
use crate::sync::lock;
use crate::transactions::Transaction;

/// Monzo does not serve this account's transactions at all (a loan): 403 with a
/// code naming the account type (seen in third-party clients:
/// `forbidden.unsupported_account_type`).
fn is_unsupported_account(err: &Error) -> bool {
    matches!(err, Error::Api { status: 403, code, .. } if code.contains("account_type"))
}

/// How long a 429 without `Retry-After` holds a person's requests back.
pub const DEFAULT_RATE_LIMIT_PAUSE: Duration = Duration::from_secs(60);

/// The accounts whose transactions history keeps: those live people who keep
/// history see (a joint account is kept if one of its people keeps theirs).
pub(super) fn kept_accounts(
    settings: &[PersonSettings],
    people: &[PersonSnapshot],
) -> std::collections::HashSet<String> {
    settings
        .iter()
        .zip(people)
        .filter(|(person, seen)| person.keep_history && seen.state == ConnectionState::Live)
        .flat_map(|(_, seen)| seen.accounts.iter().map(|a| a.id.clone()))
        .collect()
}

/// History as the engine keeps it: the database, if it could be opened, and what
/// stopped its last write.
#[derive(Default)]
pub(crate) struct HistoryKeeping {
    store: Option<Arc<HistoryStore>>,
    /// The sentence for the last failed write; cleared by the next good one.
    trouble: Mutex<Option<String>>,
    /// Woken after each poll: the import runs then.
    pub(crate) polled: Notify,
}

impl HistoryKeeping {
    pub(crate) fn new(store: Option<Arc<HistoryStore>>) -> Self {
        Self {
            store,
            ..Self::default()
        }
    }

    pub(crate) fn store(&self) -> Option<&Arc<HistoryStore>> {
        self.store.as_ref()
    }

    pub(crate) fn trouble(&self) -> Option<String> {
        lock(&self.trouble).clone()
    }

    /// Notes how a write went: a failure is logged once and its sentence kept.
    fn noted<T>(&self, result: Result<T, HistoryError>) -> Option<T> {
        let mut trouble = lock(&self.trouble);
        match result {
            Ok(value) => {
                *trouble = None;
                Some(value)
            }
            Err(err) => {
                let sentence = err.to_string();
                if trouble.as_deref() != Some(sentence.as_str()) {
                    tracing::warn!(%err, "history could not be written");
                }
                *trouble = Some(sentence);
                None
            }
        }
    }

    /// Records a poll's balances, pots and accounts.
    pub(crate) fn after_poll(
        &self,
        settings: &[PersonSettings],
        people: &[PersonSnapshot],
        at: chrono::DateTime<chrono::Utc>,
    ) {
        if let Some(store) = &self.store {
            self.noted(observe(store, settings, people, at));
        }
    }

    /// Keeps transactions the poll read for `account_id`.
    pub(crate) fn keep_read(&self, account_id: &str, transactions: &[Transaction]) {
        if let (Some(store), false) = (&self.store, transactions.is_empty()) {
            self.noted(store.keep_transactions(account_id, transactions));
        }
    }
}

/// What one import round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportRound {
    /// Requests for transactions: import pages, and re-reads (each counted once,
    /// however many pages it took).
    pub pages: usize,
    /// Steps that moved the import on: pages stored, accounts cut short or ended.
    pub moved: usize,
    /// Some account still has pages to import under the current sign-in.
    pub unfinished: bool,
    /// Time spent waiting for Monzo's pages (import pages only).
    pub reading: Duration,
    /// Time spent storing them.
    pub storing: Duration,
}

impl ImportRound {
    fn add(&mut self, other: ImportRound) {
        self.pages += other.pages;
        self.moved += other.moved;
        self.unfinished = other.unfinished;
        self.reading += other.reading;
        self.storing += other.storing;
    }
}

impl Engine {
    /// The import's loop: after each poll, one import round (see the module's
    /// budget), until `stop`.
    pub(super) async fn import_loop(&self, stop: &crate::background::Stop) {
        if self.history.store().is_none() {
            return;
        }
        loop {
            tokio::select! {
                () = self.history.polled.notified() => {}
                () = stop.cancelled() => return,
            }
            let round = tokio::select! {
                round = self.import_round() => round,
                () = stop.cancelled() => return,
            };
            if round.pages > 0 {
                // Whoever shows the snapshot (the window) shows the history's progress.
                self.snapshot.send_modify(|_| {});
            }
        }
    }

    /// Imports until every account of people inside Monzo's 5-minute window is read
    /// or cut short: what `login` does with no engine running, and the demo.
    pub async fn import_history_now(&self) -> ImportRound {
        let mut total = ImportRound::default();
        loop {
            let round = self.import_round().await;
            total.add(round);
            // A round that moved nothing (Monzo in trouble, a 429) ends it: the
            // running engine tries again after its next poll.
            if round.moved == 0 || !round.unfinished {
                return total;
            }
        }
    }

    /// One round for every live person who keeps history, people side by side.
    pub async fn import_round(&self) -> ImportRound {
        let Some(store) = self.history.store().cloned() else {
            return ImportRound::default();
        };
        let settings: Vec<PersonSettings> = self
            .household
            .settings()
            .people
            .into_iter()
            .filter(|p| p.keep_history)
            .collect();
        let snapshot = self.snapshot();
        // A stale person (held back by a 429, or Monzo in trouble) keeps the accounts
        // last read: the import follows its own hold, and fails alone otherwise.
        let people: Vec<PersonSnapshot> = settings
            .iter()
            .map(|p| {
                let mut seen = snapshot
                    .people
                    .iter()
                    .find(|s| s.id == p.id)
                    .cloned()
                    .unwrap_or_default();
                if seen.state == ConnectionState::Stale {
                    seen.state = ConnectionState::Live;
                }
                seen
            })
            .collect();
        let mut by_reader: BTreeMap<String, (PersonSettings, Vec<String>)> = BTreeMap::new();
        for (reader, account, _) in shown_accounts(&settings, &people) {
            by_reader
                .entry(reader.id.clone())
                .or_insert_with(|| (reader.clone(), Vec::new()))
                .1
                .push(account.id.clone());
        }
        let rounds = by_reader
            .into_values()
            .map(|(person, accounts)| self.import_for(store.clone(), person, accounts));
        let mut total = ImportRound::default();
        for round in futures::future::join_all(rounds).await {
            let unfinished = total.unfinished || round.unfinished;
            total.add(round);
            total.unfinished = unfinished;
        }
        total
    }

    /// One person's round: import pages within the budget, then the re-reads due.
    async fn import_for(
        &self,
        store: Arc<HistoryStore>,
        person: PersonSettings,
        accounts: Vec<String>,
    ) -> ImportRound {
        let poll = self.person_poll(&person.id);
        let mut round = ImportRound::default();
        let clock = self.household.clock().clone();
        let mut budget_left = true;
        while budget_left && !poll.history_held(clock.now()) {
            let Some(steps) = self.history.noted(store.import_steps(&person, &accounts)) else {
                return round;
            };
            let Some(step) = steps.into_iter().next() else {
                break;
            };
            let now = clock.now();
            budget_left = in_full_read_window(&person, now);
            round.pages += 1;
            let reading = std::time::Instant::now();
            let page = page(
                &self.sessions,
                &person,
                &self.config.retry,
                &step.account_id,
                &step.since,
            )
            .await;
            round.reading += reading.elapsed();
            match page {
                Ok(page) => {
                    let done = page.len() < PAGE as usize;
                    let next = page.last().map(|t| t.id.clone());
                    let storing = std::time::Instant::now();
                    let kept = store.keep_import_page(&step.account_id, &page, next.as_deref(), done);
                    round.storing += storing.elapsed();
                    if self.history.noted(kept).is_none() {
                        return round;
                    }
                    round.moved += 1;
                }
                Err(err) if is_verification_required(&err) => {
                    tracing::info!(person = %person.name, account = %step.account_id, "Monzo's 5 minutes for the full history are over; the rest waits for a new sign-in");
                    self.history
                        .noted(store.cut_import(&person, &step.account_id, now));
                    round.moved += 1;
                }
                Err(err) if self.held_back(&poll, &err, clock.now()) => break,
                Err(err) if is_unsupported_account(&err) => {
                    self.history.noted(store.end_import(&step.account_id));
                    round.moved += 1;
                }
                Err(err) if is_unreadable(&err, &step.account_id) => {
                    // Any other refusal is kept like Monzo's 5-minute rule: the next
                    // sign-in tries again, and the window says so.
                    self.history
                        .noted(store.cut_import(&person, &step.account_id, now));
                    round.moved += 1;
                }
                Err(err) => {
                    tracing::warn!(person = %person.name, code = err.code(), "history import page failed; tried again after the next poll");
                    break;
                }
            }
        }
        round.unfinished = store
            .import_steps(&person, &accounts)
            .is_ok_and(|steps| !steps.is_empty());
        for account in &accounts {
            let now = clock.now();
            if poll.history_held(now) {
                break;
            }
            let Some(Some(from)) = self.history.noted(store.recheck_due(account, now)) else {
                continue;
            };
            let since = from.to_rfc3339_opts(SecondsFormat::Millis, true);
            round.pages += 1;
            match pages(&self.sessions, &person, &self.config.retry, account, since).await {
                Ok(read) => {
                    self.history.keep_read(account, &read);
                    self.history.noted(store.rechecked(account, now));
                }
                Err(err) if self.held_back(&poll, &err, clock.now()) => break,
                Err(err) if is_unsupported_account(&err) => {
                    self.history.noted(store.rechecked(account, now));
                }
                Err(err) => {
                    tracing::warn!(person = %person.name, code = err.code(), "history re-read failed")
                }
            }
        }
        round
    }

    /// A 429: every request of the person waits `Retry-After` (else the default).
    fn held_back(
        &self,
        poll: &super::person::PersonPoll,
        err: &Error,
        now: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        let Error::RateLimited { retry_after } = err else {
            return false;
        };
        poll.hold_back(retry_after.unwrap_or(DEFAULT_RATE_LIMIT_PAUSE), now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot;
    use crate::transactions::example_payment;

    fn live(id: &str, name: &str) -> PersonSnapshot {
        PersonSnapshot {
            id: id.into(),
            name: name.into(),
            state: ConnectionState::Live,
            accounts: vec![snapshot::example_account()],
            ..PersonSnapshot::default()
        }
    }

    /// A full disk, as SQLite reports it (SQLITE_FULL, here from a page limit):
    /// history writes stop with a sentence, nothing panics, and the next write
    /// that fits clears it.
    #[test]
    fn a_full_disk_stops_history_writes_with_a_sentence_and_they_resume() {
        let store = Arc::new(HistoryStore::in_memory().unwrap());
        let keeping = HistoryKeeping::new(Some(store.clone()));
        let dana = PersonSettings::example("p1", "Dana");
        keeping.after_poll(
            std::slice::from_ref(&dana),
            &[live("p1", "Dana")],
            chrono::Utc::now(),
        );
        assert_eq!(keeping.trouble(), None);
        let pages: i64 = store
            .with(|db| db.query_row("PRAGMA page_count", [], |r| r.get(0)))
            .unwrap();
        store
            .with(|db| {
                db.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .unwrap();
        let many: Vec<Transaction> = (0..2_000)
            .map(|n| example_payment(&format!("tx_{n}"), -100, "Shop", &[]).transaction)
            .collect();
        keeping.keep_read("acc_1", &many);
        let said = keeping.trouble().expect("the full disk is said");
        assert!(
            said.contains("disk is full") && said.contains("Balances"),
            "{said}"
        );
        store
            .with(|db| db.query_row("PRAGMA max_page_count = 1000000", [], |r| r.get::<_, i64>(0)))
            .unwrap();
        keeping.keep_read("acc_1", &many[..10]);
        assert_eq!(keeping.trouble(), None, "written again: the sentence goes");
    }

    #[test]
    fn only_the_accounts_of_people_who_keep_history_are_kept() {
        let mut alex = PersonSettings::example("p2", "Alex");
        alex.keep_history = false;
        let dana = PersonSettings::example("p1", "Dana");
        let mut alex_seen = live("p2", "Alex");
        alex_seen.accounts[0].id = "acc_alex".into();
        let kept = kept_accounts(&[dana, alex], &[live("p1", "Dana"), alex_seen]);
        assert!(kept.contains(&snapshot::example_account().id));
        assert!(!kept.contains("acc_alex"));
    }
}
