//! A household signed in to a sandbox through the real OAuth flow (the authorize
//! page's redirect read as if pasted), with an engine: what the suites and the
//! benchmarks that test the engine's consumers start from.

use std::sync::Arc;
use std::time::Duration;

use monzo_sandbox::Sandbox;
use monzo_tray_core::engine::{Engine, EngineConfig};
use monzo_tray_core::household::Household;
use monzo_tray_core::monzo::{http_client, Endpoints, MonzoApi};
use monzo_tray_core::secrets::SecretStore;
use monzo_tray_core::settings::Settings;

// The core's suites' one sandbox sign-in, shared rather than copied.
#[path = "../../crates/core/tests/support/mod.rs"]
mod support;
use support::sign_in_as;

pub struct SignedIn {
    pub engine: Engine,
    pub api: MonzoApi,
    pub household: Arc<Household>,
}

/// Signs `people` (sandbox user names) in with the demo client, secrets in memory.
pub async fn signed_in(
    sandbox: &Sandbox,
    people: &[&str],
    request_timeout: Duration,
    config: EngineConfig,
) -> SignedIn {
    let http = http_client(request_timeout).unwrap();
    let api = MonzoApi::new(
        http.clone(),
        Endpoints::new(&sandbox.api_url(), &sandbox.auth_url()).unwrap(),
    );
    let household = Arc::new(Household::in_memory(Settings::default(), SecretStore::memory()));
    let engine = Engine::new(household.clone(), http.clone(), api.clone(), config);
    for name in people {
        sign_in_as(&api, engine.sessions(), name, name).await;
    }
    SignedIn {
        engine,
        api,
        household,
    }
}
