//! What the settings window can do, as one façade over the engine and household:
//! redacted views of people (never a secret), adding and reconnecting people through
//! a sign-in that runs in the background (loopback redirect or pasted URL, then the
//! in-app approval), removing people, and the simple settings.
//!
//! The desktop shell's commands are one line into this.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use oauth2::AuthorizationCode;
use rust_decimal::Decimal;
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::home_assistant::{link, mqtt, PushState};
use crate::household::Household;
use crate::login::{Approval, SignIn};
use crate::loopback::{redirect_uri_for_port, LoopbackListener};
use crate::menu::shown;
use crate::monzo::MonzoApi;
use crate::oauth::parse_redirect_input;
use crate::secrets::SecretKind;
use crate::settings::{HaTransport, MqttSettings, DEFAULT_BASE_TOPIC, DEFAULT_DISCOVERY_PREFIX};
use crate::snapshot::{AccountSnapshot, ConnectionState};

/// How long a sign-in waits for the browser to come back.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// A person as the settings window sees them: no secret, no token.
#[derive(Debug, Clone, Serialize)]
pub struct PersonView {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub state: ConnectionState,
    pub error: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    pub approval_due_at: Option<DateTime<Utc>>,
    pub accounts: Vec<AccountView>,
}

/// An account as the window shows it: amounts already formatted (`£1,234.56`, or
/// `£•••` in privacy mode), so money is formatted in one place, the core.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    pub id: String,
    pub name: String,
    pub currency: String,
    pub balance: String,
    pub total_balance: String,
    /// The low-balance alert threshold, if set ("100.00").
    pub low_balance_alert: Option<String>,
    pub pots: Vec<PotView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PotView {
    pub id: String,
    pub name: String,
    pub balance: String,
}

fn account_view(account: &AccountSnapshot, settings: &crate::settings::Settings) -> AccountView {
    let privacy = settings.privacy_mode;
    AccountView {
        id: account.id.clone(),
        name: account.name.clone(),
        currency: account.currency.clone(),
        balance: shown(&account.balance, privacy),
        total_balance: shown(&account.total_balance, privacy),
        low_balance_alert: settings
            .low_balance_alerts
            .get(&account.id)
            .map(|d| d.to_string()),
        pots: account
            .pots
            .iter()
            .map(|p| PotView {
                id: p.id.clone(),
                name: p.name.clone(),
                balance: shown(&p.balance, privacy),
            })
            .collect(),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SettingsView {
    pub poll_interval_secs: u64,
    pub privacy_mode: bool,
    /// Thresholds by `acc_…` id, as decimal strings.
    pub low_balance_alerts: BTreeMap<String, String>,
    /// The redirect URL to register at developers.monzo.com.
    pub redirect_uri: String,
    /// What reading the settings file found wrong, if anything (each value named).
    pub notice: Option<String>,
}

/// Where the sign-in started from the settings window stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum SignInStatus {
    Idle,
    /// Waiting for the browser to come back, or for a pasted URL.
    WaitingForBrowser {
        name: String,
        authorize_url: String,
    },
    /// Signed in; Monzo waits for the approval in the app.
    AwaitingApproval {
        name: String,
        person_id: String,
    },
    Done {
        name: String,
        person_id: String,
    },
    Failed {
        name: String,
        code: String,
        message: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct HomeAssistantView {
    pub transport: HaTransport,
    pub url: Option<String>,
    /// The broker, `mqtt://[user@]host:port`, when MQTT is set up.
    pub mqtt_url: Option<String>,
    pub enabled: bool,
    pub token_stored: bool,
    pub password_stored: bool,
    pub status: Option<PushState>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SignInStarted {
    pub authorize_url: String,
    pub redirect_uri: String,
}

struct ActiveSignIn {
    state: String,
    paste: mpsc::Sender<AuthorizationCode>,
    task: tokio::task::JoinHandle<()>,
}

pub struct AppService {
    engine: Arc<Engine>,
    http: reqwest::Client,
    api: MonzoApi,
    redirect_port: u16,
    status: Arc<Mutex<SignInStatus>>,
    active: Mutex<Option<ActiveSignIn>>,
    push_status: watch::Receiver<Option<PushState>>,
}

impl AppService {
    pub fn new(
        engine: Arc<Engine>,
        http: reqwest::Client,
        api: MonzoApi,
        redirect_port: u16,
        push_status: watch::Receiver<Option<PushState>>,
    ) -> Self {
        Self {
            engine,
            http,
            api,
            redirect_port,
            status: Arc::new(Mutex::new(SignInStatus::Idle)),
            active: Mutex::new(None),
            push_status,
        }
    }

    /// How the Home Assistant push stands (`None` when it is not set up).
    pub fn push_status(&self) -> Option<PushState> {
        self.push_status.borrow().clone()
    }

    /// Changes of [`Self::push_status`], for those who follow them.
    pub fn push_status_changes(&self) -> watch::Receiver<Option<PushState>> {
        self.push_status.clone()
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    fn household(&self) -> &Arc<Household> {
        self.engine.household()
    }

    fn person(&self, person_id: &str) -> Result<crate::settings::PersonSettings> {
        self.household()
            .settings()
            .person_by_id(person_id)
            .cloned()
            .ok_or_else(|| Error::UnknownPerson(person_id.to_owned()))
    }

    pub fn people(&self) -> Vec<PersonView> {
        let settings = self.household().settings();
        let snapshot = self.engine.snapshot();
        settings
            .people
            .iter()
            .map(|person| {
                let seen = snapshot.people.iter().find(|p| p.id == person.id);
                PersonView {
                    id: person.id.clone(),
                    name: person.name.clone(),
                    client_id: person.client_id.clone(),
                    redirect_uri: person.redirect_uri.clone(),
                    // Not polled yet (just added): say so rather than guess.
                    state: seen.map_or(ConnectionState::Stale, |p| p.state),
                    error: seen.and_then(|p| p.error.clone()),
                    updated_at: seen.and_then(|p| p.updated_at),
                    approval_due_at: person.approval_due_at(),
                    accounts: seen
                        .map(|p| p.accounts.iter().map(|a| account_view(a, &settings)).collect())
                        .unwrap_or_default(),
                }
            })
            .collect()
    }

    pub fn settings(&self) -> SettingsView {
        let settings = self.household().settings();
        SettingsView {
            poll_interval_secs: settings.poll_interval_secs,
            privacy_mode: settings.privacy_mode,
            low_balance_alerts: settings
                .low_balance_alerts
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
            redirect_uri: redirect_uri_for_port(self.redirect_port),
            notice: self.household().load_warning.clone(),
        }
    }

    pub fn set_poll_interval(&self, seconds: u64) -> Result<()> {
        if !(10..=86_400).contains(&seconds) {
            return Err(Error::InvalidInput(
                "The poll interval must be between 10 seconds and a day.".into(),
            ));
        }
        self.household().update(|s| s.poll_interval_secs = seconds)?;
        self.engine.refresh_now();
        Ok(())
    }

    pub fn set_privacy(&self, on: bool) -> Result<()> {
        self.household().update(|s| s.privacy_mode = on)
    }

    /// Sets (or with an empty amount, clears) an account's low-balance threshold.
    pub fn set_low_balance_alert(&self, account_id: &str, amount: &str) -> Result<()> {
        let amount = amount.trim().trim_start_matches(['£', '€', '$']);
        if amount.is_empty() {
            return self.household().update(|s| {
                s.low_balance_alerts.remove(account_id);
            });
        }
        let value: Decimal = amount
            .parse()
            .map_err(|_| Error::InvalidInput(format!("\"{amount}\" is not an amount, e.g. 100.00")))?;
        self.household().update(|s| {
            s.low_balance_alerts.insert(account_id.to_owned(), value);
        })
    }

    pub fn sign_in_status(&self) -> SignInStatus {
        let status = self.status.lock().unwrap_or_else(|p| p.into_inner()).clone();
        // Approval is seen by the engine; report it as soon as it is.
        if let SignInStatus::AwaitingApproval { name, person_id } = &status {
            let live = self
                .engine
                .snapshot()
                .people
                .iter()
                .any(|p| &p.id == person_id && p.state == ConnectionState::Live);
            if live {
                let done = SignInStatus::Done {
                    name: name.clone(),
                    person_id: person_id.clone(),
                };
                self.set_status(done.clone());
                return done;
            }
        }
        status
    }

    fn set_status(&self, status: SignInStatus) {
        *self.status.lock().unwrap_or_else(|p| p.into_inner()) = status;
    }

    /// "Continue" after approving in the app: poll now.
    pub fn check_approval(&self) -> SignInStatus {
        self.engine.refresh_now();
        self.sign_in_status()
    }

    /// Adds a person: checks the input, then starts a sign-in in the background.
    /// Nothing is stored until Monzo hands over the tokens.
    pub async fn add_person(
        &self,
        name: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<SignInStarted> {
        if self.household().settings().person_by_name(name).is_some() {
            return Err(Error::InvalidField {
                field: "name",
                message: format!(
                    "There is already someone called \"{}\"; use Reconnect for them, or another name.",
                    name.trim()
                ),
            });
        }
        let listener = self.prepare().await?;
        let sign_in = SignIn::start(
            &self.api,
            name,
            client_id,
            client_secret,
            &listener.redirect_uri(),
        )?;
        Ok(self.launch(sign_in, listener))
    }

    /// Signs an existing person in again with their stored client id and secret.
    pub async fn reconnect(&self, person_id: &str) -> Result<SignInStarted> {
        let person = self.person(person_id)?;
        let listener = self.prepare().await?;
        let sign_in = SignIn::restart(
            &self.api,
            self.household(),
            &person.name,
            &listener.redirect_uri(),
        )
        .await?;
        Ok(self.launch(sign_in, listener))
    }

    /// Before a sign-in: the keyring must work and the redirect port be free. A
    /// sign-in already under way is cancelled (its loopback port is needed).
    async fn prepare(&self) -> Result<LoopbackListener> {
        self.household().secrets().check_available().await?;
        let cancelled = self.active.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(cancelled) = cancelled else {
            return LoopbackListener::bind(self.redirect_port).await;
        };
        cancelled.task.abort();
        // The cancelled listener shuts down on its own task; give it a moment to
        // release the port.
        let mut tries = 0;
        loop {
            match LoopbackListener::bind(self.redirect_port).await {
                Err(Error::RedirectPortInUse { .. }) if tries < 20 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => return other,
            }
        }
    }

    fn launch(&self, sign_in: SignIn, listener: LoopbackListener) -> SignInStarted {
        let started = SignInStarted {
            authorize_url: sign_in.authorize_url().to_string(),
            redirect_uri: listener.redirect_uri(),
        };
        let name = sign_in.name().to_owned();
        self.set_status(SignInStatus::WaitingForBrowser {
            name: name.clone(),
            authorize_url: started.authorize_url.clone(),
        });
        let (paste, mut pasted) = mpsc::channel::<AuthorizationCode>(1);
        let state = sign_in.state().to_owned();
        let (http, api, engine, status) = (
            self.http.clone(),
            self.api.clone(),
            self.engine.clone(),
            self.status.clone(),
        );
        let task = tokio::spawn(async move {
            let redirect = listener.wait_for_code(sign_in.state().to_owned(), SIGN_IN_TIMEOUT);
            let code = tokio::select! {
                code = redirect => code,
                Some(code) = pasted.recv() => Ok(code),
            };
            let result = match code {
                Ok(code) => sign_in.finish(&http, &api, engine.household(), code).await,
                Err(err) => Err(err),
            };
            let next = match result {
                Ok(done) => {
                    engine.forget(&done.person.id);
                    engine.refresh_now();
                    match done.approval {
                        Approval::Approved => SignInStatus::Done {
                            name,
                            person_id: done.person.id,
                        },
                        Approval::Pending | Approval::Unknown => SignInStatus::AwaitingApproval {
                            name,
                            person_id: done.person.id,
                        },
                    }
                }
                Err(err) => SignInStatus::Failed {
                    name,
                    code: err.code().to_owned(),
                    message: err.to_string(),
                },
            };
            *status.lock().unwrap_or_else(|p| p.into_inner()) = next;
        });
        *self.active.lock().unwrap_or_else(|p| p.into_inner()) = Some(ActiveSignIn { state, paste, task });
        started
    }

    /// The URL (or code) pasted for the sign-in under way. A wrong one is refused
    /// here and the sign-in keeps waiting for a right one.
    pub async fn paste_redirect(&self, input: &str) -> Result<()> {
        let (state, paste) = {
            let active = self.active.lock().unwrap_or_else(|p| p.into_inner());
            let active = active
                .as_ref()
                .filter(|a| !a.task.is_finished())
                .ok_or_else(|| Error::InvalidInput("No sign-in is waiting; press Sign in first.".into()))?;
            (active.state.clone(), active.paste.clone())
        };
        let code = parse_redirect_input(input, &state)?;
        paste
            .send(code)
            .await
            .map_err(|_| Error::InvalidInput("The sign-in already finished.".into()))
    }

    /// Home Assistant as the window shows it: never the token or password, only
    /// whether one is stored.
    pub async fn home_assistant(&self) -> HomeAssistantView {
        let settings = self.household().settings().home_assistant;
        let stored = |kind| async move {
            matches!(
                self.household().secrets().get(link::SECRET_OWNER, kind).await,
                Ok(Some(_))
            )
        };
        HomeAssistantView {
            transport: settings.transport,
            url: settings.url,
            mqtt_url: settings.mqtt.map(|m| m.url),
            enabled: settings.enabled,
            token_stored: stored(SecretKind::HomeAssistantToken).await,
            password_stored: stored(SecretKind::MqttPassword).await,
            status: self.push_status(),
        }
    }

    /// The token typed, or the stored one when the field was left empty.
    async fn token_or_stored(&self, token: &str) -> Result<String> {
        if !token.trim().is_empty() {
            return Ok(token.to_owned());
        }
        self.household()
            .secrets()
            .get(link::SECRET_OWNER, SecretKind::HomeAssistantToken)
            .await?
            .ok_or_else(|| {
                Error::InvalidInput(
                    "Paste a long-lived access token from your Home Assistant profile.".into(),
                )
            })
    }

    /// The broker settings typed (prefixes and CA file kept from before), and the
    /// password typed or, left empty, the stored one; none without a user name.
    async fn mqtt_input(&self, url: &str, password: &str) -> Result<(MqttSettings, Option<String>)> {
        let before = self.household().settings().home_assistant.mqtt;
        let settings = mqtt::settings_from_input(
            url,
            before.as_ref().and_then(|m| m.ca_file.clone()),
            before
                .as_ref()
                .map_or(DEFAULT_DISCOVERY_PREFIX, |m| &m.discovery_prefix),
            before.as_ref().map_or(DEFAULT_BASE_TOPIC, |m| &m.base_topic),
        )?;
        if !settings.url.contains('@') {
            return Ok((settings, None));
        }
        if !password.is_empty() {
            return Ok((settings, Some(password.to_owned())));
        }
        let stored = self
            .household()
            .secrets()
            .get(link::SECRET_OWNER, SecretKind::MqttPassword)
            .await?;
        Ok((settings, stored))
    }

    /// "Test connection": reads `/api/` or connects to the broker; saves nothing.
    pub async fn test_home_assistant(&self, transport: HaTransport, url: &str, secret: &str) -> Result<()> {
        match transport {
            HaTransport::Rest => {
                let token = self.token_or_stored(secret).await?;
                let ca = self.household().settings().home_assistant.ca_file;
                link::test_connection(url, &token, ca).await
            }
            HaTransport::Mqtt => {
                let (settings, password) = self.mqtt_input(url, secret).await?;
                link::test_mqtt(&settings, password.as_deref()).await
            }
        }
    }

    /// Saves the address and its secret (tested first; nothing saved if the test
    /// fails) and the on/off switch, then pushes at once.
    pub async fn save_home_assistant(
        &self,
        transport: HaTransport,
        url: &str,
        secret: &str,
        enabled: bool,
    ) -> Result<()> {
        match transport {
            HaTransport::Rest => {
                let token = self.token_or_stored(secret).await?;
                let ca = self.household().settings().home_assistant.ca_file;
                link::connect(self.household(), url, &token, ca).await?;
            }
            HaTransport::Mqtt => {
                let (settings, password) = self.mqtt_input(url, secret).await?;
                link::connect_mqtt(self.household(), settings, password.as_deref()).await?;
            }
        }
        self.household().update(|s| s.home_assistant.enabled = enabled)?;
        self.engine.refresh_now();
        Ok(())
    }

    /// Removes a person and every keyring entry of theirs.
    pub async fn remove_person(&self, person_id: &str) -> Result<()> {
        let person = self.person(person_id)?;
        self.household().remove_person(&person.name).await?;
        self.engine.forget(person_id);
        self.engine.refresh_now();
        Ok(())
    }
}
