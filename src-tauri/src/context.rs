//! Wires the core together for one run: where Monzo is, the HTTP client, the
//! household (settings + keyring) and the engine.

use std::sync::Arc;

use monzo_sandbox::Sandbox;
use monzo_tray_core::engine::{Engine, EngineConfig, DEFAULT_REQUEST_TIMEOUT};
use monzo_tray_core::home_assistant::PushState;
use monzo_tray_core::household::Household;
use monzo_tray_core::monzo::{http_client, Endpoints, MonzoApi};
use monzo_tray_core::secrets::SecretStore;
use monzo_tray_core::service::AppService;
use monzo_tray_core::settings::{default_config_dir, SettingsFile};

use crate::cli::Places;

pub struct AppContext {
    pub http: reqwest::Client,
    pub api: MonzoApi,
    pub household: Arc<Household>,
    pub engine: Arc<Engine>,
    /// How the Home Assistant push stands, published by its pusher (`None` when Home
    /// Assistant is not set up).
    pub push_status: tokio::sync::watch::Sender<Option<PushState>>,
    /// The embedded sandbox of the demo; kept alive as long as the context.
    _sandbox: Option<Sandbox>,
}

/// What must live as long as the app that [`AppContext::into_service`] made: the
/// demo's embedded sandbox, if any.
pub struct Kept {
    _sandbox: Option<Sandbox>,
}

impl AppContext {
    /// The desktop's façade over this context (`redirect_port`: where sign-in
    /// redirects are received), and what must be kept alive beside it.
    pub fn into_service(self, redirect_port: u16) -> (AppService, Kept) {
        let service = AppService::new(self.engine, redirect_port, self.push_status);
        (
            service,
            Kept {
                _sandbox: self._sandbox,
            },
        )
    }

    /// The real thing: Monzo and the settings where `places` says, secrets in the OS
    /// keyring (its chores done first: entries from before household ids moved,
    /// those of people removed while it was away deleted).
    pub async fn open(places: &Places) -> anyhow::Result<Self> {
        let endpoints = Endpoints::new(&places.api_url, &places.auth_url)?;
        let config_dir = match &places.config_dir {
            Some(dir) => dir.clone(),
            None => default_config_dir()?,
        };
        let household = Household::open(SettingsFile::in_dir(&config_dir), SecretStore::keyring())?;
        if let Some(warning) = &household.load_warning {
            eprintln!("monzo-tray: {warning}");
        }
        household.tidy_keyring().await;
        Self::assemble(endpoints, household, None)
    }

    pub fn assemble(
        endpoints: Endpoints,
        household: Household,
        sandbox: Option<Sandbox>,
    ) -> anyhow::Result<Self> {
        let http = http_client(DEFAULT_REQUEST_TIMEOUT)?;
        let api = MonzoApi::new(http.clone(), endpoints);
        let household = Arc::new(household);
        let engine = Arc::new(Engine::new(
            household.clone(),
            http.clone(),
            api.clone(),
            EngineConfig::default(),
        ));
        Ok(Self {
            http,
            api,
            household,
            engine,
            push_status: tokio::sync::watch::Sender::new(None),
            _sandbox: sandbox,
        })
    }
}
