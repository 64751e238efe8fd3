#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure should stop the test
//! The settings window's façade against the sandbox: adding a person through the
//! loopback redirect or a pasted URL, the in-app approval step completing by itself,
//! reconnecting, removing, and views that never carry a secret.

use std::sync::Arc;
use std::time::Duration;

use monzo_sandbox::{FaultKind, FaultPlan, Fixture, Sandbox, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use monzo_tray_core::engine::{Engine, EngineConfig};
use monzo_tray_core::home_assistant::link;
use monzo_tray_core::household::Household;
use monzo_tray_core::monzo::{http_client, Endpoints, MonzoApi};
use monzo_tray_core::pots::Direction;
use monzo_tray_core::secrets::{MemoryBackend, SecretKind, SecretStore};
use monzo_tray_core::service::{AppService, SignInStatus};
use monzo_tray_core::settings::{HaTransport, Settings};
use monzo_tray_core::snapshot::ConnectionState;
use monzo_tray_core::Error;

struct Setup {
    sandbox: Sandbox,
    service: AppService,
    /// The engine behind the façade, for the test to poll and read directly.
    engine: Arc<Engine>,
    secrets: Arc<MemoryBackend>,
}

async fn setup(approve_on_login: bool) -> Setup {
    let mut fixture = Fixture::demo();
    fixture
        .users
        .iter_mut()
        .for_each(|u| u.approve_on_login = approve_on_login);
    let sandbox = Sandbox::start_local(fixture).await.unwrap();
    let http = http_client(Duration::from_secs(2)).unwrap();
    let api = MonzoApi::new(
        http.clone(),
        Endpoints::new(&sandbox.api_url(), &sandbox.auth_url()).unwrap(),
    );
    let secrets = Arc::new(MemoryBackend::default());
    let house = Arc::new(Household::in_memory(
        Settings::default(),
        SecretStore::new(secrets.clone(), Duration::from_secs(5)),
    ));
    let engine = Arc::new(Engine::new(
        house,
        http.clone(),
        api.clone(),
        EngineConfig::default(),
    ));
    Setup {
        sandbox,
        service: AppService::new(engine.clone(), 0, tokio::sync::watch::Sender::new(None)),
        engine,
        secrets,
    }
}

async fn wait_for(service: &AppService, done: impl Fn(&SignInStatus) -> bool) -> SignInStatus {
    for _ in 0..200 {
        let status = service.sign_in_status();
        if done(&status) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("sign-in status stuck at {:?}", service.sign_in_status());
}

#[tokio::test]
async fn add_a_person_through_the_redirect_then_approval_completes_by_itself() {
    let s = setup(false).await;
    let started = s
        .service
        .add_person("Dana", DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        .await
        .unwrap();
    assert!(started.redirect_uri.starts_with("http://127.0.0.1:"));
    assert!(matches!(
        s.service.sign_in_status(),
        SignInStatus::WaitingForBrowser { .. }
    ));
    assert!(
        s.service.people().is_empty(),
        "nothing is stored before the tokens arrive"
    );

    let page = reqwest::get(format!("{}&user=Dana", started.authorize_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("close this tab"));
    let status = wait_for(&s.service, |st| {
        !matches!(st, SignInStatus::WaitingForBrowser { .. })
    })
    .await;
    let SignInStatus::AwaitingApproval { person_id, .. } = status else {
        panic!("{status:?}")
    };

    s.engine.poll_once().await;
    assert_eq!(s.service.people()[0].state, ConnectionState::AwaitingApproval);
    s.sandbox.approve("Dana").unwrap();
    s.engine.poll_once().await;
    let status = s.service.check_approval();
    assert_eq!(
        status,
        SignInStatus::Done {
            name: "Dana".into(),
            person_id
        }
    );

    let people = s.service.people();
    assert_eq!(people[0].state, ConnectionState::Live);
    assert_eq!(people[0].accounts.len(), 2);
    let json = serde_json::to_string(&people).unwrap();
    for secret in s.secrets.values() {
        assert!(!json.contains(&secret), "a view carries a secret");
    }
}

#[tokio::test]
async fn a_pasted_url_completes_the_sign_in_and_bad_pastes_are_refused() {
    let s = setup(true).await;
    let started = s
        .service
        .add_person("Alex", DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        .await
        .unwrap();
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let landed = no_redirects
        .get(format!("{}&user=Alex", started.authorize_url))
        .send()
        .await
        .unwrap()
        .headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(matches!(
        s.service.paste_redirect("rubbish here").await,
        Err(Error::BadRedirectInput(_))
    ));
    let foreign = landed.replace("state=", "state=other");
    assert!(matches!(
        s.service.paste_redirect(&foreign).await,
        Err(Error::StateMismatch)
    ));
    // A code Monzo refuses (mistyped, used, expired): said next to the field, and
    // the sign-in goes on, so the right one can be pasted.
    assert!(matches!(
        s.service.paste_redirect("mistyped-code").await,
        Err(Error::CodeRejected)
    ));
    assert!(
        matches!(s.service.sign_in_status(), SignInStatus::WaitingForBrowser { .. }),
        "still waiting"
    );
    s.service.paste_redirect(&landed).await.unwrap();
    let status = wait_for(&s.service, |st| matches!(st, SignInStatus::Done { .. })).await;
    let SignInStatus::Done { person_id, .. } = status else {
        unreachable!()
    };

    // The same name again is refused; reconnect keeps the stored client.
    let again = s
        .service
        .add_person("alex", DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        .await;
    assert!(matches!(again, Err(Error::InvalidField { field: "name", .. })));
    let reconnect = s.service.reconnect(&person_id).await.unwrap();
    assert!(reconnect.authorize_url.contains(DEMO_CLIENT_ID));
    reqwest::get(format!("{}&user=Alex", reconnect.authorize_url))
        .await
        .unwrap();
    wait_for(&s.service, |st| matches!(st, SignInStatus::Done { .. })).await;
    assert_eq!(s.service.people().len(), 1);

    s.service.remove_person(&person_id).await.unwrap();
    assert!(s.service.people().is_empty());
    assert!(s.secrets.values().is_empty(), "keyring entries removed");
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_starts() {
    let s = setup(true).await;
    assert!(s
        .service
        .add_person("", DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        .await
        .is_err());
    assert!(s
        .service
        .add_person("Dana", "bad id!", DEMO_CLIENT_SECRET)
        .await
        .is_err());
    assert!(s
        .service
        .add_person("Dana", DEMO_CLIENT_ID, "with space")
        .await
        .is_err());
    assert_eq!(s.service.sign_in_status(), SignInStatus::Idle);
    assert!(matches!(
        s.service.paste_redirect("x").await,
        Err(Error::InvalidInput(_))
    ));
    assert!(s.service.set_poll_interval(5).is_err());
    s.service.set_poll_interval(120).unwrap();
    assert!(s.service.set_low_balance_alert("acc_1", "ten").is_err());
    s.service.set_low_balance_alert("acc_1", "£100.50").unwrap();
    assert_eq!(s.service.settings().low_balance_alerts["acc_1"], "100.50");
    s.service.set_low_balance_alert("acc_1", "").unwrap();
    assert!(s.service.settings().low_balance_alerts.is_empty());

    // A wrong secret fails after the browser step, with the reason, storing nothing.
    let started = s
        .service
        .add_person("Dana", DEMO_CLIENT_ID, "mnzconf.wrong")
        .await
        .unwrap();
    reqwest::get(format!("{}&user=Dana", started.authorize_url))
        .await
        .unwrap();
    let status = wait_for(&s.service, |st| matches!(st, SignInStatus::Failed { .. })).await;
    let SignInStatus::Failed { code, .. } = status else {
        unreachable!()
    };
    assert_eq!(code, "bad_client_credentials");
    assert!(s.service.people().is_empty());
}

/// From the window a move is planned, confirmed once, and carried out once:
/// confirming the same plan again moves nothing; a cancelled plan cannot be
/// confirmed; a wrong amount is refused for the amount field.
/// Dana signed in through the loopback redirect and polled once; her person id.
async fn sign_in_dana(s: &Setup) -> String {
    let started = s
        .service
        .add_person("Dana", DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        .await
        .unwrap();
    reqwest::get(format!("{}&user=Dana", started.authorize_url))
        .await
        .unwrap();
    let SignInStatus::Done { person_id, .. } =
        wait_for(&s.service, |st| matches!(st, SignInStatus::Done { .. })).await
    else {
        unreachable!()
    };
    s.engine.poll_once().await;
    person_id
}

/// Dana's Holiday pot as Monzo (the sandbox) holds it, in pence.
fn pot_balance(s: &Setup) -> i64 {
    s.sandbox
        .fixture()
        .pots
        .iter()
        .find(|p| p.id == "pot_00009demoholiday")
        .unwrap()
        .balance
}

#[tokio::test]
async fn a_planned_move_is_carried_out_once_on_confirmation() {
    let s = setup(true).await;
    let person_id = sign_in_dana(&s).await;
    let before = pot_balance(&s);
    let err = s
        .service
        .plan_pot_move(&person_id, "pot_00009demoholiday", Direction::Deposit, "12.345")
        .unwrap_err();
    assert_eq!(err.code(), "invalid_amount");
    let planned = s
        .service
        .plan_pot_move(&person_id, "pot_00009demoholiday", Direction::Deposit, "12.34")
        .unwrap();
    assert_eq!(
        planned.question,
        "Move £12.34 from Dana's Current Account into Holiday ☀️?"
    );
    assert_eq!(pot_balance(&s), before, "nothing moves before the confirmation");
    let done = s.service.confirm_pot_move(&planned.id).await.unwrap();
    assert!(
        done.sentence.starts_with("Moved £12.34 into Holiday"),
        "{}",
        done.sentence
    );
    assert!(
        s.service.confirm_pot_move(&planned.id).await.is_err(),
        "confirmed twice"
    );
    assert_eq!(pot_balance(&s), before + 1234, "moved once");
    let cancelled = s
        .service
        .plan_pot_move(&person_id, "Holiday", Direction::Withdraw, "1")
        .unwrap();
    s.service.cancel_pot_move(&cancelled.id);
    assert!(s.service.confirm_pot_move(&cancelled.id).await.is_err());
    assert_eq!(pot_balance(&s), before + 1234);
}

/// A move whose outcome is unknown stays planned under its id: confirming it again
/// sends the same `dedupe_id`, and the money moves once.
#[tokio::test]
async fn a_move_with_an_unknown_outcome_can_be_tried_again_as_the_same_move() {
    let s = setup(true).await;
    let person_id = sign_in_dana(&s).await;
    let before = pot_balance(&s);
    let planned = s
        .service
        .plan_pot_move(&person_id, "Holiday", Direction::Deposit, "3")
        .unwrap();
    s.sandbox.set_faults(FaultPlan::every(
        FaultKind::DropConnection,
        "/pots/pot_00009demoholiday/deposit",
    ));
    let err = s.service.confirm_pot_move(&planned.id).await.unwrap_err();
    assert_eq!(err.code(), "move_outcome_unknown", "{err}");
    assert_eq!(pot_balance(&s), before);
    s.sandbox.clear_faults();
    s.service.confirm_pot_move(&planned.id).await.unwrap();
    assert_eq!(pot_balance(&s), before + 300);
    assert!(
        s.service.confirm_pot_move(&planned.id).await.is_err(),
        "done: nothing left to confirm"
    );
    assert_eq!(pot_balance(&s), before + 300, "moved once");
}

/// A Home Assistant stand-in that counts the requests to `/api/` and keeps the
/// tokens they carried.
async fn fake_home_assistant() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let app = axum::Router::new().route(
        "/api/",
        axum::routing::get({
            let seen = seen.clone();
            move |headers: axum::http::HeaderMap| async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                seen.lock().unwrap().push(auth);
                axum::Json(serde_json::json!({"message": "API running."}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

/// With the token field left empty, the stored token is used for the Home
/// Assistant it was stored for, never sent to an address typed since.
#[tokio::test]
async fn a_stored_token_is_never_sent_to_another_home_assistant() {
    let s = setup(true).await;
    let (ours, ours_saw) = fake_home_assistant().await;
    let (other, other_saw) = fake_home_assistant().await;
    let household = s.engine.household().clone();
    household
        .update(|settings| settings.home_assistant.url = Some(ours.clone()))
        .unwrap();
    household
        .secrets()
        .set(link::SECRET_OWNER, SecretKind::HomeAssistantToken, "stored-token")
        .await
        .unwrap();

    let err = s
        .service
        .test_home_assistant(HaTransport::Rest, &other, "")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("Paste a long-lived access token"),
        "{err}"
    );
    assert!(
        other_saw.lock().unwrap().is_empty(),
        "nothing was sent to the other address"
    );

    s.service
        .test_home_assistant(HaTransport::Rest, &format!("{ours}/"), "")
        .await
        .unwrap();
    assert_eq!(*ours_saw.lock().unwrap(), ["Bearer stored-token"]);
}
