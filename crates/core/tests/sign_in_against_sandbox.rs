#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure should stop the test
//! A sign-in that cannot be ended from outside: the loopback listener hands on only
//! its own redirect, a refused code lets the person try again, and the browser's
//! page says "Signed in" only when the sign-in worked.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use monzo_sandbox::{Fixture, Sandbox, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use monzo_tray_core::engine::{Engine, EngineConfig};
use monzo_tray_core::household::Household;
use monzo_tray_core::login::{Pasted, SignIn};
use monzo_tray_core::loopback::LoopbackListener;
use monzo_tray_core::monzo::{http_client, Endpoints, MonzoApi};
use monzo_tray_core::secrets::SecretStore;
use monzo_tray_core::settings::Settings;
use monzo_tray_core::Error;
use tokio::sync::mpsc;

struct World {
    _sandbox: Sandbox,
    api: MonzoApi,
    house: Arc<Household>,
    engine: Engine,
}

async fn world() -> World {
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    let endpoints = Endpoints::new(&sandbox.api_url(), &sandbox.auth_url()).unwrap();
    let http = http_client(Duration::from_secs(5)).unwrap();
    let api = MonzoApi::new(http.clone(), endpoints);
    let house = Arc::new(Household::in_memory(Settings::default(), SecretStore::memory()));
    let engine = Engine::new(house.clone(), http, api.clone(), EngineConfig::default());
    World {
        _sandbox: sandbox,
        api,
        house,
        engine,
    }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Where Monzo's email link leads for `sign_in`.
async fn landing(sign_in: &SignIn) -> String {
    monzo_sandbox::email_link_landing(sign_in.authorize_url(), "Dana")
        .await
        .unwrap()
}

async fn page(url: String) -> (u16, String) {
    let reply = browser().get(url).send().await.unwrap();
    (reply.status().as_u16(), reply.text().await.unwrap())
}

/// What `complete` said through its notice, for the test to read.
fn notices() -> (Arc<Mutex<Vec<String>>>, impl Fn(&str)) {
    let said = Arc::new(Mutex::new(Vec::new()));
    let sink = said.clone();
    (said, move |line: &str| sink.lock().unwrap().push(line.to_owned()))
}

/// Stray requests (another state, another path, Monzo's "error" without the state)
/// are answered and ignored; a mistyped pasted code and a refused redirect code are
/// said and the sign-in goes on; the right redirect then signs in, and only its page
/// says so, once the sign-in is done.
#[tokio::test]
async fn nothing_from_outside_ends_the_sign_in_and_a_refused_code_can_be_tried_again() {
    let world = world().await;
    let listener = LoopbackListener::bind(0).await.unwrap();
    let uri = listener.redirect_uri();
    let base = uri.trim_end_matches("/callback").to_owned();
    let sign_in = SignIn::start(&world.api, "Dana", DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, &uri).unwrap();
    let state = sign_in.state().to_owned();
    let landed = landing(&sign_in).await;
    let (said, notice) = notices();
    let (paste, pasted) = mpsc::channel(4);
    let completing = sign_in.complete(
        world.engine.sessions(),
        listener,
        pasted,
        Duration::from_secs(20),
        notice,
    );
    let outside = async {
        for stray in [
            format!("{uri}?code=abc&state=not-this-one"),
            format!("{uri}?error=access_denied&error_description=gotcha"),
            format!("{base}/anything?code=abc&state={state}"),
        ] {
            let (status, body) = page(stray.clone()).await;
            assert!((400..500).contains(&status), "{stray}: {status}");
            assert!(!body.contains("Signed in"), "{stray}: {body}");
        }
        // A mistyped code pasted: refused by Monzo, said, and the sign-in goes on.
        paste.send(Pasted::new("mistyped-code")).await.unwrap();
        // A code of the right sign-in that Monzo refuses, from the browser.
        let (_, body) = page(format!("{uri}?code=not-a-real-code&state={state}")).await;
        assert!(
            body.contains("did not accept that sign-in code") && body.contains("still waiting"),
            "{body}"
        );
        assert!(!body.contains("Signed in"), "{body}");
        // The real one.
        let (status, body) = page(landed.clone()).await;
        (status, body)
    };
    let (signed_in, (status, body)) = tokio::join!(completing, outside);
    let signed_in = signed_in.unwrap();
    assert_eq!(signed_in.person.name, "Dana");
    assert_eq!(status, 200);
    assert!(body.contains("Signed in to Monzo"), "{body}");
    let said = said.lock().unwrap().clone();
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(
        said[0].starts_with("Monzo did not accept that sign-in code"),
        "{said:?}"
    );
    assert!(said[0].contains("Still waiting"), "{said:?}");
    assert!(
        said[1].starts_with("The browser came back, but: Monzo did not accept"),
        "{said:?}"
    );
    assert!(world.house.person("Dana").is_ok());
}

/// A wrong client secret: the browser is told the sign-in failed and why (not
/// "Signed in"), and the sign-in ends with the same sentence.
#[tokio::test]
async fn a_refused_client_secret_is_said_on_the_page() {
    let world = world().await;
    let listener = LoopbackListener::bind(0).await.unwrap();
    let uri = listener.redirect_uri();
    let sign_in = SignIn::start(&world.api, "Dana", DEMO_CLIENT_ID, "mnzconf.wrong", &uri).unwrap();
    let landed = landing(&sign_in).await;
    let (_paste, pasted) = mpsc::channel(1);
    let completing = sign_in.complete(
        world.engine.sessions(),
        listener,
        pasted,
        Duration::from_secs(20),
        |_| {},
    );
    let (result, (_, body)) = tokio::join!(completing, page(landed));
    assert!(matches!(result, Err(Error::BadClientCredentials)), "{result:?}");
    assert!(!body.contains("Signed in"), "{body}");
    assert!(
        body.contains("did not complete") && body.contains("did not accept the client id and secret"),
        "{body}"
    );
    assert!(world.house.person("Dana").is_err(), "nobody was added");
}

/// With nothing right arriving, the sign-in ends at its timeout.
#[tokio::test]
async fn it_ends_at_its_timeout() {
    let world = world().await;
    let listener = LoopbackListener::bind(0).await.unwrap();
    let uri = listener.redirect_uri();
    let sign_in = SignIn::start(&world.api, "Dana", DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, &uri).unwrap();
    let (paste, pasted) = mpsc::channel(1);
    drop(paste);
    let result = sign_in
        .complete(
            world.engine.sessions(),
            listener,
            pasted,
            Duration::from_millis(300),
            |_| {},
        )
        .await;
    assert!(matches!(result, Err(Error::LoginTimedOut(_))), "{result:?}");
}
