//! One household, many processes: the running engine (`headless`, as the tray app
//! runs it) and the command line used beside it, from the built binary, against the
//! sandbox and the real Secret Service. Each race is run several times (rounds are
//! counted in the assertions' messages): a race that is fixed holds every time.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use monzo_sandbox::{Fixture, Sandbox};
use monzo_tray_e2e::mosquitto::{Mosquitto, Security};
use monzo_tray_e2e::{cli_login, start_cli_login, text, Desktop, Running};
use serde_json::Value;

/// The sandbox on a runtime of its own, so tests can block freely.
struct Monzo {
    sandbox: Sandbox,
    _runtime: tokio::runtime::Runtime,
}

impl Monzo {
    fn start() -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let sandbox = runtime.block_on(Sandbox::start_local(Fixture::demo())).unwrap();
        Self {
            sandbox,
            _runtime: runtime,
        }
    }

    fn url(&self) -> String {
        self.sandbox.api_url()
    }
}

fn settings(desktop: &Desktop) -> Value {
    serde_json::from_str(&std::fs::read_to_string(desktop.settings_path()).unwrap()).unwrap()
}

fn person_names(settings: &Value) -> Vec<String> {
    let mut names: Vec<String> = settings["people"]
        .as_array()
        .map(|people| {
            people
                .iter()
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `monzo-tray headless` running in `desktop`, its lines collected.
fn headless(desktop: &Desktop, monzo: &Monzo, args: &[&str]) -> Running {
    let mut cmd = desktop.monzo_tray(&monzo.url());
    cmd.arg("headless").args(args).env("MONZO_TRAY_LOG", "info");
    Running::spawn(cmd)
}

/// Waits (at most `within`) for a line of `running` that `wanted` accepts.
fn wait_for_line(running: &mut Running, within: Duration, wanted: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + within;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        if let Some(line) = running.try_next_line(left) {
            if wanted(&line) {
                return line;
            }
        }
    }
    panic!("no such line within {within:?}; lines: {:?}", running.stdout_seen);
}

fn stop(running: Running) -> (std::process::ExitStatus, String, String) {
    let pid = running.child.id();
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    running.finish(Duration::from_secs(30))
}

fn waits_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{what}: not within {within:?}");
}

/// Finding 1: what other processes write while the engine runs (a person signed in,
/// Home Assistant connected, a hand edit) survives the engine's own next write
/// (here: recording Dana's in-app approval), and the engine follows it.
#[test]
fn an_engine_keeps_what_other_processes_write_and_follows_it() {
    let desktop = Desktop::start();
    let monzo = Monzo::start();
    let broker = Mosquitto::start();
    cli_login(&desktop, &monzo.url(), "Dana");
    monzo.sandbox.revoke_approval("Dana").unwrap();
    let mut engine = headless(&desktop, &monzo, &[]);
    wait_for_line(&mut engine, Duration::from_secs(20), |l| {
        l.contains("Dana=awaiting_approval")
    });

    // Beside it: Alex signs in, Home Assistant is connected, and a person edits the file.
    cli_login(&desktop, &monzo.url(), "Alex");
    let (code, _, err) = text(
        desktop
            .monzo_tray(&monzo.url())
            .args(["ha", "connect", "--mqtt", &broker.url(None)])
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    let mut edited = settings(&desktop);
    edited["privacy_mode"] = true.into();
    edited["a_newer_versions_key"] = serde_json::json!({"kept": true});
    std::fs::write(desktop.settings_path(), edited.to_string()).unwrap();

    // The engine now records Dana's approval: its own write.
    monzo.sandbox.approve("Dana").unwrap();
    waits_until(
        "the engine records Dana's approval",
        Duration::from_secs(30),
        || {
            settings(&desktop)["people"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "Dana" && p["approved_at"].is_string())
        },
    );
    let after = settings(&desktop);
    assert_eq!(person_names(&after), ["Alex", "Dana"], "{after}");
    assert_eq!(after["home_assistant"]["enabled"], true, "{after}");
    assert_eq!(after["home_assistant"]["transport"], "mqtt", "{after}");
    assert_eq!(after["privacy_mode"], true, "{after}");
    assert_eq!(after["a_newer_versions_key"]["kept"], true, "{after}");

    // And it follows: Alex is polled by the running engine.
    wait_for_line(&mut engine, Duration::from_secs(30), |l| {
        l.contains("Alex=live") && l.contains("Dana=live")
    });
    let (status, _, stderr) = stop(engine);
    assert!(status.success(), "{stderr}");
}

/// Finding 1: two `login`s at once, three times over: everyone they signed in is
/// in the settings and live.
#[test]
fn logins_at_once_all_stay() {
    let desktop = Desktop::start();
    let monzo = Monzo::start();
    for round in 0..3 {
        let people = if round % 2 == 0 {
            ["Dana", "Alex"]
        } else {
            ["Alex", "Dana"]
        };
        // `cli_login` blocks; two of them in threads of their own.
        std::thread::scope(|scope| {
            for person in people {
                let (desktop, url) = (&desktop, monzo.url());
                scope.spawn(move || cli_login(desktop, &url, person));
            }
        });
        let names = person_names(&settings(&desktop));
        assert_eq!(names, ["Alex", "Dana"], "round {round}");
        let (code, stdout, stderr) = text(
            desktop
                .monzo_tray(&monzo.url())
                .args(["status", "--json"])
                .output()
                .unwrap(),
        );
        assert_eq!(code, 0, "round {round}: {stderr}");
        let status: Value = serde_json::from_str(&stdout).unwrap();
        for person in status["people"].as_array().unwrap() {
            assert_eq!(person["state"], "live", "round {round}: {person}");
        }
    }
}

/// Finding 2: a person removed while the engine runs is no longer polled, and
/// their tokens are never written back to the keyring, although their access token
/// expires every second (each poll of theirs would refresh it).
#[test]
fn logout_beside_the_engine_leaves_nothing_behind() {
    let desktop = Desktop::start();
    let monzo = Monzo::start();
    cli_login(&desktop, &monzo.url(), "Dana");
    cli_login(&desktop, &monzo.url(), "Alex");
    monzo.sandbox.set_token_lifetime(Duration::from_secs(1));
    let mut engine = headless(&desktop, &monzo, &["--interval", "10"]);
    wait_for_line(&mut engine, Duration::from_secs(20), |l| l.contains("Dana=live"));
    let dana_id = settings(&desktop)["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Dana")
        .and_then(|p| p["id"].as_str())
        .unwrap()
        .to_owned();
    let (code, _, err) = text(
        desktop
            .monzo_tray(&monzo.url())
            .args(["logout", "--person", "Dana"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    // Two more polls, each of which would refresh Dana's expired token.
    for _ in 0..2 {
        let line = wait_for_line(&mut engine, Duration::from_secs(30), |l| l.contains(" poll: "));
        assert!(!line.contains("Dana"), "Dana is still polled: {line}");
    }
    let left: Vec<_> = desktop
        .keyring_entries()
        .into_iter()
        .filter(|(user, _)| user.contains(&dana_id))
        .collect();
    assert!(left.is_empty(), "Dana's entries came back: {left:?}");
    let (status, _, stderr) = stop(engine);
    assert!(status.success(), "{stderr}");
}

/// Finding 3: refresh tokens rotate, so processes must take turns. Ten times: every
/// token expired, then four `status` at once; nobody is told to sign in again.
#[test]
fn statuses_at_once_after_expiry_never_sign_anyone_out() {
    let desktop = Desktop::start();
    let monzo = Monzo::start();
    cli_login(&desktop, &monzo.url(), "Dana");
    for round in 0..10 {
        monzo.sandbox.expire_tokens(None).unwrap();
        let children: Vec<_> = (0..4)
            .map(|_| {
                desktop
                    .monzo_tray(&monzo.url())
                    .args(["status", "--json"])
                    .env("MONZO_TRAY_LOG", "off")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let (_, stdout, stderr) = text(child.wait_with_output().unwrap());
            let status: Value = serde_json::from_str(&stdout)
                .unwrap_or_else(|e| panic!("round {round}: {e}: {stdout} {stderr}"));
            assert_eq!(
                status["people"][0]["state"], "live",
                "round {round}: {}",
                status["people"][0]
            );
        }
    }
}

/// Finding 3: with the engine running, one-shot commands that refresh the tokens
/// never make the engine report the person signed out.
#[test]
fn the_engine_stays_signed_in_while_commands_refresh_beside_it() {
    let desktop = Desktop::start();
    let monzo = Monzo::start();
    cli_login(&desktop, &monzo.url(), "Dana");
    let mut engine = headless(&desktop, &monzo, &["--interval", "10"]);
    wait_for_line(&mut engine, Duration::from_secs(20), |l| l.contains("Dana=live"));
    for round in 0..3 {
        monzo.sandbox.expire_tokens(None).unwrap();
        let (code, stdout, stderr) = text(
            desktop
                .monzo_tray(&monzo.url())
                .args(["status", "--json"])
                .output()
                .unwrap(),
        );
        assert_eq!(code, 0, "round {round}: {stderr}");
        assert!(stdout.contains("\"live\""), "round {round}: {stdout}");
        // The engine's next poll uses the tokens `status` rotated.
        let line = wait_for_line(&mut engine, Duration::from_secs(30), |l| l.contains(" poll: "));
        assert!(line.contains("Dana=live"), "round {round}: {line}");
    }
    let (status, stdout, stderr) = stop(engine);
    assert!(status.success(), "{stderr}");
    assert!(!stdout.contains("signed_out"), "{stdout}");
}

/// Finding 3: one engine per household. A second `headless` (or `headless --once`)
/// beside a running one says which process runs it and exits non-zero; once that
/// one stops, it may run.
#[test]
fn a_second_engine_is_refused_and_names_the_first() {
    let desktop = Desktop::start();
    let monzo = Monzo::start();
    cli_login(&desktop, &monzo.url(), "Dana");
    let mut engine = headless(&desktop, &monzo, &[]);
    wait_for_line(&mut engine, Duration::from_secs(20), |l| l.contains("Dana=live"));
    let pid = engine.child.id().to_string();
    for args in [&["headless"][..], &["headless", "--once"]] {
        let mut second = desktop.monzo_tray(&monzo.url());
        second.args(args);
        // Refused at once: a second engine that runs is killed after 10 s, failing.
        let (status, _, err) = Running::spawn(second).finish(Duration::from_secs(10));
        assert_eq!(status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("already runs") && err.contains(&pid),
            "{args:?}: {err}"
        );
    }
    let (status, _, stderr) = stop(engine);
    assert!(status.success(), "{stderr}");
    let (code, _, err) = text(
        desktop
            .monzo_tray(&monzo.url())
            .args(["headless", "--once"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}");
}

/// Finding 9: two households (config folders) on one keyring keep their own Home
/// Assistant secret: connecting the second does not change the first's.
#[test]
fn two_households_on_one_keyring_keep_their_own_secrets() {
    let desktop = Desktop::start();
    let monzo = Monzo::start();
    let brokers = [("pw-first", "first"), ("pw-second", "second")].map(|(password, dir)| {
        let broker = Mosquitto::start_with(Security::Password { user: "ha", password });
        (broker, password, desktop.dir.path().join(dir))
    });
    let in_household = |dir: &std::path::Path| {
        let mut cmd = desktop.monzo_tray(&monzo.url());
        cmd.env("MONZO_TRAY_CONFIG_DIR", dir);
        cmd
    };
    for (broker, password, dir) in &brokers {
        let mut connect = in_household(dir);
        connect
            .args(["ha", "connect", "--mqtt", &broker.url(Some("ha"))])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = connect.spawn().unwrap();
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        let (code, _, err) = text(child.wait_with_output().unwrap());
        assert_eq!(code, 0, "{err}");
    }
    // Each household pushes with its own password.
    for (_, _, dir) in &brokers {
        let (code, out, err) = text(in_household(dir).args(["headless", "--once"]).output().unwrap());
        assert_eq!(code, 0, "{}: {out}{err}", dir.display());
    }
    let passwords: Vec<String> = desktop
        .keyring_entries()
        .into_iter()
        .filter(|(user, _)| user.ends_with("/home_assistant/mqtt_password"))
        .map(|(_, secret)| secret)
        .collect();
    assert_eq!(passwords.len(), 2, "{passwords:?}");
}

/// Finding 9: a household made before household ids (settings without one, keyring
/// entries named `<person id>/<kind>`, written with the attributes `keyring` gives
/// every entry) is moved at its first start, and everyone is still signed in.
#[test]
fn a_household_from_before_household_ids_is_still_signed_in() {
    let desktop = Desktop::start();
    let monzo = Monzo::start();
    cli_login(&desktop, &monzo.url(), "Dana");
    // Turn it into the layout of the version before.
    let mut old = settings(&desktop);
    let household = old["household_id"].as_str().unwrap().to_owned();
    old.as_object_mut().unwrap().remove("household_id");
    std::fs::write(
        desktop.settings_path(),
        serde_json::to_string_pretty(&old).unwrap(),
    )
    .unwrap();
    for (user, secret) in desktop.keyring_entries() {
        let legacy = user.strip_prefix(&format!("{household}/")).unwrap().to_owned();
        let mut store = desktop.command("secret-tool");
        store
            .args([
                "store",
                "--label",
                &format!("{legacy}@monzo-tray:default (keyring v3.6.3)"),
            ])
            .args(["service", "monzo-tray", "username", &legacy, "target", "default"])
            .args(["application", "rust-keyring"])
            .stdin(Stdio::piped());
        let mut child = store.spawn().unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(secret.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success());
        assert!(desktop
            .command("secret-tool")
            .args(["clear", "service", "monzo-tray", "username", &user])
            .status()
            .unwrap()
            .success());
    }
    assert!(desktop
        .keyring_entries()
        .iter()
        .all(|(u, _)| !u.starts_with("h_")));

    let (code, stdout, stderr) = text(
        desktop
            .monzo_tray(&monzo.url())
            .args(["status", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{stderr}");
    let status: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(status["people"][0]["state"], "live", "{stdout}");
    let upgraded = settings(&desktop);
    let new_id = upgraded["household_id"].as_str().unwrap();
    assert!(upgraded.get("secrets_to_move").is_none(), "{upgraded}");
    let entries = desktop.keyring_entries();
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert!(
        entries.iter().all(|(u, _)| u.starts_with(&format!("{new_id}/"))),
        "{entries:?}"
    );
}

/// Finding 9: `login` killed (SIGKILL) at moments spread over its last steps (the
/// browser's redirect, the token exchange, the settings and keyring writes) never
/// leaves a secret in the keyring that belongs to nobody in the settings: a person
/// is written to the settings before any secret of theirs, and a start sweeps what
/// a removal left. Every moment from the redirect to 500 ms after it, in 25 ms steps.
#[test]
fn a_login_killed_at_any_moment_leaves_no_orphan_in_the_keyring() {
    let desktop = Desktop::start();
    let monzo = Monzo::start();
    let mut completed = 0;
    for round in 0..=20u64 {
        let (mut login, url) = start_cli_login(&desktop, &monzo.url(), &format!("Dana{round}"));
        // The browser follows Monzo's redirect back to the login's listener.
        let mut browser = Command::new("curl")
            .args(["-s", "-L", "-o", "/dev/null", &format!("{url}&user=Dana")])
            .spawn()
            .expect("curl is installed");
        std::thread::sleep(Duration::from_millis(25 * round));
        let _ = login.child.kill(); // SIGKILL
        let _ = login.child.wait();
        let _ = browser.wait();
        if login.stdout_seen.len() > 1 || login.stderr_so_far().contains("is signed in") {
            completed += 1;
        }

        // The next start (any command) reads the file and tidies the keyring.
        let (code, out, err) = text(
            desktop
                .monzo_tray(&monzo.url())
                .args(["people", "--json"])
                .env("MONZO_TRAY_LOG", "off")
                .output()
                .unwrap(),
        );
        assert_eq!(code, 0, "round {round}: {err}");
        let people: Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("round {round}: {e}: {out}"));
        let saved = settings(&desktop);
        let household = saved["household_id"].as_str().unwrap_or_default().to_owned();
        let ids: Vec<String> = saved["people"]
            .as_array()
            .map(|people| {
                people
                    .iter()
                    .filter_map(|p| p["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let orphans: Vec<String> = desktop
            .keyring_entries()
            .into_iter()
            .map(|(user, _)| user)
            .filter(|user| {
                let owner = user
                    .strip_prefix(&format!("{household}/"))
                    .and_then(|rest| rest.split('/').next())
                    .unwrap_or(user);
                !ids.iter().any(|id| id == owner)
            })
            .collect();
        assert!(
            orphans.is_empty(),
            "round {round} (killed {} ms after the redirect began): keyring entries of nobody: {orphans:?}; people: {people}",
            25 * round
        );
    }
    eprintln!("login killed 21 times; the sign-in had completed before the kill {completed} times");
}
