//! The poll engine: it reads every balance of every person and publishes them.
//!
//! Each poll fetches every person concurrently; per person, the account list, then
//! every account's balance and pots concurrently (bounded per person). Every call
//! goes through the person's session ([`Sessions`]): transient failures retried
//! with backoff, expired tokens refreshed. The result is published as an immutable
//! [`Snapshot`] on a `watch` channel.
//!
//! Per person: `signed_out → awaiting_approval → live → stale/error`, with the last
//! known balances kept (and marked stale) when Monzo or the network is in trouble.
//!
//! The poll's second output is new transactions ([`transactions`]): read per account
//! when its figures changed, each announced once on a broadcast channel.

pub mod transactions;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{join_all, try_join_all};
use tokio::sync::{broadcast, watch, Notify, Semaphore};
use tokio::time::Instant;

use self::transactions::read_new;
use crate::account_types::{account_type_name, is_hidden_account_type};
use crate::error::{Error, Result};
use crate::household::Household;
use crate::money::{Currency, Money};
use crate::monzo::{MonzoApi, WireAccount, WireBalance, WirePot};
use crate::retry::RetryPolicy;
use crate::session::Sessions;
use crate::settings::PersonSettings;
use crate::snapshot::{AccountSnapshot, ConnectionState, PersonSnapshot, PotSnapshot, Snapshot};
use crate::sync::lock;
use crate::transactions::{AccountTransaction, Transaction, Viewer, RECENT};

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How each read is retried (and each token refresh).
    pub retry: RetryPolicy,
    /// Requests in flight at once for one person.
    pub per_person_concurrency: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            per_person_concurrency: 6,
        }
    }
}

/// How often to look for the in-app approval right after a sign-in (one request per
/// waiting person: Monzo's rate limits allow it), and for how long.
pub const APPROVAL_POLL_INTERVAL: Duration = Duration::from_secs(10);
pub const APPROVAL_WATCH: Duration = Duration::from_secs(30 * 60);

/// The request timeout the engine's HTTP client should use: slow replies past it
/// count as network trouble and are retried.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(4);

/// How long an account list is used before it is read again. Accounts come and go
/// rarely; balances and pots are read every poll, so a steady poll is one round of
/// requests (one request latency), not two.
pub const ACCOUNT_LIST_MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// What the engine keeps about a person between polls.
#[derive(Default)]
struct PersonPoll {
    last: Mutex<Option<PersonSnapshot>>,
    /// Monzo asked us (Retry-After) not to come back before this.
    not_before: Mutex<Option<Instant>>,
    /// The account list last read.
    accounts: Mutex<Option<Listed>>,
    /// Read the account list again at the next poll ("Refresh now").
    list_again: AtomicBool,
}

/// What the engine keeps about an account's transactions during a run.
#[derive(Default)]
struct AccountTransactions {
    /// Balance and spending today when its transactions were last read: a change
    /// since means there is something new to read.
    figures: Option<(Money, Money)>,
    /// The last few, oldest first.
    recent: Vec<Transaction>,
    /// Monzo does not let its transactions be read (a loan or Flex backing account
    /// answers 403): not asked again this run.
    unreadable: bool,
}

/// How many new transactions can wait for a slow follower before the oldest are
/// dropped for it.
const NEW_TRANSACTIONS_BACKLOG: usize = 1024;

pub struct Engine {
    household: Arc<Household>,
    sessions: Arc<Sessions>,
    api: MonzoApi,
    config: EngineConfig,
    people: Mutex<HashMap<String, Arc<PersonPoll>>>,
    snapshot: watch::Sender<Snapshot>,
    transactions: tokio::sync::Mutex<HashMap<String, AccountTransactions>>,
    new_transactions: broadcast::Sender<AccountTransaction>,
    /// A poll interval for this run only (`headless --interval`), instead of the
    /// settings'.
    poll_interval: Mutex<Option<Duration>>,
    wake: Notify,
    paused: watch::Sender<bool>,
}

impl Engine {
    pub fn new(
        household: Arc<Household>,
        http: reqwest::Client,
        api: MonzoApi,
        config: EngineConfig,
    ) -> Self {
        let sessions = Arc::new(Sessions::new(household.clone(), http, api.clone(), config.retry));
        Self {
            household,
            sessions,
            api,
            config,
            people: Mutex::new(HashMap::new()),
            snapshot: watch::Sender::new(Snapshot::default()),
            transactions: tokio::sync::Mutex::new(HashMap::new()),
            new_transactions: broadcast::Sender::new(NEW_TRANSACTIONS_BACKLOG),
            poll_interval: Mutex::new(None),
            wake: Notify::new(),
            paused: watch::Sender::new(false),
        }
    }

    pub fn household(&self) -> &Arc<Household> {
        &self.household
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The people's sessions: signed-in calls for whatever else calls Monzo.
    pub fn sessions(&self) -> &Arc<Sessions> {
        &self.sessions
    }

    /// Everyone who wants to see balances subscribes here.
    pub fn subscribe(&self) -> watch::Receiver<Snapshot> {
        self.snapshot.subscribe()
    }

    pub fn snapshot(&self) -> Snapshot {
        self.snapshot.borrow().clone()
    }

    /// The poll's second output: each new transaction, once (whoever subscribes
    /// after it was announced does not get it). While nobody is subscribed, new
    /// transactions are neither announced nor remembered as seen, so subscribe
    /// before the poll whose transactions are wanted.
    pub fn new_transactions(&self) -> broadcast::Receiver<AccountTransaction> {
        self.new_transactions.subscribe()
    }

    /// Asks the running loop to poll now ("Refresh now"), account lists included.
    pub fn refresh_now(&self) {
        for poll in lock(&self.people).values() {
            poll.list_again.store(true, Ordering::Relaxed);
        }
        self.wake.notify_one();
    }

    /// Drops what is held for a person (they were removed).
    pub fn forget(&self, person_id: &str) {
        lock(&self.people).remove(person_id);
        self.sessions.forget(person_id);
    }

    fn person_poll(&self, person_id: &str) -> Arc<PersonPoll> {
        lock(&self.people)
            .entry(person_id.to_owned())
            .or_default()
            .clone()
    }

    /// Polls everyone once: balances and pots, then the new transactions of accounts
    /// whose figures changed. Publishes and returns the snapshot; announces each new
    /// transaction.
    pub async fn poll_once(&self) -> Snapshot {
        let settings = self.people_to_poll();
        let people = join_all(settings.iter().map(|person| self.poll_person(person))).await;
        let recent = self.read_transactions(&settings, &people).await;
        let snapshot = Snapshot { people, recent };
        self.snapshot.send_replace(snapshot.clone());
        snapshot
    }

    /// Polls everyone's balances and pots once, and no transactions: what a one-shot
    /// command (`status`, `pot`) shows. Publishes and returns the snapshot.
    pub async fn poll_balances(&self) -> Snapshot {
        let settings = self.people_to_poll();
        let people = join_all(settings.iter().map(|person| self.poll_person(person))).await;
        let snapshot = Snapshot {
            people,
            recent: Default::default(),
        };
        self.snapshot.send_replace(snapshot.clone());
        snapshot
    }

    /// The people in the settings as they are now: another process of the household
    /// may have added, removed or signed in someone since the last poll. What is
    /// held for people no longer there is dropped.
    fn people_to_poll(&self) -> Vec<PersonSettings> {
        if let Err(err) = self.household.reload_if_changed() {
            tracing::warn!(%err, "could not read the settings again; polling the people known");
        }
        let people = self.household.settings().people;
        let gone: Vec<String> = lock(&self.people)
            .keys()
            .filter(|id| !people.iter().any(|p| &p.id == *id))
            .cloned()
            .collect();
        for id in gone {
            self.forget(&id);
        }
        people
    }

    /// Reads new transactions, once per account (a joint account through its first
    /// live owner), for each account whose balance or spending today changed since its
    /// transactions were last read, or that was not read yet this run. A poll where
    /// nothing changed makes no transaction requests. Returns every shown account's
    /// recent transactions.
    async fn read_transactions(
        &self,
        settings: &[PersonSettings],
        people: &[PersonSnapshot],
    ) -> std::collections::BTreeMap<String, Vec<Transaction>> {
        let shown = shown_accounts(settings, people);
        let mut state = self.transactions.lock().await;
        let figures = |a: &AccountSnapshot| (a.balance.clone(), a.spend_today.clone());
        let now = self.household.clock().now();
        let seen = self.household.seen_transactions();
        let due: Vec<_> = shown
            .iter()
            .filter_map(|(reader, account, viewers)| {
                let known = state.entry(account.id.clone()).or_default();
                let changed = !known.unreadable && known.figures.as_ref() != Some(&figures(account));
                changed.then_some((reader, account, viewers, known.figures.is_none()))
            })
            .collect();
        let reads = due.into_iter().map(|(reader, account, viewers, first_of_run)| {
            let cursor = seen.get(&account.id);
            async move {
                let read = read_new(
                    &self.sessions,
                    reader,
                    &self.config.retry,
                    &account.id,
                    cursor.as_ref(),
                    first_of_run,
                    now,
                )
                .await;
                (*account, viewers, cursor, read)
            }
        });
        for (account, viewers, cursor, read) in join_all(reads).await {
            let known = state.entry(account.id.clone()).or_default();
            match read {
                Ok(read) => {
                    known.figures = Some(figures(account));
                    if read.window {
                        known.recent.clear();
                    }
                    known.recent.extend(read.read.iter().cloned());
                    let keep_from = known.recent.len().saturating_sub(RECENT);
                    known.recent.drain(..keep_from);
                    // "Seen" means handed to someone who tells the person (the tray,
                    // Home Assistant). A one-shot command (`status`, `transactions`,
                    // `pot`) listens to nobody: it leaves the cursor where it was, so
                    // the next run that listens still hears of what is new.
                    if self.new_transactions.receiver_count() > 0 {
                        if let Some(next) = read.cursor(cursor) {
                            seen.set(&account.id, next);
                        }
                        for transaction in read.new {
                            // A listener gone since the check is no loss: it was leaving.
                            let _ = self.new_transactions.send(AccountTransaction {
                                transaction,
                                account: account.name.clone(),
                                people: viewers.clone(),
                            });
                        }
                    }
                }
                Err(err @ Error::Api { status: 403, .. }) => {
                    tracing::info!(account = %account.id, code = err.code(), "Monzo does not let this account's transactions be read");
                    known.unreadable = true;
                }
                // Read again at the next poll: the figures were not taken.
                Err(err) => {
                    tracing::warn!(account = %account.id, code = err.code(), "could not read new transactions")
                }
            }
        }
        shown
            .iter()
            .map(|(_, account, _)| {
                let recent = state
                    .get(&account.id)
                    .map(|k| k.recent.clone())
                    .unwrap_or_default();
                (account.id.clone(), recent)
            })
            .collect()
    }

    /// Polls until `stop` is cancelled ([`crate::background::Stop`]): every poll interval, when woken ("Refresh
    /// now"), and more often while a fresh sign-in waits for the in-app approval.
    /// While paused (screen locked) it does not poll; resuming polls at once. A poll
    /// under way when the stop comes is given up (reads lose nothing), except a
    /// token refresh, which runs to its end as a task of its own (see
    /// `Sessions::refreshed_token`): what the sessions hold unsaved is then saved,
    /// waiting for it. So stopping takes at most a refresh and two keyring writes.
    /// Returns the names of people whose rotated tokens could not be stored (the
    /// keyring was away): they must sign in again.
    pub async fn run(&self, stop: crate::background::Stop) -> Vec<String> {
        let mut paused = self.paused.subscribe();
        while !stop.is_cancelled() {
            if !*paused.borrow_and_update() {
                let snapshot = tokio::select! {
                    snapshot = self.poll_once() => snapshot,
                    () = stop.cancelled() => {
                        tracing::info!("stopping: the poll under way is given up");
                        break;
                    }
                };
                let live = snapshot
                    .people
                    .iter()
                    .filter(|p| p.state == ConnectionState::Live)
                    .count();
                tracing::info!(people = snapshot.people.len(), live, "poll finished");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.next_poll_in()) => {}
                _ = self.wake.notified() => {}
                _ = paused.changed() => {}
                () = stop.cancelled() => {}
            }
        }
        self.sessions.save_unsaved().await
    }

    /// Tells the engine the settings changed in another process (or by hand): a
    /// poll at once when the people changed, else the last snapshot published again,
    /// so that whoever shows it (the tray, Home Assistant) follows the new settings.
    pub fn settings_changed(&self, people_changed: bool) {
        if people_changed {
            self.wake.notify_one();
        } else {
            self.snapshot.send_modify(|_| {});
        }
    }

    /// Every transaction since `since` of the accounts `snapshot` shows for live
    /// people, read once per account (a joint account through its first live owner),
    /// newest first. What `monzo-tray transactions` lists.
    pub async fn transactions_since(
        &self,
        snapshot: &Snapshot,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<AccountTransaction>> {
        let settings = self.household.settings().people;
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
        let shown = shown_accounts(&settings, &people);
        let reads = shown.iter().map(|(reader, account, viewers)| async move {
            let read =
                transactions::read_since(&self.sessions, reader, &self.config.retry, &account.id, since)
                    .await;
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
                Err(err @ Error::Api { status: 403, .. }) => {
                    tracing::info!(account = %account.id, code = err.code(), "Monzo does not let this account's transactions be read");
                }
                Err(err) => return Err(err),
            }
        }
        all.sort_by_key(|t| std::cmp::Reverse(t.transaction.created));
        Ok(all)
    }

    /// Polls every `interval` in this run, whatever the settings say (`None`: as
    /// the settings say).
    pub fn set_poll_interval(&self, interval: Option<Duration>) {
        *lock(&self.poll_interval) = interval;
    }

    /// Pauses polling (the screen is locked) or resumes it with a poll at once.
    pub fn set_paused(&self, paused: bool) {
        self.paused
            .send_if_modified(|p| std::mem::replace(p, paused) != paused);
    }

    /// How long until the next poll: the poll interval, or `APPROVAL_POLL_INTERVAL`
    /// while someone who signed in within `APPROVAL_WATCH` waits for the in-app
    /// approval, so it is seen quickly.
    pub fn next_poll_in(&self) -> Duration {
        let settings = self.household.settings();
        let snapshot = self.snapshot.borrow();
        let now = self.household.clock().now();
        let watch = chrono::Duration::from_std(APPROVAL_WATCH).unwrap_or_default();
        let watching = settings.people.iter().any(|person| {
            let recent = person.signed_in_at.is_some_and(|at| now - at < watch);
            let waiting = snapshot
                .people
                .iter()
                .any(|p| p.id == person.id && p.state == ConnectionState::AwaitingApproval);
            recent && waiting
        });
        let interval = lock(&self.poll_interval).unwrap_or_else(|| settings.poll_interval());
        if watching {
            APPROVAL_POLL_INTERVAL.min(interval)
        } else {
            interval
        }
    }

    async fn poll_person(&self, person: &PersonSettings) -> PersonSnapshot {
        let poll = self.person_poll(&person.id);
        let previous = lock(&poll.last).clone();
        let deferred = lock(&poll.not_before).filter(|t| Instant::now() < *t);
        let result = match deferred {
            Some(until) => Err(Error::RateLimited {
                retry_after: Some(until - Instant::now()),
            }),
            None => self.fetch_person(person, &poll).await,
        };
        let snapshot = self.person_snapshot(person, previous, result, &poll);
        *lock(&poll.last) = Some(snapshot.clone());
        snapshot
    }

    fn person_snapshot(
        &self,
        person: &PersonSettings,
        previous: Option<PersonSnapshot>,
        result: Result<Fetched>,
        poll: &PersonPoll,
    ) -> PersonSnapshot {
        let now = self.household.clock().now();
        let mut approved = person.clone();
        let snapshot = match result {
            Ok(Fetched {
                accounts,
                closed_or_deleted,
                listed_at,
            }) => {
                if approved.approved_at.is_none() {
                    // First data since the in-app approval: Monzo's 90 days start now.
                    approved.approved_at = Some(now);
                    self.household.record_approval(&person.id, approved.approved_at);
                }
                PersonSnapshot {
                    state: ConnectionState::Live,
                    updated_at: Some(now),
                    accounts,
                    closed_or_deleted,
                    accounts_listed_at: Some(listed_at),
                    ..PersonSnapshot::default()
                }
            }
            Err(err) => {
                let state = match &err {
                    Error::NeedsApproval => {
                        if approved.approved_at.take().is_some() {
                            self.household.record_approval(&person.id, None);
                        }
                        ConnectionState::AwaitingApproval
                    }
                    Error::SignInRequired { .. }
                    | Error::TokenExpired
                    | Error::TokenRejected(_)
                    | Error::SecretMissing { .. }
                    | Error::BadClientCredentials => ConnectionState::SignedOut,
                    Error::RateLimited {
                        retry_after: Some(wait),
                    } => {
                        *lock(&poll.not_before) = Some(Instant::now() + *wait);
                        ConnectionState::Stale
                    }
                    e if e.is_transient() => ConnectionState::Stale,
                    _ => ConnectionState::Error,
                };
                tracing::info!(person = %person.name, state = state.as_str(), code = err.code(), "person not live");
                let previous = previous.unwrap_or_default();
                PersonSnapshot {
                    state,
                    error: Some(err.to_string()),
                    updated_at: previous.updated_at,
                    accounts: previous.accounts,
                    accounts_listed_at: previous.accounts_listed_at,
                    ..PersonSnapshot::default()
                }
            }
        };
        PersonSnapshot {
            id: person.id.clone(),
            name: person.name.clone(),
            approval_due_at: approved.approval_due_at(),
            ..snapshot
        }
    }

    /// The person's account list: the one read at most `ACCOUNT_LIST_MAX_AGE` ago,
    /// else a new one (also after a sign-in, on "Refresh now", and when asked to).
    /// Says whether it was read just now.
    async fn account_list(
        &self,
        person: &PersonSettings,
        poll: &PersonPoll,
        limit: &Semaphore,
        fresh: bool,
    ) -> Result<(Listed, bool)> {
        let cached = lock(&poll.accounts).clone().filter(|listed| {
            !fresh
                && listed.read.elapsed() < ACCOUNT_LIST_MAX_AGE
                && listed.signed_in_at == person.signed_in_at
        });
        if let Some(listed) = cached {
            return Ok((listed, false));
        }
        let api = &self.api;
        let accounts = self
            .sessions
            .authorized(
                person,
                &self.config.retry,
                Some(limit),
                "accounts",
                |t| async move { api.accounts(&t).await },
            )
            .await?;
        let listed = Listed {
            accounts,
            read: Instant::now(),
            at: self.household.clock().now(),
            signed_in_at: person.signed_in_at,
        };
        *lock(&poll.accounts) = Some(listed.clone());
        Ok((listed, true))
    }

    /// Balances and pots of every account on the (possibly cached) account list; if
    /// an account answers as if it were gone, the list is read again once.
    async fn fetch_person(&self, person: &PersonSettings, poll: &PersonPoll) -> Result<Fetched> {
        let limit = Semaphore::new(self.config.per_person_concurrency.max(1));
        let fresh = poll.list_again.swap(false, Ordering::Relaxed);
        let (listed, read_now) = self.account_list(person, poll, &limit, fresh).await?;
        match self.fetch_accounts(person, &limit, &listed).await {
            Err(err) if !read_now && is_account_gone(&err) => {
                tracing::info!(person = %person.name, code = err.code(), "an account answered as if gone; reading the account list again");
                let (listed, _) = self.account_list(person, poll, &limit, true).await?;
                self.fetch_accounts(person, &limit, &listed).await
            }
            other => other,
        }
    }

    async fn fetch_accounts(
        &self,
        person: &PersonSettings,
        limit: &Semaphore,
        listed: &Listed,
    ) -> Result<Fetched> {
        let mut closed_or_deleted: Vec<String> = listed
            .accounts
            .iter()
            .filter(|a| a.closed)
            .map(|a| a.id.clone())
            .collect();
        let shown: Vec<&WireAccount> = listed
            .accounts
            .iter()
            .filter(|a| !a.closed && !is_hidden_account_type(&a.account_type))
            .collect();
        let fetches = shown
            .iter()
            .map(|account| self.fetch_account(person, limit, account));
        let mut accounts = Vec::with_capacity(shown.len());
        for (account, deleted_pots) in try_join_all(fetches).await? {
            accounts.push(account);
            closed_or_deleted.extend(deleted_pots);
        }
        Ok(Fetched {
            accounts,
            closed_or_deleted,
            listed_at: listed.at,
        })
    }

    async fn fetch_account(
        &self,
        person: &PersonSettings,
        limit: &Semaphore,
        account: &WireAccount,
    ) -> Result<(AccountSnapshot, Vec<String>)> {
        let (api, retry, id) = (&self.api, &self.config.retry, account.id.as_str());
        let (balance, pots) = tokio::try_join!(
            self.sessions
                .authorized(person, retry, Some(limit), "balance", |t| async move {
                    api.balance(&t, id).await
                }),
            self.sessions
                .authorized(person, retry, Some(limit), "pots", |t| async move {
                    api.pots(&t, id).await
                }),
        )?;
        Ok(account_snapshot(account, balance, pots))
    }
}

/// The accounts live people see, each once: the person whose session reads it
/// (its first live owner in settings order), the account, and everyone who sees it.
fn shown_accounts<'a>(
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

/// One poll's findings for a person.
struct Fetched {
    accounts: Vec<AccountSnapshot>,
    closed_or_deleted: Vec<String>,
    /// When the account list they come from was read.
    listed_at: chrono::DateTime<chrono::Utc>,
}

/// A person's account list as read, kept for `ACCOUNT_LIST_MAX_AGE`.
#[derive(Clone)]
struct Listed {
    accounts: Vec<WireAccount>,
    read: Instant,
    at: chrono::DateTime<chrono::Utc>,
    /// The sign-in it was read with: a new sign-in reads the list again.
    signed_in_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// An account call answering as if the account were gone: not found, or no longer
/// this person's (403 other than the in-app approval).
fn is_account_gone(err: &Error) -> bool {
    matches!(
        err,
        Error::Api {
            status: 403 | 404,
            ..
        }
    )
}

/// The account as shown, and the ids of its pots Monzo lists as deleted.
fn account_snapshot(
    account: &WireAccount,
    balance: WireBalance,
    pots: Vec<WirePot>,
) -> (AccountSnapshot, Vec<String>) {
    let currency = Currency::from_code(&balance.currency);
    let (deleted, live): (Vec<WirePot>, Vec<WirePot>) = pots.into_iter().partition(|p| p.deleted);
    let total_minor = balance.total_balance.unwrap_or_else(|| {
        // Replies without total_balance: add the pots held in the same currency.
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
    let account = AccountSnapshot {
        id: account.id.clone(),
        name: account_type_name(&account.account_type),
        account_type: account.account_type.clone(),
        currency: currency.code().to_owned(),
        balance: Money::from_minor(balance.balance, currency.clone()),
        total_balance: Money::from_minor(total_minor, currency.clone()),
        spend_today: Money::from_minor(balance.spend_today, currency),
        pots,
    };
    (account, deleted.into_iter().map(|p| p.id).collect())
}
