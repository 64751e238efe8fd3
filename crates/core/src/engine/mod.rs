//! The poll engine: it reads every balance of every person and publishes them.
//!
//! Each poll fetches every person concurrently; per person, the account list
//! ([`accounts`], cached), then every account's balance and pots concurrently
//! (bounded per person), made into what is shown ([`from_wire`]). Every call goes
//! through the person's session ([`Sessions`]): transient failures retried with
//! backoff, expired tokens refreshed. Each person's result moves them through their
//! state machine ([`person`]); the whole is published as an immutable [`Snapshot`]
//! on a `watch` channel. The poll loop ([`Engine::run`]) polls when [`schedule`]
//! says.
//!
//! The poll's second output is new transactions ([`transactions`]): read per account
//! when its figures changed, each announced once on a broadcast channel.

mod accounts;
mod from_wire;
mod history;
mod person;
mod schedule;
mod transactions;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{join_all, try_join_all};
use tokio::sync::{broadcast, watch, Notify, Semaphore};
use tokio::time::Instant;

use self::accounts::{is_account_gone, Listed};
use self::history::HistoryKeeping;
pub use self::history::{ImportRound, DEFAULT_RATE_LIMIT_PAUSE};
use self::person::{ApprovalChange, Fetched, PersonPoll};
use self::transactions::{read_all_since, TransactionReading};
use crate::account_types::is_hidden_account_type;
use crate::error::{Error, Result};
use crate::household::Household;
use crate::monzo::{MonzoApi, WireAccount};
use crate::retry::RetryPolicy;
use crate::session::Sessions;
use crate::settings::PersonSettings;
use crate::snapshot::{AccountSnapshot, ConnectionState, PersonSnapshot, Snapshot};
use crate::sync::lock;
use crate::transactions::AccountTransaction;

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

/// The request timeout the engine's HTTP client should use: slow replies past it
/// count as network trouble and are retried.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(4);

pub struct Engine {
    household: Arc<Household>,
    sessions: Arc<Sessions>,
    api: MonzoApi,
    config: EngineConfig,
    people: Mutex<HashMap<String, Arc<PersonPoll>>>,
    snapshot: watch::Sender<Snapshot>,
    transactions: TransactionReading,
    history: HistoryKeeping,
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
            transactions: TransactionReading::default(),
            history: HistoryKeeping::default(),
            poll_interval: Mutex::new(None),
            wake: Notify::new(),
            paused: watch::Sender::new(false),
        }
    }

    /// Keeps history in `store` (see [`crate::history`]); without it, none is kept.
    pub fn with_history(mut self, store: Option<Arc<crate::history::HistoryStore>>) -> Self {
        self.history = HistoryKeeping::new(store);
        self
    }

    /// The household's history database, if history is kept.
    pub fn history(&self) -> Option<&Arc<crate::history::HistoryStore>> {
        self.history.store()
    }

    /// What stopped the last history write (a full disk, a failing database), in
    /// words; `None` while history is written.
    pub fn history_trouble(&self) -> Option<String> {
        self.history.trouble()
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

    pub(crate) fn snapshot(&self) -> Snapshot {
        self.snapshot.borrow().clone()
    }

    /// The poll's second output: each new transaction, once (whoever subscribes
    /// after it was announced does not get it). While nobody is subscribed, new
    /// transactions are neither announced nor remembered as seen, so subscribe
    /// before the poll whose transactions are wanted.
    pub fn new_transactions(&self) -> broadcast::Receiver<AccountTransaction> {
        self.transactions.subscribe()
    }

    /// Asks the running loop to poll now ("Refresh now"), account lists included.
    pub fn refresh_now(&self) {
        for poll in lock(&self.people).values() {
            poll.accounts.read_again();
        }
        self.wake.notify_one();
    }

    /// Drops what is held for a person (they were removed).
    pub(crate) fn forget(&self, person_id: &str) {
        lock(&self.people).remove(person_id);
        self.sessions.forget(person_id);
        if let Some(store) = self.history.store() {
            if let Err(err) = store.forget_person(person_id) {
                tracing::warn!(%err, "could not delete a removed person's history");
            }
        }
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
        let changed = self
            .transactions
            .read_changed(
                &self.sessions,
                &self.config.retry,
                self.household.seen_transactions(),
                self.household.clock().now(),
                &settings,
                &people,
            )
            .await;
        let kept = history::kept_accounts(&settings, &people);
        for (account_id, read) in changed.read.iter().filter(|(id, _)| kept.contains(id)) {
            self.history.keep_read(account_id, read);
        }
        let recent = changed.recent;
        self.history
            .after_poll(&settings, &people, self.household.clock().now());
        self.history.polled.notify_one();
        let snapshot = Snapshot { people, recent };
        self.snapshot.send_replace(snapshot.clone());
        snapshot
    }

    /// Polls everyone's balances and pots once, and no transactions: what a one-shot
    /// command (`status`, `pot`) shows. Publishes and returns the snapshot.
    pub async fn poll_balances(&self) -> Snapshot {
        let settings = self.people_to_poll();
        let people = join_all(settings.iter().map(|person| self.poll_person(person))).await;
        self.history
            .after_poll(&settings, &people, self.household.clock().now());
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
        let ((), unsaved) = tokio::join!(self.import_loop(&stop), self.poll_loop(stop.clone()));
        unsaved
    }

    async fn poll_loop(&self, stop: crate::background::Stop) -> Vec<String> {
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
    pub(crate) fn settings_changed(&self, people_changed: bool) {
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
        read_all_since(&self.sessions, &self.config.retry, &settings, snapshot, since).await
    }

    /// Polls every `interval` in this run, whatever the settings say (`None`: as
    /// the settings say).
    pub fn set_poll_interval(&self, interval: Option<Duration>) {
        *lock(&self.poll_interval) = interval;
    }

    /// Pauses polling (the screen is locked) or resumes it with a poll at once.
    pub(crate) fn set_paused(&self, paused: bool) {
        self.paused
            .send_if_modified(|p| std::mem::replace(p, paused) != paused);
    }

    /// How long until the next poll (see [`schedule`]): the poll interval, shorter
    /// while a fresh sign-in waits for the in-app approval.
    pub fn next_poll_in(&self) -> Duration {
        let settings = self.household.settings();
        let interval = lock(&self.poll_interval).unwrap_or_else(|| settings.poll_interval());
        schedule::next_poll_in(
            &settings.people,
            &self.snapshot.borrow(),
            self.household.clock().now(),
            interval,
        )
    }

    async fn poll_person(&self, person: &PersonSettings) -> PersonSnapshot {
        let poll = self.person_poll(&person.id);
        let result = match poll.deferred() {
            Some(wait) => Err(Error::RateLimited {
                retry_after: Some(wait),
            }),
            None => self.fetch_person(person, &poll).await,
        };
        let (snapshot, approval) = poll.settle(person, result, self.household.clock().now());
        match approval {
            ApprovalChange::Unchanged => {}
            ApprovalChange::Approved(at) => self.household.record_approval(&person.id, Some(at)),
            ApprovalChange::Withdrawn => self.household.record_approval(&person.id, None),
        }
        snapshot
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
        let cached = poll.accounts.usable(person.signed_in_at).filter(|_| !fresh);
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
        poll.accounts.keep(listed.clone());
        Ok((listed, true))
    }

    /// Balances and pots of every account on the (possibly cached) account list; if
    /// an account answers as if it were gone, the list is read again once.
    async fn fetch_person(&self, person: &PersonSettings, poll: &PersonPoll) -> Result<Fetched> {
        let limit = Semaphore::new(self.config.per_person_concurrency.max(1));
        let fresh = poll.accounts.take_read_again();
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
        Ok(AccountSnapshot::from_wire(account, balance, pots))
    }
}
