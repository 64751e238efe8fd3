//! Wires the core together for one run: where Monzo is, the HTTP client, the
//! household (settings + keyring), the engine, and the façade over them.

use std::sync::Arc;

use monzo_sandbox::Sandbox;
use monzo_tray_core::engine::{Engine, EngineConfig, DEFAULT_REQUEST_TIMEOUT};
use monzo_tray_core::history::{default_data_dir, history_path, HistoryStore};
use monzo_tray_core::household::Household;
use monzo_tray_core::monzo::{http_client, Endpoints, MonzoApi};
use monzo_tray_core::secrets::SecretStore;
use monzo_tray_core::service::AppService;
use monzo_tray_core::settings::{default_config_dir, SettingsFile};

use crate::cli::Places;

pub struct AppContext {
    /// The one façade every front end goes through.
    pub service: AppService,
    /// What the demo runs on; kept alive as long as the context.
    _demo: Option<DemoParts>,
}

/// The demo's embedded sandbox and the temporary folder of its history (removed
/// when the run ends).
pub struct DemoParts {
    pub _sandbox: Sandbox,
    pub _data: tempfile::TempDir,
}

/// What must live as long as the app that [`AppContext::into_service`] made: the
/// demo's parts, if any.
pub struct Kept {
    _demo: Option<DemoParts>,
}

impl AppContext {
    /// The façade, and what must be kept alive beside it.
    pub fn into_service(self) -> (AppService, Kept) {
        (self.service, Kept { _demo: self._demo })
    }

    /// The real thing: Monzo, the settings and the sign-in redirect where `places`
    /// says, secrets in the OS keyring (its chores done first: entries from before
    /// household ids moved, those of people removed while it was away deleted), and
    /// history in the household's database under the data folder.
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
        let data_dir = match &places.data_dir {
            Some(dir) => Ok(dir.clone()),
            None => default_data_dir(),
        };
        let history = data_dir
            .map_err(anyhow::Error::from)
            .and_then(|dir| open_history(&dir, &household));
        let history = match history {
            Ok(store) => Some(store),
            // History never stops the balances: said, and the run goes on without it.
            Err(err) => {
                eprintln!("monzo-tray: {err:#}");
                None
            }
        };
        Self::assemble(endpoints, household, places.redirect_port, history, None)
    }

    /// The engine and its façade over `household`, calling Monzo at `endpoints`;
    /// sign-in redirects received on `redirect_port`; history kept in `history`.
    pub fn assemble(
        endpoints: Endpoints,
        household: Household,
        redirect_port: u16,
        history: Option<Arc<HistoryStore>>,
        demo: Option<DemoParts>,
    ) -> anyhow::Result<Self> {
        let http = http_client(DEFAULT_REQUEST_TIMEOUT)?;
        let api = MonzoApi::new(http.clone(), endpoints);
        let engine = Arc::new(
            Engine::new(Arc::new(household), http, api, EngineConfig::default()).with_history(history),
        );
        let service = AppService::new(engine, redirect_port, tokio::sync::watch::Sender::new(None));
        Ok(Self { service, _demo: demo })
    }
}

/// Opens the household's history database under `data_dir`, saying (standard
/// error) if a broken one was set aside.
pub fn open_history(data_dir: &std::path::Path, household: &Household) -> anyhow::Result<Arc<HistoryStore>> {
    let id = household.household_id().unwrap_or_else(|| "in-memory".to_owned());
    let store = HistoryStore::open(&history_path(data_dir, &id))?;
    if let Some(warning) = &store.warning {
        eprintln!("monzo-tray: {warning}");
    }
    Ok(Arc::new(store))
}
