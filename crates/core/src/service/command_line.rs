//! What the command line can do and print, through the same façade as the tray and
//! the window: each command's output already written (tables, JSON documents,
//! sentences), for the shell to print. Reading the terminal (secrets, answers,
//! pastes) stays in the shell.

use std::path::PathBuf;
use std::time::Duration;

use oauth2::AuthorizationCode;
use tokio::sync::mpsc;

use super::AppService;
use crate::error::{Error, Result};
use crate::home_assistant::{link, PushState, PushStatus};
use crate::login::{Approval, Pasted, SignIn};
use crate::loopback::LoopbackListener;
use crate::pots::{self, Attempt, Direction, MoveDone, PlannedMove};
use crate::settings::MqttSettings;
use crate::snapshot::ConnectionState;
use crate::terminal;

/// How far back `monzo-tray transactions` looks: within the 90 days Monzo lets be
/// read more than five minutes after a sign-in (Monzo's docs, list transactions).
const TRANSACTIONS_WINDOW_DAYS: i64 = 89;

/// What `transactions` prints: a note (standard error) per person whose
/// transactions could not be read, said also when the listing then fails (it may
/// be why), and the table or JSON document.
#[derive(Debug)]
pub struct TransactionsReport {
    pub notes: Vec<String>,
    pub listing: Result<String>,
}

/// What `headless --once` found: the cycle's line, and why it failed (the push, or
/// new transactions that did not reach Home Assistant), if it did.
#[derive(Debug)]
pub struct OnceReport {
    pub line: String,
    pub failure: Option<String>,
}

impl AppService {
    /// `status`: polls balances once. The table, or the `status --json` document,
    /// and the exit code (`terminal::status_exit_code`).
    pub async fn status_report(&self, json: bool) -> Result<(String, u8)> {
        let snapshot = self.engine.poll_balances().await;
        let printed = if json {
            to_json(&snapshot)?
        } else {
            terminal::status_table(&snapshot)
        };
        Ok((printed, terminal::status_exit_code(&snapshot)))
    }

    /// `people`: the table, or its JSON document.
    pub fn people_report(&self, json: bool) -> Result<String> {
        let settings = self.household().settings();
        if json {
            to_json(&terminal::people_json(&settings))
        } else {
            Ok(terminal::people_table(&settings))
        }
    }

    /// `logout`: removes the person named `name` (any case) with their secrets.
    /// Returns the sentence saying so, and what became of the secrets.
    ///
    /// Errors: those of [`crate::household::Household::remove_person`].
    pub async fn logout(&self, name: &str) -> Result<String> {
        let removal = self.household().remove_person(name).await?;
        self.engine.forget(&removal.person.id);
        let name = &removal.person.name;
        Ok(match removal.secrets_kept {
            None => format!("{name} was removed, with their sign-in and client secret."),
            Some(err) => format!(
                "{name} was removed. Their sign-in and client secret could not be deleted from the keyring now ({err}); monzo-tray deletes them at its next start."
            ),
        })
    }

    /// `transactions`: polls once, then lists every transaction of the last
    /// [`TRANSACTIONS_WINDOW_DAYS`] days, newest first, of `person` (a name) or
    /// `account` (a name or `acc_…` id) or everyone, at most `limit`.
    pub async fn transactions_report(
        &self,
        person: Option<&str>,
        account: Option<&str>,
        limit: usize,
        json: bool,
    ) -> Result<TransactionsReport> {
        let person = person.map(|name| self.household().person(name)).transpose()?;
        let snapshot = self.engine.poll_once().await;
        let notes = snapshot
            .people
            .iter()
            .filter(|p| p.state != ConnectionState::Live)
            .map(|p| {
                format!(
                    "monzo-tray: {}'s transactions are not shown: {}",
                    p.name,
                    p.error.as_deref().unwrap_or("not live")
                )
            })
            .collect();
        let since = self.household().clock().now() - chrono::Duration::days(TRANSACTIONS_WINDOW_DAYS);
        let listing = async {
            let list = self.engine.transactions_since(&snapshot, since).await?;
            let records = terminal::select_transactions(&snapshot, list, person.as_ref(), account, limit)?;
            if json {
                to_json(&serde_json::json!({ "transactions": records }))
            } else {
                Ok(terminal::transactions_table(&records, &snapshot))
            }
        }
        .await;
        Ok(TransactionsReport { notes, listing })
    }

    /// `pot deposit|withdraw`: polls balances, then checks the move of `amount` to
    /// or from the pot `pot` of the person named `person` (see [`pots::plan`]); with
    /// `dedupe_id`, the same move tried again.
    pub async fn plan_move_by_name(
        &self,
        person: &str,
        pot: &str,
        amount: &str,
        direction: Direction,
        dedupe_id: Option<&str>,
    ) -> Result<PlannedMove> {
        let person = self.household().person(person)?;
        let snapshot = self.engine.poll_balances().await;
        let attempt = dedupe_id.map_or(Attempt::New, Attempt::Again);
        pots::plan(&snapshot, &person, pot, amount, direction, attempt)
    }

    /// Makes a move the person confirmed (see [`pots::carry_out`]).
    pub async fn carry_out_move(&self, planned: &PlannedMove) -> Result<MoveDone> {
        pots::carry_out(self.engine.sessions(), &self.engine.config().retry, planned).await
    }

    /// Whether the keyring can take a sign-in's secrets now: `login` asks first,
    /// so a locked keyring is said before anything else is set up.
    ///
    /// Errors: the keyring's (locked, no Secret Service, not answering).
    pub async fn check_keyring(&self) -> Result<()> {
        self.household().secrets().check_available().await
    }

    /// Starts a sign-in of `name` with the client `client_id`/`client_secret`
    /// registered with `redirect_uri` (see [`SignIn::start`]).
    pub async fn start_sign_in(
        &self,
        name: &str,
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
    ) -> Result<SignIn> {
        SignIn::start(
            self.engine.sessions().api(),
            name,
            client_id,
            client_secret,
            redirect_uri,
        )
    }

    /// `login`, second step: waits up to `timeout` for the browser or a paste (see
    /// [`SignIn::complete`]; `notice` says what the person should know meanwhile).
    /// Returns the sentence that says what comes next.
    pub async fn complete_sign_in(
        &self,
        sign_in: &SignIn,
        listener: LoopbackListener,
        pasted: mpsc::Receiver<Pasted>,
        timeout: Duration,
        notice: impl Fn(&str),
    ) -> Result<String> {
        let signed_in = sign_in
            .complete(self.engine.sessions(), listener, pasted, timeout, notice)
            .await?;
        let name = sign_in.name();
        Ok(match signed_in.approval {
            Approval::Approved => format!("{name} is signed in and access is approved."),
            Approval::Pending | Approval::Unknown => format!(
                "{name} is signed in. Now open the Monzo app on your phone and approve access for this app; \
                 monzo-tray notices by itself once you have, nothing needs to be entered again."
            ),
        })
    }

    /// Finishes a sign-in with a code already in hand (the demo reads it from its
    /// sandbox's redirect).
    pub async fn finish_sign_in(&self, sign_in: &SignIn, code: AuthorizationCode) -> Result<()> {
        sign_in.finish(self.engine.sessions(), code).await?;
        Ok(())
    }

    /// `ha connect --url`: tests and saves the connection. Returns the sentence.
    pub async fn connect_rest(&self, url: &str, token: &str, ca_file: Option<PathBuf>) -> Result<String> {
        link::connect(self.household(), url, token, ca_file).await?;
        let connected = format!(
            "Connected to Home Assistant at {}; every balance will be pushed there.",
            url.trim()
        );
        Ok(match self.import_statistics().await {
            Some(said) => format!("{connected} {said}"),
            None => connected,
        })
    }

    /// Imports the balance history into Home Assistant's long-term statistics now
    /// (after a poll, for the entities and today's balances); the sentence saying
    /// how it went, `None` when there is no history to send.
    pub async fn import_statistics(&self) -> Option<String> {
        let store = self.engine.history()?.clone();
        let snapshot = self.engine.poll_balances().await;
        let now = self.household().clock().now();
        match crate::home_assistant::statistics::import_balance_history(self.household(), &store, &snapshot, now).await {
            Ok(0) => None,
            Ok(count) => Some(format!(
                "The balance history of {count} accounts and pots is in its long-term statistics (a Statistics graph card shows it)."
            )),
            Err(failure) => Some(format!(
                "The balance history could not be sent to its long-term statistics ({}); monzo-tray tries again while it runs.",
                crate::home_assistant::failure_line(crate::settings::HaTransport::Rest, &failure)
            )),
        }
    }

    /// `ha connect --mqtt`: tests and saves the connection. Returns the sentence.
    pub async fn connect_mqtt(&self, settings: MqttSettings, password: Option<&str>) -> Result<String> {
        let broker = settings.url.clone();
        link::connect_mqtt(self.household(), settings, password).await?;
        Ok(format!(
            "Connected to the MQTT broker at {broker}; every balance will appear in Home Assistant as a device \
             (through its MQTT integration)."
        ))
    }

    /// `ha statistics --url`: with the MQTT transport, Home Assistant's own address
    /// and a long-lived access token for the long-term statistics import (tested,
    /// then kept; the token in the keyring), and the import at once. Returns the
    /// sentence. Errors: not connected through MQTT (REST already imports them), or
    /// the test failed.
    pub async fn connect_statistics(
        &self,
        url: &str,
        token: &str,
        ca_file: Option<PathBuf>,
    ) -> Result<String> {
        self.require_mqtt()?;
        link::connect_statistics(self.household(), url, token, ca_file).await?;
        let kept = format!(
            "Home Assistant at {} gets the balance history in its long-term statistics; the token is kept in the keyring.",
            url.trim()
        );
        Ok(match self.import_statistics().await {
            Some(said) => format!("{kept} {said}"),
            None => kept,
        })
    }

    /// `ha disconnect`. Returns the sentence.
    pub async fn disconnect_home_assistant(&self) -> Result<String> {
        link::disconnect(self.household()).await?;
        Ok("Disconnected from Home Assistant; nothing more will be pushed.".into())
    }

    /// `headless --interval`: polls every `interval` in this run, whatever the
    /// settings say.
    pub fn set_run_poll_interval(&self, interval: Option<Duration>) {
        self.engine.set_poll_interval(interval);
    }

    /// `headless`: the line for the last poll and the push status as they stand.
    pub fn cycle_line(&self) -> String {
        terminal::cycle_line(&self.engine.snapshot(), self.push_status.borrow().as_ref())
    }

    /// `headless --once`: polls once, pushes once, and hands Home Assistant what is
    /// new.
    pub async fn poll_and_push_once(&self) -> OnceReport {
        // Listening before the poll: what is new is announced, and only then
        // remembered as seen (see `Engine::new_transactions`).
        let mut new_transactions = self.engine.new_transactions();
        let snapshot = self.engine.poll_once().await;
        let mut slot = link::PusherSlot::new(self.push_publisher.clone());
        let report = slot.push(self.household(), &snapshot).await;
        let mut waiting = Vec::new();
        while let Ok(new) = new_transactions.try_recv() {
            waiting.push(new);
        }
        let announced = if waiting.is_empty() {
            None
        } else {
            slot.announce(self.household(), &mut waiting).await
        };
        let line = terminal::cycle_line(&snapshot, self.push_status.borrow().as_ref());
        let failure = if let Some(report) = report.filter(|r| r.state.status != PushStatus::Ok) {
            Some(
                report
                    .state
                    .problem_line()
                    .unwrap_or_else(|| "the push failed".into()),
            )
        } else if let Some(Err(failure)) = announced {
            let transport = self.household().settings().home_assistant.transport;
            let why = PushState::failed(transport, failure, None)
                .problem_line()
                .unwrap_or_else(|| "the push failed".into());
            Some(format!(
                "{} new transaction(s) did not reach Home Assistant: {why}",
                waiting.len()
            ))
        } else {
            None
        };
        OnceReport { line, failure }
    }
}

/// Pretty JSON, as every `--json` prints.
pub(super) fn to_json(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| Error::InvalidInput(format!("Could not write JSON: {e}")))
}
