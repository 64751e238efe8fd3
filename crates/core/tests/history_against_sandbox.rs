#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure should stop the test
//! The money history against the sandbox over HTTP, into a real SQLite file: the
//! full import after a sign-in (every transaction since each account opened, a
//! joint account once), Monzo's 5-minute rule cutting it short and a new sign-in
//! finishing it, a 429 holding it back and the import resuming where it stopped,
//! and a person's removal (or turning history off) deleting their rows.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use monzo_sandbox::{
    FaultKind, FaultPlan, FaultRule, Fixture, Quota, Sandbox, TransactionChange, TransactionFixture,
};
use monzo_tray_core::clock::Clock;
use monzo_tray_core::engine::Engine;
use monzo_tray_core::history::HistoryStore;
use monzo_tray_core::household::Household;
use monzo_tray_core::monzo::{http_client, Endpoints, MonzoApi};
use monzo_tray_core::secrets::SecretStore;
use monzo_tray_core::service::{AppService, HistoryQuery};
use monzo_tray_core::settings::Settings;

const DANA_CURRENT: &str = "acc_00009demodanacurrent";
const JOINT: &str = "acc_00009demojoint";
const ALEX_CURRENT: &str = "acc_00009demoalexcurrent";

struct World {
    sandbox: Sandbox,
    api: MonzoApi,
    service: AppService,
    engine: Arc<Engine>,
    house: Arc<Household>,
    _data: tempfile::TempDir,
}

/// The demo household (years of generated history) with `per_account` more card
/// payments on each of Dana's current account, the joint account and Alex's
/// current account, one every three days from an hour after the account opened.
fn household_with_years(per_account: usize) -> Fixture {
    let mut fixture = Fixture::demo();
    for account in [DANA_CURRENT, JOINT, ALEX_CURRENT] {
        let opened = &fixture.accounts.iter().find(|a| a.id == account).unwrap().created;
        let start = opened.parse::<chrono::DateTime<chrono::Utc>>().unwrap() + chrono::Duration::hours(1);
        for n in 0..per_account {
            let mut tx =
                TransactionFixture::card_payment(account, -((n as i64 % 50) + 1) * 100, Some("Tesco"));
            tx.created = (start + chrono::Duration::days(3 * n as i64)).to_rfc3339();
            fixture.transactions.push(tx);
        }
    }
    fixture
}

async fn world(fixture: Fixture, people: &[&str]) -> World {
    world_on(fixture, people, Clock::default()).await
}

/// [`world`] on `clock` (the household's: the engine's "now").
async fn world_on(fixture: Fixture, people: &[&str], clock: Clock) -> World {
    let sandbox = Sandbox::start_local(fixture).await.unwrap();
    let http = http_client(Duration::from_secs(2)).unwrap();
    let api = MonzoApi::new(
        http.clone(),
        Endpoints::new(&sandbox.api_url(), &sandbox.auth_url()).unwrap(),
    );
    let house = Arc::new(Household::in_memory(Settings::default(), SecretStore::memory()).with_clock(clock));
    let data = tempfile::tempdir().unwrap();
    let store = HistoryStore::open(&data.path().join("h_test").join("history.sqlite3")).unwrap();
    let engine = Arc::new(
        Engine::new(house.clone(), http, api.clone(), support::quick_retries())
            .with_history(Some(Arc::new(store))),
    );
    for name in people {
        support::sign_in_as(&api, engine.sessions(), name, name).await;
    }
    let service = AppService::new(engine.clone(), 0, tokio::sync::watch::Sender::new(None));
    World {
        sandbox,
        api,
        service,
        engine,
        house,
        _data: data,
    }
}

/// Transaction ids per account, as the sandbox serves them.
fn served(sandbox: &Sandbox, accounts: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let mut by_account: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for tx in sandbox.fixture().transactions {
        if accounts.contains(&tx.account_id.as_str()) {
            by_account
                .entry(tx.account_id.clone())
                .or_default()
                .insert(tx.id.clone());
        }
    }
    by_account
}

/// Transaction ids per account, as stored (read back through the CSV export), and
/// how many rows the export wrote.
fn stored(service: &AppService) -> (BTreeMap<String, BTreeSet<String>>, usize) {
    let mut csv = Vec::new();
    let rows = service
        .export_transactions(&HistoryQuery::default(), &mut csv)
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_slice());
    let mut by_account: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for record in reader.records() {
        let record = record.unwrap();
        by_account
            .entry(record[1].to_owned())
            .or_default()
            .insert(record[0].to_owned());
    }
    (by_account, rows)
}

const SHOWN: [&str; 3] = [DANA_CURRENT, JOINT, ALEX_CURRENT];

#[tokio::test]
async fn a_sign_in_imports_every_transaction_since_each_account_opened_and_a_joint_account_once() {
    let w = world(household_with_years(260), &["Dana", "Alex"]).await;
    w.service.import_history_now().await;
    let (stored_ids, rows) = stored(&w.service);
    let served_ids = served(&w.sandbox, &SHOWN);
    for account in SHOWN {
        assert_eq!(
            stored_ids.get(account).map(BTreeSet::len),
            served_ids.get(account).map(BTreeSet::len),
            "{account}: every transaction since it opened"
        );
    }
    for account in SHOWN {
        assert!(
            stored_ids[account] == served_ids[account],
            "{account}: the same transactions"
        );
    }
    let total: usize = stored_ids.values().map(BTreeSet::len).sum();
    assert_eq!(rows, total, "no row twice: the joint account is stored once");
    let notes = w.service.history_notes();
    assert!(
        notes.iter().any(|n| n.starts_with("Dana's history: back to ")),
        "{notes:?}"
    );
    // Balances over time reach back to the first transaction.
    let days = w.service.daily_balances(&HistoryQuery::default()).unwrap();
    let dana = days
        .accounts
        .iter()
        .find(|a| a.account_id == DANA_CURRENT)
        .unwrap();
    let opened = w
        .sandbox
        .fixture()
        .accounts
        .iter()
        .find(|a| a.id == DANA_CURRENT)
        .unwrap()
        .created
        .clone();
    assert_eq!(dana.days.first().unwrap().date.to_string(), opened[..10]);
    let joint = days.accounts.iter().find(|a| a.account_id == JOINT).unwrap();
    assert_eq!(joint.people.len(), 2);
}

#[tokio::test]
async fn monzos_five_minutes_over_cut_the_import_short_and_a_new_sign_in_finishes_it() {
    let w = world(household_with_years(200), &[]).await;
    // Monzo's window already closed when the import begins.
    w.sandbox.set_sca_window(Duration::ZERO);
    support::sign_in_as(&w.api, w.service_engine_sessions(), "Dana", "Dana").await;
    w.service.import_history_now().await;
    let notes = w.service.history_notes();
    let cut = notes
        .iter()
        .find(|n| n.starts_with("History before "))
        .unwrap_or_else(|| panic!("{notes:?}"));
    assert!(
        cut.contains("can be read only in the 5 minutes after a sign-in: Reconnect Dana to import it"),
        "{cut}"
    );
    // What Monzo still allows (the last 90 days) is there; nothing older.
    let (partial, _) = stored(&w.service);
    let old: usize = partial.values().map(BTreeSet::len).sum();
    let served_ids = served(&w.sandbox, &[DANA_CURRENT, JOINT]);
    let all: usize = served_ids.values().map(BTreeSet::len).sum();
    assert!(old < all, "the older part waits: {old} of {all}");

    // Reconnect: a new sign-in opens a new window, and the import finishes.
    w.sandbox.set_sca_window(Duration::from_secs(300));
    support::sign_in_as(&w.api, w.service_engine_sessions(), "Dana", "Dana").await;
    w.service.import_history_now().await;
    let (after, rows) = stored(&w.service);
    assert!(after == served_ids, "every transaction, once the import finished");
    assert_eq!(rows, all, "nothing twice");
    assert!(
        !w.service
            .history_notes()
            .iter()
            .any(|n| n.starts_with("History before ")),
        "{:?}",
        w.service.history_notes()
    );
}

#[tokio::test]
async fn a_429_holds_the_import_back_and_it_resumes_where_it_stopped() {
    let w = world(household_with_years(350), &["Dana"]).await;
    w.service.import_history_now().await;
    let before = stored(&w.service).1;
    // Dana again from nothing; Monzo limits the import's first request.
    w.service
        .remove_person(&w.service_person_id("Dana"))
        .await
        .unwrap();
    support::sign_in_as(&w.api, w.service_engine_sessions(), "Dana", "Dana").await;
    w.sandbox.set_faults(FaultPlan {
        rules: vec![FaultRule {
            kind: FaultKind::RateLimited,
            times: Some(1),
            path: Some("/transactions".into()),
            retry_after: Some(1),
            delay_ms: None,
        }],
        random: None,
    });
    w.service.import_history_now().await;
    assert!(
        w.service
            .history_notes()
            .iter()
            .any(|n| n.starts_with("Importing Dana's history")),
        "held back, not finished: {:?}",
        w.service.history_notes()
    );
    // After Retry-After, the import goes on where it stopped.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    w.service.import_history_now().await;
    let (after, rows) = stored(&w.service);
    assert!(
        after == served(&w.sandbox, &[DANA_CURRENT, JOINT]),
        "every transaction after the pause"
    );
    assert_eq!(rows, before, "nothing lost, nothing twice");
}

#[tokio::test]
async fn removing_a_person_or_turning_their_history_off_deletes_their_rows_but_not_a_shared_account() {
    let w = world(household_with_years(50), &["Dana", "Alex"]).await;
    w.service.import_history_now().await;
    let (all, _) = stored(&w.service);
    assert!(all.contains_key(ALEX_CURRENT) && all.contains_key(JOINT));
    let alex = w.service_person_id("Alex");
    w.service.set_keep_history(&alex, false).unwrap();
    let (kept, _) = stored(&w.service);
    assert!(!kept.contains_key(ALEX_CURRENT), "Alex's own account is gone");
    assert!(kept.contains_key(JOINT), "Dana still keeps the joint account");
    w.service
        .remove_person(&w.service_person_id("Dana"))
        .await
        .unwrap();
    assert!(stored(&w.service).0.is_empty());
}

/// A stored transaction's row in the CSV export: (settled, amount, declined).
fn stored_row(service: &AppService, id: &str) -> (String, String, String) {
    let mut csv = Vec::new();
    service
        .export_transactions(&HistoryQuery::default(), &mut csv)
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_slice());
    let rows: Vec<_> = reader
        .records()
        .map(Result::unwrap)
        .filter(|r| &r[0] == id)
        .map(|r| (r[4].to_owned(), r[5].to_owned(), r[13].to_owned()))
        .collect();
    assert_eq!(rows.len(), 1, "{id} is stored once");
    rows[0].clone()
}

#[tokio::test]
async fn what_monzo_changes_after_the_fact_is_updated_in_place_at_the_hourly_re_read() {
    let mut fixture = Fixture::demo();
    for (id, minor) in [("tx_pending_settles", -1_000), ("tx_pending_declined", -2_000)] {
        let mut tx = TransactionFixture::card_payment(DANA_CURRENT, minor, Some("Pret"));
        tx.id = id.into();
        tx.created = "-2d".into();
        tx.pending = true;
        fixture.transactions.push(tx);
    }
    let clock = Clock::manual(chrono::Utc::now());
    let w = world_on(fixture, &["Dana"], clock.clone()).await;
    w.service.import_history_now().await;
    assert_eq!(
        stored_row(&w.service, "tx_pending_settles"),
        (String::new(), "-10.00".into(), "false".into())
    );

    // Monzo settles one for a different amount and declines the other later.
    w.sandbox
        .update_transaction(TransactionChange {
            id: "tx_pending_settles".into(),
            amount: Some(-1_250),
            pending: Some(false),
            decline_reason: None,
        })
        .unwrap();
    w.sandbox
        .update_transaction(TransactionChange {
            id: "tx_pending_declined".into(),
            amount: None,
            pending: None,
            decline_reason: Some("INSUFFICIENT_FUNDS".into()),
        })
        .unwrap();
    // Within the hour nothing is read again.
    clock.advance(Duration::from_secs(30 * 60));
    w.engine.import_round().await;
    assert_eq!(stored_row(&w.service, "tx_pending_settles").1, "-10.00");
    clock.advance(Duration::from_secs(31 * 60));
    w.engine.import_round().await;
    let (settled, amount, declined) = stored_row(&w.service, "tx_pending_settles");
    assert!(!settled.is_empty(), "settled");
    assert_eq!(amount, "-12.50");
    assert_eq!(declined, "false");
    assert_eq!(stored_row(&w.service, "tx_pending_declined").2, "true");
}

#[tokio::test]
async fn on_the_sandboxs_clock_a_quota_blocks_the_import_and_the_window_closes_with_no_real_waiting() {
    let clock = Clock::manual(chrono::Utc::now());
    let w = world_on(household_with_years(400), &[], clock.clone()).await;
    // As reported (monzo/docs#66): 429 after 30 requests in 5 minutes, for 10 minutes.
    w.sandbox.set_quota(Some(Quota {
        requests: 30,
        window_secs: 300,
        block_secs: 600,
    }));
    support::sign_in_as(&w.api, w.service_engine_sessions(), "Dana", "Dana").await;
    w.service.import_history_now().await;
    let notes = w.service.history_notes();
    assert!(
        notes.iter().any(|n| n.starts_with("Importing Dana's history")),
        "held back by the quota: {notes:?}"
    );
    let snapshot = w.engine.poll_balances().await;
    let dana = snapshot.person("Dana").unwrap();
    assert!(
        dana.error
            .as_deref()
            .unwrap_or_default()
            .contains("limiting how often"),
        "the person shows why: {:?}",
        dana.error
    );
    // Ten minutes on both clocks: Monzo's 5 minutes are over, the block too.
    w.sandbox.advance_clock(Duration::from_secs(601));
    clock.advance(Duration::from_secs(601));
    w.service.import_history_now().await;
    let notes = w.service.history_notes();
    assert!(
        notes.iter().any(|n| n.starts_with("History before ")),
        "cut short by the 5-minute rule: {notes:?}"
    );
}

impl World {
    fn service_engine_sessions(&self) -> &monzo_tray_core::session::Sessions {
        self.engine.sessions()
    }

    fn service_person_id(&self, name: &str) -> String {
        self.house.person(name).unwrap().id
    }
}
