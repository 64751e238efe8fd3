//! Demo mode: an embedded sandbox serving the demo household, with every demo person
//! signed in through the real OAuth flow, so a new user sees it work at once. Nothing
//! touches the person's real settings or keyring.

use anyhow::Context as _;
use monzo_sandbox::{email_link_landing, Fixture, Sandbox, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use monzo_tray_core::household::Household;
use monzo_tray_core::loopback::redirect_uri_for_port;
use monzo_tray_core::monzo::Endpoints;
use monzo_tray_core::secrets::SecretStore;
use monzo_tray_core::settings::Settings;

use crate::context::{open_history, AppContext, DemoParts};

/// The demo household, every person signed in; sign-in redirects (for a person
/// added in the window) received on `redirect_port`.
pub async fn context(redirect_port: u16) -> anyhow::Result<AppContext> {
    let mut fixture = Fixture::demo();
    // The fixture stops its generated history 35 days back, so that tests see only
    // its own recent transactions; the demo runs it up to yesterday, so the History
    // view and the tray's month line have this month and the last to show.
    if let Some(plan) = fixture.generate.as_mut() {
        plan.until_days_ago = Some(1);
    }
    let sandbox = Sandbox::start_local(fixture.clone())
        .await
        .context("could not start the demo sandbox")?;
    let endpoints = Endpoints::new(&sandbox.api_url(), &sandbox.auth_url())?;
    let household = Household::in_memory(Settings::default(), SecretStore::memory());
    let data = tempfile::tempdir().context("could not make the demo's history folder")?;
    let history = open_history(data.path(), &household)?;
    let demo = DemoParts {
        _sandbox: sandbox,
        _data: data,
    };
    let context = AppContext::assemble(endpoints, household, redirect_port, Some(history), Some(demo))?;
    for user in &fixture.users {
        sign_in(&context, &user.name)
            .await
            .with_context(|| format!("demo sign-in of {} failed", user.name))?;
    }
    Ok(context)
}

/// The sandbox's authorize page answers at once with the redirect Monzo's email link
/// would lead to; we read the code from it as if it had been pasted.
async fn sign_in(context: &AppContext, name: &str) -> anyhow::Result<()> {
    let redirect = redirect_uri_for_port(monzo_tray_core::loopback::DEFAULT_REDIRECT_PORT);
    let sign_in = context
        .service
        .start_sign_in(name, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, &redirect)
        .await?;
    let landed = email_link_landing(sign_in.authorize_url(), name).await?;
    let code = sign_in.code_from_pasted(&landed)?;
    context.service.finish_sign_in(&sign_in, code).await?;
    Ok(())
}
