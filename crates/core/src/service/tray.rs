//! What the tray needs of the façade: its menu as data, the notifications a new
//! snapshot or new transactions call for, and running the household's polling and
//! pushing while the tray app lives.

use std::future::Future;

use tokio::sync::broadcast;

use super::AppService;
use crate::error::Result;
use crate::file_lock::EngineLock;
use crate::menu::{self, TrayModel};
use crate::notifications::{self, Notification, Notifier};
use crate::snapshot::Snapshot;
use crate::transactions::AccountTransaction;
use crate::words;

impl AppService {
    /// The tray menu for the current snapshot, settings and push status, with times
    /// in this machine's local time. It moves on with time ("Updated 2 min ago"):
    /// ask again to re-render.
    pub fn tray_model(&self) -> TrayModel {
        let problem = self.push_status().and_then(|s| s.problem_line());
        let now = self.household().clock().now();
        // Each account's month so far, where history is kept; without it (history
        // off, or its database unreadable) the menu simply has no month lines.
        let month = match self.engine.history() {
            Some(store) => store.month_to_date(now).unwrap_or_else(|err| {
                tracing::debug!(%err, "no month lines in the tray");
                Default::default()
            }),
            None => Default::default(),
        };
        menu::tray_model(
            &self.engine.snapshot(),
            self.privacy_mode(),
            now,
            words::local_offset(),
            problem.as_deref(),
            &month,
        )
    }

    /// New transactions as the engine announces them (see
    /// [`crate::engine::Engine::new_transactions`]).
    pub fn new_transactions(&self) -> broadcast::Receiver<AccountTransaction> {
        self.engine.new_transactions()
    }

    /// The notifications for `batch`, new transactions announced together (one
    /// per person who wants them, in the current privacy mode).
    pub fn transaction_notifications(&self, batch: &[AccountTransaction]) -> Vec<Notification> {
        let settings = self.household().settings();
        let snapshot = self.engine.snapshot();
        notifications::transactions(batch, &settings, |id| snapshot.pot_name(id))
    }

    /// The notifications `snapshot` calls for beside what `notifier` saw before (a
    /// person to sign in again or approve access, a balance below its alert).
    pub fn snapshot_notifications(&self, notifier: &mut Notifier, snapshot: &Snapshot) -> Vec<Notification> {
        let settings = self.household().settings();
        notifier.update(
            snapshot,
            &settings.low_balance_alerts,
            settings.privacy_mode,
            self.household().clock().now(),
        )
    }

    /// Makes this process the household's one engine (`role` names it for another
    /// process that finds it taken); `None` where there is no settings folder to
    /// lock (the demo). Hold the lock as long as polling runs.
    pub fn hold_engine(&self, role: &str) -> Result<Option<EngineLock>> {
        self.household().hold_engine(role)
    }

    /// Polling and pushing, until `stop` is cancelled; resolves after both have
    /// stopped and what they hold is saved, with the people whose rotated tokens
    /// the keyring could not take (see [`crate::background::run`]).
    pub fn run_background(
        &self,
        stop: crate::background::Stop,
    ) -> impl Future<Output = Vec<String>> + Send + 'static {
        crate::background::run(self.engine.clone(), self.push_publisher.clone(), stop)
    }

    /// Pauses polling (the screen is locked) or resumes it at once.
    pub fn set_paused(&self, paused: bool) {
        self.engine.set_paused(paused);
    }
}
