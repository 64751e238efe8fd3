//! monzo-sandbox: a fake Monzo API that behaves as Monzo documents, over real HTTP.
//!
//! Monzo cannot be reached from where this project is built and tested, so this
//! crate stands in for it, in tests and in `monzo-tray --demo`:
//!
//! - [`fixture`]: the people, accounts and pots it serves (JSON; a demo household
//!   ships, and [`Fixture::benchmark_household`] has ten years of history).
//! - [`generate`]: years of deterministic made-up transactions, when a fixture asks
//!   for them (its `generate` field).
//! - [`world`]: the rules: OAuth codes and tokens, rotation, expiry, in-app approval,
//!   the sandbox's clock, and what each endpoint answers.
//! - [`transactions`]: `GET /transactions`: paging (indexed, so a page costs the same
//!   however long the history), `expand[]=merchant`, the 90-day rule.
//! - [`faults`]: 429/500/502/504, slow replies, malformed JSON, replies missing their
//!   list, dropped connections and token expiry, on chosen or random requests.
//! - [`quota`]: a request quota on demand, shaped like the rate limit a user reported
//!   (monzo/docs#66).
//! - [`http`]: the axum router: `GET /` (authorize), `POST /oauth2/token`,
//!   `/ping/whoami`, `/accounts`, `/balance`, `/pots`, `/transactions`, the pot moves
//!   (`PUT /pots/{id}/deposit`, `/withdraw`), and the `/_sandbox/*` control surface.
//!
//! The control surface (JSON bodies; `{"ok": true}` or 404 `{"ok": false, "message"}`):
//!
//! | Route | Does |
//! |---|---|
//! | `POST /_sandbox/approve`, `/revoke_approval` `{"user"}` | in-app approval on / off |
//! | `POST /_sandbox/expire_tokens`, `/revoke_refresh_tokens` `{"user"?}` | tokens die |
//! | `POST`/`DELETE /_sandbox/faults` ([`FaultPlan`]) | faults on demand |
//! | `POST /_sandbox/latency` `{"ms"}` | slower replies |
//! | `POST /_sandbox/account` ([`AccountChange`]), `/pot` `{"pot_id", "balance"?, "name"?, "deleted"?, "locked"?}` | change an account or pot |
//! | `POST`/`GET /_sandbox/fixture` ([`Fixture`]) | load / read the whole fixture |
//! | `POST /_sandbox/clients` | add an OAuth client |
//! | `GET /_sandbox/tokens` | the tokens issued |
//! | `POST /_sandbox/token_lifetime`, `/sca_window` `{"seconds"}` | token life, SCA window |
//! | `GET`/`DELETE /_sandbox/stats` | requests per path |
//! | `POST /_sandbox/transaction` ([`TransactionFixture`]) | a new transaction; answers its `id` |
//! | `POST /_sandbox/transaction/update` ([`TransactionChange`]) | settle, re-amount or decline one |
//! | `POST /_sandbox/clock` `{"advance_secs"}`, `GET /_sandbox/clock` | advance / read the sandbox's clock; both answer `{"now"}` |
//! | `POST /_sandbox/quota` ([`Quota`]), `DELETE /_sandbox/quota` | a request quota on / off |
//!
//! [`Sandbox::start`] serves it on a loopback port and returns a handle whose methods
//! are the same controls as the HTTP surface.

pub mod browser;
pub mod faults;
pub mod fixture;
pub mod generate;
pub mod http;
pub mod quota;
pub mod transactions;
pub mod world;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use browser::email_link_landing;
pub use faults::{FaultKind, FaultPlan, FaultRule, RandomFaults};
pub use fixture::{
    Fixture, GenerateHistory, MerchantFixture, TransactionFixture, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET,
};
pub use quota::Quota;
pub use world::{AccountChange, IssuedToken, TransactionChange};

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<http::Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Sandbox {
    /// Serves `fixture` on `addr` (use port 0 for a free port) on the current tokio
    /// runtime.
    pub async fn start(fixture: Fixture, addr: SocketAddr) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(http::Shared::new(fixture));
        let app = http::router(shared.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(err) = serve.await {
                tracing::error!(%err, "sandbox server stopped with an error");
            }
        });
        Ok(Self {
            addr,
            shared,
            stop: Some(stop),
        })
    }

    /// Serves on a free loopback port.
    pub async fn start_local(fixture: Fixture) -> std::io::Result<Self> {
        Self::start(fixture, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL of the API (what `MONZO_API_URL` should be), without a trailing slash.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The authorize URL base (what `MONZO_AUTH_URL` should be).
    pub fn auth_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn approve(&self, user: &str) -> Result<(), String> {
        self.shared.world().approve(user)
    }

    pub fn revoke_approval(&self, user: &str) -> Result<(), String> {
        self.shared.world().revoke_approval(user)
    }

    pub fn expire_tokens(&self, user: Option<&str>) -> Result<(), String> {
        self.shared.world().expire_tokens(user)
    }

    pub fn revoke_refresh_tokens(&self, user: Option<&str>) -> Result<(), String> {
        self.shared.world().revoke_refresh_tokens(user)
    }

    pub fn set_faults(&self, plan: FaultPlan) {
        *self.shared.faults() = plan;
    }

    pub fn clear_faults(&self) {
        *self.shared.faults() = FaultPlan::default();
    }

    pub fn set_latency(&self, latency: Duration) {
        self.shared.set_latency(latency);
    }

    pub fn set_balance(&self, account_id: &str, balance: i64) -> Result<(), String> {
        self.change_account(AccountChange {
            account_id: account_id.to_owned(),
            balance: Some(balance),
            ..AccountChange::default()
        })
    }

    pub fn change_account(&self, change: AccountChange) -> Result<(), String> {
        self.shared.world().set_account(change)
    }

    pub fn set_pot(
        &self,
        pot_id: &str,
        balance: Option<i64>,
        name: Option<String>,
        deleted: Option<bool>,
    ) -> Result<(), String> {
        self.shared.world().set_pot(pot_id, balance, name, deleted)
    }

    /// Turns a pot's "added security" on (withdrawals only in the Monzo app) or off.
    pub fn set_pot_locked(&self, pot_id: &str, locked: bool) -> Result<(), String> {
        self.shared.world().set_pot_locked(pot_id, locked)
    }

    pub fn add_client(&self, client: fixture::ClientFixture) {
        self.shared.world().add_client(client);
    }

    pub fn load(&self, fixture: Fixture) {
        self.shared.world().load(fixture);
    }

    pub fn fixture(&self) -> Fixture {
        self.shared.world().fixture().clone()
    }

    /// Adds a transaction (see [`world::World::add_transaction`]); returns its id.
    pub fn add_transaction(&self, tx: TransactionFixture) -> Result<String, String> {
        self.shared.world().add_transaction(tx)
    }

    /// Changes a stored transaction (see [`world::World::update_transaction`]):
    /// settles it, changes its amount (minor units), or declines it.
    pub fn update_transaction(&self, change: TransactionChange) -> Result<(), String> {
        self.shared.world().update_transaction(change)
    }

    /// The sandbox's now: the system's time plus what [`Self::advance_clock`] added.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.shared.world().now()
    }

    /// Moves the sandbox's clock forward: token expiry, the 5-minute window after a
    /// sign-in, the 90 days of transactions and the quota all follow it, so a test
    /// can pass an hour without waiting one.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.world().advance_clock(by);
    }

    /// Sets a request quota (see [`Quota`]), or with `None` removes it.
    pub fn set_quota(&self, quota: Option<Quota>) {
        self.shared.world().set_quota(quota);
    }

    /// How long after a sign-in all transactions can be read (Monzo: 5 minutes).
    pub fn set_sca_window(&self, window: Duration) {
        self.shared.world().sca_window = window;
    }

    pub fn issued_tokens(&self) -> Vec<IssuedToken> {
        self.shared.world().issued_tokens().to_vec()
    }

    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared.world().token_lifetime = lifetime;
    }

    /// Requests served per path since start or the last reset.
    pub fn request_counts(&self) -> std::collections::HashMap<String, u64> {
        self.shared.request_counts()
    }

    pub fn total_requests(&self) -> u64 {
        self.shared.request_counts().values().sum()
    }

    pub fn max_in_flight(&self) -> u64 {
        self.shared.max_in_flight()
    }

    pub fn reset_request_counts(&self) {
        self.shared.reset_request_counts();
    }

    /// Stops serving and waits until the listener is closed.
    pub fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
