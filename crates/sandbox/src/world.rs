//! The sandbox's state and rules, free of HTTP: who is signed in with which tokens,
//! whose access is approved in the app, and what each endpoint answers.
//!
//! The rules follow Monzo's documented behaviour (docs.monzo.com; the README's "The
//! sandbox" says what it adds from what users report): single-use
//! authorization codes, refresh tokens that rotate and are invalid once used, one active
//! token per user and client, 403 `forbidden.insufficient_permissions` until the
//! in-app approval, 401 `unauthorized.bad_access_token.expired` once a token expires.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use rand::distr::{Alphanumeric, SampleString};
use serde_json::{json, Value};

use crate::fixture::{AccountFixture, ClientFixture, Fixture, PotFixture, TransactionFixture, UserFixture};
use crate::quota::{Quota, QuotaUse};
use crate::transactions::{self, Ledger};

/// A Monzo-shaped error reply: HTTP status, dotted `code`, `message`, and for OAuth
/// errors the standard `error` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub oauth_error: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            oauth_error: None,
        }
    }

    fn oauth(status: u16, code: &'static str, error: &'static str, message: &str) -> Self {
        Self {
            status,
            code,
            message: message.to_owned(),
            oauth_error: Some(error),
        }
    }

    pub fn body(&self) -> Value {
        let mut body = json!({"code": self.code, "message": self.message});
        if let Some(error) = self.oauth_error {
            body["error"] = json!(error);
            body["error_description"] = json!(self.message);
        }
        body
    }

    fn expired() -> Self {
        Self::oauth(
            401,
            "unauthorized.bad_access_token.expired",
            "invalid_token",
            "Access token has expired",
        )
    }

    fn bad_token() -> Self {
        Self::oauth(
            401,
            "unauthorized.bad_access_token",
            "invalid_token",
            "Access token is not valid",
        )
    }

    fn needs_approval() -> Self {
        Self::new(
            403,
            "forbidden.insufficient_permissions",
            "Access forbidden due to insufficient permissions",
        )
    }
}

#[derive(Debug, Clone)]
struct CodeGrant {
    client_id: String,
    user_id: String,
    redirect_uri: String,
    used: bool,
}

#[derive(Debug, Clone)]
struct AccessGrant {
    client_id: String,
    user_id: String,
    /// On the sandbox's clock.
    expires_at: DateTime<Utc>,
    revoked: bool,
}

#[derive(Debug, Clone)]
struct RefreshGrant {
    client_id: String,
    user_id: String,
    used: bool,
}

/// One issued token pair, as the test control surface reports it (tests use this to
/// check that no token ever reaches logs or files).
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuedToken {
    pub user_id: String,
    pub client_id: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
}

pub struct World {
    data: Fixture,
    codes: HashMap<String, CodeGrant>,
    access: HashMap<String, AccessGrant>,
    refresh: HashMap<String, RefreshGrant>,
    /// (user_id, client_id) pairs whose current sign-in is approved in the app.
    approved: HashMap<(String, String), bool>,
    /// When each (user_id, client_id) last signed in (the code exchange; a refresh
    /// keeps it), on the sandbox's clock: strong customer authentication is that
    /// long ago.
    signed_in: HashMap<(String, String), DateTime<Utc>>,
    issued: Vec<IssuedToken>,
    pub token_lifetime: Duration,
    /// How long after a sign-in all transactions can be read (Monzo: 5 minutes);
    /// after it only the last 90 days.
    pub sca_window: Duration,
    /// Pot moves made, by (user, pot, `dedupe_id`): the same id again answers the
    /// first reply and moves nothing.
    moves: HashMap<(String, String, String), Value>,
    /// The sandbox's clock is the system's plus this (see [`World::now`]).
    clock_offset: TimeDelta,
    quota: Option<Quota>,
    /// Each (user_id, client_id)'s use of the quota.
    quota_use: HashMap<(String, String), QuotaUse>,
    /// `data.transactions` indexed for paging.
    ledger: Ledger,
}

fn random_token(prefix: &str) -> String {
    format!("{prefix}{}", Alphanumeric.sample_string(&mut rand::rng(), 48))
}

/// A pot as Monzo sends it.
fn pot_json(p: &PotFixture) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "style": p.style,
        "balance": p.balance,
        "currency": p.currency,
        "type": "default",
        "created": "2020-01-01T00:00:00.000Z",
        "updated": "2020-01-01T00:00:00.000Z",
        "deleted": p.deleted,
        "locked": p.locked,
        "current_account_id": p.account_id,
    })
}

/// A change to a stored transaction, as Monzo makes after the fact
/// (`POST /_sandbox/transaction/update`); absent fields stay.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionChange {
    /// The transaction's `tx_…` id.
    pub id: String,
    /// The new amount in minor units: a settled amount can differ from the authorised
    /// one (currency conversion, pre-authorisations).
    #[serde(default)]
    pub amount: Option<i64>,
    /// `false` settles a pending transaction (`settled` becomes the sandbox's now);
    /// `true` makes it pending again.
    #[serde(default)]
    pub pending: Option<bool>,
    /// Declines it later, with Monzo's reason (`INSUFFICIENT_FUNDS`, …).
    #[serde(default)]
    pub decline_reason: Option<String>,
}

/// A change to an account (`POST /_sandbox/account`); absent fields stay.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountChange {
    pub account_id: String,
    #[serde(default)]
    pub balance: Option<i64>,
    #[serde(default)]
    pub spend_today: Option<i64>,
    #[serde(default)]
    pub closed: Option<bool>,
    /// User ids: taking someone out makes the account answer them as not theirs.
    #[serde(default)]
    pub owners: Option<Vec<String>>,
}

#[derive(Debug)]
pub struct TokenReply {
    pub body: Value,
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A span for the sandbox's clock; far beyond any test's, it saturates.
fn span(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

/// Gives the fixture's transactions ids and absolute times (`created`, `settled`)
/// as of `now`, then appends the generated history, if asked for.
fn materialise(data: &mut Fixture, now: DateTime<Utc>) {
    for tx in &mut data.transactions {
        if tx.id.is_empty() {
            tx.id = random_token("tx_");
        }
        let at = transactions::resolve_created(&tx.created, now).unwrap_or(now);
        tx.created = rfc3339(at);
        if let Some(settled) = &tx.settled {
            tx.settled = transactions::resolve_created(settled, now).map(rfc3339);
        }
    }
    if let Some(plan) = data.generate.take() {
        let history = crate::generate::history(data, &plan, now);
        data.transactions.extend(history);
    }
}

impl World {
    pub fn new(data: Fixture) -> Self {
        Self::with_clock(data, TimeDelta::zero())
    }

    /// The world of `data` on a sandbox clock `clock_offset` ahead of the system's.
    fn with_clock(mut data: Fixture, clock_offset: TimeDelta) -> Self {
        // Transactions get ids and absolute times now, so paging by id and time is
        // stable however long the sandbox runs.
        let now = Utc::now()
            .checked_add_signed(clock_offset)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        materialise(&mut data, now);
        let ledger = Ledger::build(&data.transactions);
        Self {
            data,
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            approved: HashMap::new(),
            signed_in: HashMap::new(),
            issued: Vec::new(),
            token_lifetime: Duration::from_secs(21_600),
            sca_window: Duration::from_secs(300),
            moves: HashMap::new(),
            clock_offset,
            quota: None,
            quota_use: HashMap::new(),
            ledger,
        }
    }

    /// Replaces people, accounts, pots, transactions and clients; every token is
    /// forgotten. The clock, the token lifetime, the SCA window and the quota stay.
    pub fn load(&mut self, data: Fixture) {
        *self = Self {
            token_lifetime: self.token_lifetime,
            sca_window: self.sca_window,
            quota: self.quota,
            ..Self::with_clock(data, self.clock_offset)
        };
    }

    /// The sandbox's now: the system's time plus what tests advanced the clock by.
    /// Everything time-based follows it: token expiry, the strong-customer-
    /// authentication window, the 90 days of transactions, relative `created` ages
    /// at load, and the quota.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now()
            .checked_add_signed(self.clock_offset)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Moves the sandbox's clock forward by `by`.
    pub fn advance_clock(&mut self, by: Duration) {
        self.clock_offset = self.clock_offset.checked_add(&span(by)).unwrap_or(TimeDelta::MAX);
    }

    /// Sets (or with `None` removes) the request quota; counting starts afresh.
    pub fn set_quota(&mut self, quota: Option<Quota>) {
        self.quota = quota;
        self.quota_use.clear();
    }

    /// Counts a data request made with `bearer` against the quota: `Err(seconds)`
    /// left in the block when it must answer 429. A request whose token the sandbox
    /// never issued belongs to no one and is not counted (it answers 401).
    pub fn check_quota(&mut self, bearer: Option<&str>) -> Result<(), u64> {
        let Some(quota) = self.quota else {
            return Ok(());
        };
        let Some(grant) = bearer.and_then(|t| self.access.get(t)) else {
            return Ok(());
        };
        let key = (grant.user_id.clone(), grant.client_id.clone());
        let now = self.now();
        quota.admit(self.quota_use.entry(key).or_default(), now)
    }

    pub fn fixture(&self) -> &Fixture {
        &self.data
    }

    fn client(&self, client_id: &str) -> Option<&ClientFixture> {
        self.data.clients.iter().find(|c| c.client_id == client_id)
    }

    fn user(&self, user_id: &str) -> Option<&UserFixture> {
        self.data.users.iter().find(|u| u.user_id == user_id)
    }

    /// A user by id or (case-insensitive) name.
    pub fn find_user(&self, who: &str) -> Option<&UserFixture> {
        self.data
            .users
            .iter()
            .find(|u| u.user_id == who || u.name.eq_ignore_ascii_case(who))
    }

    pub fn add_client(&mut self, client: ClientFixture) {
        self.data.clients.retain(|c| c.client_id != client.client_id);
        self.data.clients.push(client);
    }

    /// The authorize step. Real Monzo emails a magic link; the sandbox answers with
    /// the redirect that link would lead to. Returns the URL to redirect to.
    pub fn authorize(
        &mut self,
        client_id: &str,
        redirect_uri: &str,
        response_type: &str,
        state: Option<&str>,
        user: Option<&str>,
    ) -> Result<String, ApiError> {
        let client = self
            .client(client_id)
            .ok_or_else(|| ApiError::new(400, "bad_request.invalid_client", "Unknown OAuth client"))?;
        if !client.redirect_uris.is_empty() && !client.redirect_uris.iter().any(|u| u == redirect_uri) {
            return Err(ApiError::new(
                400,
                "bad_request.invalid_redirect_uri",
                "The redirect URL is not registered for this client",
            ));
        }
        if response_type != "code" {
            return Err(ApiError::new(
                400,
                "bad_request.invalid_response_type",
                "response_type must be code",
            ));
        }
        let mut target = url::Url::parse(redirect_uri).map_err(|_| {
            ApiError::new(
                400,
                "bad_request.invalid_redirect_uri",
                "The redirect URL is not a URL",
            )
        })?;
        let user = match user {
            Some(who) => self.find_user(who),
            None => self.data.users.first(),
        }
        .ok_or_else(|| ApiError::new(400, "bad_request.unknown_user", "No such sandbox user"))?;
        let code = random_token("sbx_code_");
        self.codes.insert(
            code.clone(),
            CodeGrant {
                client_id: client_id.to_owned(),
                user_id: user.user_id.clone(),
                redirect_uri: redirect_uri.to_owned(),
                used: false,
            },
        );
        {
            let mut query = target.query_pairs_mut();
            query.append_pair("code", &code);
            if let Some(state) = state {
                query.append_pair("state", state);
            }
        }
        Ok(target.to_string())
    }

    fn check_client(&self, client_id: &str, client_secret: &str) -> Result<&ClientFixture, ApiError> {
        match self.client(client_id) {
            Some(c) if c.client_secret == client_secret => Ok(c),
            _ => Err(ApiError::oauth(
                401,
                "unauthorized.bad_client_credentials",
                "invalid_client",
                "Client credentials are not valid",
            )),
        }
    }

    /// `POST /oauth2/token` with `grant_type=authorization_code`.
    pub fn exchange_code(
        &mut self,
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
        code: &str,
    ) -> Result<TokenReply, ApiError> {
        let confidential = self.check_client(client_id, client_secret)?.confidential;
        let bad_code = || {
            ApiError::oauth(
                400,
                "bad_request.bad_authorization_code",
                "invalid_grant",
                "Authorization code is not valid or was already used",
            )
        };
        let grant = self.codes.get_mut(code).ok_or_else(bad_code)?;
        if grant.used || grant.client_id != client_id {
            return Err(bad_code());
        }
        if grant.redirect_uri != redirect_uri {
            return Err(ApiError::oauth(
                400,
                "bad_request.bad_redirect_uri",
                "invalid_grant",
                "redirect_uri does not match the one used to authorize",
            ));
        }
        grant.used = true;
        let user_id = grant.user_id.clone();
        // One active token per user and client: a new sign-in evicts older ones, and
        // the new sign-in must be approved in the app again.
        self.revoke_tokens_of(&user_id, client_id);
        let approve = self.user(&user_id).is_some_and(|u| u.approve_on_login);
        self.approved
            .insert((user_id.clone(), client_id.to_owned()), approve);
        let now = self.now();
        self.signed_in
            .insert((user_id.clone(), client_id.to_owned()), now);
        Ok(self.issue(&user_id, client_id, confidential))
    }

    /// `POST /oauth2/token` with `grant_type=refresh_token`.
    pub fn refresh(
        &mut self,
        client_id: &str,
        client_secret: &str,
        refresh_token: &str,
    ) -> Result<TokenReply, ApiError> {
        let confidential = self.check_client(client_id, client_secret)?.confidential;
        let grant = self.refresh.get_mut(refresh_token).ok_or_else(|| {
            ApiError::oauth(
                401,
                "unauthorized.bad_refresh_token",
                "invalid_grant",
                "Refresh token is not valid",
            )
        })?;
        if grant.used || grant.client_id != client_id {
            return Err(ApiError::oauth(
                401,
                "unauthorized.bad_refresh_token.evicted",
                "invalid_grant",
                "Refresh token has already been used",
            ));
        }
        grant.used = true;
        let user_id = grant.user_id.clone();
        // Refreshing invalidates the previous access token at once.
        self.revoke_tokens_of(&user_id, client_id);
        Ok(self.issue(&user_id, client_id, confidential))
    }

    fn revoke_tokens_of(&mut self, user_id: &str, client_id: &str) {
        for grant in self.access.values_mut() {
            if grant.user_id == user_id && grant.client_id == client_id {
                grant.revoked = true;
            }
        }
        for grant in self.refresh.values_mut() {
            if grant.user_id == user_id && grant.client_id == client_id {
                grant.used = true;
            }
        }
    }

    fn issue(&mut self, user_id: &str, client_id: &str, confidential: bool) -> TokenReply {
        let access_token = random_token("sbx_at_");
        let expires_at = self
            .now()
            .checked_add_signed(span(self.token_lifetime))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.access.insert(
            access_token.clone(),
            AccessGrant {
                client_id: client_id.to_owned(),
                user_id: user_id.to_owned(),
                expires_at,
                revoked: false,
            },
        );
        let mut body = json!({
            "access_token": access_token,
            "client_id": client_id,
            "expires_in": self.token_lifetime.as_secs(),
            "token_type": "Bearer",
            "user_id": user_id,
        });
        let refresh_token = confidential.then(|| {
            let token = random_token("sbx_rt_");
            self.refresh.insert(
                token.clone(),
                RefreshGrant {
                    client_id: client_id.to_owned(),
                    user_id: user_id.to_owned(),
                    used: false,
                },
            );
            body["refresh_token"] = json!(token);
            token
        });
        self.issued.push(IssuedToken {
            user_id: user_id.to_owned(),
            client_id: client_id.to_owned(),
            access_token,
            refresh_token,
        });
        TokenReply { body }
    }

    /// Resolves a bearer token to (user_id, client_id), or the 401 Monzo would send.
    fn authenticate(&self, bearer: Option<&str>) -> Result<(String, String), ApiError> {
        let grant = bearer
            .and_then(|t| self.access.get(t))
            .ok_or_else(ApiError::bad_token)?;
        if grant.revoked {
            return Err(ApiError::bad_token());
        }
        if self.now() >= grant.expires_at {
            return Err(ApiError::expired());
        }
        Ok((grant.user_id.clone(), grant.client_id.clone()))
    }

    /// Authenticated and approved in the app: what every data endpoint requires.
    fn authorize_data(&self, bearer: Option<&str>) -> Result<String, ApiError> {
        self.authorize_data_of(bearer).map(|(user_id, _)| user_id)
    }

    /// As [`Self::authorize_data`], with the client too.
    fn authorize_data_of(&self, bearer: Option<&str>) -> Result<(String, String), ApiError> {
        let (user_id, client_id) = self.authenticate(bearer)?;
        if self.approved.get(&(user_id.clone(), client_id.clone())) != Some(&true) {
            return Err(ApiError::needs_approval());
        }
        Ok((user_id, client_id))
    }

    /// `GET /transactions` (see [`transactions`]).
    pub fn transactions(
        &self,
        bearer: Option<&str>,
        account_id: Option<&str>,
        query: &transactions::Query<'_>,
    ) -> Result<Value, ApiError> {
        let (user_id, client_id) = self.authorize_data_of(bearer)?;
        let account = self.owned_account(&user_id, account_id, "account_id")?;
        if matches!(
            account.account_type.as_str(),
            "uk_loan" | "uk_monzo_flex_backing_loan"
        ) {
            // Loan accounts have no transactions to read (seen in third-party clients).
            return Err(ApiError::new(
                403,
                "forbidden.unsupported_account_type",
                "Transactions are not available for this account",
            ));
        }
        let now = self.now();
        let restricted = self
            .signed_in
            .get(&(user_id, client_id))
            .is_none_or(|at| now - *at > span(self.sca_window));
        let books = transactions::Books {
            all: &self.data.transactions,
            ledger: &self.ledger,
            accounts: &self.data.accounts,
        };
        transactions::page(&books, account, query, restricted, now)
    }

    pub fn whoami(&self, bearer: Option<&str>) -> Result<Value, ApiError> {
        // Answers even before the in-app approval, as Monzo does.
        let (user_id, client_id) = self.authenticate(bearer)?;
        Ok(json!({"authenticated": true, "client_id": client_id, "user_id": user_id}))
    }

    pub fn accounts(&self, bearer: Option<&str>, account_type: Option<&str>) -> Result<Value, ApiError> {
        let user_id = self.authorize_data(bearer)?;
        let accounts: Vec<Value> = self
            .data
            .accounts
            .iter()
            .filter(|a| a.owners.contains(&user_id))
            .filter(|a| account_type.is_none_or(|t| t == a.account_type))
            .map(|a| self.account_json(a))
            .collect();
        Ok(json!({ "accounts": accounts }))
    }

    fn account_json(&self, account: &AccountFixture) -> Value {
        let owners: Vec<Value> = account
            .owners
            .iter()
            .map(|id| {
                let name = self.user(id).map(|u| u.name.clone()).unwrap_or_default();
                json!({"user_id": id, "preferred_name": name, "preferred_first_name": name})
            })
            .collect();
        let mut value = json!({
            "id": account.id,
            "closed": account.closed,
            "created": account.created,
            "description": account.description.clone().unwrap_or_else(|| account.owners.join(", ")),
            "type": account.account_type,
            "currency": account.currency,
            "country_code": "GB",
            "owners": owners,
            "product_type": "standard",
        });
        if matches!(
            account.account_type.as_str(),
            "uk_retail" | "uk_retail_joint" | "uk_business"
        ) {
            // Deterministic fake bank details derived from the id: tests check these
            // never reach a log, a file or the UI.
            let digits: u64 = account.id.bytes().map(u64::from).sum::<u64>() * 7919 % 100_000_000;
            value["account_number"] = json!(format!("{digits:08}"));
            value["sort_code"] = json!("040004");
            value["payment_details"] =
                json!({"locale_uk": {"account_number": format!("{digits:08}"), "sort_code": "040004"}});
        }
        value
    }

    fn owned_account(
        &self,
        user_id: &str,
        account_id: Option<&str>,
        param: &str,
    ) -> Result<&AccountFixture, ApiError> {
        let account_id = account_id.filter(|id| !id.is_empty()).ok_or_else(|| {
            ApiError::new(
                400,
                "bad_request.missing_param",
                format!("Missing parameter {param}"),
            )
        })?;
        let account = self
            .data
            .accounts
            .iter()
            .find(|a| a.id == account_id)
            .ok_or_else(|| ApiError::new(404, "not_found.account", "Account not found"))?;
        if !account.owners.iter().any(|o| o == user_id) {
            return Err(ApiError::new(
                403,
                "forbidden.not_owner",
                "You do not own this account",
            ));
        }
        Ok(account)
    }

    fn pots_of<'a>(&'a self, account_id: &'a str) -> impl Iterator<Item = &'a PotFixture> + 'a {
        self.data.pots.iter().filter(move |p| p.account_id == account_id)
    }

    pub fn balance(&self, bearer: Option<&str>, account_id: Option<&str>) -> Result<Value, ApiError> {
        let user_id = self.authorize_data(bearer)?;
        let account = self.owned_account(&user_id, account_id, "account_id")?;
        let in_pots: i64 = self
            .pots_of(&account.id)
            .filter(|p| !p.deleted)
            .map(|p| p.balance)
            .sum();
        Ok(json!({
            "balance": account.balance,
            "total_balance": account.balance + in_pots,
            "balance_including_flexible_savings": account.balance + in_pots,
            "currency": account.currency,
            "spend_today": account.spend_today,
            "local_currency": "",
            "local_exchange_rate": 0,
            "local_spend": [],
        }))
    }

    /// `PUT /pots/{pot_id}/deposit` (`into` true: from `account_id` into the pot) or
    /// `/withdraw` (out of the pot into `account_id`), `amount` in minor units, as
    /// Monzo documents them: the reply is the pot with its new balance; the same
    /// `dedupe_id` again answers the first reply and moves nothing; withdrawing from
    /// a pot with added security is refused (only in the Monzo app); moving more than
    /// the source holds is refused. The move is recorded as a transaction on the
    /// account, with `metadata.pot_id`.
    pub fn pot_move(
        &mut self,
        bearer: Option<&str>,
        pot_id: &str,
        into: bool,
        account_id: Option<&str>,
        amount: Option<&str>,
        dedupe_id: Option<&str>,
    ) -> Result<Value, ApiError> {
        let user_id = self.authorize_data(bearer)?;
        let param = if into {
            "source_account_id"
        } else {
            "destination_account_id"
        };
        let account = self.owned_account(&user_id, account_id, param)?.clone();
        let dedupe_id = dedupe_id
            .filter(|d| !d.is_empty())
            .ok_or_else(|| ApiError::new(400, "bad_request.missing_param", "Missing parameter dedupe_id"))?;
        let key = (user_id, pot_id.to_owned(), dedupe_id.to_owned());
        if let Some(first) = self.moves.get(&key) {
            return Ok(first.clone());
        }
        let amount: i64 = amount
            .and_then(|a| a.parse().ok())
            .filter(|a| *a > 0)
            .ok_or_else(|| {
                ApiError::new(
                    400,
                    "bad_request.bad_param.amount",
                    "amount must be a positive integer",
                )
            })?;
        let pot = self
            .data
            .pots
            .iter()
            .find(|p| p.id == pot_id && !p.deleted)
            .cloned()
            .ok_or_else(|| ApiError::new(404, "not_found.pot", "Pot not found"))?;
        if pot.account_id != account.id {
            return Err(ApiError::new(
                400,
                "bad_request.pot_account_mismatch",
                "This pot does not belong to that account",
            ));
        }
        if !into && pot.locked {
            return Err(ApiError::new(
                403,
                "forbidden.pot_locked",
                "This pot is protected with added security; withdrawals can only be made in the Monzo app",
            ));
        }
        let source = if into { account.balance } else { pot.balance };
        if amount > source {
            return Err(ApiError::new(
                400,
                "bad_request.insufficient_funds",
                if into {
                    "There is not enough money in the account for this deposit"
                } else {
                    "There is not enough money in the pot for this withdrawal"
                },
            ));
        }
        let signed = if into { amount } else { -amount };
        for p in &mut self.data.pots {
            if p.id == pot.id {
                p.balance += signed;
            }
        }
        for a in &mut self.data.accounts {
            if a.id == account.id {
                a.balance -= signed;
            }
        }
        let created = rfc3339(self.now());
        self.push_transaction(TransactionFixture {
            id: random_token("tx_"),
            account_id: account.id.clone(),
            created,
            amount: -signed,
            currency: Some(account.currency.clone()),
            description: pot.id.clone(),
            merchant: None,
            category: Some("savings".into()),
            pending: false,
            decline_reason: None,
            local_amount: None,
            local_currency: None,
            pot_id: Some(pot.id.clone()),
            settled: None,
            counterparty_account_id: None,
        });
        let reply = self
            .data
            .pots
            .iter()
            .find(|p| p.id == pot.id)
            .map(pot_json)
            .unwrap_or_default();
        self.moves.insert(key, reply.clone());
        Ok(reply)
    }

    pub fn pots(&self, bearer: Option<&str>, account_id: Option<&str>) -> Result<Value, ApiError> {
        let user_id = self.authorize_data(bearer)?;
        let account = self.owned_account(&user_id, account_id, "current_account_id")?;
        let pots: Vec<Value> = self.pots_of(&account.id).map(pot_json).collect();
        Ok(json!({ "pots": pots }))
    }

    // ---- control surface -------------------------------------------------------

    /// Approves every pending sign-in of a user (all clients), as the Monzo app would.
    pub fn approve(&mut self, who: &str) -> Result<(), String> {
        let user_id = self
            .find_user(who)
            .ok_or_else(|| format!("no sandbox user {who}"))?
            .user_id
            .clone();
        for ((uid, _), approved) in self.approved.iter_mut() {
            if *uid == user_id {
                *approved = true;
            }
        }
        Ok(())
    }

    /// Withdraws approval, as happens when Monzo's 90 days run out.
    pub fn revoke_approval(&mut self, who: &str) -> Result<(), String> {
        let user_id = self
            .find_user(who)
            .ok_or_else(|| format!("no sandbox user {who}"))?
            .user_id
            .clone();
        for ((uid, _), approved) in self.approved.iter_mut() {
            if *uid == user_id {
                *approved = false;
            }
        }
        Ok(())
    }

    /// Expires the access tokens of one user, or of everyone.
    pub fn expire_tokens(&mut self, who: Option<&str>) -> Result<(), String> {
        let user_id = match who {
            Some(who) => Some(
                self.find_user(who)
                    .ok_or_else(|| format!("no sandbox user {who}"))?
                    .user_id
                    .clone(),
            ),
            None => None,
        };
        let past = self.now() - TimeDelta::seconds(1);
        for grant in self.access.values_mut() {
            if user_id.as_ref().is_none_or(|u| *u == grant.user_id) {
                grant.expires_at = past;
            }
        }
        Ok(())
    }

    /// Expires the one access token presented (the `expire_token` fault).
    pub fn expire_access_token(&mut self, token: &str) {
        let past = self.now() - TimeDelta::seconds(1);
        if let Some(grant) = self.access.get_mut(token) {
            grant.expires_at = past;
        }
    }

    /// Revokes refresh tokens (one user or everyone): the next refresh fails.
    pub fn revoke_refresh_tokens(&mut self, who: Option<&str>) -> Result<(), String> {
        let user_id = match who {
            Some(who) => Some(
                self.find_user(who)
                    .ok_or_else(|| format!("no sandbox user {who}"))?
                    .user_id
                    .clone(),
            ),
            None => None,
        };
        for grant in self.refresh.values_mut() {
            if user_id.as_ref().is_none_or(|u| *u == grant.user_id) {
                grant.used = true;
            }
        }
        Ok(())
    }

    pub fn set_account(&mut self, change: AccountChange) -> Result<(), String> {
        let account = self
            .data
            .accounts
            .iter_mut()
            .find(|a| a.id == change.account_id)
            .ok_or_else(|| format!("no sandbox account {}", change.account_id))?;
        if let Some(balance) = change.balance {
            account.balance = balance;
        }
        if let Some(spend) = change.spend_today {
            account.spend_today = spend;
        }
        if let Some(closed) = change.closed {
            account.closed = closed;
        }
        if let Some(owners) = change.owners {
            account.owners = owners;
        }
        Ok(())
    }

    /// Turns a pot's "added security" on or off.
    pub fn set_pot_locked(&mut self, pot_id: &str, locked: bool) -> Result<(), String> {
        let pot = self
            .data
            .pots
            .iter_mut()
            .find(|p| p.id == pot_id)
            .ok_or_else(|| format!("no sandbox pot {pot_id}"))?;
        pot.locked = locked;
        Ok(())
    }

    pub fn set_pot(
        &mut self,
        pot_id: &str,
        balance: Option<i64>,
        name: Option<String>,
        deleted: Option<bool>,
    ) -> Result<(), String> {
        let pot = self
            .data
            .pots
            .iter_mut()
            .find(|p| p.id == pot_id)
            .ok_or_else(|| format!("no sandbox pot {pot_id}"))?;
        if let Some(balance) = balance {
            pot.balance = balance;
        }
        if let Some(name) = name {
            pot.name = name;
        }
        if let Some(deleted) = deleted {
            pot.deleted = deleted;
        }
        Ok(())
    }

    /// Adds a transaction as it would happen at Monzo (`POST /_sandbox/transaction`):
    /// the balance moves by its amount and spending today grows by what it spent,
    /// unless it was declined. Returns its id.
    pub fn add_transaction(&mut self, mut tx: TransactionFixture) -> Result<String, String> {
        if tx.id.is_empty() {
            tx.id = random_token("tx_");
        }
        let now = self.now();
        let created = if tx.created.is_empty() {
            now
        } else {
            transactions::resolve_created(&tx.created, now).ok_or("created must be RFC 3339 or like -2h")?
        };
        tx.created = rfc3339(created);
        if let Some(settled) = &tx.settled {
            let at =
                transactions::resolve_created(settled, now).ok_or("settled must be RFC 3339 or like -2h")?;
            tx.settled = Some(rfc3339(at));
        }
        let account = self
            .data
            .accounts
            .iter_mut()
            .find(|a| a.id == tx.account_id)
            .ok_or_else(|| format!("no sandbox account {}", tx.account_id))?;
        if tx.decline_reason.is_none() {
            account.balance += tx.amount;
            if tx.amount < 0 && tx.pot_id.is_none() {
                account.spend_today += tx.amount;
            }
        }
        let id = tx.id.clone();
        self.push_transaction(tx);
        Ok(id)
    }

    fn push_transaction(&mut self, tx: TransactionFixture) {
        self.data.transactions.push(tx);
        self.ledger
            .insert(&self.data.transactions, self.data.transactions.len() - 1);
    }

    /// Changes a stored transaction as Monzo does after the fact
    /// (`POST /_sandbox/transaction/update`): settles it, changes its amount, or
    /// declines it. The account's balance follows (a declined transaction never moved
    /// money), and so does spending today when the transaction was made today (UTC,
    /// on the sandbox's clock).
    pub fn update_transaction(&mut self, change: TransactionChange) -> Result<(), String> {
        if change.decline_reason.as_deref() == Some("") {
            return Err("decline_reason must not be empty".into());
        }
        let now = self.now();
        let row = self
            .ledger
            .row(&change.id)
            .ok_or_else(|| format!("no sandbox transaction {}", change.id))?;
        let tx = self
            .data
            .transactions
            .get_mut(row)
            .ok_or_else(|| format!("no sandbox transaction {}", change.id))?;
        let before = money_moved(tx, now);
        if let Some(amount) = change.amount {
            tx.amount = amount;
        }
        match change.pending {
            Some(true) => tx.pending = true,
            Some(false) if tx.pending => {
                tx.pending = false;
                tx.settled = Some(rfc3339(now));
            }
            _ => {}
        }
        if let Some(reason) = change.decline_reason {
            tx.decline_reason = Some(reason);
            tx.pending = false;
        }
        let after = money_moved(tx, now);
        let account_id = tx.account_id.clone();
        if let Some(account) = self.data.accounts.iter_mut().find(|a| a.id == account_id) {
            account.balance += after.0 - before.0;
            account.spend_today += after.1 - before.1;
        }
        Ok(())
    }

    pub fn issued_tokens(&self) -> &[IssuedToken] {
        &self.issued
    }
}

/// What `tx` adds to its account's balance, and to spending today (made on `now`'s
/// UTC day), both in minor units: nothing when declined.
fn money_moved(tx: &TransactionFixture, now: DateTime<Utc>) -> (i64, i64) {
    if tx.decline_reason.is_some() {
        return (0, 0);
    }
    let today =
        transactions::resolve_created(&tx.created, now).is_some_and(|at| at.date_naive() == now.date_naive());
    let spent = if today && tx.amount < 0 && tx.pot_id.is_none() {
        tx.amount
    } else {
        0
    };
    (tx.amount, spent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::DEMO_CLIENT_ID as CID;
    use crate::fixture::DEMO_CLIENT_SECRET as SECRET;

    fn signed_in(world: &mut World, who: &str) -> Value {
        let url = world
            .authorize(CID, "http://127.0.0.1:1/cb", "code", Some("st"), Some(who))
            .unwrap();
        let url = url::Url::parse(&url).unwrap();
        let code = url
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .to_string();
        world
            .exchange_code(CID, SECRET, "http://127.0.0.1:1/cb", &code)
            .unwrap()
            .body
    }

    #[test]
    fn codes_are_single_use() {
        let mut world = World::new(Fixture::demo());
        let url = world
            .authorize(CID, "http://x/cb", "code", Some("s"), None)
            .unwrap();
        let code = url::Url::parse(&url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .to_string();
        assert!(world.exchange_code(CID, SECRET, "http://x/cb", &code).is_ok());
        assert_eq!(
            world
                .exchange_code(CID, SECRET, "http://x/cb", &code)
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn refresh_rotates_and_old_tokens_die() {
        let mut world = World::new(Fixture::demo());
        let first = signed_in(&mut world, "Dana");
        let rt = first["refresh_token"].as_str().unwrap().to_owned();
        let at = first["access_token"].as_str().unwrap().to_owned();
        let second = world.refresh(CID, SECRET, &rt).unwrap().body;
        assert_ne!(second["refresh_token"], first["refresh_token"]);
        assert_eq!(world.refresh(CID, SECRET, &rt).unwrap_err().status, 401);
        assert_eq!(
            world.whoami(Some(&at)).unwrap_err().code,
            "unauthorized.bad_access_token"
        );
    }

    #[test]
    fn a_new_sign_in_evicts_the_old_tokens() {
        let mut world = World::new(Fixture::demo());
        let first = signed_in(&mut world, "Dana");
        let second = signed_in(&mut world, "Dana");
        let old = first["access_token"].as_str().unwrap();
        assert_eq!(
            world.whoami(Some(old)).unwrap_err().code,
            "unauthorized.bad_access_token"
        );
        let old_refresh = first["refresh_token"].as_str().unwrap();
        assert!(world.refresh(CID, SECRET, old_refresh).is_err());
        assert!(world.whoami(second["access_token"].as_str()).is_ok());
    }

    #[test]
    fn approval_gates_data_but_not_whoami() {
        let mut data = Fixture::demo();
        data.users[0].approve_on_login = false;
        let mut world = World::new(data);
        let at = signed_in(&mut world, "Dana")["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(world.whoami(Some(&at)).is_ok());
        assert_eq!(
            world.accounts(Some(&at), None).unwrap_err().code,
            "forbidden.insufficient_permissions"
        );
        world.approve("Dana").unwrap();
        assert!(world.accounts(Some(&at), None).is_ok());
    }

    #[test]
    fn total_balance_counts_live_pots_only() {
        let mut world = World::new(Fixture::demo());
        let at = signed_in(&mut world, "Dana")["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let balance = world
            .balance(Some(&at), Some("acc_00009demodanacurrent"))
            .unwrap();
        assert_eq!(balance["total_balance"], json!(123456 + 150000 + 32075));
    }

    fn token_of(world: &mut World, who: &str) -> String {
        signed_in(world, who)["access_token"].as_str().unwrap().to_owned()
    }

    fn read(world: &World, token: &str, account: &str, since: &str) -> Result<Value, ApiError> {
        let query = transactions::Query {
            since: Some(since),
            before: None,
            limit: Some("100"),
            expand_merchant: false,
        };
        world.transactions(Some(token), Some(account), &query)
    }

    fn days_ago(world: &World, days: i64) -> String {
        rfc3339(world.now() - TimeDelta::days(days))
    }

    #[test]
    fn advancing_the_clock_past_five_minutes_closes_the_full_history() {
        let mut world = World::new(Fixture::demo());
        let token = token_of(&mut world, "Dana");
        let old = days_ago(&world, 400);
        assert!(read(&world, &token, "acc_00009demodanacurrent", &old).is_ok());
        world.advance_clock(Duration::from_secs(299));
        assert!(read(&world, &token, "acc_00009demodanacurrent", &old).is_ok());
        world.advance_clock(Duration::from_secs(2));
        let refused = read(&world, &token, "acc_00009demodanacurrent", &old).unwrap_err();
        assert_eq!(
            (refused.status, refused.code),
            (403, "forbidden.verification_required")
        );
        // The last 90 days of the sandbox's now can still be read.
        let recent = days_ago(&world, 89);
        assert!(read(&world, &token, "acc_00009demodanacurrent", &recent).is_ok());
    }

    #[test]
    fn advancing_the_clock_expires_access_tokens() {
        let mut world = World::new(Fixture::demo());
        let token = token_of(&mut world, "Dana");
        world.advance_clock(Duration::from_secs(21_599));
        assert!(world.accounts(Some(&token), None).is_ok());
        world.advance_clock(Duration::from_secs(1));
        assert_eq!(
            world.accounts(Some(&token), None).unwrap_err().code,
            "unauthorized.bad_access_token.expired"
        );
        let start = Utc::now();
        assert!(world.now() >= start + TimeDelta::seconds(21_600));
    }

    #[test]
    fn relative_ages_resolve_on_the_sandbox_clock_when_loaded() {
        let mut world = World::new(Fixture::default());
        world.advance_clock(Duration::from_secs(10 * 86_400));
        world.load(Fixture::demo());
        let tx = world
            .fixture()
            .transactions
            .iter()
            .find(|t| t.id == "tx_00009demo005")
            .unwrap();
        let created = transactions::resolve_created(&tx.created, Utc::now()).unwrap();
        let expected = world.now() - TimeDelta::hours(3);
        assert!(
            (created - expected).num_seconds().abs() < 5,
            "{created} vs {expected}"
        );
    }

    #[test]
    fn the_quota_blocks_per_client_and_user_until_the_clock_passes_the_block() {
        let mut world = World::new(Fixture::demo());
        let dana = token_of(&mut world, "Dana");
        let alex = token_of(&mut world, "Alex");
        world.set_quota(Some(Quota {
            requests: 3,
            window_secs: 300,
            block_secs: 600,
        }));
        for _ in 0..3 {
            assert_eq!(world.check_quota(Some(&dana)), Ok(()));
        }
        assert_eq!(world.check_quota(Some(&dana)), Err(600));
        assert_eq!(world.check_quota(Some(&alex)), Ok(()), "Alex has his own quota");
        assert_eq!(world.check_quota(Some("not a token")), Ok(()));
        world.advance_clock(Duration::from_secs(250));
        assert_eq!(world.check_quota(Some(&dana)), Err(350));
        world.advance_clock(Duration::from_secs(350));
        assert_eq!(world.check_quota(Some(&dana)), Ok(()));
        world.set_quota(None);
        for _ in 0..10 {
            assert_eq!(world.check_quota(Some(&dana)), Ok(()));
        }
    }

    #[test]
    fn a_transaction_changes_after_the_fact() {
        let mut world = World::new(Fixture::demo());
        let token = token_of(&mut world, "Dana");
        let balance = |world: &World| {
            world.balance(Some(&token), Some("acc_00009demojoint")).unwrap()["balance"]
                .as_i64()
                .unwrap()
        };
        let wire = |world: &World, id: &str| {
            let page = read(world, &token, "acc_00009demojoint", &days_ago(world, 1)).unwrap();
            page["transactions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["id"] == id)
                .cloned()
                .unwrap()
        };
        let start = balance(&world);
        assert_eq!(wire(&world, "tx_00009demo007")["settled"], "");
        // Settled for more than was authorised.
        world
            .update_transaction(TransactionChange {
                id: "tx_00009demo007".into(),
                amount: Some(-4699),
                pending: Some(false),
                ..TransactionChange::default()
            })
            .unwrap();
        let settled = wire(&world, "tx_00009demo007");
        assert_eq!(settled["amount"], -4699);
        let at = transactions::resolve_created(settled["settled"].as_str().unwrap(), Utc::now()).unwrap();
        assert!((world.now() - at).num_seconds().abs() < 5);
        assert_eq!(balance(&world), start - 100);
        // Declined later: the money comes back.
        world
            .update_transaction(TransactionChange {
                id: "tx_00009demo007".into(),
                decline_reason: Some("INSUFFICIENT_FUNDS".into()),
                ..TransactionChange::default()
            })
            .unwrap();
        let declined = wire(&world, "tx_00009demo007");
        assert_eq!(declined["decline_reason"], "INSUFFICIENT_FUNDS");
        assert_eq!(declined["settled"], "");
        assert_eq!(balance(&world), start + 4599);
        assert!(world
            .update_transaction(TransactionChange {
                id: "tx_gone".into(),
                ..TransactionChange::default()
            })
            .is_err());
    }

    #[test]
    fn an_added_transaction_is_paged_and_can_be_updated() {
        let mut world = World::new(Fixture::demo());
        let token = token_of(&mut world, "Dana");
        let mut tx = TransactionFixture::card_payment("acc_00009demodanacurrent", -500, Some("Tesco"));
        tx.created = "-10d".into();
        tx.pending = true;
        let id = world.add_transaction(tx).unwrap();
        let page = read(&world, &token, "acc_00009demodanacurrent", &days_ago(&world, 11)).unwrap();
        let ids: Vec<&str> = page["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.first(), Some(&id.as_str()), "oldest first, in its place");
        world
            .update_transaction(TransactionChange {
                id,
                pending: Some(false),
                ..TransactionChange::default()
            })
            .unwrap();
    }

    /// The whole benchmark household, paged as a history import would: every
    /// account from its start, 100 at a time. The time is printed, not asserted.
    #[test]
    fn the_benchmark_household_pages_whole() {
        let clock = std::time::Instant::now();
        let mut world = World::new(Fixture::benchmark_household());
        let generated = clock.elapsed();
        let total = world.fixture().transactions.len();
        assert!((90_000..=110_000).contains(&total), "{total} transactions");
        let ana = token_of(&mut world, "Ana");
        let cai = token_of(&mut world, "Cai");
        let clock = std::time::Instant::now();
        let (mut read_in_all, mut pages) = (0, 0);
        for (token, account) in [
            (&ana, "acc_bench_ana"),
            (&ana, "acc_bench_joint"),
            (&ana, "acc_bench_ben"),
            (&cai, "acc_bench_cai"),
        ] {
            let mut since = "2000-01-01T00:00:00Z".to_owned();
            let mut last_created = String::new();
            loop {
                let page = match read(&world, token, account, &since) {
                    Ok(page) => page,
                    Err(err) => {
                        assert_eq!((err.status, account), (403, "acc_bench_ben"), "not Ana's");
                        break;
                    }
                };
                let list = page["transactions"].as_array().unwrap();
                pages += 1;
                for t in list {
                    let created = t["created"].as_str().unwrap().to_owned();
                    assert!(created > last_created, "strictly increasing");
                    last_created = created;
                }
                read_in_all += list.len();
                match list.last() {
                    Some(last) if list.len() == 100 => since = last["id"].as_str().unwrap().to_owned(),
                    _ => break,
                }
            }
        }
        println!(
            "benchmark household: {total} transactions generated in {generated:?}; \
             {read_in_all} read in {pages} pages in {:?}",
            clock.elapsed()
        );
        let bens = world
            .fixture()
            .transactions
            .iter()
            .filter(|t| t.account_id == "acc_bench_ben")
            .count();
        assert_eq!(read_in_all + bens, total);
    }
}
