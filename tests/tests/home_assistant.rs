//! The Home Assistant push against a real Home Assistant (2024.3.3 from PyPI, started
//! by the test): exact entity ids, states and attributes; nothing sent when nothing
//! changed; only changed entities pushed; a restart healed within one push; deleted
//! pots deleted; a wrong token and a stopped Home Assistant reported while Monzo
//! polling stays live; and the command line (`ha connect`, `headless --once`).

use std::time::Duration;

use monzo_sandbox::{FaultKind, FaultPlan, FaultRule, Fixture, Sandbox};
use monzo_tray_core::background;
use monzo_tray_core::engine::{Engine, EngineConfig};
use monzo_tray_core::home_assistant::entities::EntityIds;
use monzo_tray_core::home_assistant::link;
use monzo_tray_core::home_assistant::{people_ids, HaClient, PushStatus, Pusher, RestTransport};
use monzo_tray_core::snapshot::ConnectionState;
use monzo_tray_e2e::home_assistant::HomeAssistant;
use monzo_tray_e2e::signed_in::signed_in;
use monzo_tray_e2e::{cli_login, spend, text, Desktop, Running};
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::watch;

/// Everyone in settings: whom the pusher may keep entities for.
fn people(engine: &Engine) -> HashSet<String> {
    people_ids(&engine.household().settings())
}

/// The demo household signed in to a sandbox, with an engine (in memory).
async fn demo_engine(sandbox: &Sandbox) -> Engine {
    signed_in(
        sandbox,
        &["Dana", "Alex"],
        Duration::from_secs(2),
        EngineConfig::default(),
    )
    .await
    .engine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_every_balance_and_heals_itself() {
    let mut ha = HomeAssistant::start();
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    let engine = demo_engine(&sandbox).await;
    let mut pusher = Pusher::new(RestTransport::new(
        HaClient::new(&ha.url, &ha.token, None).unwrap(),
    ));
    let mut ids = EntityIds::new();

    let snapshot = engine.poll_once().await;
    let report = pusher.push(&snapshot, &mut ids, &people(&engine)).await;
    assert_eq!(report.state.status, PushStatus::Ok, "{:?}", report.state);
    // Dana: current (3 sensors, 2 pots) + joint (3, 2 pots); Alex: joint (3, 2 pots),
    // current (3), business in EUR (3, 1 pot).
    assert_eq!(report.requests, 5 + 5 + 5 + 3 + 4);

    let balance = ha
        .state("sensor.monzo_dana_current_account_balance")
        .await
        .unwrap();
    assert_eq!(balance["state"], "1234.56");
    assert_eq!(
        balance["attributes"],
        json!({
            "unit_of_measurement": "GBP",
            "device_class": "monetary",
            "state_class": "total",
            "friendly_name": "Dana Current Account Balance",
            "icon": "mdi:bank",
        })
    );
    let expect = [
        (
            "sensor.monzo_dana_current_account_total_balance",
            "3055.31",
            "GBP",
        ),
        ("sensor.monzo_dana_current_account_spend_today", "12.30", "GBP"),
        ("sensor.monzo_dana_holiday_balance", "1500.00", "GBP"),
        ("sensor.monzo_dana_rainy_day_balance", "320.75", "GBP"),
        ("sensor.monzo_dana_joint_account_balance", "842.10", "GBP"),
        ("sensor.monzo_alex_joint_account_balance", "842.10", "GBP"),
        ("sensor.monzo_alex_house_deposit_balance", "18250.00", "GBP"),
        ("sensor.monzo_alex_current_account_balance", "-25.30", "GBP"),
        ("sensor.monzo_alex_business_account_balance", "12500.75", "EUR"),
        ("sensor.monzo_alex_tax_balance", "3000.00", "EUR"),
    ];
    for (entity, state, unit) in expect {
        let got = ha
            .state(entity)
            .await
            .unwrap_or_else(|| panic!("{entity} missing"));
        assert_eq!(got["state"], state, "{entity}");
        assert_eq!(got["attributes"]["unit_of_measurement"], unit, "{entity}");
    }
    let pot = ha.state("sensor.monzo_dana_holiday_balance").await.unwrap();
    assert_eq!(pot["attributes"]["friendly_name"], "Dana Holiday ☀️ Balance");
    // Spent today as Home Assistant's own integration has it: positive, no state
    // class (it starts again every day).
    let spent = ha
        .state("sensor.monzo_dana_current_account_spend_today")
        .await
        .unwrap();
    assert_eq!(
        spent["attributes"],
        json!({
            "unit_of_measurement": "GBP",
            "device_class": "monetary",
            "friendly_name": "Dana Current Account Spent Today",
            "icon": "mdi:cash-minus",
        })
    );

    // Nothing changed: nothing sent.
    let snapshot = engine.poll_once().await;
    assert_eq!(
        pusher.push(&snapshot, &mut ids, &people(&engine)).await.requests,
        0
    );

    // A balance changes: only the entities whose values changed (the balance, and
    // the total that includes it) are sent.
    sandbox.set_balance("acc_00009demoalexcurrent", 9999).unwrap();
    let snapshot = engine.poll_once().await;
    let report = pusher.push(&snapshot, &mut ids, &people(&engine)).await;
    assert_eq!(report.requests, 2);
    assert_eq!(
        ha.state("sensor.monzo_alex_current_account_balance")
            .await
            .unwrap()["state"],
        "99.99"
    );
    assert_eq!(
        ha.state("sensor.monzo_alex_current_account_total_balance")
            .await
            .unwrap()["state"],
        "99.99"
    );

    // A rename keeps the entity id; the friendly name follows.
    sandbox
        .set_pot("pot_00009demorainyday", None, Some("Emergency fund".into()), None)
        .unwrap();
    let snapshot = engine.poll_once().await;
    pusher.push(&snapshot, &mut ids, &people(&engine)).await;
    let renamed = ha.state("sensor.monzo_dana_rainy_day_balance").await.unwrap();
    assert_eq!(
        renamed["attributes"]["friendly_name"],
        "Dana Emergency fund Balance"
    );

    // Home Assistant restarts and forgets REST-made states: one push brings all back.
    ha.restart();
    assert!(ha
        .state("sensor.monzo_dana_current_account_balance")
        .await
        .is_none());
    pusher.verify_next_push();
    let snapshot = engine.poll_once().await;
    let report = pusher.push(&snapshot, &mut ids, &people(&engine)).await;
    assert_eq!(report.state.status, PushStatus::Ok);
    assert_eq!(report.requests, 1 + 22, "one read-back, then everything");
    assert_eq!(
        ha.state("sensor.monzo_dana_current_account_balance")
            .await
            .unwrap()["state"],
        "1234.56"
    );

    // A pot deleted in Monzo: its entity is deleted.
    sandbox
        .set_pot("pot_00009demoholiday", None, None, Some(true))
        .unwrap();
    let snapshot = engine.poll_once().await;
    pusher.push(&snapshot, &mut ids, &people(&engine)).await;
    assert!(ha.state("sensor.monzo_dana_holiday_balance").await.is_none());
    assert!(!ids.values().any(|id| id == "sensor.monzo_dana_holiday_balance"));

    // A person removed: all their entities are deleted.
    engine.household().remove_person("Alex").await.unwrap();
    let snapshot = engine.poll_once().await;
    pusher.push(&snapshot, &mut ids, &people(&engine)).await;
    for entity in [
        "sensor.monzo_alex_current_account_balance",
        "sensor.monzo_alex_tax_balance",
    ] {
        assert!(ha.state(entity).await.is_none(), "{entity} still there");
    }
    assert!(!ids.values().any(|id| id.starts_with("sensor.monzo_alex_")));
    assert!(ha
        .state("sensor.monzo_dana_current_account_balance")
        .await
        .is_some());

    // A wrong token: `unauthorized`, and Monzo polling is untouched.
    let mut wrong = Pusher::new(RestTransport::new(
        HaClient::new(&ha.url, "not-the-token", None).unwrap(),
    ));
    let snapshot = engine.poll_once().await;
    let report = wrong.push(&snapshot, &mut ids.clone(), &people(&engine)).await;
    assert_eq!(report.state.status, PushStatus::Unauthorized);
    assert!(snapshot.people.iter().all(|p| p.state == ConnectionState::Live));

    // Home Assistant stopped: `unreachable`; started again: it recovers.
    ha.stop();
    sandbox.set_balance("acc_00009demodanacurrent", 100).unwrap();
    let snapshot = engine.poll_once().await;
    let report = pusher.push(&snapshot, &mut ids, &people(&engine)).await;
    assert_eq!(report.state.status, PushStatus::Unreachable);
    assert!(
        report.state.last_ok_at.is_some(),
        "the last good push is remembered"
    );
    assert!(snapshot.people.iter().all(|p| p.state == ConnectionState::Live));
    ha.start_again();
    pusher.verify_next_push();
    let report = pusher
        .push(&engine.poll_once().await, &mut ids, &people(&engine))
        .await;
    assert_eq!(report.state.status, PushStatus::Ok);
    assert_eq!(
        ha.state("sensor.monzo_dana_current_account_balance")
            .await
            .unwrap()["state"],
        "1.00"
    );
}

/// Removing from Home Assistant needs positive evidence: a reply missing its list
/// (`{}` from `/accounts`, which once deleted every entity of a person) and a single
/// partial list remove nothing; only a second list in a row without the pot does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_replies_and_one_partial_list_delete_nothing() {
    let ha = HomeAssistant::start();
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    let engine = demo_engine(&sandbox).await;
    let mut pusher = Pusher::new(RestTransport::new(
        HaClient::new(&ha.url, &ha.token, None).unwrap(),
    ));
    let mut ids = EntityIds::new();
    let report = pusher
        .push(&engine.poll_once().await, &mut ids, &people(&engine))
        .await;
    assert_eq!(report.state.status, PushStatus::Ok);
    assert_eq!(ids.len(), 22);
    let all_there = |ids: &EntityIds| {
        let ids = ids.clone();
        let ha = &ha;
        async move {
            for entity in ids.values() {
                assert!(ha.state(entity).await.is_some(), "{entity} was deleted");
            }
        }
    };

    // 200 with a body missing its list, on each list in turn, through all retries.
    for path in ["/accounts", "/pots", "/balance"] {
        sandbox.set_faults(FaultPlan {
            rules: vec![FaultRule {
                kind: FaultKind::MissingList,
                times: None,
                path: Some(path.into()),
                retry_after: None,
                delay_ms: None,
            }],
            random: None,
        });
        // The account list is kept for minutes; "Refresh now" reads it again.
        engine.refresh_now();
        let snapshot = engine.poll_once().await;
        assert!(
            snapshot.people.iter().all(|p| p.state == ConnectionState::Stale),
            "{path}"
        );
        let report = pusher.push(&snapshot, &mut ids, &people(&engine)).await;
        assert_eq!(report.state.status, PushStatus::Ok);
        assert_eq!(report.requests, 0, "{path}: nothing pushed, nothing deleted");
        assert_eq!(ids.len(), 22, "{path}");
    }
    all_there(&ids).await;

    // One partial list (every /pots reply without its last pot, for one poll):
    // nothing deleted. Those last pots: Dana's deleted "New bike" (not shown anyway),
    // the joint account's "House deposit" (under Dana and Alex) and Alex's "Tax".
    let partial_pots = || FaultPlan::every(FaultKind::PartialList, "/pots");
    sandbox.set_faults(partial_pots());
    let snapshot = engine.poll_once().await;
    sandbox.clear_faults();
    assert!(snapshot.people.iter().all(|p| p.state == ConnectionState::Live));
    let shown: usize = snapshot
        .people
        .iter()
        .flat_map(|p| &p.accounts)
        .map(|a| a.pots.len())
        .sum();
    assert_eq!(shown, 4, "three pot entries missing from the lists");
    pusher.push(&snapshot, &mut ids, &people(&engine)).await;
    assert_eq!(ids.len(), 22);
    all_there(&ids).await;
    // The next list has them again; then one partial list again: nothing deleted.
    pusher
        .push(&engine.poll_once().await, &mut ids, &people(&engine))
        .await;
    sandbox.set_faults(partial_pots());
    pusher
        .push(&engine.poll_once().await, &mut ids, &people(&engine))
        .await;
    assert_eq!(ids.len(), 22);
    all_there(&ids).await;
    // Missing from the next list as well (two well-formed lists in a row): now they go.
    pusher
        .push(&engine.poll_once().await, &mut ids, &people(&engine))
        .await;
    assert_eq!(
        ids.len(),
        19,
        "the pots missing from two lists in a row are removed"
    );
    for entity in [
        "sensor.monzo_dana_house_deposit_balance",
        "sensor.monzo_alex_house_deposit_balance",
        "sensor.monzo_alex_tax_balance",
    ] {
        assert!(ha.state(entity).await.is_none(), "{entity} still there");
    }
}

/// The engine keeps the account list for ten minutes, so one partial `/accounts`
/// reply is repeated by every poll until the next read: those polls are one list,
/// and the missing account's entities (its pots' too) stay until a second read of
/// the list misses it as well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_account_list_kept_between_reads_deletes_nothing() {
    let ha = HomeAssistant::start();
    // Each person's current account last, so a partial list (without its last
    // entry) misses an account that has entities (with pots, under Dana).
    let mut fixture = Fixture::demo();
    fixture.accounts.sort_by_key(|a| a.id.ends_with("current"));
    let sandbox = Sandbox::start_local(fixture).await.unwrap();
    let engine = demo_engine(&sandbox).await;
    let mut pusher = Pusher::new(RestTransport::new(
        HaClient::new(&ha.url, &ha.token, None).unwrap(),
    ));
    let mut ids = EntityIds::new();
    let complete = engine.poll_once().await;
    let all_accounts: usize = complete.people.iter().map(|p| p.accounts.len()).sum();
    pusher.push(&complete, &mut ids, &people(&engine)).await;
    assert_eq!(ids.len(), 22);
    let partial_accounts = FaultPlan::every(FaultKind::PartialList, "/accounts");

    // One read of the list without each person's last account, then polls that
    // keep that list (no "Refresh now", well within ten minutes).
    sandbox.set_faults(partial_accounts.clone());
    engine.refresh_now();
    let first = engine.poll_once().await;
    sandbox.clear_faults();
    assert!(first.people.iter().all(|p| p.state == ConnectionState::Live));
    let listed: usize = first.people.iter().map(|p| p.accounts.len()).sum();
    assert_eq!(
        listed,
        all_accounts - 2,
        "Dana's and Alex's current accounts missing"
    );
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let snapshot = engine.poll_once().await;
        let still: usize = snapshot.people.iter().map(|p| p.accounts.len()).sum();
        assert_eq!(still, listed, "the kept list is used, not read again");
        let report = pusher.push(&snapshot, &mut ids, &people(&engine)).await;
        assert_eq!(report.state.status, PushStatus::Ok);
        assert_eq!(ids.len(), 22, "nothing removed on one partial account list");
    }
    for entity in ids.values() {
        assert!(ha.state(entity).await.is_some(), "{entity} was deleted");
    }

    // Read again, and complete: the count starts again.
    engine.refresh_now();
    pusher
        .push(&engine.poll_once().await, &mut ids, &people(&engine))
        .await;
    assert_eq!(ids.len(), 22);
    // Missing from two reads of the list in a row: now they go.
    for _ in 0..2 {
        sandbox.set_faults(partial_accounts.clone());
        engine.refresh_now();
        let snapshot = engine.poll_once().await;
        pusher.push(&snapshot, &mut ids, &people(&engine)).await;
    }
    sandbox.clear_faults();
    for gone in [
        "sensor.monzo_dana_current_account_balance",
        "sensor.monzo_dana_holiday_balance",
        "sensor.monzo_alex_current_account_balance",
    ] {
        assert!(
            !ids.values().any(|id| id == gone),
            "{gone}: an account missing from two lists is removed, with its pots"
        );
        assert!(ha.state(gone).await.is_none(), "{gone} still in Home Assistant");
    }
}

/// Reads events (JSON lines) from a listener until `count` came, within `within`.
fn events(listening: &mut Running, count: usize, within: Duration) -> Vec<serde_json::Value> {
    let deadline = std::time::Instant::now() + within;
    let mut out = Vec::new();
    while out.len() < count {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let Some(line) = listening.try_next_line(left) else {
            panic!("only {} of {count} events came: {out:#?}", out.len());
        };
        out.push(serde_json::from_str(&line).unwrap());
    }
    out
}

/// Each new transaction fires `monzo_tray_transaction` on Home Assistant's bus
/// exactly once, a joint account's once for the household; while Home Assistant
/// is down they wait, and arrive once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_transactions_fire_one_event_each_on_the_bus() {
    let mut ha = HomeAssistant::start();
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    let signed = signed_in(
        &sandbox,
        &["Dana", "Alex"],
        Duration::from_secs(2),
        EngineConfig::default(),
    )
    .await;
    link::connect(&signed.household, &ha.url, &ha.token, None)
        .await
        .unwrap();
    let engine = Arc::new(signed.engine);
    let mut listening = ha.listen("monzo_tray_transaction");
    let stop = background::Stop::new();
    let status = watch::Sender::new(None);
    let mut pushes = status.subscribe();
    let running = tokio::spawn(background::run(engine.clone(), status, stop.clone()));
    tokio::time::timeout(
        Duration::from_secs(30),
        pushes.wait_for(|s| s.as_ref().is_some_and(|s| s.status == PushStatus::Ok)),
    )
    .await
    .expect("a first push")
    .unwrap();
    assert!(
        listening.try_next_line(Duration::from_millis(500)).is_none(),
        "the backlog is never announced"
    );

    let tesco = sandbox
        .add_transaction(spend("acc_00009demodanacurrent", -1230, "Tesco Metro"))
        .unwrap();
    let sainsburys = sandbox
        .add_transaction(spend("acc_00009demojoint", -4599, "Sainsbury's"))
        .unwrap();
    engine.refresh_now();
    let mut fired = events(&mut listening, 2, Duration::from_secs(30));
    fired.sort_by_key(|e| e["data"]["id"].as_str().map(|id| id == sainsburys));
    let tesco_event = &fired[0]["data"];
    assert_eq!(tesco_event["id"], tesco.as_str());
    assert_eq!(tesco_event["person"], "Dana");
    assert_eq!(tesco_event["account_id"], "acc_00009demodanacurrent");
    assert_eq!(tesco_event["account"], "Current Account");
    assert_eq!(tesco_event["amount"], "-12.30");
    assert_eq!(tesco_event["currency"], "GBP");
    assert_eq!(tesco_event["merchant"], "Tesco Metro");
    assert_eq!(tesco_event["category"], "groceries");
    assert_eq!(tesco_event["description"], "CARD PAYMENT");
    assert!(tesco_event["created"].is_string());
    let joint_event = &fired[1]["data"];
    assert_eq!(joint_event["id"], sainsburys.as_str());
    assert_eq!(joint_event["person"], "Dana & Alex", "once for the household");
    // Exactly once: more polls fire nothing more.
    engine.refresh_now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    engine.refresh_now();
    assert!(
        listening.try_next_line(Duration::from_secs(2)).is_none(),
        "fired twice"
    );

    // Home Assistant down: the new transaction waits, and comes once it is back.
    ha.stop();
    let while_down = sandbox
        .add_transaction(spend("acc_00009demoalexcurrent", -880, "Pret A Manger"))
        .unwrap();
    engine.refresh_now();
    tokio::time::timeout(
        Duration::from_secs(30),
        pushes.wait_for(|s| s.as_ref().is_some_and(|s| s.status == PushStatus::Unreachable)),
    )
    .await
    .expect("Home Assistant reported unreachable")
    .unwrap();
    ha.start_again();
    let mut listening = ha.listen("monzo_tray_transaction");
    engine.refresh_now();
    let fired = events(&mut listening, 1, Duration::from_secs(30));
    assert_eq!(fired[0]["data"]["id"], while_down.as_str());
    assert_eq!(fired[0]["data"]["person"], "Alex");
    engine.refresh_now();
    assert!(
        listening.try_next_line(Duration::from_secs(2)).is_none(),
        "fired twice"
    );
    stop.cancel();
    running.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_connects_and_pushes() {
    let mut ha = HomeAssistant::start();
    let desktop = Desktop::start();
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    let run = |args: &[&str], stdin: &str| {
        let mut cmd = desktop.monzo_tray(&sandbox.api_url());
        cmd.args(args).env("MONZO_TRAY_LOG", "off");
        let mut running = Running::spawn(cmd);
        for line in stdin.lines() {
            running.write_line(line);
        }
        running.close_stdin();
        let (status, stdout, stderr) = running.finish(Duration::from_secs(60));
        (status.code().unwrap_or(-1), stdout, stderr)
    };

    // Bad input: a clear sentence, nothing saved.
    let (code, _, err) = run(&["ha", "connect", "--url", "127.0.0.1:8123"], &ha.token);
    assert_eq!(code, 1);
    assert!(err.contains("http://"), "{err}");
    let (code, _, err) = run(&["ha", "connect", "--url", &ha.url], "wrong-token");
    assert_eq!(code, 1);
    assert!(err.contains("refused the token"), "{err}");
    let (code, _, err) = run(&["ha", "connect", "--url", "http://127.0.0.1:9"], &ha.token);
    assert_eq!(code, 1);
    assert!(err.contains("could not be reached"), "{err}");
    assert!(
        !desktop.settings_path().exists()
            || !std::fs::read_to_string(desktop.settings_path())
                .unwrap()
                .contains("127.0.0.1:9")
    );

    // Connect (token with stray spaces, URL with a trailing slash), sign Dana in.
    let (code, out, err) = run(
        &["ha", "connect", "--url", &format!("{}/", ha.url)],
        &format!("  {}  ", ha.token),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Connected to Home Assistant"));
    cli_login(&desktop, &sandbox.api_url(), "Dana");

    // One poll, one push.
    let (code, out, err) = run(&["headless", "--once"], "");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Dana=live") && out.contains("Home Assistant ok"),
        "{out}\nsettings: {}",
        std::fs::read_to_string(desktop.settings_path()).unwrap_or_default()
    );
    assert_eq!(
        ha.state("sensor.monzo_dana_current_account_balance")
            .await
            .unwrap()["state"],
        "1234.56"
    );
    let settings = std::fs::read_to_string(desktop.settings_path()).unwrap();
    assert!(
        settings.contains("sensor.monzo_dana_current_account_balance"),
        "entity ids remembered"
    );
    assert!(
        !settings.contains(&ha.token),
        "the token is in the keyring, not the settings"
    );

    // Home Assistant down: non-zero, with the reason.
    ha.stop();
    let (code, _, err) = run(&["headless", "--once"], "");
    assert_eq!(code, 1);
    assert!(err.contains("could not be reached"), "{err}");

    let (code, _, _) = run(&["ha", "disconnect"], "");
    assert_eq!(code, 0);
    let (code, out, _) = text(
        desktop
            .monzo_tray(&sandbox.api_url())
            .args(["headless", "--once"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0);
    assert!(out.contains("Home Assistant off"), "{out}");
}

/// The settings window's Home Assistant section, in the real webview.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_window_connects_and_the_tray_shows_trouble() {
    use monzo_tray_e2e::gui::{click, eventually, type_into, visible_text, Driver, Xvfb};
    use monzo_tray_e2e::tray_watcher::TrayWatcher;
    const WAIT: Duration = Duration::from_secs(30);

    let mut ha = HomeAssistant::start();
    let xvfb = Xvfb::start();
    let desktop = Desktop::start();
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    // Dana signs in from the terminal first; the app finds her in the keyring.
    cli_login(&desktop, &sandbox.api_url(), "Dana");

    let watcher = TrayWatcher::start(desktop.bus_address()).await.unwrap();
    let driver = Driver::start(
        &desktop,
        &xvfb,
        &[
            ("MONZO_API_URL", sandbox.api_url()),
            ("MONZO_AUTH_URL", sandbox.auth_url()),
        ],
    );
    let client = driver.session(&["--settings"]).await;

    // Bad input first: clear sentences, nothing saved.
    type_into(&client, "ha-url", "homeassistant.local:8123").await;
    type_into(&client, "ha-token", &ha.token).await;
    click(&client, "ha-test").await;
    let error = eventually("the no-scheme error", WAIT, || visible_text(&client, "ha-error")).await;
    assert!(error.contains("http://"), "{error}");
    type_into(&client, "ha-url", &sandbox.api_url()).await;
    click(&client, "ha-test").await;
    let error = eventually("the not-Home-Assistant error", WAIT, || async {
        visible_text(&client, "ha-error")
            .await
            .filter(|e| !e.contains("http://"))
    })
    .await;
    assert!(error.contains("does not answer like Home Assistant"), "{error}");
    type_into(&client, "ha-url", &ha.url).await;
    type_into(&client, "ha-token", "wrong-token").await;
    click(&client, "ha-save").await;
    let error = eventually("the refused-token error", WAIT, || async {
        visible_text(&client, "ha-error")
            .await
            .filter(|e| e.contains("refused"))
    })
    .await;
    assert!(error.contains("refused the token"), "{error}");
    assert!(
        !std::fs::read_to_string(desktop.settings_path())
            .unwrap()
            .contains(&ha.url),
        "nothing saved"
    );

    // Test, then save with the switch on: the balances arrive in Home Assistant.
    type_into(&client, "ha-token", &format!(" {} ", ha.token)).await;
    click(&client, "ha-test").await;
    let ok = eventually("the test result", WAIT, || visible_text(&client, "ha-result")).await;
    assert_eq!(ok, "Connected: Home Assistant answers.");
    click(&client, "ha-enabled").await;
    click(&client, "ha-save").await;
    // The first push to a Home Assistant that has just started, beside six other
    // tests' Home Assistants on two cores: once seen to take over 30 s on a clean CI
    // machine (passing in 34 s runs here), so this one step waits longer.
    eventually("the push status", WAIT * 2, || async {
        visible_text(&client, "ha-status")
            .await
            .filter(|t| t.contains("all good"))
    })
    .await;
    let state = ha
        .state("sensor.monzo_dana_current_account_balance")
        .await
        .unwrap();
    assert_eq!(state["state"], "1234.56");
    let html = client.source().await.unwrap();
    assert!(!html.contains(&ha.token), "the webview never holds the token");

    // Home Assistant goes away and a balance changes: the push fails and the tray
    // says so, while Monzo polling carries on. (With nothing to push nothing is
    // sent, so an idle outage is noticed at the next read-back, once a minute.)
    ha.stop();
    sandbox.set_balance("acc_00009demodanacurrent", 123400).unwrap();
    watcher.click("Refresh now").await;
    let tray = watcher
        .wait_for(WAIT, |l| {
            l.iter()
                .any(|e| e.label.starts_with("Home Assistant could not be reached"))
        })
        .await;
    assert!(tray.iter().any(|e| e.label == "Current Account   £1,234.00"));
    ha.start_again();
    sandbox.set_balance("acc_00009demodanacurrent", 4321).unwrap();
    watcher.click("Refresh now").await;
    watcher
        .wait_for(WAIT, |l| !l.iter().any(|e| e.label.starts_with("Home Assistant")))
        .await;
    let _ = client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_custom_ca_file() {
    let ha = HomeAssistant::start_tls();
    let ca = ha.ca_file.clone().unwrap();
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    let engine = demo_engine(&sandbox).await;
    let snapshot = engine.poll_once().await;

    // Without the CA the certificate is not trusted: unreachable, said plainly.
    let mut untrusting = Pusher::new(RestTransport::new(
        HaClient::new(&ha.url, &ha.token, None).unwrap(),
    ));
    let report = untrusting
        .push(&snapshot, &mut EntityIds::new(), &people(&engine))
        .await;
    assert_eq!(report.state.status, PushStatus::Unreachable);

    let mut pusher = Pusher::new(RestTransport::new(
        HaClient::new(&ha.url, &ha.token, Some(&ca)).unwrap(),
    ));
    let report = pusher
        .push(&snapshot, &mut EntityIds::new(), &people(&engine))
        .await;
    assert_eq!(report.state.status, PushStatus::Ok, "{:?}", report.state);
    assert_eq!(
        ha.state("sensor.monzo_dana_current_account_balance")
            .await
            .unwrap()["state"],
        "1234.56"
    );

    // And from the command line.
    let desktop = Desktop::start();
    let mut cmd = desktop.monzo_tray(&sandbox.api_url());
    cmd.args(["ha", "connect", "--url", &ha.url, "--ca-file"])
        .arg(&ca);
    let mut connect = Running::spawn(cmd);
    connect.write_line(&ha.token);
    connect.close_stdin();
    let (status, _, stderr) = connect.finish(Duration::from_secs(30));
    assert!(status.success(), "{stderr}");
}

/// The balance history in Home Assistant's long-term statistics: `ha connect`
/// imports every account's and pot's daily balances as external statistics
/// (`monzo_tray:<object id>`), read back through `recorder/statistics_during_period`
/// and compared with `monzo-tray history --json`; nothing in Home Assistant's log
/// about deprecated metadata.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ha_connect_backfills_the_balance_history_into_long_term_statistics() {
    let ha = HomeAssistant::start_with_recorder();
    let desktop = Desktop::start();
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    cli_login(&desktop, &sandbox.api_url(), "Dana");
    let mut connect = desktop.monzo_tray(&sandbox.api_url());
    connect
        .args(["ha", "connect", "--url", &ha.url])
        .env("MONZO_TRAY_LOG", "off");
    let mut running = Running::spawn(connect);
    running.write_line(&ha.token);
    running.close_stdin();
    let (status, out, err) = running.finish(Duration::from_secs(120));
    assert!(status.success(), "{err}");
    assert!(out.contains("is in its long-term statistics"), "{out}");

    let (_, history, _) = text(
        desktop
            .monzo_tray(&sandbox.api_url())
            .args(["history", "--json", "--person", "Dana"])
            .output()
            .unwrap(),
    );
    let history: serde_json::Value = serde_json::from_str(&history).unwrap();
    let current = history["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account_id"] == "acc_00009demodanacurrent")
        .unwrap();
    let days = current["days"].as_array().unwrap();
    let statistic = "monzo_tray:monzo_dana_current_account_balance";
    let points = ha.daily_statistics(statistic, days.len());
    assert!(
        !points.is_empty(),
        "{}",
        std::fs::read_to_string(ha.log_path()).unwrap_or_default()
    );
    assert_eq!(points.len(), days.len(), "a point a day from the first");
    let value = |v: &serde_json::Value| v.as_f64().unwrap();
    let wanted = |d: &serde_json::Value| d["balance"].as_str().unwrap().parse::<f64>().unwrap();
    assert!(
        (value(&points[0]["mean"]) - wanted(&days[0])).abs() < 0.005,
        "{} vs {}",
        points[0],
        days[0]
    );
    let last = points.len() - 1;
    assert!((value(&points[last]["mean"]) - wanted(&days[last])).abs() < 0.005);
    // Every pot and the total too.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let ids: Vec<String> = loop {
        let listed = ha
            .websocket(serde_json::json!({"type": "recorder/list_statistic_ids", "statistic_type": "mean"}));
        let ids: Vec<String> = listed
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["statistic_id"].as_str().map(str::to_owned))
            .collect();
        if ids.iter().any(|id| id.contains("holiday")) || std::time::Instant::now() > deadline {
            break ids;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(
        ids.iter()
            .any(|id| id.starts_with("monzo_tray:monzo_dana_") && id.contains("holiday")),
        "{ids:?}"
    );
    assert!(
        ids.iter()
            .any(|id| id == "monzo_tray:monzo_dana_current_account_total_balance"),
        "{ids:?}"
    );
    let log = std::fs::read_to_string(ha.log_path()).unwrap();
    assert!(
        !log.contains("import_statistics called without") && !log.contains("mean_type"),
        "no deprecated metadata in Home Assistant's log"
    );
}
