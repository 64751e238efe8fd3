//! The fault campaign: the sandbox injects a random mix of 429, 500, 502, 504, slow
//! replies past the client timeout, dropped connections, malformed JSON, well-formed
//! replies missing their list, and token expiry into 20 % of requests while two
//! people are polled and balances change. Must hold: no panic; every snapshot valid;
//! nobody signed out by a transient fault; nothing ever deleted from Home Assistant;
//! once faults stop everyone is live within two cycles; and a real Home Assistant
//! ends with exactly the sandbox's balances.
//!
//! `MONZO_TRAY_FAULT_CYCLES` sets the number of cycles (default 150 here; the
//! benchmark command runs 1,000).

use std::time::{Duration, Instant};

use monzo_sandbox::{FaultKind, FaultPlan, Fixture, RandomFaults, Sandbox};
use monzo_tray_core::engine::{Engine, EngineConfig};
use monzo_tray_core::home_assistant::entities::EntityIds;
use monzo_tray_core::home_assistant::{people_ids, HaClient, PushStatus, Pusher, RestTransport};
use monzo_tray_core::money::{Currency, Money};
use monzo_tray_core::retry::RetryPolicy;
use monzo_tray_core::snapshot::{ConnectionState, Snapshot};
use monzo_tray_e2e::home_assistant::HomeAssistant;
use monzo_tray_e2e::signed_in::signed_in;
use rand::Rng;
use std::collections::HashSet;

/// Everyone in settings: whom the pusher may keep entities for.
fn people(engine: &Engine) -> HashSet<String> {
    people_ids(&engine.household().settings())
}

const ALL_FAULTS: [FaultKind; 9] = [
    FaultKind::RateLimited,
    FaultKind::ServerError,
    FaultKind::BadGateway,
    FaultKind::GatewayTimeout,
    FaultKind::Slow,
    FaultKind::MalformedJson,
    FaultKind::MissingList,
    FaultKind::DropConnection,
    FaultKind::ExpireToken,
];

async fn engine_for(sandbox: &Sandbox) -> Engine {
    // A short request timeout so "slow" faults cost little; quick retries.
    let config = EngineConfig {
        retry: RetryPolicy {
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(40),
            max_retries: 3,
            ..RetryPolicy::default()
        },
        ..EngineConfig::default()
    };
    signed_in(sandbox, &["Dana", "Alex"], Duration::from_millis(300), config)
        .await
        .engine
}

/// Valid: known people, amounts in their currency's exponent, totals consistent
/// with a live account, no deleted pot, no hidden account type.
fn check_valid(snapshot: &Snapshot) {
    assert_eq!(snapshot.people.len(), 2);
    for person in &snapshot.people {
        assert_ne!(
            person.state,
            ConnectionState::SignedOut,
            "{} signed out: {:?}",
            person.name,
            person.error
        );
        for account in &person.accounts {
            assert!(account.id.starts_with("acc_"));
            assert!(!matches!(
                account.account_type.as_str(),
                "uk_prepaid" | "uk_monzo_flex_backing_loan"
            ));
            let exponent = Currency::from_code(&account.currency).exponent();
            for money in [&account.balance, &account.total_balance, &account.spend_today] {
                assert_eq!(money.amount().scale(), exponent, "{}", money.to_decimal_string());
            }
            for pot in &account.pots {
                assert!(pot.id.starts_with("pot_") && pot.id != "pot_00009demooldbike");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifth_of_requests_failing_signs_nobody_out_and_home_assistant_ends_exact() {
    let cycles: usize = std::env::var("MONZO_TRAY_FAULT_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(150);
    let ha = HomeAssistant::start();
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    let engine = engine_for(&sandbox).await;
    let mut pusher = Pusher::new(RestTransport::new(
        HaClient::new(&ha.url, &ha.token, None).unwrap(),
    ));
    let mut ids = EntityIds::new();

    sandbox.set_faults(FaultPlan {
        rules: vec![],
        random: Some(RandomFaults {
            rate: 0.2,
            kinds: ALL_FAULTS.to_vec(),
            delay_ms: Some(1_000),
            retry_after: None,
        }),
    });
    let started = Instant::now();
    let mut stale_cycles = 0;
    let accounts = [
        "acc_00009demodanacurrent",
        "acc_00009demojoint",
        "acc_00009demoalexcurrent",
    ];
    let mut known_entities = 0;
    for cycle in 0..cycles {
        if cycle % 5 == 0 {
            let mut rng = rand::rng();
            let account = accounts[rng.random_range(0..accounts.len())];
            sandbox
                .set_balance(account, rng.random_range(-50_000..500_000))
                .unwrap();
        }
        let snapshot = engine.poll_once().await;
        check_valid(&snapshot);
        if snapshot.people.iter().any(|p| p.state != ConnectionState::Live) {
            stale_cycles += 1;
        }
        pusher.push(&snapshot, &mut ids, &people(&engine)).await;
        assert!(
            ids.len() >= known_entities,
            "cycle {cycle}: an entity was deleted"
        );
        known_entities = ids.len();
    }
    let campaign = started.elapsed();
    let requests = sandbox.total_requests();
    sandbox.clear_faults();

    // Within two cycles everyone is live again.
    engine.poll_once().await;
    let snapshot = engine.poll_once().await;
    for person in &snapshot.people {
        assert_eq!(
            person.state,
            ConnectionState::Live,
            "{} after faults stopped: {:?}",
            person.name,
            person.error
        );
    }
    pusher.verify_next_push();
    let report = pusher.push(&snapshot, &mut ids, &people(&engine)).await;
    assert_eq!(report.state.status, PushStatus::Ok);

    // Home Assistant has exactly the sandbox's balances.
    let fixture = sandbox.fixture();
    let mut checked = 0;
    for person in &snapshot.people {
        for account in &person.accounts {
            let truth = fixture.accounts.iter().find(|a| a.id == account.id).unwrap();
            let expected =
                Money::from_minor(truth.balance, Currency::from_code(&truth.currency)).to_decimal_string();
            let key = format!("{}/{}/balance", person.id, account.id);
            let entity = &ids[&key];
            let got = ha
                .state(entity)
                .await
                .unwrap_or_else(|| panic!("{entity} missing"));
            assert_eq!(got["state"], expected.as_str(), "{entity}");
            checked += 1;
        }
    }
    assert_eq!(checked, 5);
    // Nothing was ever deleted: every entity is there.
    assert_eq!(ids.len(), 22);
    for entity in ids.values() {
        assert!(ha.state(entity).await.is_some(), "{entity} missing");
    }
    println!(
        "fault campaign: {cycles} cycles in {:.1} s, {requests} requests, {stale_cycles} cycles with someone stale, nobody signed out",
        campaign.as_secs_f64()
    );
}
