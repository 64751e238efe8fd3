//! Wires the core together for one run: where Monzo is, the HTTP client, the
//! household (settings + keyring), the engine, and the façade over them.

use std::sync::Arc;

use monzo_sandbox::Sandbox;
use monzo_tray_core::engine::{Engine, EngineConfig, DEFAULT_REQUEST_TIMEOUT};
use monzo_tray_core::household::Household;
use monzo_tray_core::monzo::{http_client, Endpoints, MonzoApi};
use monzo_tray_core::secrets::SecretStore;
use monzo_tray_core::service::AppService;
use monzo_tray_core::settings::{default_config_dir, SettingsFile};

use crate::cli::Places;

pub struct AppContext {
    /// The one façade every front end goes through.
    pub service: AppService,
    /// The embedded sandbox of the demo; kept alive as long as the context.
    _sandbox: Option<Sandbox>,
}

/// What must live as long as the app that [`AppContext::into_service`] made: the
/// demo's embedded sandbox, if any.
pub struct Kept {
    _sandbox: Option<Sandbox>,
}

impl AppContext {
    /// The façade, and what must be kept alive beside it.
    pub fn into_service(self) -> (AppService, Kept) {
        (
            self.service,
            Kept {
                _sandbox: self._sandbox,
            },
        )
    }

    /// The real thing: Monzo, the settings and the sign-in redirect where `places`
    /// says, secrets in the OS keyring (its chores done first: entries from before
    /// household ids moved, those of people removed while it was away deleted).
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
        Self::assemble(endpoints, household, places.redirect_port, None)
    }

    /// The engine and its façade over `household`, calling Monzo at `endpoints`;
    /// sign-in redirects received on `redirect_port`.
    pub fn assemble(
        endpoints: Endpoints,
        household: Household,
        redirect_port: u16,
        sandbox: Option<Sandbox>,
    ) -> anyhow::Result<Self> {
        let http = http_client(DEFAULT_REQUEST_TIMEOUT)?;
        let api = MonzoApi::new(http.clone(), endpoints);
        let engine = Arc::new(Engine::new(
            Arc::new(household),
            http,
            api,
            EngineConfig::default(),
        ));
        let service = AppService::new(engine, redirect_port, tokio::sync::watch::Sender::new(None));
        Ok(Self {
            service,
            _sandbox: sandbox,
        })
    }
}
