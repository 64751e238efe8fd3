//! The poll engine: the only code that talks to Monzo's data API.
//!
//! Each poll fetches every person concurrently; per person, the account list, then
//! every account's balance and pots concurrently (bounded per person). Each request
//! is retried with backoff on transient failures; an expired token is refreshed once
//! and the request retried. Refreshes are serialised per person, and the rotated
//! tokens are written to the keyring before they are used (Monzo invalidates the old
//! ones at once). The result is published as an immutable [`Snapshot`].
//!
//! Per person: `signed_out → awaiting_approval → live → stale/error`, with the last
//! known balances kept (and marked stale) when Monzo or the network is in trouble.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use futures::future::try_join_all;
use oauth2::{AccessToken, ClientSecret, RefreshToken};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::time::Instant;

use crate::account_types::{account_type_name, is_hidden_account_type};
use crate::error::{Error, Result};
use crate::household::Household;
use crate::money::{Currency, Money};
use crate::monzo::{MonzoApi, WireAccount, WireBalance, WirePot};
use crate::oauth::{self, ClientCredentials};
use crate::retry::RetryPolicy;
use crate::secrets::SecretKind;
use crate::settings::PersonSettings;
use crate::snapshot::{AccountSnapshot, ConnectionState, PersonSnapshot, PotSnapshot, Snapshot};

#[derive(Debug, Clone)]
pub struct EngineConfig {
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
const MAX_REFRESHES_PER_CALL: u32 = 3;

/// How often to look for the in-app approval right after a sign-in (one request per
/// waiting person: Monzo's rate limits allow it), and for how long.
pub const APPROVAL_POLL_INTERVAL: Duration = Duration::from_secs(10);
pub const APPROVAL_WATCH: Duration = Duration::from_secs(30 * 60);

pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(4);

/// Tokens of one person as known in memory.
#[derive(Default)]
struct TokenCache {
    access: Option<AccessToken>,
    refresh: Option<RefreshToken>,
    client_secret: Option<ClientSecret>,
    /// A refresh token Monzo refused: not tried again until a new sign-in stores
    /// another one.
    dead_refresh: Option<String>,
    /// Rotated tokens that could not be written to the keyring yet.
    unsaved: bool,
    /// The sign-in these tokens came from (`PersonSettings::signed_in_at`): a newer
    /// sign-in put new tokens in the keyring, and these are dead.
    signed_in_at: Option<chrono::DateTime<Utc>>,
}

#[derive(Default)]
struct PersonRuntime {
    tokens: tokio::sync::Mutex<TokenCache>,
    last: Mutex<Option<PersonSnapshot>>,
    /// Monzo asked us (Retry-After) not to come back before this.
    not_before: Mutex<Option<Instant>>,
}

pub struct Engine {
    household: Arc<Household>,
    api: MonzoApi,
    http: reqwest::Client,
    config: EngineConfig,
    people: Mutex<HashMap<String, Arc<PersonRuntime>>>,
    snapshot: watch::Sender<Snapshot>,
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
        let (snapshot, _) = watch::channel(Snapshot::default());
        Self {
            household,
            api,
            http,
            config,
            people: Mutex::new(HashMap::new()),
            snapshot,
            wake: Notify::new(),
            paused: watch::Sender::new(false),
        }
    }

    pub fn household(&self) -> &Arc<Household> {
        &self.household
    }

    /// Everyone who wants to see balances subscribes here.
    pub fn subscribe(&self) -> watch::Receiver<Snapshot> {
        self.snapshot.subscribe()
    }

    pub fn snapshot(&self) -> Snapshot {
        self.snapshot.borrow().clone()
    }

    /// Asks the running loop to poll now ("Refresh now").
    pub fn refresh_now(&self) {
        self.wake.notify_one();
    }

    /// Drops what is cached for a person (after they signed in again or were removed).
    pub fn forget(&self, person_id: &str) {
        self.people
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(person_id);
    }

    fn runtime(&self, person_id: &str) -> Arc<PersonRuntime> {
        self.people
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(person_id.to_owned())
            .or_default()
            .clone()
    }

    /// Polls everyone once, publishes and returns the snapshot.
    pub async fn poll_once(&self) -> Snapshot {
        let people = self.household.settings().people;
        let polls = people.iter().map(|person| self.poll_person(person));
        let people = futures::future::join_all(polls).await;
        let snapshot = Snapshot { people };
        self.snapshot.send_replace(snapshot.clone());
        snapshot
    }

    /// Polls until `shutdown` turns true: every poll interval, when woken ("Refresh
    /// now"), and more often while a fresh sign-in waits for the in-app approval.
    /// While paused (screen locked) it does not poll; resuming polls at once.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        let mut paused = self.paused.subscribe();
        loop {
            if !*paused.borrow_and_update() {
                let snapshot = self.poll_once().await;
                let live = snapshot
                    .people
                    .iter()
                    .filter(|p| p.state == ConnectionState::Live)
                    .count();
                tracing::info!(people = snapshot.people.len(), live, "poll finished");
            }
            let interval = self.next_interval();
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = self.wake.notified() => {}
                _ = paused.changed() => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
        }
    }

    /// Pauses polling (the screen is locked) or resumes it with a poll at once.
    pub fn set_paused(&self, paused: bool) {
        self.paused
            .send_if_modified(|p| std::mem::replace(p, paused) != paused);
    }

    /// The poll interval, or `APPROVAL_POLL_INTERVAL` while someone who signed in
    /// within `APPROVAL_WATCH` waits for the in-app approval, so it is seen quickly.
    fn next_interval(&self) -> Duration {
        let settings = self.household.settings();
        let snapshot = self.snapshot.borrow();
        let now = Utc::now();
        let watching = settings.people.iter().any(|person| {
            let recent = person
                .signed_in_at
                .is_some_and(|at| now - at < chrono::Duration::from_std(APPROVAL_WATCH).unwrap_or_default());
            let waiting = snapshot
                .people
                .iter()
                .any(|p| p.id == person.id && p.state == ConnectionState::AwaitingApproval);
            recent && waiting
        });
        if watching {
            APPROVAL_POLL_INTERVAL.min(settings.poll_interval())
        } else {
            settings.poll_interval()
        }
    }

    async fn poll_person(&self, person: &PersonSettings) -> PersonSnapshot {
        let runtime = self.runtime(&person.id);
        let previous = runtime.last.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let deferred = runtime
            .not_before
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .filter(|t| Instant::now() < *t);
        let result = match deferred {
            Some(until) => Err(Error::RateLimited {
                retry_after: Some(until - Instant::now()),
            }),
            None => self.fetch_person(person, &runtime).await,
        };
        let snapshot = self.person_snapshot(person, previous, result, &runtime);
        *runtime.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(snapshot.clone());
        snapshot
    }

    fn person_snapshot(
        &self,
        person: &PersonSettings,
        previous: Option<PersonSnapshot>,
        result: Result<Fetched>,
        runtime: &PersonRuntime,
    ) -> PersonSnapshot {
        let (last_accounts, last_updated) = previous.map(|p| (p.accounts, p.updated_at)).unwrap_or_default();
        let mut approved_at = person.approved_at;
        let snapshot = match result {
            Ok(Fetched {
                accounts,
                closed_or_deleted,
            }) => {
                if approved_at.is_none() {
                    // First data since the in-app approval: Monzo's 90 days start now.
                    approved_at = Some(Utc::now());
                    self.record_approval(&person.id, approved_at);
                }
                PersonSnapshot {
                    id: person.id.clone(),
                    name: person.name.clone(),
                    state: ConnectionState::Live,
                    error: None,
                    updated_at: Some(Utc::now()),
                    approval_due_at: None,
                    accounts,
                    closed_or_deleted,
                }
            }
            Err(err) => {
                let state = match &err {
                    Error::NeedsApproval => {
                        if approved_at.is_some() {
                            approved_at = None;
                            self.record_approval(&person.id, None);
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
                        *runtime.not_before.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(Instant::now() + *wait);
                        ConnectionState::Stale
                    }
                    e if e.is_transient() => ConnectionState::Stale,
                    _ => ConnectionState::Error,
                };
                tracing::info!(person = %person.name, state = state.as_str(), code = err.code(), "person not live");
                PersonSnapshot {
                    id: person.id.clone(),
                    name: person.name.clone(),
                    state,
                    error: Some(err.to_string()),
                    updated_at: last_updated,
                    approval_due_at: None,
                    accounts: last_accounts,
                    closed_or_deleted: Vec::new(),
                }
            }
        };
        PersonSnapshot {
            approval_due_at: approved_at
                .map(|t| t + chrono::Duration::days(crate::settings::APPROVAL_LIFETIME_DAYS)),
            ..snapshot
        }
    }

    fn record_approval(&self, person_id: &str, approved_at: Option<chrono::DateTime<Utc>>) {
        let saved = self.household.update(|s| {
            if let Some(p) = s.person_by_id_mut(person_id) {
                p.approved_at = approved_at;
            }
        });
        if let Err(err) = saved {
            tracing::warn!(%err, "could not record the in-app approval time");
        }
    }

    async fn fetch_person(&self, person: &PersonSettings, runtime: &PersonRuntime) -> Result<Fetched> {
        let limit = Semaphore::new(self.config.per_person_concurrency.max(1));
        let api = &self.api;
        let accounts = self
            .authorized(person, runtime, &limit, "accounts", |t| async move {
                api.accounts(&t).await
            })
            .await?;
        let mut closed_or_deleted: Vec<String> = accounts
            .iter()
            .filter(|a| a.closed)
            .map(|a| a.id.clone())
            .collect();
        let shown: Vec<WireAccount> = accounts
            .into_iter()
            .filter(|a| !a.closed && !is_hidden_account_type(&a.account_type))
            .collect();
        let fetches = shown
            .iter()
            .map(|account| self.fetch_account(person, runtime, &limit, account));
        let mut accounts = Vec::with_capacity(shown.len());
        for (account, deleted_pots) in try_join_all(fetches).await? {
            accounts.push(account);
            closed_or_deleted.extend(deleted_pots);
        }
        Ok(Fetched {
            accounts,
            closed_or_deleted,
        })
    }

    async fn fetch_account(
        &self,
        person: &PersonSettings,
        runtime: &PersonRuntime,
        limit: &Semaphore,
        account: &WireAccount,
    ) -> Result<(AccountSnapshot, Vec<String>)> {
        let api = &self.api;
        let id = account.id.as_str();
        let (balance, pots) = tokio::try_join!(
            self.authorized(person, runtime, limit, "balance", |t| async move {
                api.balance(&t, id).await
            }),
            self.authorized(person, runtime, limit, "pots", |t| async move {
                api.pots(&t, id).await
            }),
        )?;
        Ok(account_snapshot(account, balance, pots))
    }

    /// Runs one API call with the person's token: transient failures retried with
    /// backoff; an expired or refused token refreshed once, then the call retried.
    async fn authorized<T, F, Fut>(
        &self,
        person: &PersonSettings,
        runtime: &PersonRuntime,
        limit: &Semaphore,
        what: &str,
        call: F,
    ) -> Result<T>
    where
        F: Fn(AccessToken) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let attempt = |token: AccessToken| {
            let call = &call;
            self.config.retry.run(what, move || {
                let token = token.clone();
                async move {
                    // The semaphore is never closed, so acquiring only waits.
                    let _permit = limit
                        .acquire()
                        .await
                        .map_err(|_| Error::Network("shutting down".into()))?;
                    call(token).await
                }
            })
        };
        let mut token = self.access_token(person, runtime).await?;
        let mut refreshes = 0;
        loop {
            match attempt(token.clone()).await {
                // A token that expires again right after a refresh is Monzo (or the
                // network) misbehaving, not the sign-in ending: refresh a few times.
                Err(Error::TokenExpired | Error::TokenRejected(_)) if refreshes < MAX_REFRESHES_PER_CALL => {
                    refreshes += 1;
                    token = self.refreshed_token(person, runtime, &token).await?;
                }
                Err(Error::TokenExpired | Error::TokenRejected(_)) => {
                    return Err(Error::SignInRequired {
                        person: person.name.clone(),
                    })
                }
                other => return other,
            }
        }
    }

    /// The person's access token, from memory or the keyring.
    async fn access_token(&self, person: &PersonSettings, runtime: &PersonRuntime) -> Result<AccessToken> {
        let mut cache = runtime.tokens.lock().await;
        if cache.signed_in_at != person.signed_in_at {
            *cache = TokenCache {
                signed_in_at: person.signed_in_at,
                ..TokenCache::default()
            };
        }
        self.save_unsaved(person, &mut cache).await;
        if let Some(access) = &cache.access {
            return Ok(access.clone());
        }
        let secrets = self.household.secrets();
        let missing = |kind: SecretKind| Error::SecretMissing {
            person: person.name.clone(),
            kind: kind.label(),
        };
        let refresh = secrets
            .get(&person.id, SecretKind::RefreshToken)
            .await?
            .ok_or_else(|| missing(SecretKind::RefreshToken))?;
        if cache.dead_refresh.as_deref() == Some(refresh.as_str()) {
            return Err(Error::SignInRequired {
                person: person.name.clone(),
            });
        }
        let client_secret = secrets
            .get(&person.id, SecretKind::ClientSecret)
            .await?
            .ok_or_else(|| missing(SecretKind::ClientSecret))?;
        let access = secrets.get(&person.id, SecretKind::AccessToken).await?;
        cache.refresh = Some(RefreshToken::new(refresh));
        cache.client_secret = Some(ClientSecret::new(client_secret));
        cache.dead_refresh = None;
        match access {
            Some(access) => {
                let access = AccessToken::new(access);
                cache.access = Some(access.clone());
                Ok(access)
            }
            None => {
                drop(cache);
                self.refreshed_token(person, runtime, &AccessToken::new(String::new()))
                    .await
            }
        }
    }

    /// Refreshes the person's tokens unless someone else already replaced `stale`.
    async fn refreshed_token(
        &self,
        person: &PersonSettings,
        runtime: &PersonRuntime,
        stale: &AccessToken,
    ) -> Result<AccessToken> {
        let mut cache = runtime.tokens.lock().await;
        if let Some(current) = &cache.access {
            if current.secret() != stale.secret() {
                return Ok(current.clone());
            }
        }
        let ended = || Error::SignInRequired {
            person: person.name.clone(),
        };
        let refresh = cache.refresh.clone().ok_or_else(ended)?;
        let creds = ClientCredentials {
            client_id: person.client_id.clone(),
            client_secret: cache.client_secret.clone().ok_or_else(ended)?,
            redirect_uri: person.redirect_uri.clone(),
        };
        let endpoints = self.api.endpoints();
        let result = self
            .config
            .retry
            .run("refresh", || {
                // Each try owns its inputs (clones of Arc-backed handles), which keeps
                // the retry future `Send` for spawned tasks.
                let (http, endpoints, creds) = (self.http.clone(), endpoints.clone(), creds.clone());
                let (refresh, name) = (refresh.clone(), person.name.clone());
                async move { oauth::refresh(&http, &endpoints, &creds, &refresh, &name).await }
            })
            .await;
        match result {
            Ok(tokens) => {
                tracing::info!(person = %person.name, "access token refreshed");
                cache.access = Some(tokens.access_token.clone());
                cache.refresh = tokens.refresh_token.clone();
                cache.unsaved = true;
                self.save_unsaved(person, &mut cache).await;
                if let (None, Some(user)) = (&person.monzo_user_id, &tokens.user_id) {
                    // Signed in before people were bound to their Monzo user.
                    let bound = self.household.update(|s| {
                        if let Some(p) = s.person_by_id_mut(&person.id) {
                            p.monzo_user_id.get_or_insert_with(|| user.clone());
                        }
                    });
                    if let Err(err) = bound {
                        tracing::warn!(%err, "could not record the person's Monzo user");
                    }
                }
                Ok(tokens.access_token)
            }
            Err(err @ (Error::SignInRequired { .. } | Error::BadClientCredentials)) => {
                tracing::warn!(person = %person.name, code = err.code(), "refresh refused; the person must sign in again");
                cache.dead_refresh = Some(refresh.secret().clone());
                cache.access = None;
                cache.refresh = None;
                Err(err)
            }
            Err(err) => Err(err),
        }
    }

    /// Writes rotated tokens to the keyring: the refresh token first, since only it
    /// can bring the sign-in back. On failure they stay in memory, marked unsaved,
    /// and the next poll tries again.
    async fn save_unsaved(&self, person: &PersonSettings, cache: &mut TokenCache) {
        if !cache.unsaved {
            return;
        }
        let (Some(refresh), Some(access)) = (&cache.refresh, &cache.access) else {
            return;
        };
        let secrets = self.household.secrets();
        let saved = async {
            secrets
                .set(&person.id, SecretKind::RefreshToken, refresh.secret())
                .await?;
            secrets
                .set(&person.id, SecretKind::AccessToken, access.secret())
                .await
        }
        .await;
        match saved {
            Ok(()) => cache.unsaved = false,
            Err(err) => {
                tracing::error!(person = %person.name, %err, "could not store the refreshed sign-in; will retry")
            }
        }
    }
}

/// One poll's findings for a person.
struct Fetched {
    accounts: Vec<AccountSnapshot>,
    closed_or_deleted: Vec<String>,
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
