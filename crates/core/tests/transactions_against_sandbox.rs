#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure should stop the test
//! The poll's second output against the sandbox over HTTP: new transactions read
//! only where something changed, each announced once, the backlog never; the last
//! one seen kept across restarts; paging, an id Monzo forgot, the 90-day rule, loan
//! accounts; and the request budget (a steady poll is one round of requests).

mod support;

use std::sync::Arc;
use std::time::Duration;

use monzo_sandbox::{AccountChange, Fixture, Sandbox, TransactionFixture};
use monzo_tray_core::engine::Engine;
use monzo_tray_core::household::Household;
use monzo_tray_core::monzo::{http_client, Endpoints, MonzoApi};
use monzo_tray_core::secrets::{MemoryBackend, SecretStore};
use monzo_tray_core::settings::{Settings, SettingsFile};
use monzo_tray_core::snapshot::ConnectionState;
use monzo_tray_core::transactions::seen::Cursor;
use monzo_tray_core::transactions::AccountTransaction;
use tokio::sync::broadcast;

const DANA_CURRENT: &str = "acc_00009demodanacurrent";
const JOINT: &str = "acc_00009demojoint";

struct World {
    sandbox: Sandbox,
    http: reqwest::Client,
    api: MonzoApi,
    house: Arc<Household>,
    engine: Engine,
}

async fn world(fixture: Fixture, house: Household, people: &[&str]) -> World {
    let sandbox = Sandbox::start_local(fixture).await.unwrap();
    let http = http_client(Duration::from_secs(2)).unwrap();
    let api = MonzoApi::new(
        http.clone(),
        Endpoints::new(&sandbox.api_url(), &sandbox.auth_url()).unwrap(),
    );
    let house = Arc::new(house);
    let engine = Engine::new(house.clone(), http.clone(), api.clone(), support::quick_retries());
    for name in people {
        support::sign_in_as(&api, engine.sessions(), name, name).await;
    }
    World {
        sandbox,
        http,
        api,
        house,
        engine,
    }
}

fn in_memory() -> Household {
    Household::in_memory(Settings::default(), SecretStore::memory())
}

fn spend(account: &str, minor: i64, merchant: Option<&str>) -> TransactionFixture {
    TransactionFixture::card_payment(account, minor, merchant)
}

fn drain(events: &mut broadcast::Receiver<AccountTransaction>) -> Vec<AccountTransaction> {
    let mut out = Vec::new();
    while let Ok(e) = events.try_recv() {
        out.push(e);
    }
    out
}

fn transactions_requests(sandbox: &Sandbox) -> u64 {
    sandbox
        .request_counts()
        .get("/transactions")
        .copied()
        .unwrap_or(0)
}

#[tokio::test]
async fn new_transactions_are_told_once_and_the_backlog_never() {
    let w = world(Fixture::demo(), in_memory(), &["Dana"]).await;
    let mut events = w.engine.new_transactions();
    // First poll of the run: each account read once, for "Recent"; nothing told.
    let snapshot = w.engine.poll_once().await;
    assert!(drain(&mut events).is_empty(), "the backlog is never told");
    let recent: Vec<&str> = snapshot.recent[DANA_CURRENT]
        .iter()
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(
        recent,
        [
            "tx_00009demo001",
            "tx_00009demo002",
            "tx_00009demo003",
            "tx_00009demo004",
            "tx_00009demo005"
        ]
    );
    assert_eq!(
        transactions_requests(&w.sandbox),
        2,
        "Dana's two accounts, once each"
    );

    // Nothing changed: no transaction requests at all.
    w.sandbox.reset_request_counts();
    w.engine.poll_once().await;
    assert_eq!(transactions_requests(&w.sandbox), 0);

    // Odd ones: a merchant, none, a zero amount, a foreign currency, an unknown
    // category, declined. Each told once, in order.
    let mut abroad = spend(DANA_CURRENT, -2350, Some("Café de Flore"));
    abroad.local_amount = Some(-2750);
    abroad.local_currency = Some("EUR".into());
    let mut declined = spend(DANA_CURRENT, -9999, Some("Big Shop"));
    declined.decline_reason = Some("INSUFFICIENT_FUNDS".into());
    let mut mystery = spend(DANA_CURRENT, -100, None);
    mystery.category = Some("a_category_from_the_future".into());
    let ids: Vec<String> = [
        spend(DANA_CURRENT, -1230, Some("Tesco Metro")),
        mystery,
        spend(DANA_CURRENT, 0, None),
        abroad,
        declined,
    ]
    .into_iter()
    .map(|tx| w.sandbox.add_transaction(tx).unwrap())
    .collect();
    w.sandbox.reset_request_counts();
    let snapshot = w.engine.poll_once().await;
    let told = drain(&mut events);
    assert_eq!(
        told.iter().map(|e| e.transaction.id.clone()).collect::<Vec<_>>(),
        ids
    );
    assert_eq!(
        transactions_requests(&w.sandbox),
        1,
        "only the account that changed"
    );
    assert_eq!(told[0].transaction.merchant.as_deref(), Some("Tesco Metro"));
    assert_eq!(told[0].transaction.amount.to_decimal_string(), "-12.30");
    assert_eq!(
        told[0].people,
        [(w.house.person("Dana").unwrap().id, "Dana".to_owned())]
    );
    assert_eq!(told[0].account, "Current Account");
    assert_eq!(told[1].transaction.merchant, None);
    assert_eq!(told[1].transaction.category, "a_category_from_the_future");
    assert_eq!(told[2].transaction.amount.to_decimal_string(), "0.00");
    assert_eq!(
        told[3]
            .transaction
            .local_amount
            .as_ref()
            .unwrap()
            .to_decimal_string(),
        "-27.50"
    );
    assert!(told[4].transaction.declined);
    assert_eq!(snapshot.recent[DANA_CURRENT].len(), 5);
    assert_eq!(snapshot.recent[DANA_CURRENT].last().unwrap().id, ids[4]);

    // Told once: the next polls tell nothing more.
    w.engine.poll_once().await;
    w.engine.poll_once().await;
    assert!(drain(&mut events).is_empty());
}

#[tokio::test]
async fn a_joint_accounts_transaction_is_read_and_told_once_for_both_owners() {
    let w = world(Fixture::demo(), in_memory(), &["Dana", "Alex"]).await;
    let mut events = w.engine.new_transactions();
    w.engine.poll_once().await;
    drain(&mut events);
    let id = w
        .sandbox
        .add_transaction(spend(JOINT, -4599, Some("Sainsbury's")))
        .unwrap();
    w.sandbox.reset_request_counts();
    w.engine.poll_once().await;
    let told = drain(&mut events);
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].transaction.id, id);
    assert_eq!(told[0].people_names(), "Dana & Alex");
    assert_eq!(transactions_requests(&w.sandbox), 1);
}

/// Monzo's pages hold at most 100: a page of exactly 100 means asking for more.
#[tokio::test]
async fn pages_of_a_hundred_are_followed() {
    let w = world(Fixture::demo(), in_memory(), &["Dana"]).await;
    let mut events = w.engine.new_transactions();
    w.engine.poll_once().await;
    for (count, requests) in [(100, 2), (150, 2), (1, 1)] {
        let ids: Vec<String> = (0..count)
            .map(|n| {
                w.sandbox
                    .add_transaction(spend(DANA_CURRENT, -(n + 1), Some("Shop")))
                    .unwrap()
            })
            .collect();
        w.sandbox.reset_request_counts();
        w.engine.poll_once().await;
        let told: Vec<String> = drain(&mut events).into_iter().map(|e| e.transaction.id).collect();
        assert_eq!(told, ids, "{count} new ones, in order, once");
        assert_eq!(transactions_requests(&w.sandbox), requests, "{count} new ones");
    }
}

/// The last transaction seen is kept across restarts: what happened while the app
/// was not running is told at the next start, and nothing twice. A run that listens
/// to nobody (a one-shot command such as `status`) tells nobody, so it does not
/// count as having seen anything.
#[tokio::test]
async fn what_happened_while_away_is_told_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryBackend::default());
    let open = || {
        Household::open(
            SettingsFile::in_dir(dir.path()),
            SecretStore::new(secrets.clone(), Duration::from_secs(5)),
        )
        .unwrap()
    };
    let w = world(Fixture::demo(), open(), &["Dana"]).await;
    let _listening = w.engine.new_transactions();
    w.engine.poll_once().await;
    assert!(dir.path().join("transactions-seen.json").exists());
    drop(w.engine);
    let seen_before = std::fs::read_to_string(dir.path().join("transactions-seen.json")).unwrap();
    // Away: two transactions. Then a new run.
    let away: Vec<String> = [-500, -600]
        .into_iter()
        .map(|minor| {
            w.sandbox
                .add_transaction(spend(DANA_CURRENT, minor, Some("Shop")))
                .unwrap()
        })
        .collect();
    // A one-shot run in between (nobody listening): it tells nobody, so it moves
    // nothing on.
    let one_shot = Engine::new(
        Arc::new(open()),
        w.http.clone(),
        w.api.clone(),
        support::quick_retries(),
    );
    assert_eq!(one_shot.poll_once().await.people[0].state, ConnectionState::Live);
    drop(one_shot);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("transactions-seen.json")).unwrap(),
        seen_before
    );
    let house = Arc::new(open());
    let engine = Engine::new(house, w.http.clone(), w.api.clone(), support::quick_retries());
    let mut events = engine.new_transactions();
    assert_eq!(engine.poll_once().await.people[0].state, ConnectionState::Live);
    let told: Vec<String> = drain(&mut events).into_iter().map(|e| e.transaction.id).collect();
    assert_eq!(told, away);
    engine.poll_once().await;
    assert!(drain(&mut events).is_empty());
}

/// An id Monzo no longer knows: read from its time instead. More than five
/// minutes after a sign-in, reaching past 90 days is refused: start from now (the
/// person stays live, nothing is told twice).
#[tokio::test]
async fn a_forgotten_id_and_the_90_day_rule_are_handled() {
    let w = world(Fixture::demo(), in_memory(), &["Dana"]).await;
    let mut events = w.engine.new_transactions();
    w.engine.poll_once().await;
    let seen = w.house.seen_transactions();
    seen.set(
        DANA_CURRENT,
        Cursor {
            id: "tx_monzo_forgot_this_one".into(),
            created: chrono::Utc::now() - chrono::Duration::minutes(30),
        },
    );
    let id = w
        .sandbox
        .add_transaction(spend(DANA_CURRENT, -700, Some("Shop")))
        .unwrap();
    w.engine.poll_once().await;
    let told: Vec<String> = drain(&mut events).into_iter().map(|e| e.transaction.id).collect();
    assert_eq!(
        told,
        std::slice::from_ref(&id),
        "only what came after the forgotten one's time"
    );
    assert_eq!(seen.get(DANA_CURRENT).unwrap().id, id);

    // A cursor older than 90 days, and the sign-in long past its five minutes.
    let mut old = spend(DANA_CURRENT, -1, Some("Long ago"));
    old.created = "-120d".into();
    let old_id = w.sandbox.add_transaction(old).unwrap();
    seen.set(
        DANA_CURRENT,
        Cursor {
            id: old_id,
            created: chrono::Utc::now() - chrono::Duration::days(120),
        },
    );
    w.sandbox.set_sca_window(Duration::ZERO);
    let newest = w
        .sandbox
        .add_transaction(spend(DANA_CURRENT, -800, Some("Shop")))
        .unwrap();
    let snapshot = w.engine.poll_once().await;
    assert_eq!(snapshot.people[0].state, ConnectionState::Live);
    assert!(drain(&mut events).is_empty(), "start from now: nothing told");
    assert_eq!(seen.get(DANA_CURRENT).unwrap().id, newest);
    assert_eq!(snapshot.recent[DANA_CURRENT].last().unwrap().id, newest);
}

/// Loan accounts answer 403 for transactions: not an error, not asked again.
#[tokio::test]
async fn an_account_without_transactions_is_left_alone() {
    let mut fixture = Fixture::demo();
    fixture.accounts.push(monzo_sandbox::fixture::AccountFixture {
        id: "acc_00009demodanaloan".into(),
        account_type: "uk_loan".into(),
        description: None,
        currency: "GBP".into(),
        owners: vec!["user_00009demodana".into()],
        closed: false,
        balance: -250000,
        spend_today: 0,
        created: "2024-01-01T00:00:00Z".into(),
    });
    let w = world(fixture, in_memory(), &["Dana"]).await;
    let snapshot = w.engine.poll_once().await;
    assert_eq!(snapshot.people[0].state, ConnectionState::Live);
    assert!(snapshot.people[0].accounts.iter().any(|a| a.name == "Loan"));
    w.sandbox.set_balance("acc_00009demodanaloan", -240000).unwrap();
    w.sandbox.reset_request_counts();
    w.engine.poll_once().await;
    assert_eq!(transactions_requests(&w.sandbox), 0, "not asked again this run");
}

/// The request budget: the account list is kept for minutes, so a steady poll is
/// one round of requests (`/balance` and `/pots` per account) in one request
/// latency; an account answering as if gone has the list read again at once.
#[tokio::test]
async fn a_steady_poll_is_one_round_of_requests() {
    let w = world(Fixture::demo(), in_memory(), &["Dana", "Alex"]).await;
    w.engine.poll_once().await;
    w.sandbox.reset_request_counts();
    let snapshot = w.engine.poll_once().await;
    assert!(snapshot.people.iter().all(|p| p.state == ConnectionState::Live));
    // (How long that takes, in request latencies, is measured by the poll-scaling
    // benchmark, not asserted here.)
    let counts = w.sandbox.request_counts();
    assert_eq!(
        counts.get("/accounts"),
        None,
        "the account list is not read again"
    );
    assert_eq!(counts["/balance"], 5);
    assert_eq!(counts["/pots"], 5);
    assert_eq!(w.sandbox.total_requests(), 10);

    // Alex is taken off the joint account: its calls answer 403 for Alex, the list
    // is read again in the same poll, and Alex is live without it.
    w.sandbox
        .change_account(AccountChange {
            account_id: JOINT.into(),
            owners: Some(vec!["user_00009demodana".into()]),
            ..AccountChange::default()
        })
        .unwrap();
    w.sandbox.reset_request_counts();
    let snapshot = w.engine.poll_once().await;
    let alex = snapshot.person("Alex").unwrap();
    assert_eq!(alex.state, ConnectionState::Live, "{:?}", alex.error);
    assert!(!alex.accounts.iter().any(|a| a.id == JOINT));
    assert_eq!(
        w.sandbox.request_counts()["/accounts"],
        1,
        "Alex's list, read again"
    );
}
