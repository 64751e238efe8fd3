//! The poll's second output: each account's new transactions, read through the
//! person's session with `GET /transactions?account_id=…&since=…&limit=100&expand[]=merchant`,
//! page after page (a full page of 100 means more: the next page is `since` its
//! last id).
//!
//! - An account is read when its balance or spending today changed since its
//!   transactions were last read, or when it was not read yet this run: a poll where
//!   nothing changed makes no transaction requests. A joint account is read once,
//!   through its first live owner.
//! - The first read of a run reads the last [`WINDOW`] (to fill the "Recent" list),
//!   and what it finds after the last transaction seen is new. With nothing seen
//!   before (the first sign-in), nothing is new: the backlog is never announced.
//! - Later reads ask for what came after the last transaction seen.
//! - Monzo no longer knowing that id: read from its time instead.
//! - More than five minutes after a sign-in Monzo only lets the last 90 days be read
//!   (403 `forbidden.verification_required`): that is "start from now": the window
//!   is read again and nothing in it is announced.
//! - Any other 403: Monzo does not let this account's transactions be read (a loan
//!   or Flex backing account); it is not asked again this run ([`is_unreadable`]).

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use std::collections::{BTreeMap, HashMap};

use futures::future::join_all;
use tokio::sync::broadcast;

use crate::error::{Error, Result};
use crate::money::Money;
use crate::retry::RetryPolicy;
use crate::session::Sessions;
use crate::settings::PersonSettings;
use crate::snapshot::{AccountSnapshot, ConnectionState, PersonSnapshot, Snapshot};
use crate::transactions::seen::{Cursor, SeenTransactions};
use crate::transactions::{AccountTransaction, Transaction, Viewer, RECENT};

/// How far back the first read of a run goes: well within the 90 days Monzo allows
/// after the first five minutes of a sign-in.
pub(crate) const WINDOW: Duration = Duration::days(30);
/// Transactions per page: Monzo's most.
pub(crate) const PAGE: u32 = 100;
/// Pages one read may take, at most (10,000 transactions): a guard, not a limit any
/// household should meet.
const MAX_PAGES: usize = 100;

/// What one read found.
#[derive(Debug, Default)]
pub(crate) struct Read {
    /// Seen for the first time, oldest first.
    pub(crate) new: Vec<Transaction>,
    /// Everything read, oldest first.
    pub(crate) read: Vec<Transaction>,
    /// `read` is the whole recent window (a first read): it replaces the "Recent"
    /// list rather than adding to it.
    pub(crate) window: bool,
}

impl Read {
    /// Where the next read starts: the newest transaction read, else `before`.
    pub(crate) fn cursor(&self, before: Option<Cursor>) -> Option<Cursor> {
        self.read
            .last()
            .map(|t| Cursor {
                id: t.id.clone(),
                created: t.created,
            })
            .or(before)
    }
}

/// How many new transactions can wait for a slow follower before the oldest are
/// dropped for it.
const NEW_TRANSACTIONS_BACKLOG: usize = 1024;

/// Monzo does not let this account's transactions be read: any 403 left once
/// [`read_new`] has dealt with `forbidden.verification_required` (a loan or Flex
/// backing account answers so). Logged here, once for both readers.
pub(crate) fn is_unreadable(err: &Error, account_id: &str) -> bool {
    let unreadable = matches!(err, Error::Api { status: 403, .. });
    if unreadable {
        tracing::info!(account = %account_id, code = err.code(), "Monzo does not let this account's transactions be read");
    }
    unreadable
}

/// An account's balance and spending today: a change means something new to read.
type Figures = (Money, Money);

fn figures(account: &AccountSnapshot) -> Figures {
    (account.balance.clone(), account.spend_today.clone())
}

/// What the engine keeps about an account's transactions during a run.
#[derive(Default)]
struct AccountReading {
    /// The figures when its transactions were last read.
    figures: Option<Figures>,
    /// The last [`RECENT`], oldest first.
    recent: Vec<Transaction>,
    /// Monzo does not let its transactions be read: not asked again this run.
    unreadable: bool,
}

impl AccountReading {
    /// Whether the account is to be read now, its figures being `now`.
    fn due(&self, now: &Figures) -> bool {
        !self.unreadable && self.figures.as_ref() != Some(now)
    }

    /// Not read yet this run.
    fn first_of_run(&self) -> bool {
        self.figures.is_none()
    }

    /// Takes a read made at `figures`: a window replaces the "Recent" list, anything
    /// else is added to it; the last [`RECENT`] are kept.
    fn took(&mut self, figures: Figures, read: &Read) {
        self.figures = Some(figures);
        if read.window {
            self.recent.clear();
        }
        self.recent.extend(read.read.iter().cloned());
        let keep_from = self.recent.len().saturating_sub(RECENT);
        self.recent.drain(..keep_from);
    }
}

/// The accounts live people see, each once: the person whose session reads it
/// (its first live owner in settings order), the account, and everyone who sees it.
pub(super) fn shown_accounts<'a>(
    settings: &'a [PersonSettings],
    people: &'a [PersonSnapshot],
) -> Vec<(&'a PersonSettings, &'a AccountSnapshot, Vec<Viewer>)> {
    let mut shown: Vec<(&PersonSettings, &AccountSnapshot, Vec<Viewer>)> = Vec::new();
    for (person, seen) in settings.iter().zip(people) {
        if seen.state != ConnectionState::Live {
            continue;
        }
        for account in &seen.accounts {
            let viewer = (person.id.clone(), person.name.clone());
            match shown.iter_mut().find(|(_, a, _)| a.id == account.id) {
                Some((_, _, viewers)) => viewers.push(viewer),
                None => shown.push((person, account, vec![viewer])),
            }
        }
    }
    shown
}

/// What [`TransactionReading::read_changed`] found.
#[derive(Default)]
pub(crate) struct Changed {
    /// Every shown account's recent transactions, by account id.
    pub(crate) recent: BTreeMap<String, Vec<Transaction>>,
    /// Everything read, by account id (for history).
    pub(crate) read: Vec<(String, Vec<Transaction>)>,
}

/// The engine's transaction reading during a run: what each account had, and the
/// channel new ones are announced on.
pub(crate) struct TransactionReading {
    accounts: tokio::sync::Mutex<HashMap<String, AccountReading>>,
    announce: broadcast::Sender<AccountTransaction>,
}

impl Default for TransactionReading {
    fn default() -> Self {
        Self {
            accounts: Default::default(),
            announce: broadcast::Sender::new(NEW_TRANSACTIONS_BACKLOG),
        }
    }
}

impl TransactionReading {
    /// Each new transaction, once, from now on (see `Engine::new_transactions`).
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<AccountTransaction> {
        self.announce.subscribe()
    }

    /// Reads the new transactions of every due account of `people` (this poll's
    /// snapshots, in the order of `settings`), announces them, and moves `seen`
    /// on; returns every shown account's recent transactions and everything read.
    pub(crate) async fn read_changed(
        &self,
        sessions: &Sessions,
        retry: &RetryPolicy,
        seen: &SeenTransactions,
        now: DateTime<Utc>,
        settings: &[PersonSettings],
        people: &[PersonSnapshot],
    ) -> Changed {
        let shown = shown_accounts(settings, people);
        let mut accounts = self.accounts.lock().await;
        let due: Vec<_> = shown
            .iter()
            .filter_map(|(reader, account, viewers)| {
                let known = accounts.entry(account.id.clone()).or_default();
                known
                    .due(&figures(account))
                    .then_some((reader, account, viewers, known.first_of_run()))
            })
            .collect();
        let reads = due.into_iter().map(|(reader, account, viewers, first_of_run)| {
            let cursor = seen.get(&account.id);
            async move {
                let read = read_new(
                    sessions,
                    reader,
                    retry,
                    &account.id,
                    cursor.as_ref(),
                    first_of_run,
                    now,
                )
                .await;
                (*account, viewers, cursor, read)
            }
        });
        let mut changed = Changed::default();
        for (account, viewers, cursor, read) in join_all(reads).await {
            let known = accounts.entry(account.id.clone()).or_default();
            match read {
                Ok(read) => {
                    changed.read.push((account.id.clone(), read.read.clone()));
                    known.took(figures(account), &read);
                    // "Seen" means handed to someone who tells the person (the tray,
                    // Home Assistant). A one-shot command (`status`, `transactions`,
                    // `pot`) listens to nobody: it leaves the cursor where it was, so
                    // the next run that listens still hears of what is new.
                    if self.announce.receiver_count() > 0 {
                        if let Some(next) = read.cursor(cursor) {
                            seen.set(&account.id, next);
                        }
                        for transaction in read.new {
                            // A listener gone since the check is no loss: it was leaving.
                            let _ = self.announce.send(AccountTransaction {
                                transaction,
                                account: account.name.clone(),
                                people: viewers.clone(),
                            });
                        }
                    }
                }
                Err(err) if is_unreadable(&err, &account.id) => known.unreadable = true,
                // Read again at the next poll: the figures were not taken.
                Err(err) => {
                    tracing::warn!(account = %account.id, code = err.code(), "could not read new transactions")
                }
            }
        }
        changed.recent = shown
            .iter()
            .map(|(_, account, _)| {
                let recent = accounts
                    .get(&account.id)
                    .map(|k| k.recent.clone())
                    .unwrap_or_default();
                (account.id.clone(), recent)
            })
            .collect();
        changed
    }
}

/// Every transaction since `since` of the accounts `snapshot` shows for live people
/// of `settings`, read once per account, newest first.
pub(crate) async fn read_all_since(
    sessions: &Sessions,
    retry: &RetryPolicy,
    settings: &[PersonSettings],
    snapshot: &Snapshot,
    since: DateTime<Utc>,
) -> Result<Vec<AccountTransaction>> {
    let people: Vec<PersonSnapshot> = settings
        .iter()
        .map(|p| {
            snapshot
                .people
                .iter()
                .find(|s| s.id == p.id)
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let shown = shown_accounts(settings, &people);
    let reads = shown.iter().map(|(reader, account, viewers)| async move {
        let read = read_since(sessions, reader, retry, &account.id, since).await;
        (account, viewers, read)
    });
    let mut all = Vec::new();
    for (account, viewers, read) in join_all(reads).await {
        match read {
            Ok(read) => all.extend(read.into_iter().map(|transaction| AccountTransaction {
                transaction,
                account: account.name.clone(),
                people: viewers.clone(),
            })),
            Err(err) if is_unreadable(&err, &account.id) => {}
            Err(err) => return Err(err),
        }
    }
    all.sort_by_key(|t| std::cmp::Reverse(t.transaction.created));
    Ok(all)
}

pub(super) fn is_verification_required(err: &Error) -> bool {
    matches!(err, Error::Api { status: 403, code, .. } if code == "forbidden.verification_required")
}

fn is_unknown_since(err: &Error) -> bool {
    matches!(
        err,
        Error::Api {
            status: 400 | 404,
            ..
        }
    )
}

/// Reads `account_id`'s new transactions for `person` (see the module's rules).
pub(crate) async fn read_new(
    sessions: &Sessions,
    person: &PersonSettings,
    retry: &RetryPolicy,
    account_id: &str,
    cursor: Option<&Cursor>,
    first_of_run: bool,
    now: DateTime<Utc>,
) -> Result<Read> {
    let window = || async {
        let since = (now - WINDOW).to_rfc3339_opts(SecondsFormat::Secs, true);
        pages(sessions, person, retry, account_id, since).await
    };
    let Some(cursor) = cursor.filter(|_| !first_of_run) else {
        let read = window().await?;
        let new = match cursor {
            Some(cursor) => after(&read, cursor),
            None if first_of_run => Vec::new(),
            // Nothing was seen before (the account had nothing in the window).
            None => read.clone(),
        };
        return Ok(Read {
            new,
            read,
            window: true,
        });
    };
    match pages(sessions, person, retry, account_id, cursor.id.clone()).await {
        Ok(read) => Ok(Read {
            new: read.clone(),
            read,
            window: false,
        }),
        Err(err) if is_unknown_since(&err) => {
            tracing::info!(
                account = account_id,
                "Monzo no longer knows the last transaction seen; reading from its time"
            );
            let since = cursor.created.to_rfc3339_opts(SecondsFormat::Millis, true);
            let read = pages(sessions, person, retry, account_id, since).await?;
            Ok(Read {
                new: after(&read, cursor),
                read,
                window: false,
            })
        }
        Err(err) if is_verification_required(&err) => {
            tracing::info!(
                account = account_id,
                "older transactions need a new sign-in; starting from now"
            );
            let read = window().await?;
            Ok(Read {
                new: Vec::new(),
                read,
                window: true,
            })
        }
        Err(err) => Err(err),
    }
}

/// Every transaction of `account_id` made since `since`, oldest first (within the
/// 90 days Monzo lets be read more than five minutes after a sign-in).
async fn read_since(
    sessions: &Sessions,
    person: &PersonSettings,
    retry: &RetryPolicy,
    account_id: &str,
    since: DateTime<Utc>,
) -> Result<Vec<Transaction>> {
    let since = since.to_rfc3339_opts(SecondsFormat::Secs, true);
    pages(sessions, person, retry, account_id, since).await
}

/// What in `read` comes after `cursor`: after its id where it is there, else
/// everything made after its time.
fn after(read: &[Transaction], cursor: &Cursor) -> Vec<Transaction> {
    match read.iter().position(|t| t.id == cursor.id) {
        Some(at) => read[at + 1..].to_vec(),
        None => read
            .iter()
            .filter(|t| t.created > cursor.created || (t.created == cursor.created && t.id != cursor.id))
            .cloned()
            .collect(),
    }
}

/// One page (up to [`PAGE`], oldest first) of `account_id`'s transactions after
/// `since` (a transaction id or an RFC 3339 time), through `person`'s session.
pub(super) async fn page(
    sessions: &Sessions,
    person: &PersonSettings,
    retry: &RetryPolicy,
    account_id: &str,
    since: &str,
) -> Result<Vec<Transaction>> {
    let api = sessions.api();
    let wire = sessions
        .authorized(person, retry, None, "transactions", |t| async move {
            api.transactions(&t, account_id, since, PAGE).await
        })
        .await?;
    Ok(wire
        .into_iter()
        .map(|w| Transaction::from_wire(account_id, w))
        .collect())
}

/// Every page from `since` on.
pub(super) async fn pages(
    sessions: &Sessions,
    person: &PersonSettings,
    retry: &RetryPolicy,
    account_id: &str,
    mut since: String,
) -> Result<Vec<Transaction>> {
    let mut all = Vec::new();
    for _ in 0..MAX_PAGES {
        let page = page(sessions, person, retry, account_id, &since).await?;
        let full = page.len() >= PAGE as usize;
        all.extend(page);
        match (full, all.last()) {
            (true, Some(last)) => since = last.id.clone(),
            _ => return Ok(all),
        }
    }
    tracing::warn!(
        account = account_id,
        "stopped reading transactions after {MAX_PAGES} pages"
    );
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot;
    use crate::transactions::example_payment;

    fn made(id: &str, minute: i64) -> Transaction {
        let at: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().unwrap();
        Transaction {
            created: at + Duration::minutes(minute),
            ..example_payment(id, -100, "Shop", &[]).transaction
        }
    }

    fn cursor(t: &Transaction) -> Cursor {
        Cursor {
            id: t.id.clone(),
            created: t.created,
        }
    }

    fn ids(list: &[Transaction]) -> Vec<&str> {
        list.iter().map(|t| t.id.as_str()).collect()
    }

    #[test]
    fn after_a_cursor_by_its_id_else_by_its_time() {
        let read = [made("tx_1", 1), made("tx_2", 2), made("tx_3", 3)];
        assert_eq!(ids(&after(&read, &cursor(&read[0]))), ["tx_2", "tx_3"]);
        let gone = Cursor {
            id: "tx_gone".into(),
            created: read[1].created,
        };
        assert_eq!(
            ids(&after(&read, &gone)),
            ["tx_2", "tx_3"],
            "same time, another id: new"
        );
    }

    #[test]
    fn the_next_read_starts_at_the_newest_read() {
        let before = cursor(&made("tx_0", 0));
        let nothing = Read::default();
        assert_eq!(nothing.cursor(Some(before.clone())), Some(before.clone()));
        let some = Read {
            read: vec![made("tx_1", 1), made("tx_2", 2)],
            ..Read::default()
        };
        assert_eq!(some.cursor(Some(before)).map(|c| c.id), Some("tx_2".into()));
    }

    #[test]
    fn an_account_is_read_when_its_figures_change_and_never_once_unreadable() {
        let account = snapshot::example_account();
        let mut reading = AccountReading::default();
        assert!(reading.first_of_run() && reading.due(&figures(&account)));
        reading.took(figures(&account), &Read::default());
        assert!(!reading.first_of_run());
        assert!(!reading.due(&figures(&account)), "nothing changed: no request");
        let spent = AccountSnapshot {
            opened: None,
            balance: Money::from_minor(1, account.balance.currency().clone()),
            ..account.clone()
        };
        assert!(reading.due(&figures(&spent)));
        reading.unreadable = true;
        assert!(!reading.due(&figures(&spent)));
    }

    #[test]
    fn recent_keeps_the_last_few_and_a_window_replaces_it() {
        let account = snapshot::example_account();
        let mut reading = AccountReading::default();
        let batch = |from: i64, n: i64, window: bool| Read {
            read: (from..from + n).map(|i| made(&format!("tx_{i}"), i)).collect(),
            window,
            ..Read::default()
        };
        reading.took(figures(&account), &batch(0, 3, true));
        reading.took(figures(&account), &batch(3, 4, false));
        assert_eq!(ids(&reading.recent), ["tx_2", "tx_3", "tx_4", "tx_5", "tx_6"]);
        reading.took(figures(&account), &batch(10, 1, true));
        assert_eq!(ids(&reading.recent), ["tx_10"]);
    }

    #[test]
    fn a_joint_account_is_read_once_through_its_first_live_owner() {
        let dana = PersonSettings::example("p1", "Dana");
        let alex = PersonSettings::example("p2", "Alex");
        let sam = PersonSettings::example("p3", "Sam");
        let joint = AccountSnapshot {
            opened: None,
            id: "acc_joint".into(),
            ..snapshot::example_account()
        };
        let person = |id: &str, state, accounts: Vec<AccountSnapshot>| PersonSnapshot {
            id: id.into(),
            state,
            accounts,
            ..PersonSnapshot::default()
        };
        let people = [
            person("p1", ConnectionState::Stale, vec![joint.clone()]),
            person(
                "p2",
                ConnectionState::Live,
                vec![snapshot::example_account(), joint.clone()],
            ),
            person("p3", ConnectionState::Live, vec![joint.clone()]),
        ];
        let settings = [dana, alex, sam];
        let listed = shown_accounts(&settings, &people);
        let shown: Vec<(&str, &str, Vec<&str>)> = listed
            .iter()
            .map(|(reader, account, viewers)| {
                let names = viewers.iter().map(|(_, name)| name.as_str()).collect();
                (reader.name.as_str(), account.id.as_str(), names)
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("Alex", "acc_1", vec!["Alex"]),
                ("Alex", "acc_joint", vec!["Alex", "Sam"])
            ]
        );
    }

    #[test]
    fn only_a_403_is_unreadable() {
        let api = |status| Error::Api {
            status,
            code: "forbidden".into(),
            message: "no".into(),
        };
        assert!(is_unreadable(&api(403), "acc_1"));
        assert!(!is_unreadable(&api(404), "acc_1"));
        assert!(!is_unreadable(&Error::Server { status: 503 }, "acc_1"));
    }
}
