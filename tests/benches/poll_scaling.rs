//! Poll scaling: one steady poll cycle of the engine (everyone concurrently; per
//! person all balances and pots at once, the account list kept for ten minutes)
//! against a baseline that makes the requests Home Assistant's Monzo integration
//! makes, one after another (the account list, then each balance, then each pot
//! list). Sandbox latency 100 ms per request; 1, 4 and 16 people with 2 accounts
//! and 3 pots per account. Prints a Markdown table.
//!
//! With the argument `budget` it prints the request budget instead: requests per
//! person per hour at the default 60 s interval, for a household that is idle and
//! for one that spends (a card payment every 5 minutes), beside Home Assistant's
//! integration (1 + 2 per account per minute).
//!
//! `cargo bench -p monzo-tray-e2e --bench poll_scaling [-- budget]` (scripts/bench.sh
//! runs both).

use std::sync::Arc;
use std::time::{Duration, Instant};

use monzo_sandbox::fixture::{AccountFixture, PotFixture, UserFixture};
use monzo_sandbox::{Fixture, Sandbox};
use monzo_tray_core::engine::{Engine, EngineConfig};
use monzo_tray_core::household::Household;
use monzo_tray_core::monzo::MonzoApi;
use monzo_tray_core::secrets::SecretKind;
use monzo_tray_e2e::signed_in::signed_in;

const LATENCY: Duration = Duration::from_millis(100);

fn household_fixture(people: usize) -> Fixture {
    let mut fixture = Fixture::demo();
    fixture.users.clear();
    fixture.accounts.clear();
    fixture.pots.clear();
    for p in 0..people {
        let user = format!("user_bench{p}");
        fixture.users.push(UserFixture {
            user_id: user.clone(),
            name: format!("Person{p}"),
            approve_on_login: true,
        });
        for a in 0..2 {
            let id = format!("acc_bench{p}_{a}");
            fixture.accounts.push(AccountFixture {
                id: id.clone(),
                account_type: if a == 0 {
                    "uk_retail".into()
                } else {
                    "uk_business".into()
                },
                description: None,
                currency: "GBP".into(),
                owners: vec![user.clone()],
                closed: false,
                balance: 100_000 + p as i64,
                spend_today: 0,
                created: "2020-01-01T00:00:00Z".into(),
            });
            for k in 0..3 {
                fixture.pots.push(PotFixture {
                    id: format!("pot_bench{p}_{a}_{k}"),
                    account_id: id.clone(),
                    name: format!("Pot {k}"),
                    style: String::new(),
                    balance: 1_000 * k as i64,
                    currency: "GBP".into(),
                    deleted: false,
                    locked: false,
                });
            }
        }
    }
    fixture
}

struct Setup {
    sandbox: Sandbox,
    engine: Engine,
    api: MonzoApi,
    house: Arc<Household>,
}

async fn setup(people: usize) -> Setup {
    let sandbox = Sandbox::start_local(household_fixture(people)).await.unwrap();
    let names: Vec<String> = (0..people).map(|p| format!("Person{p}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let s = signed_in(&sandbox, &names, Duration::from_secs(10), EngineConfig::default()).await;
    Setup {
        sandbox,
        engine: s.engine,
        api: s.api,
        house: s.household,
    }
}

/// The same requests, one after another: accounts, then each account's balance,
/// then each account's pots, person after person.
async fn sequential_cycle(setup: &Setup) {
    for person in setup.house.settings().people {
        let token = setup
            .house
            .secrets()
            .get(&person.id, SecretKind::AccessToken)
            .await
            .unwrap()
            .unwrap();
        let token = oauth2::AccessToken::new(token);
        let accounts = setup.api.accounts(&token).await.unwrap();
        for account in &accounts {
            setup.api.balance(&token, &account.id).await.unwrap();
        }
        for account in &accounts {
            setup.api.pots(&token, &account.id).await.unwrap();
        }
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// An hour at the default 60 s poll interval: 60 polls, the account list read
/// again every tenth (as it is every ten minutes); spending, a card payment before
/// every fifth poll. Returns the requests made for one person.
async fn hour(spending: bool) -> u64 {
    let setup = setup(1).await;
    setup.engine.poll_once().await; // the run's start: lists and transactions read once
    setup.sandbox.reset_request_counts();
    for minute in 0..60 {
        if minute % 10 == 9 {
            setup.engine.refresh_now();
        }
        if spending && minute % 5 == 0 {
            setup
                .sandbox
                .add_transaction(monzo_tray_e2e::spend("acc_bench0_0", -450, "Coffee"))
                .unwrap();
        }
        setup.engine.poll_once().await;
    }
    setup.sandbox.total_requests()
}

async fn budget() {
    let accounts = 2;
    let home_assistant = (1 + 2 * accounts) * 60;
    println!("| household | requests per person per hour | Home Assistant's integration (1 + 2 per account per minute) |");
    println!("| --- | ---: | ---: |");
    for (name, spending) in [("idle", false), ("spends (a card payment every 5 minutes)", true)] {
        println!("| {name} | {} | {home_assistant} |", hour(spending).await);
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "budget") {
        return budget().await;
    }
    println!("| people | requests per cycle | concurrent cycle | sequential baseline | baseline ÷ concurrent | cycle in request latencies |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for people in [1, 4, 16] {
        let setup = setup(people).await;
        setup.engine.poll_once().await; // warm connections and tokens
        setup.sandbox.set_latency(LATENCY);
        let runs = 5;
        let mut concurrent = Vec::new();
        setup.sandbox.reset_request_counts();
        for _ in 0..runs {
            let start = Instant::now();
            let snapshot = setup.engine.poll_once().await;
            concurrent.push(start.elapsed());
            assert!(snapshot.people.iter().all(|p| p.accounts.len() == 2));
        }
        let requests = setup.sandbox.total_requests() / runs as u64;
        let mut sequential = Vec::new();
        for _ in 0..runs.min(3) {
            let start = Instant::now();
            sequential_cycle(&setup).await;
            sequential.push(start.elapsed());
        }
        let (c, s) = (median(concurrent), median(sequential));
        println!(
            "| {people} | {requests} | {:.0} ms | {:.0} ms | {:.1}× | {:.2} |",
            c.as_secs_f64() * 1e3,
            s.as_secs_f64() * 1e3,
            s.as_secs_f64() / c.as_secs_f64(),
            c.as_secs_f64() / LATENCY.as_secs_f64()
        );
    }
}
