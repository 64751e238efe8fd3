#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure should stop the test
//! The core driven against the sandbox over real HTTP: sign-in (loopback and pasted),
//! in-app approval, expiry and refresh rotation, refusals, every injected fault, and
//! several people at once.

use std::sync::Arc;
use std::time::Duration;

mod support;

use monzo_sandbox::email_link_landing;
use monzo_sandbox::fixture::ClientFixture;
use monzo_sandbox::{FaultKind, FaultPlan, FaultRule, Fixture, Sandbox, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use monzo_tray_core::background;
use monzo_tray_core::clock::Clock;
use monzo_tray_core::engine::{Engine, EngineConfig};
use monzo_tray_core::household::Household;
use monzo_tray_core::login::{Approval, SignIn};
use monzo_tray_core::loopback::LoopbackListener;
use monzo_tray_core::monzo::{http_client, Endpoints, MonzoApi};
use monzo_tray_core::retry::RetryPolicy;
use monzo_tray_core::secrets::{MemoryBackend, SecretBackend, SecretKind, SecretStore};
use monzo_tray_core::settings::{Settings, SettingsFile};
use monzo_tray_core::snapshot::{ConnectionState, Snapshot};
use monzo_tray_core::Error;
use support::REDIRECT;

struct World {
    sandbox: Sandbox,
    http: reqwest::Client,
    api: MonzoApi,
    house: Arc<Household>,
    secrets: Arc<MemoryBackend>,
    engine: Engine,
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_retries: 3,
        ..RetryPolicy::default()
    }
}

async fn world_with(
    fixture: Fixture,
    house: Option<Household>,
    secrets: Option<Arc<MemoryBackend>>,
) -> World {
    let sandbox = Sandbox::start_local(fixture).await.unwrap();
    let endpoints = Endpoints::new(&sandbox.api_url(), &sandbox.auth_url()).unwrap();
    let http = http_client(Duration::from_millis(500)).unwrap();
    let api = MonzoApi::new(http.clone(), endpoints);
    let secrets = secrets.unwrap_or_default();
    let house = Arc::new(house.unwrap_or_else(|| {
        Household::in_memory(
            Settings::default(),
            SecretStore::new(secrets.clone(), Duration::from_secs(5)),
        )
    }));
    let config = EngineConfig {
        retry: fast_retries(),
        ..EngineConfig::default()
    };
    let engine = Engine::new(house.clone(), http.clone(), api.clone(), config);
    World {
        sandbox,
        http,
        api,
        house,
        secrets,
        engine,
    }
}

async fn demo_world() -> World {
    world_with(Fixture::demo(), None, None).await
}

async fn browser_lands_on(sign_in: &SignIn, user: &str) -> String {
    email_link_landing(sign_in.authorize_url(), user).await.unwrap()
}

async fn sign_in(world: &World, name: &str, user: &str) -> Approval {
    support::sign_in_as(&world.api, world.engine.sessions(), name, user)
        .await
        .approval
}

fn state_of(snapshot: &Snapshot, name: &str) -> ConnectionState {
    snapshot
        .person(name)
        .unwrap_or_else(|| panic!("{name} missing"))
        .state
}

#[tokio::test]
async fn full_sign_in_through_the_loopback_redirect_then_balances() {
    let world = demo_world().await;
    let listener = LoopbackListener::bind(0).await.unwrap();
    let sign_in = SignIn::start(
        &world.api,
        "Dana",
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        &listener.redirect_uri(),
    )
    .unwrap();
    let (_paste, pasted) = tokio::sync::mpsc::channel(1);
    let completing = sign_in.complete(
        world.engine.sessions(),
        listener,
        pasted,
        Duration::from_secs(10),
        |_| {},
    );
    // The browser follows the redirect all the way to our loopback listener.
    let mut url = sign_in.authorize_url().clone();
    url.query_pairs_mut().append_pair("user", "Dana");
    let browsing = async { reqwest::get(url).await.unwrap().text().await.unwrap() };
    let (signed_in, page) = tokio::join!(completing, browsing);
    assert!(page.contains("close this tab"), "{page}");
    assert_eq!(signed_in.unwrap().approval, Approval::Approved);

    let snapshot = world.engine.poll_once().await;
    let dana = snapshot.person("Dana").unwrap();
    assert_eq!(dana.state, ConnectionState::Live);
    assert!(dana.approval_due_at.is_some());
    let ids: Vec<&str> = dana.accounts.iter().map(|a| a.id.as_str()).collect();
    // The flex backing loan is hidden, as Home Assistant hides it.
    assert_eq!(ids, ["acc_00009demodanacurrent", "acc_00009demojoint"]);
    let current = &dana.accounts[0];
    assert_eq!(current.name, "Current Account");
    assert_eq!(current.balance.to_decimal_string(), "1234.56");
    assert_eq!(current.total_balance.to_decimal_string(), "3055.31");
    assert_eq!(current.spend_today.to_decimal_string(), "-12.30");
    let pots: Vec<&str> = current.pots.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        pots,
        ["Holiday ☀️", "Rainy day"],
        "the deleted pot is never shown"
    );
    assert_eq!(dana.accounts[1].name, "Joint Account");
    // The subscription sees the same snapshot.
    assert_eq!(*world.engine.subscribe().borrow(), snapshot);
}

#[tokio::test]
async fn a_pasted_url_with_the_wrong_state_is_refused_and_the_right_one_works() {
    let world = demo_world().await;
    let sign_in = SignIn::start(&world.api, "Dana", DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, REDIRECT).unwrap();
    let landed = browser_lands_on(&sign_in, "Dana").await;
    let tampered = landed.replace(sign_in.state(), "someone-elses-state");
    assert!(matches!(
        sign_in.code_from_pasted(&tampered),
        Err(Error::StateMismatch)
    ));
    assert!(matches!(
        sign_in.code_from_pasted("not a url at all"),
        Err(Error::BadRedirectInput(_))
    ));
    let code = sign_in.code_from_pasted(&format!("  {landed}\n")).unwrap();
    sign_in.finish(world.engine.sessions(), code).await.unwrap();
    assert!(world.house.person("Dana").is_ok());
}

#[tokio::test]
async fn approval_pending_then_granted_without_signing_in_again() {
    let mut fixture = Fixture::demo();
    fixture.users.iter_mut().for_each(|u| u.approve_on_login = false);
    let world = world_with(fixture, None, None).await;
    assert_eq!(sign_in(&world, "Dana", "Dana").await, Approval::Pending);

    let snapshot = world.engine.poll_once().await;
    let dana = snapshot.person("Dana").unwrap();
    assert_eq!(dana.state, ConnectionState::AwaitingApproval);
    assert!(dana.error.as_deref().unwrap().contains("Monzo app"));
    assert!(world.house.person("Dana").unwrap().approved_at.is_none());

    world.sandbox.approve("Dana").unwrap();
    let snapshot = world.engine.poll_once().await;
    assert_eq!(state_of(&snapshot, "Dana"), ConnectionState::Live);
    assert!(
        world.house.person("Dana").unwrap().approved_at.is_some(),
        "approval time recorded"
    );

    // 90 days later Monzo asks again: the state says so, and the record is cleared.
    world.sandbox.revoke_approval("Dana").unwrap();
    let snapshot = world.engine.poll_once().await;
    let dana = snapshot.person("Dana").unwrap();
    assert_eq!(dana.state, ConnectionState::AwaitingApproval);
    assert_eq!(dana.accounts.len(), 2, "last known balances are kept");
    assert!(world.house.person("Dana").unwrap().approved_at.is_none());
}

#[tokio::test]
async fn expiry_refreshes_rotates_and_stores_the_new_tokens() {
    let world = demo_world().await;
    sign_in(&world, "Dana", "Dana").await;
    let person = world.house.person("Dana").unwrap();
    let first = world.sandbox.issued_tokens().last().cloned().unwrap();

    world.sandbox.expire_tokens(Some("Dana")).unwrap();
    let snapshot = world.engine.poll_once().await;
    assert_eq!(state_of(&snapshot, "Dana"), ConnectionState::Live);

    let issued = world.sandbox.issued_tokens();
    assert_eq!(issued.len(), 2, "exactly one refresh for the whole poll");
    let second = issued.last().unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    let stored = world
        .house
        .secrets()
        .get(&person.id, SecretKind::RefreshToken)
        .await
        .unwrap();
    assert_eq!(
        stored, second.refresh_token,
        "the rotated refresh token is in the keyring"
    );
    let stored_access = world
        .house
        .secrets()
        .get(&person.id, SecretKind::AccessToken)
        .await
        .unwrap();
    assert_eq!(stored_access.as_deref(), Some(second.access_token.as_str()));

    // The old refresh token is dead.
    let creds = monzo_tray_core::oauth::ClientCredentials {
        client_id: DEMO_CLIENT_ID.into(),
        client_secret: oauth2::ClientSecret::new(DEMO_CLIENT_SECRET.into()),
        redirect_uri: REDIRECT.into(),
    };
    let old = oauth2::RefreshToken::new(first.refresh_token.unwrap());
    let reuse =
        monzo_tray_core::oauth::refresh(&world.http, world.api.endpoints(), &creds, &old, "Dana").await;
    assert!(matches!(reuse, Err(Error::SignInRequired { .. })), "{reuse:?}");
}

#[tokio::test]
async fn a_refused_refresh_signs_the_person_out_clearly() {
    let world = demo_world().await;
    sign_in(&world, "Dana", "Dana").await;
    world.engine.poll_once().await;
    world.sandbox.expire_tokens(Some("Dana")).unwrap();
    world.sandbox.revoke_refresh_tokens(Some("Dana")).unwrap();
    let snapshot = world.engine.poll_once().await;
    let dana = snapshot.person("Dana").unwrap();
    assert_eq!(dana.state, ConnectionState::SignedOut);
    assert!(dana.error.as_deref().unwrap().contains("sign Dana in again"));
    // It stays signed out without hammering Monzo with the dead token.
    world.sandbox.reset_request_counts();
    let snapshot = world.engine.poll_once().await;
    assert_eq!(state_of(&snapshot, "Dana"), ConnectionState::SignedOut);
    assert_eq!(world.sandbox.total_requests(), 0);
    // Signing in again brings the person back.
    sign_in(&world, "Dana", "Dana").await;
    let snapshot = world.engine.poll_once().await;
    assert_eq!(state_of(&snapshot, "Dana"), ConnectionState::Live);
}

fn rule(kind: FaultKind, times: Option<u32>) -> FaultRule {
    FaultRule {
        kind,
        times,
        path: None,
        retry_after: None,
        delay_ms: Some(2_000),
    }
}

#[tokio::test]
async fn every_injected_fault_is_retried_and_recovers() {
    let world = demo_world().await;
    sign_in(&world, "Dana", "Dana").await;
    let kinds = [
        FaultKind::RateLimited,
        FaultKind::ServerError,
        FaultKind::BadGateway,
        FaultKind::GatewayTimeout,
        FaultKind::Slow,
        FaultKind::MalformedJson,
        FaultKind::DropConnection,
        FaultKind::ExpireToken,
    ];
    for kind in kinds {
        world.sandbox.set_faults(FaultPlan {
            rules: vec![rule(kind, Some(2))],
            random: None,
        });
        let snapshot = world.engine.poll_once().await;
        let dana = snapshot.person("Dana").unwrap();
        assert_eq!(dana.state, ConnectionState::Live, "{kind:?}: {:?}", dana.error);
        assert_eq!(dana.accounts.len(), 2, "{kind:?}");
    }
    // A Retry-After that fits the retry budget is waited out.
    world.sandbox.set_faults(FaultPlan {
        rules: vec![FaultRule {
            retry_after: Some(0),
            ..rule(FaultKind::RateLimited, Some(1))
        }],
        random: None,
    });
    assert_eq!(
        state_of(&world.engine.poll_once().await, "Dana"),
        ConnectionState::Live
    );
}

#[tokio::test]
async fn lasting_trouble_marks_balances_stale_and_keeps_them() {
    let world = demo_world().await;
    sign_in(&world, "Dana", "Dana").await;
    let live = world.engine.poll_once().await;
    let before = live.person("Dana").unwrap().clone();
    for kind in [
        FaultKind::ServerError,
        FaultKind::GatewayTimeout,
        FaultKind::DropConnection,
        FaultKind::Slow,
    ] {
        world.sandbox.set_faults(FaultPlan {
            rules: vec![rule(kind, None)],
            random: None,
        });
        let snapshot = world.engine.poll_once().await;
        let dana = snapshot.person("Dana").unwrap();
        assert_eq!(dana.state, ConnectionState::Stale, "{kind:?}");
        assert_eq!(
            dana.accounts, before.accounts,
            "{kind:?}: last known balances kept"
        );
        assert_eq!(
            dana.updated_at, before.updated_at,
            "{kind:?}: last updated time kept"
        );
        assert!(dana.error.is_some());
    }
    // A long Retry-After: marked stale, and Monzo is left alone until it passes.
    world.sandbox.set_faults(FaultPlan {
        rules: vec![FaultRule {
            retry_after: Some(600),
            ..rule(FaultKind::RateLimited, Some(1))
        }],
        random: None,
    });
    assert_eq!(
        state_of(&world.engine.poll_once().await, "Dana"),
        ConnectionState::Stale
    );
    world.sandbox.reset_request_counts();
    let snapshot = world.engine.poll_once().await;
    assert_eq!(state_of(&snapshot, "Dana"), ConnectionState::Stale);
    assert!(snapshot
        .person("Dana")
        .unwrap()
        .error
        .as_deref()
        .unwrap()
        .contains("ask again in"));
    assert_eq!(
        world.sandbox.total_requests(),
        0,
        "Retry-After honoured across polls"
    );

    world.sandbox.clear_faults();
    // A fresh engine (as after a restart) is not held back and is live at once.
    let engine = Engine::new(
        world.house.clone(),
        world.http.clone(),
        world.api.clone(),
        EngineConfig::default(),
    );
    assert_eq!(state_of(&engine.poll_once().await, "Dana"), ConnectionState::Live);
}

/// A 200 whose body lacks what it exists for (`{}` from `/accounts` or `/pots`,
/// `/balance` without `balance`) is malformed, never "nothing there": the person goes
/// stale with a sentence, and the last balances are kept.
#[tokio::test]
async fn a_reply_missing_its_list_is_malformed_not_empty() {
    let world = demo_world().await;
    sign_in(&world, "Dana", "Dana").await;
    let before = world.engine.poll_once().await.person("Dana").unwrap().clone();
    assert_eq!(before.accounts.len(), 2);
    for path in ["/accounts", "/pots", "/balance"] {
        world.sandbox.set_faults(FaultPlan {
            rules: vec![FaultRule {
                path: Some(path.into()),
                ..rule(FaultKind::MissingList, None)
            }],
            random: None,
        });
        // The account list is kept for minutes; "Refresh now" reads it again.
        world.engine.refresh_now();
        let snapshot = world.engine.poll_once().await;
        let dana = snapshot.person("Dana").unwrap();
        assert_eq!(dana.state, ConnectionState::Stale, "{path}");
        assert_eq!(dana.accounts, before.accounts, "{path}: last balances kept");
        assert!(dana.closed_or_deleted.is_empty(), "{path}");
        let error = dana.error.as_deref().unwrap();
        assert!(error.contains("could not read"), "{path}: {error}");
    }
    // Once: retried, and nobody notices.
    world.sandbox.set_faults(FaultPlan {
        rules: vec![rule(FaultKind::MissingList, Some(1))],
        random: None,
    });
    assert_eq!(
        state_of(&world.engine.poll_once().await, "Dana"),
        ConnectionState::Live
    );
    world.sandbox.clear_faults();

    // A partial list is well-formed: the person is live, and what is missing is only
    // missing (not "deleted": there is no evidence for that).
    world.sandbox.set_faults(FaultPlan {
        rules: vec![FaultRule {
            path: Some("/pots".into()),
            ..rule(FaultKind::PartialList, Some(1))
        }],
        random: None,
    });
    let snapshot = world.engine.poll_once().await;
    let dana = snapshot.person("Dana").unwrap();
    assert_eq!(dana.state, ConnectionState::Live);
    assert!(dana.closed_or_deleted.is_empty(), "{:?}", dana.closed_or_deleted);
    // Monzo's own word is evidence: a deleted pot and a closed account are named.
    world.sandbox.clear_faults();
    world
        .sandbox
        .set_pot("pot_00009demorainyday", None, None, Some(true))
        .unwrap();
    let dana = world.engine.poll_once().await.person("Dana").unwrap().clone();
    for gone in ["pot_00009demooldbike", "pot_00009demorainyday"] {
        assert!(dana.closed_or_deleted.iter().any(|id| id == gone), "{gone}");
    }
}

/// A person is bound to the Monzo user of their first sign-in: reconnecting Dana as
/// Alex's Monzo is refused and Dana keeps her sign-in; a new person as a Monzo user
/// already in the household is refused (sandbox users Dana and Alex, one client).
#[tokio::test]
async fn a_person_is_bound_to_their_monzo_user() {
    let world = demo_world().await;
    sign_in(&world, "Dana", "Dana").await;
    sign_in(&world, "Alex", "Alex").await;
    assert_eq!(
        world.house.person("Dana").unwrap().monzo_user_id.as_deref(),
        Some("user_00009demodana")
    );
    let attempt = |name: &'static str, user: &'static str| {
        let world = &world;
        async move {
            let sign_in =
                SignIn::start(&world.api, name, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, REDIRECT).unwrap();
            let landed = browser_lands_on(&sign_in, user).await;
            let code = sign_in.code_from_pasted(&landed).unwrap();
            sign_in.finish(world.engine.sessions(), code).await
        }
    };
    let err = attempt("Dana", "Alex").await.unwrap_err();
    assert_eq!(err.code(), "wrong_account");
    assert!(err.to_string().contains("Alex's Monzo account"), "{err}");
    // Monzo ended Alex's previous tokens (same client), so the new ones are Alex's now.
    assert!(err.to_string().contains("kept for Alex"), "{err}");
    let snapshot = world.engine.poll_once().await;
    let dana = snapshot.person("Dana").unwrap();
    assert_eq!(dana.state, ConnectionState::Live, "{:?}", dana.error);
    assert!(dana.accounts.iter().any(|a| a.id == "acc_00009demodanacurrent"));
    assert!(!dana.accounts.iter().any(|a| a.id == "acc_00009demoalexcurrent"));
    assert_eq!(
        state_of(&snapshot, "Alex"),
        ConnectionState::Live,
        "nobody signed out"
    );

    let err = attempt("Alex again", "Alex").await.unwrap_err();
    assert_eq!(err.code(), "already_configured");
    assert!(err.to_string().contains("as Alex"), "{err}");
    assert_eq!(world.house.settings().people.len(), 2);
    let snapshot = world.engine.poll_once().await;
    assert_eq!(
        state_of(&snapshot, "Alex"),
        ConnectionState::Live,
        "nobody signed out"
    );
    assert_eq!(state_of(&snapshot, "Dana"), ConnectionState::Live);
}

/// Approval timing reads the one clock a test can drive: the quick look for the
/// in-app approval lasts 30 minutes after the sign-in, and Monzo's 90 days start
/// when data is first seen.
#[tokio::test]
async fn approval_timing_follows_the_households_clock() {
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let clock = Clock::manual(start);
    let mut fixture = Fixture::demo();
    fixture.users.iter_mut().for_each(|u| u.approve_on_login = false);
    let house = Household::in_memory(Settings::default(), SecretStore::memory()).with_clock(clock.clone());
    let world = world_with(fixture, Some(house), None).await;
    assert_eq!(sign_in(&world, "Dana", "Dana").await, Approval::Pending);
    assert_eq!(world.house.person("Dana").unwrap().signed_in_at, Some(start));
    let snapshot = world.engine.poll_once().await;
    assert_eq!(state_of(&snapshot, "Dana"), ConnectionState::AwaitingApproval);
    assert_eq!(world.engine.next_poll_in(), Duration::from_secs(10));
    clock.advance(Duration::from_secs(29 * 60));
    assert_eq!(world.engine.next_poll_in(), Duration::from_secs(10));
    clock.advance(Duration::from_secs(2 * 60));
    assert_eq!(
        world.engine.next_poll_in(),
        Duration::from_secs(60),
        "30 minutes are over"
    );

    world.sandbox.approve("Dana").unwrap();
    clock.advance(Duration::from_secs(3600));
    let snapshot = world.engine.poll_once().await;
    let dana = snapshot.person("Dana").unwrap();
    assert_eq!(dana.state, ConnectionState::Live);
    let approved = start + chrono::Duration::minutes(31 + 60);
    assert_eq!(dana.updated_at, Some(approved));
    assert_eq!(dana.approval_due_at, Some(approved + chrono::Duration::days(90)));
    assert_eq!(world.house.person("Dana").unwrap().approved_at, Some(approved));
}

/// Starts the background run of `engine` and returns once the sandbox was asked
/// for `path` (within 10 s): the stop switch and the running task.
async fn run_until_asked(
    world: &World,
    engine: &Arc<Engine>,
    path: &str,
) -> (background::Stop, tokio::task::JoinHandle<Vec<String>>) {
    let stop = background::Stop::new();
    let running = tokio::spawn(background::run(
        engine.clone(),
        tokio::sync::watch::Sender::new(None),
        stop.clone(),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while world.sandbox.request_counts().get(path).copied().unwrap_or(0) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "nothing asked of {path}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (stop, running)
}

/// Stopping while a poll waits on a slow Monzo gives the poll up at once: reads
/// lose nothing, and quitting should not hang on them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_during_a_slow_poll_returns_at_once() {
    let world = demo_world().await;
    sign_in(&world, "Dana", "Dana").await;
    let engine = Arc::new(Engine::new(
        world.house.clone(),
        world.http.clone(),
        world.api.clone(),
        EngineConfig::default(),
    ));
    assert_eq!(state_of(&engine.poll_once().await, "Dana"), ConnectionState::Live);
    world.sandbox.set_faults(FaultPlan {
        rules: vec![FaultRule {
            path: Some("/balance".into()),
            delay_ms: Some(8_000),
            ..rule(FaultKind::Slow, None)
        }],
        random: None,
    });
    world.sandbox.reset_request_counts();
    let (stop, running) = run_until_asked(&world, &engine, "/balance").await;
    let asked = std::time::Instant::now();
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("run returns after a stop")
        .unwrap();
    let took = asked.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "the slow poll was waited for ({took:?}; each slow reply takes 8 s)"
    );
}

/// Stopping while a token refresh is under way waits for it: when `run` returns, the
/// rotated refresh token (Monzo already killed the old one) is in the keyring.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_during_a_refresh_loses_no_token() {
    let world = demo_world().await;
    sign_in(&world, "Dana", "Dana").await;
    let engine = Arc::new(Engine::new(
        world.house.clone(),
        world.http.clone(),
        world.api.clone(),
        EngineConfig {
            retry: fast_retries(),
            ..EngineConfig::default()
        },
    ));
    assert_eq!(state_of(&engine.poll_once().await, "Dana"), ConnectionState::Live);
    world.sandbox.expire_tokens(None).unwrap();
    world.sandbox.set_faults(FaultPlan {
        rules: vec![FaultRule {
            path: Some("/oauth2/token".into()),
            delay_ms: Some(800),
            ..rule(FaultKind::Slow, Some(1))
        }],
        random: None,
    });
    world.sandbox.reset_request_counts();
    // The refresh is at the token endpoint (and Monzo has rotated by the time it
    // answers): stop now.
    let (stop, running) = run_until_asked(&world, &engine, "/oauth2/token").await;
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(15), running)
        .await
        .expect("run returns after a stop")
        .unwrap();
    let stored = world
        .secrets
        .values()
        .into_iter()
        .filter(|v| v.starts_with("sbx_rt_"))
        .collect::<Vec<_>>();
    let newest = world
        .sandbox
        .issued_tokens()
        .last()
        .and_then(|t| t.refresh_token.clone())
        .unwrap();
    assert_eq!(stored, [newest], "the rotated refresh token is in the keyring");
    // A fresh engine (the app started again) goes on with it: nobody signed out.
    let again = Engine::new(
        world.house.clone(),
        world.http.clone(),
        world.api.clone(),
        EngineConfig::default(),
    );
    assert_eq!(state_of(&again.poll_once().await, "Dana"), ConnectionState::Live);
}

#[tokio::test]
async fn two_people_are_polled_concurrently_and_share_the_joint_account() {
    let world = demo_world().await;
    sign_in(&world, "Dana", "Dana").await;
    sign_in(&world, "Alex", "Alex").await;
    world.sandbox.set_latency(Duration::from_millis(150));
    world.sandbox.reset_request_counts();
    let snapshot = world.engine.poll_once().await;
    assert_eq!(state_of(&snapshot, "Dana"), ConnectionState::Live);
    assert_eq!(state_of(&snapshot, "Alex"), ConnectionState::Live);
    // Both people's account lists were in flight at once, then all balances and pots.
    assert!(
        world.sandbox.max_in_flight() >= 4,
        "max in flight {}",
        world.sandbox.max_in_flight()
    );
    // Two account lists, then balance + pots for Dana's 2 and Alex's 3 shown accounts;
    // at the start of a run each account's transactions are read once (the joint
    // account once for the household).
    let counts = world.sandbox.request_counts();
    assert_eq!(counts["/accounts"], 2);
    assert_eq!(counts["/balance"], 2 + 3);
    assert_eq!(counts["/pots"], 2 + 3);
    assert_eq!(counts["/transactions"], 4);
    assert_eq!(world.sandbox.total_requests(), 2 + (2 + 3) * 2 + 4);

    let alex = snapshot.person("Alex").unwrap();
    let ids: Vec<&str> = alex.accounts.iter().map(|a| a.id.as_str()).collect();
    // The closed account is not shown; the EUR business account is, in EUR.
    assert_eq!(
        ids,
        [
            "acc_00009demojoint",
            "acc_00009demoalexcurrent",
            "acc_00009demoalexeuro"
        ]
    );
    assert_eq!(alex.accounts[1].balance.to_decimal_string(), "-25.30");
    assert_eq!(alex.accounts[2].currency, "EUR");
    assert_eq!(alex.accounts[2].balance.display(), "€12,500.75");
    assert_eq!(alex.accounts[2].pots[0].balance.to_decimal_string(), "3000.00");
    let totals: Vec<String> = snapshot.totals().iter().map(|m| m.display()).collect();
    // 3055.31 (Dana) + 19707.10 (joint, once) - 25.30 (Alex); EUR apart.
    assert_eq!(totals, ["£22,737.11", "€15,500.75"]);
}

#[tokio::test]
async fn bad_client_input_is_refused_and_nothing_is_stored() {
    let world = demo_world().await;
    world.sandbox.add_client(ClientFixture {
        client_id: "oauthclient_public".into(),
        client_secret: "pub-secret".into(),
        confidential: false,
        redirect_uris: vec![],
    });

    // Not confidential: no refresh token, refused at sign-in.
    let sign_in = SignIn::start(&world.api, "Dana", "oauthclient_public", "pub-secret", REDIRECT).unwrap();
    let code = sign_in
        .code_from_pasted(&browser_lands_on(&sign_in, "Dana").await)
        .unwrap();
    let result = sign_in.finish(world.engine.sessions(), code).await;
    assert!(
        matches!(result, Err(Error::NotConfidential)),
        "{:?}",
        result.err()
    );
    assert!(result.err().unwrap().to_string().contains("Confidential"));

    // Wrong secret.
    let sign_in = SignIn::start(&world.api, "Dana", DEMO_CLIENT_ID, "wrong-secret", REDIRECT).unwrap();
    let code = sign_in
        .code_from_pasted(&browser_lands_on(&sign_in, "Dana").await)
        .unwrap();
    let result = sign_in.finish(world.engine.sessions(), code).await;
    assert!(
        matches!(result, Err(Error::BadClientCredentials)),
        "{:?}",
        result.err()
    );

    // A code used twice.
    let first = SignIn::start(&world.api, "Dana", DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, REDIRECT).unwrap();
    let landed = browser_lands_on(&first, "Dana").await;
    let second = SignIn::start(&world.api, "Dana", DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, REDIRECT).unwrap();
    let code = first.code_from_pasted(&landed).unwrap();
    let again = oauth2::AuthorizationCode::new(code.secret().clone());
    first.finish(world.engine.sessions(), code).await.unwrap();
    let tokens_before = world.secrets.values();
    let result = second.finish(world.engine.sessions(), again).await;
    assert!(matches!(result, Err(Error::CodeRejected)), "{:?}", result.err());
    let mut tokens_after = world.secrets.values();
    let mut before_sorted = tokens_before.clone();
    before_sorted.sort();
    tokens_after.sort();
    assert_eq!(
        before_sorted, tokens_after,
        "a failed sign-in never touches stored tokens"
    );
    assert_eq!(world.house.settings().people.len(), 1);

    // Monzo down.
    let down = Endpoints::new("http://127.0.0.1:9", "http://127.0.0.1:9/").unwrap();
    let api = MonzoApi::new(world.http.clone(), down);
    let sign_in = SignIn::start(&api, "Dana", DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, REDIRECT).unwrap();
    let sessions =
        monzo_tray_core::session::Sessions::new(world.house.clone(), world.http.clone(), api, fast_retries());
    let result = sign_in
        .finish(&sessions, oauth2::AuthorizationCode::new("c".into()))
        .await;
    assert!(matches!(result, Err(Error::Network(_))), "{:?}", result.err());
}

#[tokio::test]
async fn no_secret_or_token_reaches_the_settings_file() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryBackend::default());
    let house = Household::open(
        SettingsFile::in_dir(dir.path()),
        SecretStore::new(secrets.clone(), Duration::from_secs(5)),
    )
    .unwrap();
    let world = world_with(Fixture::demo(), Some(house), Some(secrets)).await;
    sign_in(&world, "Dana", "Dana").await;
    world.sandbox.expire_tokens(None).unwrap();
    world.engine.poll_once().await;
    let text = std::fs::read_to_string(dir.path().join("settings.json")).unwrap();
    assert!(text.contains("Dana"));
    assert!(!text.contains(DEMO_CLIENT_SECRET));
    for token in world.sandbox.issued_tokens() {
        assert!(!text.contains(&token.access_token));
        assert!(!text.contains(token.refresh_token.as_deref().unwrap()));
    }
    assert_eq!(world.sandbox.issued_tokens().len(), 2);
}

#[tokio::test]
async fn a_removed_person_leaves_nothing_behind() {
    let world = demo_world().await;
    sign_in(&world, "Dana", "Dana").await;
    sign_in(&world, "Alex", "Alex").await;
    world.house.remove_person("Dana").await.unwrap();
    let snapshot = world.engine.poll_once().await;
    assert!(snapshot.person("Dana").is_none());
    assert_eq!(
        world.secrets.values().len(),
        3,
        "only Alex's three entries remain"
    );
}

#[tokio::test]
async fn the_run_loop_publishes_polls_on_demand_and_stops() {
    let world = Arc::new(demo_world().await);
    sign_in(&world, "Dana", "Dana").await;
    let mut snapshots = world.engine.subscribe();
    let stop = background::Stop::new();
    let stopped = stop.clone();
    let running = {
        let world = world.clone();
        tokio::spawn(async move { world.engine.run(stopped).await })
    };
    tokio::time::timeout(Duration::from_secs(10), snapshots.changed())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        state_of(&snapshots.borrow_and_update(), "Dana"),
        ConnectionState::Live
    );

    // "Refresh now" polls at once instead of after the 60 s interval.
    world
        .sandbox
        .set_balance("acc_00009demodanacurrent", 777)
        .unwrap();
    world.engine.refresh_now();
    tokio::time::timeout(Duration::from_secs(10), snapshots.changed())
        .await
        .unwrap()
        .unwrap();
    let balance = snapshots.borrow().person("Dana").unwrap().accounts[0]
        .balance
        .to_decimal_string();
    assert_eq!(balance, "7.77");

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap();
}

/// A keyring whose writes can be made to fail, as one that locks or goes away while
/// the engine runs.
#[derive(Default)]
struct WritesCanFail {
    inner: MemoryBackend,
    failing: std::sync::atomic::AtomicBool,
}

impl SecretBackend for WritesCanFail {
    fn get(&self, entry: &str) -> monzo_tray_core::Result<Option<String>> {
        self.inner.get(entry)
    }
    fn set(&self, entry: &str, value: &str) -> monzo_tray_core::Result<()> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::KeyringLocked);
        }
        self.inner.set(entry, value)
    }
    fn delete(&self, entry: &str) -> monzo_tray_core::Result<()> {
        self.inner.delete(entry)
    }
}

/// Tokens Monzo rotated while the keyring could not store them are kept in memory
/// and stored as soon as it can; if it still cannot when the engine stops, the
/// engine names the person (whose old refresh token Monzo has already replaced), so
/// `headless` and the tray can say they must sign in again instead of exiting as if
/// nothing happened.
#[tokio::test]
async fn rotated_tokens_the_keyring_cannot_store_are_named_at_stop() {
    let keyring = Arc::new(WritesCanFail::default());
    let house = Household::in_memory(
        Settings::default(),
        SecretStore::new(keyring.clone(), Duration::from_secs(5)),
    );
    let world = world_with(Fixture::demo(), Some(house), None).await;
    sign_in(&world, "Dana", "Dana").await;
    assert_eq!(
        state_of(&world.engine.poll_once().await, "Dana"),
        ConnectionState::Live
    );
    let person = world.house.person("Dana").unwrap();

    // The keyring fails; the token expires and is refreshed (Monzo rotates it).
    keyring.failing.store(true, std::sync::atomic::Ordering::SeqCst);
    world.sandbox.expire_tokens(Some("Dana")).unwrap();
    assert_eq!(
        state_of(&world.engine.poll_once().await, "Dana"),
        ConnectionState::Live
    );
    let newest = world.sandbox.issued_tokens().last().cloned().unwrap();
    let stored = world
        .house
        .secrets()
        .get(&person.id, SecretKind::RefreshToken)
        .await
        .unwrap();
    assert_ne!(stored, newest.refresh_token, "the keyring could not take it");

    // Stopped while it still fails: Dana is named.
    let stopped = background::Stop::new();
    stopped.cancel();
    assert_eq!(world.engine.run(stopped.clone()).await, ["Dana"]);

    // Once the keyring takes writes again, nothing is lost.
    keyring.failing.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(world.engine.run(stopped).await.is_empty());
    let stored = world
        .house
        .secrets()
        .get(&person.id, SecretKind::RefreshToken)
        .await
        .unwrap();
    assert_eq!(stored, newest.refresh_token, "stored once it could be");
}
