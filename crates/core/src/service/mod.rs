//! The one façade over the engine and household for every front end: what the
//! settings window, the tray and the command line can do and show, by area: `views` (people and settings as the
//! window shows them: never a secret, every amount, time and sentence already
//! written by the core), `sign_in` (adding and reconnecting people through a
//! sign-in that runs in the background), `home_assistant` (connecting, testing
//! and the push status), `pots` (moving money, confirmed first), and `tray`
//! (the tray menu, notifications, and running polling and pushing), and
//! `command_line` (each command's output, already written). Removing people and
//! the simple settings are here.
//!
//! The shell's commands are one line into this, and nothing in the shell reaches
//! the engine or the household but through it. Whoever shows the window follows
//! [`AppService::changes`] instead of asking again and again.

pub(crate) mod command_line;
pub(crate) mod history;
pub(crate) mod history_view;
pub(crate) mod home_assistant;
pub(crate) mod pots;
pub(crate) mod sign_in;
pub(crate) mod tray;
pub(crate) mod views;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::home_assistant::PushState;
use crate::household::Household;
use crate::money::{Currency, Money};
use crate::pots::PlannedMove;
use crate::settings::{PersonSettings, MAX_POLL_INTERVAL_SECS, MIN_POLL_INTERVAL_SECS};
use crate::snapshot::Snapshot;

pub use self::command_line::{OnceReport, TransactionsReport};
pub use self::history::{import_sentence, HistoryFormat, HistoryQuery, HistoryReport, APPROVAL_WAIT};
pub use self::history_view::{HistoryRange, HistoryView, MonthDetail, SpendingView};
pub use self::home_assistant::{HomeAssistantView, PushStatusView};
pub use self::pots::{MoveDoneView, PlannedMoveView};
pub use self::sign_in::{SignInStarted, SignInStatus};
pub use self::views::{AccountView, PersonView, PotView, SettingsView, StateLineView};

/// The façade: one per running app, shared by the tray and the settings window.
pub struct AppService {
    engine: Arc<Engine>,
    redirect_port: u16,
    sign_in: watch::Sender<SignInStatus>,
    active: Mutex<Option<sign_in::ActiveSignIn>>,
    /// Where the pusher publishes how the push stands (see [`Self::run_background`]).
    push_publisher: watch::Sender<Option<PushState>>,
    push_status: watch::Receiver<Option<PushState>>,
    /// Moves waiting for the person's confirmation, by `dedupe_id`.
    planned_moves: Mutex<HashMap<String, PlannedMove>>,
}

/// What the window follows: a new snapshot, a change of the push status, and a step
/// of the sign-in under way.
pub struct Changes {
    pub snapshot: watch::Receiver<Snapshot>,
    pub push_status: watch::Receiver<Option<PushState>>,
    pub sign_in: watch::Receiver<SignInStatus>,
}

impl AppService {
    /// `redirect_port`: where the sign-in redirect is received (0 picks a free port).
    /// `push_status`: where the Home Assistant pusher publishes how the push stands
    /// (`None` while it is not set up).
    pub fn new(
        engine: Arc<Engine>,
        redirect_port: u16,
        push_status: watch::Sender<Option<PushState>>,
    ) -> Self {
        Self {
            engine,
            redirect_port,
            sign_in: watch::Sender::new(SignInStatus::Idle),
            active: Mutex::new(None),
            push_status: push_status.subscribe(),
            push_publisher: push_status,
            planned_moves: Mutex::new(HashMap::new()),
        }
    }

    /// Polls at once (the "Refresh now" of the tray and the window).
    pub fn refresh_now(&self) {
        self.engine.refresh_now();
    }

    fn household(&self) -> &Arc<Household> {
        self.engine.household()
    }

    /// Receivers of everything the window shows that changes by itself.
    pub fn changes(&self) -> Changes {
        Changes {
            snapshot: self.engine.subscribe(),
            push_status: self.push_status.clone(),
            sign_in: self.sign_in.subscribe(),
        }
    }

    fn person(&self, person_id: &str) -> Result<PersonSettings> {
        self.household()
            .person_by_id(person_id)
            .ok_or_else(|| Error::UnknownPerson(person_id.to_owned()))
    }

    pub fn set_poll_interval(&self, seconds: u64) -> Result<()> {
        if !(MIN_POLL_INTERVAL_SECS..=MAX_POLL_INTERVAL_SECS).contains(&seconds) {
            return Err(Error::InvalidInput(format!(
                "The poll interval must be between {MIN_POLL_INTERVAL_SECS} seconds and a day."
            )));
        }
        self.household().update(|s| s.poll_interval_secs = seconds)?;
        self.engine.refresh_now();
        Ok(())
    }

    /// Turns desktop notifications of a person's new transactions on or off.
    pub fn set_transaction_notifications(&self, person_id: &str, on: bool) -> Result<()> {
        self.person(person_id)?;
        self.household().update(|s| {
            if let Some(p) = s.person_by_id_mut(person_id) {
                p.notify_transactions = on;
            }
        })
    }

    /// Keeps a person's money history or stops keeping it; stopping deletes what is
    /// kept of it (accounts shared with someone who keeps theirs stay).
    pub fn set_keep_history(&self, person_id: &str, on: bool) -> Result<()> {
        self.person(person_id)?;
        self.household().update(|s| {
            if let Some(p) = s.person_by_id_mut(person_id) {
                p.keep_history = on;
            }
        })?;
        if !on {
            if let Some(store) = self.engine.history() {
                store.forget_person(person_id)?;
            }
        }
        Ok(())
    }

    /// Whether amounts are hidden (privacy mode).
    pub fn privacy_mode(&self) -> bool {
        self.household().settings().privacy_mode
    }

    /// Hides or shows amounts everywhere (privacy mode), and remembers it.
    pub fn set_privacy(&self, on: bool) -> Result<()> {
        self.household().update(|s| s.privacy_mode = on)
    }

    /// Sets (or with an empty amount, clears) an account's low-balance threshold, in
    /// major units of the account's currency ("100", "£100.00"; no more decimals than
    /// the currency has; GBP for an account not polled yet).
    pub fn set_low_balance_alert(&self, account_id: &str, amount: &str) -> Result<()> {
        if amount.trim().is_empty() {
            return self.household().update(|s| {
                s.low_balance_alerts.remove(account_id);
            });
        }
        let currency = self
            .engine
            .snapshot()
            .people
            .iter()
            .flat_map(|p| &p.accounts)
            .find(|a| a.id == account_id)
            .map_or_else(
                || Currency::from_code("GBP"),
                |a| Currency::from_code(&a.currency),
            );
        let value = Money::parse(amount, currency)?.amount();
        self.household().update(|s| {
            s.low_balance_alerts.insert(account_id.to_owned(), value);
        })
    }

    /// Removes a person and every keyring entry of theirs (entries the keyring
    /// cannot delete now are deleted at the next start).
    pub async fn remove_person(&self, person_id: &str) -> Result<()> {
        let person = self.person(person_id)?;
        self.household().remove_person(&person.name).await?;
        self.engine.forget(person_id);
        self.engine.refresh_now();
        Ok(())
    }
}
