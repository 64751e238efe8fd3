//! The one sandbox sign-in the tests share (the core's suites, and the end-to-end
//! crate through `#[path]`): what a person does, over real HTTP.

use monzo_sandbox::{email_link_landing, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use monzo_tray_core::login::{SignIn, SignedIn};
use monzo_tray_core::monzo::MonzoApi;
use monzo_tray_core::session::Sessions;

/// The redirect URL the tests' sign-ins are made with: nothing listens there, the
/// code is taken from where the email link lands, as if pasted. (Not every suite
/// that includes this module names it.)
#[allow(dead_code)]
pub const REDIRECT: &str = "http://127.0.0.1:1/cb";

/// Signs `name` in as the sandbox user `user` with the demo client: the authorize
/// page, the email link's landing address pasted, the code exchanged, the tokens
/// stored through `sessions`.
pub async fn sign_in_as(api: &MonzoApi, sessions: &Sessions, name: &str, user: &str) -> SignedIn {
    let sign_in = SignIn::start(api, name, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, REDIRECT).unwrap();
    let landed = email_link_landing(sign_in.authorize_url(), user).await.unwrap();
    let code = sign_in.code_from_pasted(&landed).unwrap();
    sign_in.finish(sessions, code).await.unwrap()
}

/// An engine that retries quickly (5 to 50 ms, twice): a failing request costs the
/// suites little time. (Not every suite that includes this module uses it.)
#[allow(dead_code)]
pub fn quick_retries() -> monzo_tray_core::engine::EngineConfig {
    monzo_tray_core::engine::EngineConfig {
        retry: monzo_tray_core::retry::RetryPolicy {
            min_delay: std::time::Duration::from_millis(5),
            max_delay: std::time::Duration::from_millis(50),
            max_retries: 2,
            ..monzo_tray_core::retry::RetryPolicy::default()
        },
        ..monzo_tray_core::engine::EngineConfig::default()
    }
}
