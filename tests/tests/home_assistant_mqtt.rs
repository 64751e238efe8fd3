//! The MQTT transport against real parts: Debian's mosquitto and the real Home
//! Assistant with its MQTT integration set up through the config-flow API. Checked
//! in Home Assistant itself: one Monzo device per account and pot (device
//! registry), entity ids, unique ids, states and attributes; everything back after a
//! Home Assistant restart with the app frozen; unavailable when the app is killed;
//! a deleted pot's entity and device gone; a stopped broker reported, then recovery;
//! bad input refused with nothing saved; switching REST ↔ MQTT keeps entity ids;
//! with a long-lived token also given, the balance history in the long-term
//! statistics.

use std::process::Command;
use std::time::Duration;

use monzo_sandbox::{FaultKind, FaultPlan, FaultRule, Fixture, Sandbox};
use monzo_tray_e2e::gui::eventually;
use monzo_tray_e2e::home_assistant::HomeAssistant;
use monzo_tray_e2e::mosquitto::{Mosquitto, Security};
use monzo_tray_e2e::{cli_login, spend, Desktop, Running};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);

/// Runs `monzo-tray ARGS` to the end with `stdin`: (exit code, stdout, stderr).
fn run(desktop: &Desktop, sandbox: &Sandbox, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut cmd = desktop.monzo_tray(&sandbox.api_url());
    cmd.args(args).env("MONZO_TRAY_LOG", "off");
    let mut running = Running::spawn(cmd);
    for line in stdin.lines() {
        running.write_line(line);
    }
    running.close_stdin();
    let (status, stdout, stderr) = running.finish(Duration::from_secs(60));
    (status.code().unwrap_or(-1), stdout, stderr)
}

fn settings(desktop: &Desktop) -> Value {
    std::fs::read_to_string(desktop.settings_path())
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

/// Polls every 10 s (the shortest a person can choose), so pot changes show soon.
fn poll_often(desktop: &Desktop) {
    let mut s = settings(desktop);
    s["poll_interval_secs"] = json!(10);
    std::fs::write(desktop.settings_path(), s.to_string()).unwrap();
}

fn headless(desktop: &Desktop, sandbox: &Sandbox) -> Running {
    let mut cmd = desktop.monzo_tray(&sandbox.api_url());
    cmd.arg("headless").env("MONZO_TRAY_LOG", "info");
    Running::spawn(cmd)
}

/// Reads stdout until a line contains `text`.
fn wait_for_line(app: &mut Running, text: &str) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let line = app.next_line(deadline.saturating_duration_since(std::time::Instant::now()));
        if line.contains(text) {
            return line;
        }
    }
}

async fn state_of(ha: &HomeAssistant, entity_id: &str) -> Option<String> {
    ha.state(entity_id)
        .await
        .and_then(|s| s["state"].as_str().map(str::to_owned))
}

async fn wait_for_state(ha: &HomeAssistant, entity_id: &str, want: &str) {
    eventually(&format!("{entity_id} = {want}"), WAIT, || async {
        (state_of(ha, entity_id).await.as_deref() == Some(want)).then_some(())
    })
    .await
}

/// The entries of a registry (`config/device_registry/list`, …) that `keep` keeps.
fn registry(ha: &HomeAssistant, list: &str, keep: impl Fn(&Value) -> bool) -> Vec<Value> {
    let entries = ha.websocket(json!({ "type": list }));
    entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| keep(e))
        .cloned()
        .collect()
}

fn monzo_devices(ha: &HomeAssistant) -> Vec<Value> {
    registry(ha, "config/device_registry/list", |d| {
        d["manufacturer"] == "Monzo"
    })
}

fn mqtt_entities(ha: &HomeAssistant) -> Vec<Value> {
    registry(ha, "config/entity_registry/list", |e| e["platform"] == "mqtt")
}

fn signal(app: &Running, name: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(app.child.id().to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name}");
}

/// The next `count` state changes of Transaction event entities (others skipped),
/// then two quiet seconds in which no more may come.
fn event_entity_events(listening: &mut Running, count: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + WAIT;
    let mut out: Vec<Value> = Vec::new();
    loop {
        let wait = if out.len() < count {
            deadline.saturating_duration_since(std::time::Instant::now())
        } else {
            Duration::from_secs(2)
        };
        let Some(line) = listening.try_next_line(wait) else {
            assert!(
                out.len() >= count,
                "only {} of {count} events came: {out:#?}",
                out.len()
            );
            return out;
        };
        let event: Value = serde_json::from_str(&line).unwrap();
        let entity = event["data"]["entity_id"].as_str().unwrap_or_default();
        // An event entity's state is the time of its last event; "unknown" and
        // "unavailable" are not events.
        let state = event["data"]["new_state"]["state"].as_str().unwrap_or_default();
        if entity.starts_with("event.monzo_") && !matches!(state, "unknown" | "unavailable" | "") {
            out.push(event);
            assert!(out.len() <= count, "more events than transactions: {out:#?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_in_home_assistant_through_discovery() {
    let mut broker = Mosquitto::start();
    let mut ha = HomeAssistant::start();
    ha.set_up_mqtt(broker.port);
    let desktop = Desktop::start();
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    cli_login(&desktop, &sandbox.api_url(), "Dana");
    cli_login(&desktop, &sandbox.api_url(), "Alex");

    let (code, out, err) = run(
        &desktop,
        &sandbox,
        &["ha", "connect", "--mqtt", &broker.url(None)],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Connected to the MQTT broker"), "{out}");
    poll_often(&desktop);
    let mut app = headless(&desktop, &sandbox);
    wait_for_line(&mut app, "Home Assistant ok");

    // Entities with the REST transport's ids, states and attributes.
    wait_for_state(&ha, "sensor.monzo_dana_current_account_balance", "1234.56").await;
    let balance = ha
        .state("sensor.monzo_dana_current_account_balance")
        .await
        .unwrap();
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
    wait_for_state(&ha, "sensor.monzo_dana_holiday_balance", "1500.00").await;

    // Dana: current (3 sensors, 2 pots) + joint (3, 2 pots); Alex: joint (3, 2 pots),
    // current (3), business in EUR (3, 1 pot); and a Transaction event entity per
    // account and owner (5).
    let entities = mqtt_entities(&ha);
    assert_eq!(entities.len(), 5 + 5 + 5 + 3 + 4 + 5, "{entities:#?}");
    let entity = |id: &str| entities.iter().find(|e| e["entity_id"] == id).cloned().unwrap();
    let current = entity("sensor.monzo_dana_current_account_balance");
    let unique_id = current["unique_id"].as_str().unwrap();
    assert!(
        unique_id.starts_with("acc_") && unique_id.ends_with("_balance"),
        "{unique_id}"
    );
    // The Transaction event entity, on the account's device.
    let transaction_entity = entity("event.monzo_dana_current_account_transaction");
    assert_eq!(transaction_entity["device_id"], current["device_id"]);

    let holiday = entity("sensor.monzo_dana_holiday_balance");
    assert!(holiday["unique_id"].as_str().unwrap().starts_with("pot_"));

    // One device per account and owner (5) and per pot (7).
    let devices = monzo_devices(&ha);
    assert_eq!(devices.len(), 5 + 7, "{devices:#?}");
    let device = |id: &Value| devices.iter().find(|d| d["id"] == *id).cloned().unwrap();
    let account_device = device(&current["device_id"]);
    assert_eq!(account_device["name"], "Dana Current Account");
    assert_eq!(account_device["model"], "Current Account");
    let pot_device = device(&holiday["device_id"]);
    assert_eq!(pot_device["model"], "Pot");
    assert_eq!(pot_device["via_device_id"], account_device["id"]);
    assert_eq!(
        devices.iter().filter(|d| d["model"] == "Pot").count(),
        7,
        "a device per pot"
    );

    // Home Assistant restarted while the app is frozen: everything comes back from
    // the broker's retained messages alone.
    signal(&app, "STOP");
    ha.restart();
    wait_for_state(&ha, "sensor.monzo_dana_current_account_balance", "1234.56").await;
    wait_for_state(&ha, "sensor.monzo_dana_holiday_balance", "1500.00").await;
    assert_eq!(mqtt_entities(&ha).len(), 27);
    signal(&app, "CONT");

    // A state the broker no longer holds comes back when Home Assistant announces
    // itself (`homeassistant/status` = online after its restart): the app publishes
    // everything again.
    let cleared = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &broker.port.to_string(),
            "-r",
            "-n",
            "-t",
        ])
        .arg(format!("monzo_tray/sensor/{unique_id}/state"))
        .status()
        .unwrap();
    assert!(cleared.success());
    ha.restart();
    wait_for_state(&ha, "sensor.monzo_dana_current_account_balance", "1234.56").await;

    // The app killed: the broker's last will marks every entity unavailable.
    signal(&app, "KILL");
    let _ = app.child.wait();
    wait_for_state(&ha, "sensor.monzo_dana_current_account_balance", "unavailable").await;
    wait_for_state(&ha, "sensor.monzo_alex_business_account_balance", "unavailable").await;

    // Back again, with a changed balance; then a pot deleted in Monzo.
    sandbox.set_balance("acc_00009demodanacurrent", 100).unwrap();
    let mut app = headless(&desktop, &sandbox);
    wait_for_state(&ha, "sensor.monzo_dana_current_account_balance", "1.00").await;
    // Monzo answers 200 with `{}` for the pots (as Home Assistant's own integration
    // met for accounts, `KeyError: 'accounts'`): everyone goes stale, and no entity
    // or device is removed (nor the areas and names people gave them).
    sandbox.set_faults(FaultPlan {
        rules: vec![FaultRule {
            kind: FaultKind::MissingList,
            times: None,
            path: Some("/pots".into()),
            retry_after: None,
            delay_ms: None,
        }],
        random: None,
    });
    // Each not-live person's state is followed by what to do, in brackets.
    wait_for_line(&mut app, "poll: Dana=stale (");
    wait_for_line(&mut app, "poll: Dana=stale (");
    assert_eq!(monzo_devices(&ha).len(), 5 + 7);
    assert_eq!(mqtt_entities(&ha).len(), 27);
    sandbox.clear_faults();
    wait_for_line(&mut app, "Dana=live, Alex=live");
    sandbox
        .set_pot("pot_00009demoholiday", None, None, Some(true))
        .unwrap();
    eventually("the deleted pot's entity and device gone", WAIT, || async {
        let gone = state_of(&ha, "sensor.monzo_dana_holiday_balance").await.is_none()
            && !mqtt_entities(&ha)
                .iter()
                .any(|e| e["entity_id"] == "sensor.monzo_dana_holiday_balance")
            && !monzo_devices(&ha).iter().any(|d| d["id"] == pot_device["id"]);
        gone.then_some(())
    })
    .await;
    assert_eq!(monzo_devices(&ha).len(), 5 + 6);

    // The broker down: reported; back: everything published again (it kept nothing).
    broker.stop();
    wait_for_line(&mut app, "Home Assistant unreachable");
    broker.start_again();
    wait_for_line(&mut app, "Home Assistant ok");
    wait_for_state(&ha, "sensor.monzo_dana_current_account_balance", "1.00").await;

    // New transactions: each once on the event entity of every owner (a joint
    // account's under both), never retained.
    let mut listening = ha.listen("state_changed");
    let tesco = sandbox
        .add_transaction(spend("acc_00009demodanacurrent", -1230, "Tesco Metro"))
        .unwrap();
    let sainsburys = sandbox
        .add_transaction(spend("acc_00009demojoint", -4599, "Sainsbury's"))
        .unwrap();
    let fired = event_entity_events(&mut listening, 3);
    let of = |entity: &str| -> Vec<&Value> {
        fired
            .iter()
            .filter(|e| e["data"]["entity_id"] == entity)
            .map(|e| &e["data"]["new_state"]["attributes"])
            .collect()
    };
    let dana_current = of("event.monzo_dana_current_account_transaction");
    assert_eq!(dana_current.len(), 1);
    assert_eq!(dana_current[0]["event_type"], "transaction_created");
    assert_eq!(dana_current[0]["id"], tesco.as_str());
    assert_eq!(dana_current[0]["amount"], "-12.30");
    assert_eq!(dana_current[0]["merchant"], "Tesco Metro");
    assert_eq!(dana_current[0]["person"], "Dana");
    for (entity, person) in [
        ("event.monzo_dana_joint_account_transaction", "Dana"),
        ("event.monzo_alex_joint_account_transaction", "Alex"),
    ] {
        let seen = of(entity);
        assert_eq!(seen.len(), 1, "{entity}");
        assert_eq!(seen[0]["id"], sainsburys.as_str());
        assert_eq!(seen[0]["person"], person);
    }
    // Not retained: nothing waits on the broker for a Home Assistant restart.
    let retained = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &broker.port.to_string(),
            "-t",
            "monzo_tray/event/#",
            "-W",
            "2",
            "-v",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&retained.stdout).trim().is_empty(),
        "an event was retained"
    );
    drop(listening);
    let _ = app.child.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_broker_input_is_refused_and_nothing_is_saved() {
    let desktop = Desktop::start();
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    let locked = Mosquitto::start_with(Security::Password {
        user: "ha",
        password: "right-password",
    });
    let wrong_name = Mosquitto::start_with(Security::Tls {
        san: "DNS:broker.invalid",
    });
    let free_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let wrong_name_ca = wrong_name.ca_file.clone().unwrap();
    let cases: Vec<(Vec<String>, &str, &str)> = vec![
        (
            vec![locked.url(Some("ha"))],
            "wrong-password",
            "refused the user name or password",
        ),
        (vec![locked.url(None)], "", "refused the user name or password"),
        (
            vec![format!("mqtt://127.0.0.1:{free_port}")],
            "",
            "nothing accepts connections",
        ),
        (
            vec![
                wrong_name.url(None),
                "--ca-file".into(),
                wrong_name_ca.display().to_string(),
            ],
            "",
            "not for that host name",
        ),
        (vec![wrong_name.url(None)], "", "not trusted"),
        (
            vec![
                locked.url(None),
                "--discovery-prefix".into(),
                "homeassistant/#".into(),
            ],
            "",
            "wildcard",
        ),
        (
            vec![locked.url(None), "--base-topic".into(), "monzo/+/x".into()],
            "",
            "wildcard",
        ),
        (
            vec![format!("mqtt://ha:right-password@127.0.0.1:{}", locked.port)],
            "",
            "Leave the password out",
        ),
        (vec!["127.0.0.1:1883".into()], "", "mqtt://"),
    ];
    for (extra, stdin, says) in cases {
        let mut args = vec!["ha", "connect", "--mqtt"];
        args.extend(extra.iter().map(String::as_str));
        let (code, out, err) = run(&desktop, &sandbox, &args, stdin);
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            settings(&desktop)["home_assistant"]["mqtt"].is_null(),
            "nothing saved after {args:?}"
        );
        assert!(desktop
            .keyring_entries()
            .iter()
            .all(|(user, _)| !user.contains("mqtt")));
    }

    // The right password: saved in the keyring, never in settings.
    let (code, _, err) = run(
        &desktop,
        &sandbox,
        &["ha", "connect", "--mqtt", &locked.url(Some("ha"))],
        "right-password",
    );
    assert_eq!(code, 0, "{err}");
    let saved = settings(&desktop);
    assert_eq!(saved["home_assistant"]["transport"], "mqtt");
    assert_eq!(saved["home_assistant"]["mqtt"]["url"], locked.url(Some("ha")));
    assert!(!saved.to_string().contains("right-password"));
    assert!(desktop
        .keyring_entries()
        .iter()
        .any(|(user, secret)| user.contains("mqtt_password") && secret == "right-password"));

    // TLS with the right name and the CA file.
    let tls = Mosquitto::start_with(Security::Tls { san: "IP:127.0.0.1" });
    let ca = tls.ca_file.clone().unwrap();
    let (code, _, err) = run(
        &desktop,
        &sandbox,
        &[
            "ha",
            "connect",
            "--mqtt",
            &tls.url(None),
            "--ca-file",
            ca.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_between_rest_and_mqtt_keeps_entity_ids() {
    let broker = Mosquitto::start();
    let ha = HomeAssistant::start();
    ha.set_up_mqtt(broker.port);
    let desktop = Desktop::start();
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    cli_login(&desktop, &sandbox.api_url(), "Dana");
    let id = "sensor.monzo_dana_current_account_balance";

    let (code, _, err) = run(
        &desktop,
        &sandbox,
        &["ha", "connect", "--url", &ha.url],
        &ha.token,
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&desktop, &sandbox, &["headless", "--once"], "");
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(state_of(&ha, id).await.as_deref(), Some("1234.56"));
    assert!(mqtt_entities(&ha).is_empty());

    // To MQTT: the REST states make way, the devices' entities take the same ids.
    let (code, _, err) = run(
        &desktop,
        &sandbox,
        &["ha", "connect", "--mqtt", &broker.url(None)],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&desktop, &sandbox, &["headless", "--once"], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Home Assistant ok"), "{out}");
    // Dana's 10 sensors and her 2 accounts' Transaction event entities.
    let entities = eventually("the MQTT entities", WAIT, || async {
        let entities = mqtt_entities(&ha);
        (entities.len() == 10 + 2).then_some(entities)
    })
    .await;
    assert!(entities.iter().any(|e| e["entity_id"] == id), "{entities:#?}");
    assert!(
        entities
            .iter()
            .all(|e| !e["entity_id"].as_str().unwrap().ends_with("_2")),
        "{entities:#?}"
    );

    // Back to REST: the MQTT entities and devices go, the states take the ids again.
    let (code, _, err) = run(
        &desktop,
        &sandbox,
        &["ha", "connect", "--url", &ha.url],
        &ha.token,
    );
    assert_eq!(code, 0, "{err}");
    eventually("the MQTT entities removed", WAIT, || async {
        (mqtt_entities(&ha).is_empty() && monzo_devices(&ha).is_empty()).then_some(())
    })
    .await;
    let (code, out, err) = run(&desktop, &sandbox, &["headless", "--once"], "");
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(state_of(&ha, id).await.as_deref(), Some("1234.56"));
    assert!(state_of(&ha, "sensor.monzo_dana_current_account_balance_2")
        .await
        .is_none());
}

/// The settings window's MQTT choice, in the real webview, and the tray's line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_window_connects_through_mqtt() {
    use monzo_tray_e2e::gui::{click, type_into, visible_text, Driver, Xvfb};
    use monzo_tray_e2e::tray_watcher::TrayWatcher;

    let mut broker = Mosquitto::start_with(Security::Password {
        user: "ha",
        password: "right-password",
    });
    let xvfb = Xvfb::start();
    let desktop = Desktop::start();
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
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

    // The section is filled in once the window has loaded what is saved.
    eventually("the Home Assistant section", WAIT, || async {
        visible_text(&client, "ha-hint").await.filter(|t| !t.is_empty())
    })
    .await;
    click(&client, "ha-transport-mqtt").await;
    let label = eventually("the broker label", WAIT, || visible_text(&client, "ha-url-label")).await;
    assert!(label.starts_with("Broker"), "{label}");
    type_into(&client, "ha-url", &broker.url(Some("ha"))).await;
    type_into(&client, "ha-token", "wrong-password").await;
    click(&client, "ha-save").await;
    let error = eventually("the refused-login error", WAIT, || {
        visible_text(&client, "ha-error")
    })
    .await;
    assert!(error.contains("refused the user name or password"), "{error}");
    assert!(
        settings(&desktop)["home_assistant"]["mqtt"].is_null(),
        "nothing saved"
    );

    type_into(&client, "ha-token", "right-password").await;
    click(&client, "ha-test").await;
    let ok = eventually("the test result", WAIT, || visible_text(&client, "ha-result")).await;
    assert_eq!(ok, "Connected: the broker accepts us.");
    click(&client, "ha-enabled").await;
    click(&client, "ha-save").await;
    eventually("the push status", WAIT, || async {
        visible_text(&client, "ha-status")
            .await
            .filter(|t| t.contains("all good"))
    })
    .await;
    assert_eq!(settings(&desktop)["home_assistant"]["transport"], "mqtt");
    let html = client.source().await.unwrap();
    assert!(
        !html.contains("right-password"),
        "the webview never holds the password"
    );

    // Over MQTT the statistics need Home Assistant's own address and a token: an
    // address that does not answer is refused with a sentence, nothing kept, and
    // the push through the broker stays saved.
    type_into(&client, "ha-statistics-url", "http://127.0.0.1:9").await;
    type_into(&client, "ha-statistics-token", "a-statistics-token").await;
    click(&client, "ha-save").await;
    let error = eventually("the statistics error", WAIT, || visible_text(&client, "ha-error")).await;
    assert!(error.contains("could not be reached"), "{error}");
    assert!(
        settings(&desktop)["home_assistant"]["url"].is_null(),
        "nothing kept"
    );
    assert!(desktop
        .keyring_entries()
        .iter()
        .all(|(_, secret)| secret != "a-statistics-token"));
    assert_eq!(settings(&desktop)["home_assistant"]["transport"], "mqtt");

    // The broker goes away: the tray says so by itself, and clears when it is back.
    broker.stop();
    watcher
        .wait_for(WAIT, |l| {
            l.iter()
                .any(|e| e.label.starts_with("The MQTT broker could not be reached"))
        })
        .await;
    broker.start_again();
    watcher
        .wait_for(Duration::from_secs(45), |l| {
            !l.iter().any(|e| e.label.starts_with("The MQTT broker"))
        })
        .await;
    let _ = client.close().await;
}

/// MQTT cannot carry long-term statistics: with Home Assistant's address and a
/// long-lived token also given (`ha statistics --url`), the balance history goes
/// there through the websocket, the token kept in the keyring; a wrong token saves
/// nothing, and `--off` forgets it while the push goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_mqtt_a_token_also_given_backfills_the_statistics() {
    let broker = Mosquitto::start();
    let ha = HomeAssistant::start_with_recorder();
    ha.set_up_mqtt(broker.port);
    let desktop = Desktop::start();
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    cli_login(&desktop, &sandbox.api_url(), "Dana");

    // Only with the MQTT transport: REST does this by itself.
    let (code, _, err) = run(
        &desktop,
        &sandbox,
        &["ha", "statistics", "--url", &ha.url],
        &ha.token,
    );
    assert_ne!(code, 0);
    assert!(err.contains("Connect through MQTT first"), "{err}");

    let (code, _, err) = run(
        &desktop,
        &sandbox,
        &["ha", "connect", "--mqtt", &broker.url(None)],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(
        &desktop,
        &sandbox,
        &["ha", "statistics", "--url", &ha.url],
        "not-a-token",
    );
    assert_ne!(code, 0);
    assert!(err.contains("refused"), "{err}");
    assert!(
        settings(&desktop)["home_assistant"]["url"].is_null(),
        "nothing saved"
    );
    assert!(desktop
        .keyring_entries()
        .iter()
        .all(|(_, secret)| secret != "not-a-token"));

    let (code, out, err) = run(
        &desktop,
        &sandbox,
        &["ha", "statistics", "--url", &ha.url],
        &ha.token,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("is in its long-term statistics"), "{out}");
    assert!(!out.contains(&ha.token) && !err.contains(&ha.token));
    assert_eq!(settings(&desktop)["home_assistant"]["transport"], "mqtt");
    assert!(desktop
        .keyring_entries()
        .iter()
        .any(|(_, secret)| *secret == ha.token));

    let (code, history, err) = run(&desktop, &sandbox, &["history", "--json", "--person", "Dana"], "");
    assert_eq!(code, 0, "{err}");
    let history: Value = serde_json::from_str(&history).unwrap();
    let days = history["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account_id"] == "acc_00009demodanacurrent")
        .unwrap()["days"]
        .as_array()
        .unwrap()
        .clone();
    let points = ha.daily_statistics("monzo_tray:monzo_dana_current_account_balance", days.len());
    assert_eq!(points.len(), days.len(), "a point a day from the first");
    let last = |v: &Value| v.as_f64().unwrap();
    assert!(
        (last(&points[points.len() - 1]["mean"])
            - days[days.len() - 1]["balance"]
                .as_str()
                .unwrap()
                .parse::<f64>()
                .unwrap())
        .abs()
            < 0.005
    );

    // The push goes on through the broker; the statistics token is forgotten.
    let (code, out, err) = run(&desktop, &sandbox, &["ha", "statistics", "--off"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("token is forgotten"), "{out}");
    assert!(settings(&desktop)["home_assistant"]["url"].is_null());
    assert!(desktop
        .keyring_entries()
        .iter()
        .all(|(_, secret)| *secret != ha.token));
    let (code, out, err) = run(&desktop, &sandbox, &["headless", "--once"], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Home Assistant ok"), "{out}");
}
