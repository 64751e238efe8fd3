//! The `monzo-tray` command line end to end: the built binary, a sandbox over real
//! HTTP, and the real Secret Service (gnome-keyring on a private D-Bus session).

use std::time::Duration;

use monzo_sandbox::fixture::ClientFixture;
use monzo_sandbox::{FaultKind, FaultPlan, Fixture, Sandbox};
use monzo_tray_e2e::{text, Desktop, Running};
use serde_json::Value;

const CLIENT_ID: &str = "oauthclient_00009e2ehousehold";
const CLIENT_SECRET: &str = "mnzconf.e2e-unique-client-secret-4f1c";

/// The sandbox on a runtime of its own, so tests can block freely.
struct Monzo {
    sandbox: Sandbox,
    runtime: tokio::runtime::Runtime,
}

impl Monzo {
    fn start(approve_on_login: bool) -> Self {
        // The demo's own transactions only: these suites count what the commands
        // list (the generated years of history are the history suite's).
        let mut fixture = Fixture::demo();
        fixture.generate = None;
        fixture.clients.push(ClientFixture {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            confidential: true,
            redirect_uris: vec![],
        });
        fixture
            .users
            .iter_mut()
            .for_each(|u| u.approve_on_login = approve_on_login);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let sandbox = runtime.block_on(Sandbox::start_local(fixture)).unwrap();
        Self { sandbox, runtime }
    }

    fn url(&self) -> String {
        self.sandbox.api_url()
    }

    /// Plays the browser to the end: follows the redirect to wherever it leads.
    fn browse(&self, url: &str) -> String {
        self.runtime
            .block_on(async { reqwest::get(url).await.unwrap().text().await.unwrap() })
    }

    /// Plays the browser on another device: where the email link would land.
    fn landing_url(&self, authorize_url: &str) -> String {
        self.runtime.block_on(async {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let reply = client.get(authorize_url).send().await.unwrap();
            reply.headers()["location"].to_str().unwrap().to_owned()
        })
    }

    /// Every bank account number the sandbox serves (none may ever be printed).
    fn account_numbers(&self) -> Vec<String> {
        let token = self.sandbox.issued_tokens().last().unwrap().access_token.clone();
        let url = format!("{}/accounts", self.url());
        self.runtime.block_on(async {
            let reply: Value = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            reply["accounts"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|a| a["account_number"].as_str().map(str::to_owned))
                .collect()
        })
    }
}

fn login_command(desktop: &Desktop, monzo: &Monzo, person: &str) -> std::process::Command {
    let mut cmd = desktop.monzo_tray(&monzo.url());
    cmd.args([
        "login",
        "--person",
        person,
        "--client-id",
        CLIENT_ID,
        "--redirect-port",
        "0",
    ]);
    cmd
}

/// Starts a login, gives it the secret, and returns it with the authorize URL.
fn start_login(desktop: &Desktop, monzo: &Monzo, person: &str, secret: &str) -> (Running, String) {
    let mut login = Running::spawn(login_command(desktop, monzo, person));
    login.write_line(secret);
    let url = login.next_line(Duration::from_secs(15));
    assert!(
        url.starts_with(&monzo.url()),
        "the authorize URL alone on a line: {url}"
    );
    (login, url)
}

/// `status --json`, checking its exit code: 0 when everyone is live, 3 when someone
/// is not (the document printed all the same).
fn status_json(desktop: &Desktop, monzo: &Monzo) -> (Value, String, String) {
    let (code, stdout, stderr) = text(
        desktop
            .monzo_tray(&monzo.url())
            .args(["status", "--json"])
            .output()
            .unwrap(),
    );
    let json: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("status failed: {stderr}"));
    let all_live = json["people"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["state"] == "live");
    assert_eq!(code, if all_live { 0 } else { 3 }, "{json}");
    (json, stdout, stderr)
}

fn assert_no_secrets(monzo: &Monzo, what: &str, texts: &[&str]) {
    let mut secrets = vec![CLIENT_SECRET.to_owned()];
    for token in monzo.sandbox.issued_tokens() {
        secrets.push(token.access_token.clone());
        secrets.extend(token.refresh_token.clone());
    }
    secrets.extend(monzo.account_numbers());
    for text in texts {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{what} contains a secret, token or account number"
            );
        }
    }
}

#[test]
fn login_through_the_loopback_redirect_then_status_people_and_logout() {
    let desktop = Desktop::start();
    let monzo = Monzo::start(true);
    let (login, url) = start_login(&desktop, &monzo, "Dana", &format!("  {CLIENT_SECRET}  "));
    let page = monzo.browse(&format!("{url}&user=Dana"));
    assert!(page.contains("close this tab"));
    let (status, stdout, login_stderr) = login.finish(Duration::from_secs(20));
    assert!(status.success(), "{login_stderr}");
    assert!(stdout.contains("Dana is signed in"), "{stdout}");
    assert!(
        login_stderr.contains("http://127.0.0.1:"),
        "the redirect URL to register is printed"
    );

    let (json, status_stdout, status_stderr) = status_json(&desktop, &monzo);
    let dana = &json["people"][0];
    assert_eq!(dana["name"], "Dana");
    assert_eq!(dana["state"], "live");
    assert!(dana["updated_at"].is_string());
    let current = &dana["accounts"][0];
    assert_eq!(current["id"], "acc_00009demodanacurrent");
    assert_eq!(current["name"], "Current Account");
    assert_eq!(current["type"], "uk_retail");
    assert_eq!(current["currency"], "GBP");
    assert_eq!(current["balance"], "1234.56");
    assert_eq!(current["total_balance"], "3055.31");
    assert_eq!(current["spend_today"], "-12.30");
    assert_eq!(current["pots"][0]["name"], "Holiday ☀️");
    assert_eq!(current["pots"][0]["balance"], "1500.00");
    assert_eq!(dana["accounts"].as_array().unwrap().len(), 2);

    // The secrets are in the keyring, one entry per kind, and nowhere else.
    let entries = desktop.keyring_entries();
    let kinds: Vec<&str> = entries
        .iter()
        .map(|(user, _)| user.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(kinds, ["access_token", "client_secret", "refresh_token"]);
    assert!(
        entries.iter().any(|(_, secret)| secret == CLIENT_SECRET),
        "the secret was trimmed and stored"
    );
    let settings = std::fs::read_to_string(desktop.settings_path()).unwrap();
    assert!(
        status_stderr.contains("TRACE"),
        "trace logging was on, so the check below means something"
    );
    assert_no_secrets(
        &monzo,
        "settings, stdout or stderr (trace logging)",
        &[&settings, &stdout, &login_stderr, &status_stdout, &status_stderr],
    );

    let (code, people, _) = text(desktop.monzo_tray(&monzo.url()).arg("people").output().unwrap());
    assert_eq!(code, 0);
    assert!(people.contains("Dana") && people.contains(CLIENT_ID));

    let (code, out, err) = text(
        desktop
            .monzo_tray(&monzo.url())
            .args(["logout", "--person", "dana"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Dana was removed"));
    assert!(desktop.keyring_entries().is_empty(), "keyring entries removed");
    let (json, _, _) = status_json(&desktop, &monzo);
    assert_eq!(json["people"].as_array().unwrap().len(), 0);
}

#[test]
fn pasted_url_then_approval_in_the_app_without_signing_in_again() {
    let desktop = Desktop::start();
    let monzo = Monzo::start(false);
    let (mut login, url) = start_login(&desktop, &monzo, "Alex", CLIENT_SECRET);
    let landed = monzo.landing_url(&format!("{url}&user=Alex"));
    login.write_line(&landed);
    // With no engine running, login waits for the approval to import the history
    // while Monzo's 5 minutes last.
    login.wait_for_stderr(
        "Waiting for Alex to approve access in the Monzo app",
        Duration::from_secs(20),
    );

    let (json, _, _) = status_json(&desktop, &monzo);
    assert_eq!(json["people"][0]["state"], "awaiting_approval");
    assert!(json["people"][0]["error"].as_str().unwrap().contains("Monzo app"));

    monzo.sandbox.approve("Alex").unwrap();
    let (status, stdout, stderr) = login.finish(Duration::from_secs(30));
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("approve access"), "{stdout}");
    assert!(
        stdout.contains("Alex's history: back to"),
        "imported once approved: {stdout}"
    );
    let (json, _, _) = status_json(&desktop, &monzo);
    assert_eq!(json["people"][0]["state"], "live");
    assert_eq!(json["people"][0]["accounts"].as_array().unwrap().len(), 3);
    let (_, people, _) = text(
        desktop
            .monzo_tray(&monzo.url())
            .args(["people", "--json"])
            .output()
            .unwrap(),
    );
    let people: Value = serde_json::from_str(&people).unwrap();
    assert!(
        people["people"][0]["approval_due_at"].is_string(),
        "the approval time is recorded"
    );
}

/// Signs `person` in, the browser signing in to Monzo as `user`; returns the exit
/// code, stdout and stderr.
fn login_as(desktop: &Desktop, monzo: &Monzo, person: &str, user: &str) -> (i32, String, String) {
    let (login, url) = start_login(desktop, monzo, person, CLIENT_SECRET);
    monzo.browse(&format!("{url}&user={user}"));
    let (status, stdout, stderr) = login.finish(Duration::from_secs(20));
    (status.code().unwrap_or(-1), stdout, stderr)
}

/// A person is bound to the Monzo user of their first sign-in (the sandbox's two
/// users): another Monzo user is refused for them, and a new person who is a Monzo
/// user already in the household is refused and pointed at that person.
#[test]
fn a_person_stays_bound_to_their_monzo_user() {
    let desktop = Desktop::start();
    let monzo = Monzo::start(true);
    let (code, _, stderr) = login_as(&desktop, &monzo, "Dana", "Dana");
    assert_eq!(code, 0, "{stderr}");

    // Reconnecting Dana, the browser signs in as Alex: refused, Dana keeps hers.
    let (code, stdout, stderr) = login_as(&desktop, &monzo, "Dana", "Alex");
    assert_eq!(code, 1, "{stdout}");
    assert!(stderr.contains("another Monzo account"), "{stderr}");
    assert!(stderr.contains("Dana keeps their sign-in"), "{stderr}");
    let (json, _, _) = status_json(&desktop, &monzo);
    assert_eq!(json["people"].as_array().unwrap().len(), 1);
    assert_eq!(json["people"][0]["state"], "live");
    assert_eq!(json["people"][0]["accounts"][0]["id"], "acc_00009demodanacurrent");

    // Alex joins; then "Alex 2" signs in as Alex's Monzo: refused, nobody added, and
    // since it used Alex's client (Monzo keeps one sign-in per user and client) the
    // new sign-in is kept for Alex: nobody ends up signed out.
    let (code, _, stderr) = login_as(&desktop, &monzo, "Alex", "Alex");
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = login_as(&desktop, &monzo, "Alex 2", "Alex");
    assert_eq!(code, 1);
    assert!(stderr.contains("already in the household as Alex"), "{stderr}");
    assert!(stderr.contains("Reconnect for Alex"), "{stderr}");
    let (json, _, _) = status_json(&desktop, &monzo);
    let names: Vec<&str> = json["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Dana", "Alex"]);
    for person in json["people"].as_array().unwrap() {
        assert_eq!(person["state"], "live", "{person}");
    }
    // Each Monzo account counted once.
    assert_eq!(json["people"][1]["accounts"].as_array().unwrap().len(), 3);
}

/// `monzo-tray transactions`: newest first, a joint account's once for the
/// household, by person and account, as JSON; bad input is one sentence.
#[test]
fn transactions_are_listed_newest_first() {
    let desktop = Desktop::start();
    let monzo = Monzo::start(true);
    for person in ["Dana", "Alex"] {
        let (code, _, stderr) = login_as(&desktop, &monzo, person, person);
        assert_eq!(code, 0, "{stderr}");
    }
    let run = |args: &[&str]| text(desktop.monzo_tray(&monzo.url()).args(args).output().unwrap());
    let (code, stdout, stderr) = run(&["transactions", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let all = json["transactions"].as_array().unwrap();
    assert_eq!(all.len(), 9, "the demo's nine, the joint ones once");
    let times: Vec<&str> = all.iter().map(|t| t["created"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    let newest = &all[0];
    assert_eq!(newest["id"], "tx_00009demo007");
    assert_eq!(newest["person"], "Dana & Alex");
    assert_eq!(newest["account"], "Joint Account");
    assert_eq!(newest["amount"], "-45.99");
    assert_eq!(newest["merchant"], "Sainsbury's");
    let pot = all.iter().find(|t| t["id"] == "tx_00009demo002").unwrap();
    assert_eq!(pot["pot_id"], "pot_00009demoholiday");
    let declined = all.iter().find(|t| t["id"] == "tx_00009demo004").unwrap();
    assert_eq!(declined["declined"], true);
    for key in [
        "id",
        "person",
        "account_id",
        "account",
        "created",
        "amount",
        "currency",
        "description",
        "merchant",
        "category",
    ] {
        assert!(newest.get(key).is_some(), "{key} missing: {newest}");
    }

    let (code, stdout, _) = run(&[
        "transactions",
        "--json",
        "--person",
        "alex",
        "--account",
        "Joint Account",
        "--limit",
        "1",
    ]);
    assert_eq!(code, 0);
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["transactions"].as_array().unwrap().len(), 1);
    assert_eq!(json["transactions"][0]["person"], "Alex");
    assert_eq!(json["transactions"][0]["account_id"], "acc_00009demojoint");

    let (code, table, _) = run(&["transactions", "--account", "acc_00009demodanacurrent"]);
    assert_eq!(code, 0);
    assert!(table.lines().next().unwrap().contains("Tesco Metro"), "{table}");
    assert!(
        table.contains("To Holiday") && table.contains("declined"),
        "{table}"
    );
    assert!(!table.contains("Sainsbury"), "{table}");

    let (code, _, stderr) = run(&["transactions", "--account", "Savings"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("There is no account \"Savings\""), "{stderr}");
    let (code, _, stderr) = run(&["transactions", "--person", "Nobody"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no person called \"Nobody\""), "{stderr}");
    let (code, _, _) = run(&["transactions", "--limit", "0"]);
    assert_eq!(code, 2);
    let (code, _, stderr) = run(&["headless", "--interval", "5"]);
    assert_eq!(code, 2, "at least 10 seconds: {stderr}");
    assert_no_secrets(&monzo, "transactions output", &[&stdout, &table]);
}

/// Dana's Holiday pot at the sandbox, in minor units.
fn holiday(monzo: &Monzo) -> i64 {
    monzo
        .sandbox
        .fixture()
        .pots
        .iter()
        .find(|p| p.id == "pot_00009demoholiday")
        .unwrap()
        .balance
}

/// A person at a terminal: the program's stdin, stdout and stderr are one terminal
/// (util-linux `script` makes it), read as bytes, since a prompt ends no line.
struct Terminal {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    seen: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Terminal {
    fn start(desktop: &Desktop, monzo: &Monzo, args: &[&str]) -> Self {
        let quoted: Vec<String> = std::iter::once(monzo_tray_e2e::binary().display().to_string())
            .chain(args.iter().map(|a| (*a).to_owned()))
            .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
            .collect();
        let mut child = desktop
            .command("script")
            .args(["-q", "-e", "-c", &quoted.join(" "), "/dev/null"])
            .env("MONZO_API_URL", monzo.url())
            .env("MONZO_AUTH_URL", format!("{}/", monzo.url()))
            .env("MONZO_TRAY_LOG", "trace")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("util-linux script");
        let stdin = child.stdin.take().unwrap();
        let mut out = child.stdout.take().unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut out, &mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        Self { child, stdin, seen }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }

    fn wait_for(&self, needle: &str, within: Duration) -> String {
        let deadline = std::time::Instant::now() + within;
        loop {
            let text = self.text();
            if text.contains(needle) {
                return text;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "\"{needle}\" did not appear on the terminal; it shows: {text:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn type_line(&mut self, line: &str) {
        use std::io::Write;
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn finish(mut self, within: Duration) -> (i32, String) {
        let deadline = std::time::Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("did not finish; the terminal shows: {:?}", self.text());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(200));
        (status.code().unwrap_or(-1), self.text())
    }
}

/// `monzo-tray ARGS` on a terminal, typing `typed` at it at once; returns the exit
/// code and everything it showed.
fn on_a_terminal(desktop: &Desktop, monzo: &Monzo, args: &[&str], typed: &str) -> (i32, String) {
    let mut terminal = Terminal::start(desktop, monzo, args);
    terminal.type_line(typed);
    terminal.finish(Duration::from_secs(20))
}

/// `monzo-tray pot deposit|withdraw`: asks on the terminal and moves only on "yes";
/// moves nothing when it cannot ask; `--yes` for scripts; refusals one sentence.
#[test]
fn pot_moves_are_confirmed_on_the_terminal() {
    let desktop = Desktop::start();
    let monzo = Monzo::start(true);
    let (code, _, stderr) = login_as(&desktop, &monzo, "Dana", "Dana");
    assert_eq!(code, 0, "{stderr}");
    let before = holiday(&monzo);
    let deposit = [
        "pot", "deposit", "--person", "Dana", "--pot", "Holiday", "--amount", "5",
    ];

    // Standard input is not a terminal: nothing can be asked, so nothing moves.
    let (code, stdout, stderr) = text(
        desktop
            .monzo_tray(&monzo.url())
            .args(deposit)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap(),
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stderr.contains("Nothing was moved: Move £5.00 from Dana's Current Account into Holiday"),
        "{stderr}"
    );
    assert!(stderr.contains("--yes"), "{stderr}");
    assert_eq!(holiday(&monzo), before);

    // On a terminal: asked; "n" moves nothing, "y" moves once.
    let (code, printed) = on_a_terminal(&desktop, &monzo, &deposit, "n");
    assert_eq!(code, 1, "{printed}");
    assert!(
        printed.contains("Move £5.00 from Dana's Current Account into Holiday ☀️? [y/N]"),
        "{printed}"
    );
    assert!(printed.contains("Nothing was moved."), "{printed}");
    assert_eq!(holiday(&monzo), before);
    let (code, printed) = on_a_terminal(&desktop, &monzo, &deposit, "y");
    assert_eq!(code, 0, "{printed}");
    assert!(
        printed.contains("Moved £5.00 into Holiday ☀️; it now holds £1,505.00."),
        "{printed}"
    );
    assert_eq!(holiday(&monzo), before + 500);

    // --yes: no question.
    let (code, stdout, stderr) = text(
        desktop
            .monzo_tray(&monzo.url())
            .args([
                "pot",
                "withdraw",
                "--person",
                "dana",
                "--pot",
                "pot_00009demoholiday",
                "--amount",
                "£2.50",
                "--yes",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        "Moved £2.50 out of Holiday ☀️; it now holds £1,502.50."
    );
    assert_eq!(holiday(&monzo), before + 250);

    // Refused: one sentence each, exit 1, nothing moved.
    monzo
        .sandbox
        .set_pot_locked("pot_00009demoholiday", true)
        .unwrap();
    for (args, said) in [
        (
            vec!["withdraw", "--pot", "Holiday", "--amount", "1"],
            "protected with added security",
        ),
        (
            vec!["deposit", "--pot", "Holiday", "--amount", "1.001"],
            "GBP has 2 decimal places",
        ),
        (
            vec!["deposit", "--pot", "Holiday", "--amount", "0"],
            "more than £0.00",
        ),
        (
            vec!["deposit", "--pot", "Holiday", "--amount", "9999999"],
            "is more than that",
        ),
        (
            vec!["deposit", "--pot", "Yacht", "--amount", "1"],
            "no pot called \"Yacht\"",
        ),
    ] {
        let mut all = vec!["pot"];
        all.push(args[0]);
        all.extend(["--person", "Dana"]);
        all.extend(&args[1..]);
        all.push("--yes");
        let (code, stdout, stderr) = text(desktop.monzo_tray(&monzo.url()).args(&all).output().unwrap());
        assert_eq!(code, 1, "{all:?}: {stdout}");
        assert!(stderr.contains(said), "{all:?}: {stderr}");
        assert_eq!(
            stderr
                .trim()
                .lines()
                .filter(|l| l.starts_with("monzo-tray:"))
                .count(),
            1,
            "{stderr}"
        );
    }
    assert_eq!(holiday(&monzo), before + 250);
    assert_no_secrets(&monzo, "pot move output", &[&stdout, &stderr, &printed]);

    // Every try lost on the way: the outcome is unknown, and the command to try the
    // same move again (its dedupe id) is printed; run twice, it moves once.
    monzo
        .sandbox
        .set_pot_locked("pot_00009demoholiday", false)
        .unwrap();
    monzo.sandbox.set_faults(FaultPlan::every(
        FaultKind::DropConnection,
        "/pots/pot_00009demoholiday/deposit",
    ));
    let mut unknown = deposit.to_vec();
    unknown.push("--yes");
    let (code, stdout, stderr) = text(desktop.monzo_tray(&monzo.url()).args(&unknown).output().unwrap());
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stderr.contains("Check the pot in the Monzo app before trying again"),
        "{stderr}"
    );
    assert_eq!(holiday(&monzo), before + 250);
    let again = stderr
        .split("monzo-tray pot ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .expect("the command to try again")
        .trim()
        .to_owned();
    assert!(
        again.starts_with(
            "deposit --person Dana --pot pot_00009demoholiday --amount 5.00 --dedupe-id monzo-tray-"
        ),
        "{again}"
    );
    monzo.sandbox.clear_faults();
    let mut words: Vec<&str> = vec!["pot"];
    words.extend(again.split_whitespace());
    words.push("--yes");
    for _ in 0..2 {
        let (code, stdout, stderr) = text(desktop.monzo_tray(&monzo.url()).args(&words).output().unwrap());
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("Moved £5.00 into Holiday"), "{stdout}");
    }
    assert_eq!(
        holiday(&monzo),
        before + 750,
        "the same move, tried twice, moved once"
    );
}

#[test]
fn expiry_is_refreshed_and_the_rotated_token_lands_in_the_keyring() {
    let desktop = Desktop::start();
    let monzo = Monzo::start(true);
    let (mut login, url) = start_login(&desktop, &monzo, "Dana", CLIENT_SECRET);
    login.write_line(&monzo.landing_url(&format!("{url}&user=Dana")));
    assert!(login.finish(Duration::from_secs(20)).0.success());

    monzo.sandbox.expire_tokens(None).unwrap();
    let (json, _, _) = status_json(&desktop, &monzo);
    assert_eq!(json["people"][0]["state"], "live");
    let latest = monzo.sandbox.issued_tokens().last().unwrap().clone();
    let entries = desktop.keyring_entries();
    let refresh = entries
        .iter()
        .find(|(u, _)| u.ends_with("/refresh_token"))
        .unwrap();
    assert_eq!(Some(&refresh.1), latest.refresh_token.as_ref());

    // A refused refresh: signed out, clearly, and the next run says so too.
    monzo.sandbox.expire_tokens(None).unwrap();
    monzo.sandbox.revoke_refresh_tokens(None).unwrap();
    let (json, _, _) = status_json(&desktop, &monzo);
    assert_eq!(json["people"][0]["state"], "signed_out");
    assert!(json["people"][0]["error"]
        .as_str()
        .unwrap()
        .contains("sign Dana in again"));
}

#[test]
fn bad_input_gets_one_sentence_and_a_non_zero_exit_and_loses_nothing() {
    let desktop = Desktop::start();
    let monzo = Monzo::start(true);
    let run = |args: &[&str], stdin: &str| {
        let mut running = Running::spawn({
            let mut cmd = desktop.monzo_tray(&monzo.url());
            cmd.args(args).env("MONZO_TRAY_LOG", "off");
            cmd
        });
        for line in stdin.lines() {
            running.write_line(line);
        }
        running.close_stdin();
        let (status, stdout, stderr) = running.finish(Duration::from_secs(20));
        (status.code().unwrap_or(-1), stdout, stderr)
    };
    let one_sentence = |stderr: &str, needle: &str| {
        let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("monzo-tray:")).collect();
        assert_eq!(lines.len(), 1, "one error line: {stderr}");
        assert!(lines[0].contains(needle), "expected \"{needle}\" in: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    };
    let login_args = [
        "login",
        "--person",
        "Dana",
        "--client-id",
        CLIENT_ID,
        "--redirect-port",
        "0",
    ];

    // Sign Dana in properly first: nothing below may lose her.
    let (mut login, url) = start_login(&desktop, &monzo, "Dana", CLIENT_SECRET);
    let landed = monzo.landing_url(&format!("{url}&user=Dana"));
    let used_code = url::Url::parse(&landed)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    login.write_line(&landed);
    assert!(login.finish(Duration::from_secs(20)).0.success());
    let entries_before = desktop.keyring_entries();

    let (code, _, err) = run(&["logout", "--person", "Nobody"], "");
    assert_eq!(code, 1);
    one_sentence(&err, "no person called \"Nobody\"");

    // A paste that is not this sign-in's code is said, and the sign-in goes on
    // waiting (here until its timeout): a slip of the mouse costs nothing.
    let mut waiting_args = login_args.to_vec();
    waiting_args.extend(["--timeout", "2"]);
    let wrong_state = landed.replace("state=", "state=x");
    for (pasted, said) in [
        ("this is not a url", "not a sign-in link or code"),
        (wrong_state.as_str(), "belongs to another sign-in"),
        (used_code.as_str(), "did not accept that sign-in code"),
    ] {
        let (code, _, err) = run(&waiting_args, &format!("{CLIENT_SECRET}\n{pasted}"));
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(said) && err.contains("Still waiting"), "{err}");
        one_sentence(&err, "No sign-in arrived within 2 seconds");
    }

    let (code, _, err) = run(&login_args, "");
    assert_eq!(code, 1);
    one_sentence(&err, "No client secret");

    let (code, _, err) = run(
        &["login", "--person", "Dana", "--client-id", "not an id"],
        CLIENT_SECRET,
    );
    assert_eq!(code, 1);
    one_sentence(&err, "client id");

    let (code, _, err) = run(&login_args, "secret with spaces");
    assert_eq!(code, 1);
    one_sentence(&err, "spaces");

    // Wrong secret: found out at the exchange.
    let mut login = Running::spawn(login_command(&desktop, &monzo, "Dana"));
    login.write_line("mnzconf.wrong-secret");
    let url = login.next_line(Duration::from_secs(15));
    login.write_line(&monzo.landing_url(&format!("{url}&user=Dana")));
    let (status, _, err) = login.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1));
    one_sentence(&err, "did not accept the client id and secret");

    // A non-confidential client: refused at sign-in, with the fix.
    monzo.sandbox.add_client(ClientFixture {
        client_id: "oauthclient_public".into(),
        client_secret: "public-secret".into(),
        confidential: false,
        redirect_uris: vec![],
    });
    let mut cmd = desktop.monzo_tray(&monzo.url());
    cmd.args([
        "login",
        "--person",
        "Dana",
        "--client-id",
        "oauthclient_public",
        "--redirect-port",
        "0",
    ]);
    let mut login = Running::spawn(cmd);
    login.write_line("public-secret");
    let url = login.next_line(Duration::from_secs(15));
    login.write_line(&monzo.landing_url(&format!("{url}&user=Dana")));
    let (status, _, err) = login.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1));
    one_sentence(&err, "Confidential");

    // The redirect port already taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let (code, _, err) = run(
        &[
            "login",
            "--person",
            "Dana",
            "--client-id",
            CLIENT_ID,
            "--redirect-port",
            &port,
        ],
        CLIENT_SECRET,
    );
    assert_eq!(code, 1);
    one_sentence(&err, "already in use");

    // Monzo down: a clear sentence, and status says stale rather than failing.
    let mut cmd = desktop.monzo_tray("http://127.0.0.1:9");
    cmd.args(["status", "--json"]).env("MONZO_TRAY_LOG", "off");
    let (code, stdout, _) = text(cmd.output().unwrap());
    assert_eq!(code, 3, "printed, but not everyone is live");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["people"][0]["state"], "stale");
    assert!(json["people"][0]["error"]
        .as_str()
        .unwrap()
        .contains("could not be reached"));

    // After all that, Dana's sign-in is untouched and still works.
    assert_eq!(desktop.keyring_entries(), entries_before);
    let (json, _, _) = status_json(&desktop, &monzo);
    assert_eq!(json["people"][0]["state"], "live");
}

#[test]
fn a_broken_settings_file_is_kept_aside_and_reported() {
    let desktop = Desktop::start();
    let monzo = Monzo::start(true);
    std::fs::write(desktop.settings_path(), "{ this is not json").unwrap();
    let (code, stdout, stderr) = text(
        desktop
            .monzo_tray(&monzo.url())
            .args(["status", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("could not be read"), "{stderr}");
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).unwrap()["people"],
        serde_json::json!([])
    );
    let kept: Vec<_> = std::fs::read_dir(desktop.settings_path().parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("settings.json.broken-")
        })
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        std::fs::read_to_string(kept[0].path()).unwrap(),
        "{ this is not json"
    );
}

/// A hand edit with a wrong value (or a value of another version) costs that value
/// only: named in one sentence, its default used instead, everyone still signed in;
/// on the next save it and the keys this version does not know stay as written.
#[test]
fn one_wrong_value_in_settings_costs_that_value_only() {
    let desktop = Desktop::start();
    let monzo = Monzo::start(true);
    let (code, _, stderr) = login_as(&desktop, &monzo, "Dana", "Dana");
    assert_eq!(code, 0, "{stderr}");
    let mut settings: Value =
        serde_json::from_str(&std::fs::read_to_string(desktop.settings_path()).unwrap()).unwrap();
    settings["poll_interval_secs"] = "sixty".into();
    settings["from_a_newer_version"] = serde_json::json!({"kept": true});
    settings["people"][0]["favourite_colour"] = "teal".into();
    std::fs::write(desktop.settings_path(), settings.to_string()).unwrap();

    let (json, _, stderr) = status_json(&desktop, &monzo);
    assert!(stderr.contains("\"poll_interval_secs\" is \"sixty\""), "{stderr}");
    assert!(stderr.contains("uses 60 instead"), "{stderr}");
    // Said once, as a sentence: not again as a log line (default logging).
    let (_, _, stderr) = text(
        desktop
            .monzo_tray(&monzo.url())
            .env_remove("MONZO_TRAY_LOG")
            .args(["status", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(
        stderr.matches("\"poll_interval_secs\" is \"sixty\"").count(),
        1,
        "{stderr}"
    );
    assert_eq!(json["people"][0]["name"], "Dana");
    assert_eq!(json["people"][0]["state"], "live");
    let backups = std::fs::read_dir(desktop.settings_path().parent().unwrap())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("broken")
        })
        .count();
    assert_eq!(backups, 0, "nothing set aside");

    // The next save (Alex joins) keeps what this version does not know.
    let (code, _, stderr) = login_as(&desktop, &monzo, "Alex", "Alex");
    assert_eq!(code, 0, "{stderr}");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(desktop.settings_path()).unwrap()).unwrap();
    assert_eq!(saved["from_a_newer_version"]["kept"], true);
    assert_eq!(saved["people"][0]["favourite_colour"], "teal");
    // A value this version cannot read may be a newer version's: it stays as
    // written, and this version goes on using its default and saying so.
    assert_eq!(saved["poll_interval_secs"], "sixty");
    assert_eq!(saved["people"].as_array().unwrap().len(), 2);
    let (json, _, stderr) = status_json(&desktop, &monzo);
    assert!(stderr.contains("uses 60 instead"), "{stderr}");
    assert_eq!(json["people"].as_array().unwrap().len(), 2);
}

#[test]
fn no_keyring_is_a_clear_error_before_the_browser_is_opened() {
    let desktop = Desktop::start();
    let monzo = Monzo::start(true);
    let mut cmd = desktop.monzo_tray(&monzo.url());
    cmd.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env("MONZO_TRAY_LOG", "off");
    cmd.args([
        "login",
        "--person",
        "Dana",
        "--client-id",
        CLIENT_ID,
        "--redirect-port",
        "0",
    ]);
    let mut login = Running::spawn(cmd);
    login.write_line(CLIENT_SECRET);
    let (status, stdout, stderr) = login.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1));
    assert!(stdout.trim().is_empty(), "no authorize URL is printed: {stdout}");
    assert!(stderr.contains("keyring is not available"), "{stderr}");
}

#[test]
fn demo_and_sandbox_commands_work_with_no_account() {
    let desktop = Desktop::start();
    let (code, stdout, stderr) = text(
        desktop
            .command(monzo_tray_e2e::binary())
            .args(["--demo", "status", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let states: Vec<&str> = json["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["live", "live"]);
    assert!(
        !desktop.settings_path().exists(),
        "the demo leaves the real settings alone"
    );

    // `monzo-tray sandbox` serves a Monzo that another client can use.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut sandbox = Running::spawn({
        let mut cmd = desktop.command(monzo_tray_e2e::binary());
        cmd.args(["sandbox", "--port", &port.to_string()]);
        cmd
    });
    let first = sandbox.next_line(Duration::from_secs(10));
    assert_eq!(first, format!("Monzo sandbox serving on http://127.0.0.1:{port}"));
    let mut lines = Vec::new();
    for _ in 0..4 {
        lines.push(sandbox.next_line(Duration::from_secs(5)));
    }
    assert!(
        lines.iter().any(|l| l.contains(monzo_sandbox::DEMO_CLIENT_ID)),
        "{lines:?}"
    );
    let whoami = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("http://127.0.0.1:{port}/ping/whoami"),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&whoami.stdout), "401");
    let _ = sandbox.child.kill();
}

#[test]
fn a_locked_keyring_is_reported_not_waited_on() {
    let desktop = Desktop::start_keyring(false);
    let monzo = Monzo::start(true);
    let redirect_uri =
        monzo_tray_core::loopback::redirect_uri_for_port(monzo_tray_core::loopback::DEFAULT_REDIRECT_PORT);
    let person = serde_json::json!({"people": [{"id": "p_locked", "name": "Dana", "client_id": "oauthclient_1", "redirect_uri": redirect_uri}]});
    std::fs::write(desktop.settings_path(), person.to_string()).unwrap();
    let started = std::time::Instant::now();
    let (json, _, _) = status_json(&desktop, &monzo);
    assert_eq!(json["people"][0]["state"], "error");
    assert!(
        json["people"][0]["error"].as_str().unwrap().contains("locked"),
        "{json}"
    );

    let mut cmd = desktop.monzo_tray(&monzo.url());
    cmd.args([
        "login",
        "--person",
        "Alex",
        "--client-id",
        CLIENT_ID,
        "--redirect-port",
        "0",
    ]);
    let mut login = Running::spawn(cmd);
    login.write_line(CLIENT_SECRET);
    let (status, stdout, stderr) = login.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1));
    assert!(stdout.trim().is_empty(), "no sign-in is started: {stdout}");
    assert!(stderr.contains("locked"), "{stderr}");
    let (code, _, stderr) = text(
        desktop
            .monzo_tray(&monzo.url())
            .args(["logout", "--person", "Dana"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("locked"));
    assert!(
        std::fs::read_to_string(desktop.settings_path())
            .unwrap()
            .contains("p_locked"),
        "Dana is kept"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "bounded, never hanging"
    );
}

/// Where a running `login` listens for the browser (the redirect URL it says to
/// register), and its sign-in's `state` (from the authorize URL).
fn listener_of(login: &Running, authorize_url: &str) -> (String, String) {
    let said = login.wait_for_stderr("The redirect URL to register", Duration::from_secs(5));
    let callback = said
        .lines()
        .find(|l| l.contains("The redirect URL to register"))
        .and_then(|l| l.split_whitespace().last())
        .unwrap()
        .to_owned();
    let state = url::Url::parse(authorize_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    (callback, state)
}

/// On a terminal, `login` asks for the client secret on standard error and does not
/// show it as it is typed; `ha connect` does the same for the token. (Piped, the
/// secret is the first line, as every other test here gives it.)
#[test]
fn secrets_typed_on_a_terminal_are_asked_for_and_not_shown() {
    let desktop = Desktop::start();
    let monzo = Monzo::start(true);
    let mut login = Terminal::start(
        &desktop,
        &monzo,
        &[
            "login",
            "--person",
            "Dana",
            "--client-id",
            CLIENT_ID,
            "--redirect-port",
            "0",
        ],
    );
    // Typed only once asked: the terminal itself echoes what is typed before the
    // program turns echo off.
    login.wait_for("Client secret", Duration::from_secs(15));
    login.type_line(CLIENT_SECRET);
    let shown = login.wait_for("/?", Duration::from_secs(15));
    let url = shown
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .find(|l| l.starts_with(&monzo.url()))
        .expect("the authorize URL on a line of its own")
        .to_owned();
    let page = monzo.browse(&format!("{url}&user=Dana"));
    assert!(page.contains("Signed in"), "{page}");
    let (code, shown) = login.finish(Duration::from_secs(20));
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("not shown as you type"), "{shown}");
    assert!(!shown.contains(CLIENT_SECRET), "the secret was echoed: {shown}");
    assert!(shown.contains("Dana is signed in"), "{shown}");
    assert!(
        desktop
            .keyring_entries()
            .iter()
            .any(|(user, secret)| user.ends_with("/client_secret") && secret == CLIENT_SECRET),
        "the secret typed is the one stored"
    );

    let token = "e2e-home-assistant-token-typed-9c1d";
    let mut connect = Terminal::start(
        &desktop,
        &monzo,
        &["ha", "connect", "--url", "http://127.0.0.1:9"],
    );
    connect.wait_for("access token", Duration::from_secs(15));
    connect.type_line(token);
    let (code, shown) = connect.finish(Duration::from_secs(30));
    assert_eq!(code, 1, "nothing listens there: {shown}");
    assert!(shown.contains("could not be reached"), "{shown}");
    assert!(!shown.contains(token), "the token was echoed: {shown}");
}

/// Names and words from Monzo cannot write to the terminal: a pot named with a line
/// break and a fake total adds no line to `status`, an escape sequence (a new
/// terminal title) arrives as U+FFFD, a description with a line break keeps the
/// `transactions` table whole, and Monzo's error description at sign-in is one clean
/// sentence.
#[test]
fn words_from_monzo_cannot_write_to_the_terminal() {
    let desktop = Desktop::start();
    let monzo = Monzo::start(true);
    let (code, _, stderr) = login_as(&desktop, &monzo, "Dana", "Dana");
    assert_eq!(code, 0, "{stderr}");
    monzo
        .sandbox
        .set_pot(
            "pot_00009demoholiday",
            None,
            Some("Holiday\nHousehold total with pots: £0.00\u{1b}]0;owned\u{7}".into()),
            None,
        )
        .unwrap();
    let mut evil_merchant =
        monzo_tray_e2e::spend("acc_00009demodanacurrent", -100, "Shop\u{1b}[2J\u{9b}31m\u{202e}");
    evil_merchant.description = "IGNORED".into();
    monzo.sandbox.add_transaction(evil_merchant).unwrap();
    let mut broken_line = monzo_tray_e2e::spend("acc_00009demodanacurrent", -200, "x");
    broken_line.merchant = None;
    broken_line.description = "CARD\nPAYMENT\r\n2026-01-01 00:00  fake".into();
    monzo.sandbox.add_transaction(broken_line).unwrap();

    let run = |args: &[&str]| text(desktop.monzo_tray(&monzo.url()).args(args).output().unwrap());
    let clean = |what: &str, printed: &str| {
        let odd: Vec<char> = printed
            .chars()
            .filter(|&c| (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c))
            .collect();
        assert!(odd.is_empty(), "{what} printed {odd:?}: {printed}");
    };
    let (code, table, stderr) = run(&["status"]);
    assert_eq!(code, 0, "{stderr}");
    clean("status", &table);
    clean("status (stderr)", &stderr);
    assert_eq!(
        table
            .lines()
            .filter(|l| l.contains("Household total with pots"))
            .count(),
        2,
        "the pot's own name, on its own line, and the one real total: {table}"
    );
    assert_eq!(
        table
            .lines()
            .filter(|l| l.starts_with("Household total with pots"))
            .count(),
        1,
        "{table}"
    );
    let (_, json, _) = run(&["status", "--json"]);
    clean("status --json", &json);
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json["people"][0]["accounts"][0]["pots"][0]["name"],
        "Holiday Household total with pots: £0.00\u{fffd}]0;owned\u{fffd}"
    );
    let (code, table, stderr) = run(&["transactions", "--account", "acc_00009demodanacurrent"]);
    assert_eq!(code, 0, "{stderr}");
    clean("transactions", &table);
    assert!(
        table.lines().all(|l| l.starts_with(|c: char| c.is_ascii_digit())),
        "one line per transaction: {table}"
    );
    assert!(table.contains("CARD PAYMENT  2026-01-01 00:00  fake"), "{table}");
    assert!(table.contains("Shop\u{fffd}[2J\u{fffd}31m\u{fffd}"), "{table}");
    let (_, json, _) = run(&["transactions", "--json"]);
    clean("transactions --json", &json);

    // Monzo's error description at sign-in (the right state: it is this sign-in's).
    let (login, url) = start_login(&desktop, &monzo, "Alex", CLIENT_SECRET);
    let (callback, state) = listener_of(&login, &url);
    monzo.browse(&format!(
        "{callback}?error=access_denied&error_description=%1B%5D0%3Bowned%07Denied%0Amonzo-tray%3A%20fake&state={state}"
    ));
    let (status, stdout, stderr) = login.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1), "{stdout}");
    clean("login (stderr)", &stderr);
    assert!(
        stderr
            .contains("Monzo reported an error on sign-in: \u{fffd}]0;owned\u{fffd}Denied monzo-tray: fake"),
        "{stderr}"
    );
}

/// Nothing from outside ends a sign-in: a request to the listener with another
/// state, Monzo's "error" without the state, another path, or a mistyped pasted code
/// are answered or said, and the sign-in goes on; the browser's page says "Signed
/// in" only when it is, and with a wrong client secret says so instead.
#[test]
fn nothing_from_outside_ends_a_login_and_the_browser_is_told_the_truth() {
    let desktop = Desktop::start();
    let monzo = Monzo::start(true);
    let (mut login, url) = start_login(&desktop, &monzo, "Dana", CLIENT_SECRET);
    let (callback, state) = listener_of(&login, &url);
    let elsewhere = callback.trim_end_matches("/callback").to_owned();
    for stray in [
        format!("{callback}?code=abc&state=guessed"),
        format!("{callback}?error=access_denied&error_description=gotcha"),
        format!("{elsewhere}/favicon.ico?code=abc&state={state}"),
        format!("{elsewhere}/?code=abc&state={state}"),
    ] {
        let page = monzo.browse(&stray);
        assert!(!page.contains("Signed in"), "{stray}: {page}");
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        login.child.try_wait().unwrap().is_none(),
        "still waiting after the strays: {}",
        login.stderr_so_far()
    );
    login.write_line("mistyped-code-0000");
    login.wait_for_stderr("did not accept that sign-in code", Duration::from_secs(10));
    assert!(
        login.child.try_wait().unwrap().is_none(),
        "still waiting after a mistyped code"
    );

    let page = monzo.browse(&format!("{url}&user=Dana"));
    assert!(page.contains("Signed in to Monzo"), "{page}");
    let (status, stdout, stderr) = login.finish(Duration::from_secs(20));
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("Dana is signed in"), "{stdout}");

    // A wrong client secret: the page does not say "Signed in"; it says why not.
    let (login, url) = start_login(&desktop, &monzo, "Alex", "mnzconf.wrong-secret");
    let page = monzo.browse(&format!("{url}&user=Alex"));
    assert!(!page.contains("Signed in"), "{page}");
    assert!(page.contains("did not accept the client id and secret"), "{page}");
    let (status, _, stderr) = login.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1));
    assert!(
        stderr.contains("did not accept the client id and secret"),
        "{stderr}"
    );
}

/// Output that cannot be written never panics: a closed pipe (`| head`) ends the
/// command quietly with 0, a full disk is one sentence and 1.
#[test]
fn output_that_cannot_be_written_ends_quietly_or_in_one_sentence() {
    let desktop = Desktop::start();
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let (code, _, stderr) = text(
        desktop
            .command(monzo_tray_e2e::binary())
            .args(["--demo", "status"])
            .stdout(full)
            .output()
            .unwrap(),
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "monzo-tray: Could not write to standard output (No space left on device (os error 28))."
    );

    for args in [
        &["--demo", "transactions", "--json"][..],
        &["--demo", "status"],
        &["--demo", "headless", "--once"],
    ] {
        let mut child = desktop
            .command(monzo_tray_e2e::binary())
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before anything is written, as `head` does after it
        // has read what it wanted.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

/// A money move stopped with Ctrl-C or SIGTERM while its outcome is unknown: the
/// command to try the same move again (its dedupe id) is said before the first
/// request and again at the stop, and the exit is not 0; run twice, it moves once.
#[test]
fn a_move_stopped_under_way_says_how_to_try_it_again() {
    let desktop = Desktop::start();
    let monzo = Monzo::start(true);
    let (code, _, stderr) = login_as(&desktop, &monzo, "Dana", "Dana");
    assert_eq!(code, 0, "{stderr}");
    let before = holiday(&monzo);
    let slow_deposit = || {
        monzo.sandbox.set_faults(FaultPlan {
            rules: vec![monzo_sandbox::FaultRule {
                kind: FaultKind::Slow,
                times: Some(1),
                path: Some("/pots/pot_00009demoholiday/deposit".into()),
                retry_after: None,
                delay_ms: Some(30_000),
            }],
            random: None,
        })
    };
    let deposit = [
        "pot", "deposit", "--person", "Dana", "--pot", "Holiday", "--amount", "5", "--yes",
    ];
    let mut commands_said = Vec::new();
    for signal in ["-INT", "-TERM"] {
        slow_deposit();
        let moving = Running::spawn({
            let mut cmd = desktop.monzo_tray(&monzo.url());
            cmd.args(deposit).env("MONZO_TRAY_LOG", "off");
            cmd
        });
        let said = moving.wait_for_stderr("--dedupe-id monzo-tray-", Duration::from_secs(20));
        assert!(said.contains("try this same move again"), "{said}");
        // The request is on its way (the sandbox holds it).
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            moving.child.id() > 0
                && std::process::Command::new("kill")
                    .args([signal, &moving.child.id().to_string()])
                    .status()
                    .unwrap()
                    .success()
        );
        let (status, stdout, stderr) = moving.finish(Duration::from_secs(10));
        assert!(
            status.code().is_some_and(|c| c != 0),
            "{signal}: exits by itself, not 0: {status:?} {stdout} {stderr}"
        );
        assert!(stderr.contains("may or may not have happened"), "{stderr}");
        let commands: Vec<&str> = stderr
            .lines()
            .filter_map(|l| l.split_once("monzo-tray pot ").map(|(_, c)| c.trim()))
            .collect();
        assert_eq!(commands.len(), 2, "before the request and at the stop: {stderr}");
        assert_eq!(commands[0], commands[1], "{stderr}");
        commands_said.push(commands[0].to_owned());
    }
    monzo.sandbox.clear_faults();

    let mut words: Vec<&str> = vec!["pot"];
    words.extend(commands_said[0].split_whitespace());
    words.push("--yes");
    for _ in 0..2 {
        let (code, stdout, stderr) = text(desktop.monzo_tray(&monzo.url()).args(&words).output().unwrap());
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("Moved £5.00 into Holiday"), "{stdout}");
    }
    assert_eq!(
        holiday(&monzo),
        before + 500,
        "the same move, tried twice, moved once"
    );
}

/// The demo does not touch the real Home Assistant settings; the options that had
/// none have help text.
#[test]
fn the_demo_leaves_home_assistant_alone_and_every_option_is_explained() {
    let desktop = Desktop::start();
    for args in [
        &["--demo", "ha", "disconnect"][..],
        &["--demo", "ha", "connect", "--url", "http://127.0.0.1:9"],
    ] {
        let (code, stdout, stderr) = text(
            desktop
                .command(monzo_tray_e2e::binary())
                .args(args)
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap(),
        );
        assert_eq!(code, 1, "{args:?}: {stdout}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(
            stderr.contains("The demo does not change your Home Assistant settings"),
            "{args:?}: {stderr}"
        );
    }
    for (command, explained) in [("people", "One JSON document"), ("logout", "The person's name")] {
        let (code, stdout, _) = text(
            desktop
                .command(monzo_tray_e2e::binary())
                .args([command, "--help"])
                .output()
                .unwrap(),
        );
        assert_eq!(code, 0);
        assert!(stdout.contains(explained), "{command}: {stdout}");
    }
}

/// Each place is a flag of every command or its environment variable, the flag
/// winning; a variable that cannot be read stops the command with a sentence that
/// names its flag (exit 2), before anything is touched.
#[test]
fn places_are_flags_or_their_environment_variables() {
    let desktop = Desktop::start();
    let monzo = Monzo::start(true);
    let elsewhere = desktop.dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let person = serde_json::json!({"people": [{"id": "p_flag", "name": "Flag", "client_id": "oauthclient_1", "redirect_uri": "http://127.0.0.1:1/cb"}]});
    std::fs::write(elsewhere.join("settings.json"), person.to_string()).unwrap();
    // The test's desktop sets MONZO_TRAY_CONFIG_DIR; --config-dir wins over it.
    let (code, out, err) = text(
        desktop
            .monzo_tray(&monzo.url())
            .args(["people", "--json", "--config-dir"])
            .arg(&elsewhere)
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["people"][0]["name"], "Flag", "{out}");
    let (code, out, _) = text(
        desktop
            .monzo_tray(&monzo.url())
            .args(["people", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0);
    assert!(!out.contains("Flag"), "the variable's folder is another: {out}");

    let (code, _, err) = text(
        desktop
            .monzo_tray(&monzo.url())
            .env("MONZO_TRAY_REDIRECT_PORT", "eighty")
            .arg("people")
            .output()
            .unwrap(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--redirect-port"), "{err}");
}
