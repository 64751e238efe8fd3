#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure should stop the test
//! The settings window's façade against the sandbox: adding a person through the
//! loopback redirect or a pasted URL, the in-app approval step completing by itself,
//! reconnecting, removing, and views that never carry a secret.

use std::sync::Arc;
use std::time::Duration;

use monzo_sandbox::{Fixture, Sandbox, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use monzo_tray_core::engine::{Engine, EngineConfig};
use monzo_tray_core::household::Household;
use monzo_tray_core::monzo::{http_client, Endpoints, MonzoApi};
use monzo_tray_core::pots::Direction;
use monzo_tray_core::secrets::{MemoryBackend, SecretStore};
use monzo_tray_core::service::{AppService, SignInStatus};
use monzo_tray_core::settings::Settings;
use monzo_tray_core::snapshot::ConnectionState;
use monzo_tray_core::Error;

struct Setup {
    sandbox: Sandbox,
    service: AppService,
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
        service: AppService::new(engine, 0, tokio::sync::watch::channel(None).1),
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

    s.service.engine().poll_once().await;
    assert_eq!(s.service.people()[0].state, ConnectionState::AwaitingApproval);
    s.sandbox.approve("Dana").unwrap();
    s.service.engine().poll_once().await;
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
#[tokio::test]
async fn a_planned_move_is_carried_out_once_on_confirmation() {
    let s = setup(true).await;
    let started = s
        .service
        .add_person("Dana", DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        .await
        .unwrap();
    reqwest::get(format!("{}&user=Dana", started.authorize_url))
        .await
        .unwrap();
    let status = wait_for(&s.service, |st| matches!(st, SignInStatus::Done { .. })).await;
    let SignInStatus::Done { person_id, .. } = status else {
        unreachable!()
    };
    s.service.engine().poll_once().await;
    let pot_balance = |s: &Setup| {
        s.sandbox
            .fixture()
            .pots
            .iter()
            .find(|p| p.id == "pot_00009demoholiday")
            .unwrap()
            .balance
    };
    let before = pot_balance(&s);
    let err = s
        .service
        .plan_pot_move(&person_id, "pot_00009demoholiday", Direction::IntoPot, "12.345")
        .unwrap_err();
    assert_eq!(err.code(), "invalid_amount");
    let planned = s
        .service
        .plan_pot_move(&person_id, "pot_00009demoholiday", Direction::IntoPot, "12.34")
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
        .plan_pot_move(&person_id, "Holiday", Direction::OutOfPot, "1")
        .unwrap();
    s.service.cancel_pot_move(&cancelled.id);
    assert!(s.service.confirm_pot_move(&cancelled.id).await.is_err());
    assert_eq!(pot_balance(&s), before + 1234);
}
