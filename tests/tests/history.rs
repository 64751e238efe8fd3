//! The money history from the built binary, against the sandbox (years of generated
//! history) and the real Secret Service: `login` importing with no engine running,
//! `history`, `export transactions --csv` and `spending` compared with what the
//! sandbox serves, kills at random moments of an import (nothing lost, nothing
//! twice), and a broken database set aside without stopping the balances.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use monzo_sandbox::{Fixture, MerchantFixture, Sandbox, TransactionFixture};
use monzo_tray_e2e::{cli_login, start_cli_login, text, Desktop, Running};
use rand::Rng;
use serde_json::Value;

const DANA_CURRENT: &str = "acc_00009demodanacurrent";
const JOINT: &str = "acc_00009demojoint";

/// The sandbox on a runtime of its own, so tests can block freely.
struct Monzo {
    sandbox: Sandbox,
    _runtime: tokio::runtime::Runtime,
}

impl Monzo {
    fn start(fixture: Fixture) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let sandbox = runtime.block_on(Sandbox::start_local(fixture)).unwrap();
        Self {
            sandbox,
            _runtime: runtime,
        }
    }

    fn url(&self) -> String {
        self.sandbox.api_url()
    }

    /// Transaction ids of `accounts`, as served.
    fn ids(&self, accounts: &[&str]) -> BTreeSet<String> {
        self.sandbox
            .fixture()
            .transactions
            .into_iter()
            .filter(|t| accounts.contains(&t.account_id.as_str()))
            .map(|t| t.id)
            .collect()
    }
}

/// Minor units of a two-decimal currency as `status --json` writes them: "-1.23".
fn major(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", minor.abs() / 100, minor.abs() % 100)
}

/// The other way: "-1.23" → -123.
fn minor(major: &str) -> i64 {
    let (units, cents) = major.split_once('.').unwrap();
    let value = units.trim_start_matches('-').parse::<i64>().unwrap() * 100 + cents.parse::<i64>().unwrap();
    if major.starts_with('-') {
        -value
    } else {
        value
    }
}

fn run(desktop: &Desktop, monzo: &Monzo, args: &[&str]) -> (i32, String, String) {
    text(
        desktop
            .monzo_tray(&monzo.url())
            .args(args)
            .env("MONZO_TRAY_LOG", "off")
            .output()
            .unwrap(),
    )
}

/// The exported rows: id → (account id, the whole record).
fn exported(desktop: &Desktop, monzo: &Monzo) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
    let (code, stdout, stderr) = run(desktop, monzo, &["export", "transactions", "--csv"]);
    assert_eq!(code, 0, "{stderr}");
    let mut reader = csv_records(&stdout);
    let header = reader.remove(0);
    let mut rows = BTreeMap::new();
    for record in reader {
        let id = record[0].clone();
        assert!(rows.insert(id.clone(), record).is_none(), "{id} exported twice");
    }
    (header, rows)
}

/// RFC 4180 records, parsed by hand so the test does not trust the writer's own
/// library: CRLF line ends, quotes doubled inside quoted cells.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    assert!(
        text.is_empty() || text.ends_with("\r\n"),
        "RFC 4180 ends records with CRLF"
    );
    let mut records = Vec::new();
    let (mut record, mut cell, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut cell));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => cell.push(c),
        }
    }
    records
}

/// Demo data plus transactions whose words a spreadsheet would run as formulas.
fn fixture_with_formulas() -> Fixture {
    let mut fixture = Fixture::demo();
    for (id, description, merchant) in [
        ("tx_formula_1", "=HYPERLINK(\"http://evil\",\"x\")", "@SUM(A1:A9)"),
        ("tx_formula_2", "+44 CALL", "-Shop"),
    ] {
        let mut tx = TransactionFixture::card_payment(DANA_CURRENT, -123, None);
        tx.id = id.into();
        tx.created = "-40d".into();
        tx.description = description.into();
        tx.merchant = Some(MerchantFixture {
            id: format!("merch_{id}"),
            name: merchant.into(),
            category: Some("shopping".into()),
        });
        fixture.transactions.push(tx);
    }
    fixture
}

#[test]
fn login_imports_and_history_export_and_spending_agree_with_what_monzo_serves() {
    let desktop = Desktop::start();
    let monzo = Monzo::start(fixture_with_formulas());
    cli_login(&desktop, &monzo.url(), "Dana");

    // Every transaction of Dana's accounts (the loan has none to read), once.
    let (header, rows) = exported(&desktop, &monzo);
    assert_eq!(header[0], "id");
    let served = monzo.ids(&[DANA_CURRENT, JOINT]);
    assert!(served.len() > 2_000, "years of history: {}", served.len());
    let stored: BTreeSet<String> = rows.keys().cloned().collect();
    assert!(
        stored == served,
        "{} stored, {} served",
        stored.len(),
        served.len()
    );

    // Amounts in major units as decimal strings; formulas defused.
    let fixture = monzo.sandbox.fixture();
    let one = fixture
        .transactions
        .iter()
        .find(|t| t.id == "tx_formula_1")
        .unwrap();
    assert_eq!(rows["tx_formula_1"][5], major(one.amount));
    assert!(
        rows["tx_formula_1"][9].starts_with("'="),
        "{:?}",
        rows["tx_formula_1"]
    );
    assert!(
        rows["tx_formula_1"][10].starts_with("'@"),
        "{:?}",
        rows["tx_formula_1"]
    );
    assert!(rows["tx_formula_2"][9].starts_with("'+"));
    assert!(rows["tx_formula_2"][10].starts_with("'-"));

    // Daily balances: each account back to its first transaction, today's balance
    // what `status` shows.
    let (code, stdout, stderr) = run(&desktop, &monzo, &["history", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let history: Value = serde_json::from_str(&stdout).unwrap();
    let accounts = history["accounts"].as_array().unwrap();
    let current = accounts.iter().find(|a| a["account_id"] == DANA_CURRENT).unwrap();
    let days = current["days"].as_array().unwrap();
    let first_created = fixture
        .transactions
        .iter()
        .filter(|t| t.account_id == DANA_CURRENT)
        .map(|t| t.created.clone())
        .min()
        .unwrap();
    assert!(days.len() > 365, "{} days", days.len());
    assert!(
        first_created.starts_with(days[0]["date"].as_str().unwrap())
            || days[0]["date"].as_str().unwrap() <= &first_created[..10]
    );
    let (_, status, _) = run(&desktop, &monzo, &["status", "--json"]);
    let status: Value = serde_json::from_str(&status).unwrap();
    let balance_now = status["people"][0]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == DANA_CURRENT)
        .unwrap()["balance"]
        .clone();
    assert_eq!(days.last().unwrap()["balance"], balance_now);
    assert!(
        history["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().starts_with("Dana's history: back to")),
        "{}",
        history["notes"]
    );

    // Spending: money out less refunds at merchants, without pot transfers, declined
    // ones and transfers between the household's accounts; reckoned here from what
    // the sandbox serves.
    let month = "2024-05";
    let (code, stdout, stderr) = run(&desktop, &monzo, &["spending", "--month", month, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let spending: Value = serde_json::from_str(&stdout).unwrap();
    let household: BTreeSet<&str> = fixture.accounts.iter().map(|a| a.id.as_str()).collect();
    let mut expected: BTreeMap<(String, String), i64> = BTreeMap::new();
    for t in fixture.transactions.iter().filter(|t| {
        [DANA_CURRENT, JOINT].contains(&t.account_id.as_str())
            && t.created.starts_with(month)
            && t.decline_reason.is_none()
            && t.pot_id.is_none()
            && !t
                .counterparty_account_id
                .as_deref()
                .is_some_and(|c| household.contains(c))
    }) {
        let spent = if t.amount < 0 || t.merchant.is_some() {
            -t.amount
        } else {
            continue;
        };
        let currency = t.currency.clone().unwrap_or_else(|| "GBP".into());
        let category = t.category.clone().unwrap_or_else(|| "general".into());
        *expected.entry((category, currency)).or_default() += spent;
    }
    let got: BTreeMap<(String, String), i64> = spending["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let minor = minor(c["amount"].as_str().unwrap());
            (
                (
                    c["category"].as_str().unwrap().to_owned(),
                    c["currency"].as_str().unwrap().to_owned(),
                ),
                minor,
            )
        })
        .collect();
    expected.retain(|_, v| *v != 0);
    assert_eq!(got, expected);
    let spenders: Vec<&str> = spending["spenders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        spenders.contains(&"Joint Account") && spenders.contains(&"Dana"),
        "{spenders:?}"
    );
}

/// `monzo-tray headless` in `desktop`, killed with SIGKILL after `after`.
fn headless_killed_after(desktop: &Desktop, monzo: &Monzo, after: Duration) {
    let mut cmd = desktop.monzo_tray(&monzo.url());
    cmd.arg("headless").env("MONZO_TRAY_LOG", "off");
    let mut engine = Running::spawn(cmd);
    std::thread::sleep(after);
    engine.child.kill().unwrap();
    engine.child.wait().unwrap();
}

#[test]
fn a_kill_at_any_moment_of_an_import_loses_nothing_and_repeats_nothing() {
    let desktop = Desktop::start();
    let monzo = Monzo::start(Fixture::demo());
    let mut rng = rand::rng();
    // The login imports by itself (no engine runs): killed part-way.
    let (mut login, url) = start_cli_login(&desktop, &monzo.url(), "Dana");
    let browsed = Command::new("curl")
        .args(["-s", "-L", "-o", "/dev/null", &format!("{url}&user=Dana")])
        .status()
        .unwrap();
    assert!(browsed.success());
    let said = login.next_line(Duration::from_secs(20));
    assert!(said.contains("Dana is signed in"), "{said}");
    std::thread::sleep(Duration::from_millis(rng.random_range(0..1_000)));
    login.child.kill().unwrap();
    login.child.wait().unwrap();
    // The engine goes on from where it stopped, killed again and again.
    let kills: Vec<u64> = (0..5).map(|_| rng.random_range(50..1_500)).collect();
    for after in &kills {
        headless_killed_after(&desktop, &monzo, Duration::from_millis(*after));
    }
    // Then left to finish (inside Monzo's 5 minutes after the sign-in).
    let mut cmd = desktop.monzo_tray(&monzo.url());
    cmd.arg("headless").env("MONZO_TRAY_LOG", "off");
    let engine = Running::spawn(cmd);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, _, notes) = run(&desktop, &monzo, &["history", "--from", "2099-01-01"]);
        if notes.contains("Dana's history: back to") && !notes.contains("Importing") {
            break;
        }
        assert!(Instant::now() < deadline, "the import did not finish: {notes}");
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(engine);
    let (_, rows) = exported(&desktop, &monzo);
    let stored: BTreeSet<String> = rows.keys().cloned().collect();
    let served = monzo.ids(&[DANA_CURRENT, JOINT]);
    assert!(
        stored == served,
        "kills after {kills:?} ms: {} stored, {} served, {} missing",
        stored.len(),
        served.len(),
        served.difference(&stored).count()
    );
}

#[test]
fn a_broken_history_database_is_set_aside_and_the_balances_go_on() {
    let desktop = Desktop::start();
    let monzo = Monzo::start(Fixture::demo());
    cli_login(&desktop, &monzo.url(), "Dana");
    // Desktop::command sets XDG_DATA_HOME to `data` beside the settings folder.
    let data = desktop
        .settings_path()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("data");
    let household = std::fs::read_dir(data.join("monzo-tray"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let file = household.join("history.sqlite3");
    assert!(file.exists());
    std::fs::write(&file, b"not a database at all ".repeat(500)).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    let (code, stdout, stderr) = run(&desktop, &monzo, &["status", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"live\""), "{stdout}");
    assert!(stderr.contains("set aside"), "said once: {stderr}");
    let aside = std::fs::read_dir(&household)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".broken-"))
        .count();
    assert_eq!(aside, 1);
    let (code, _, stderr) = run(&desktop, &monzo, &["history"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("set aside"), "the new file is good: {stderr}");
}

/// Two processes: with `headless` running, `login` leaves the import to it (it
/// holds the household's one engine), and the running engine imports the new
/// person's whole history while `history` reads beside it.
#[test]
fn with_the_engine_running_login_leaves_the_import_to_it() {
    let desktop = Desktop::start();
    let monzo = Monzo::start(Fixture::demo());
    let mut cmd = desktop.monzo_tray(&monzo.url());
    cmd.args(["headless", "--interval", "10"])
        .env("MONZO_TRAY_LOG", "off");
    let engine = Running::spawn(cmd);
    std::thread::sleep(Duration::from_millis(500));
    let (login, url) = start_cli_login(&desktop, &monzo.url(), "Dana");
    let browsed = Command::new("curl")
        .args(["-s", "-L", "-o", "/dev/null", &format!("{url}&user=Dana")])
        .status()
        .unwrap();
    assert!(browsed.success());
    let (status, _, stderr) = login.finish(Duration::from_secs(30));
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("imports Dana's history now"), "{stderr}");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (code, _, notes) = run(&desktop, &monzo, &["history", "--from", "2099-01-01"]);
        assert_eq!(code, 0, "{notes}");
        if notes.contains("Dana's history: back to") && !notes.contains("Importing") {
            break;
        }
        assert!(Instant::now() < deadline, "the engine did not import: {notes}");
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(engine);
    let (_, rows) = exported(&desktop, &monzo);
    let stored: BTreeSet<String> = rows.keys().cloned().collect();
    assert!(
        stored == monzo.ids(&[DANA_CURRENT, JOINT]),
        "{} stored",
        stored.len()
    );
}
