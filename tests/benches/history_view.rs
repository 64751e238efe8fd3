//! The History view, measured in the real webview (tauri-driver + WebKitWebDriver
//! under Xvfb) with a household of 3 people and 10 years of history
//! (`Fixture::benchmark_household`, about 100,000 transactions) imported first:
//!
//! - the time from opening the History tab to its first charts drawn (balances and
//!   spending), and to a range switched (1 year → all, all → 1 month), timed in
//!   the page from the click to the frame after the charts were made;
//! - the private memory (RssAnon + RssShmem) of the app and its WebKit processes
//!   with the Settings tab shown, then with the History view open;
//! - idle CPU with the History view open (it follows the engine's events; nothing
//!   polls), as a share of one core over 30 s (`MONZO_TRAY_IDLE_SECONDS`).
//!
//! `cargo bench -p monzo-tray-e2e --bench history_view` (scripts/bench.sh runs it,
//! with the release binary in `MONZO_TRAY_BIN`).

use std::time::{Duration, Instant};

use fantoccini::Client;
use monzo_sandbox::{Fixture, Sandbox};
use monzo_tray_e2e::gui::{Driver, Xvfb};
use monzo_tray_e2e::{cpu_ticks, start_cli_login, status_kib, Desktop};
use serde_json::Value;

/// Clicks `id`, then waits in the page until `ready` (a JS expression) holds and a
/// frame has been drawn; the milliseconds between, measured in the page.
async fn timed_click(client: &Client, id: &str, ready: &str) -> f64 {
    let script = format!(
        "const done = arguments[arguments.length - 1];
         const started = performance.now();
         document.getElementById('{id}').click();
         const wait = () => {{
           if ({ready}) requestAnimationFrame(() => done(performance.now() - started));
           else setTimeout(wait, 2);
         }};
         wait();"
    );
    let took: Value = client.execute_async(&script, vec![]).await.unwrap();
    took.as_f64().unwrap()
}

/// The app and its WebKit processes (not the WebDriver's).
fn app_tree(driver: &Driver) -> Vec<u32> {
    driver
        .descendants()
        .into_iter()
        .filter(|(_, comm)| !comm.starts_with("WebKitWebDrive"))
        .map(|(pid, _)| pid)
        .collect()
}

/// (private MB, processes) of the app and its WebKit processes.
fn private_mb(driver: &Driver) -> (f64, usize) {
    let tree = app_tree(driver);
    let total: u64 = tree
        .iter()
        .map(|p| status_kib(*p, "RssAnon:") + status_kib(*p, "RssShmem:"))
        .sum();
    (total as f64 / 1024.0, tree.len())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let xvfb = Xvfb::start();
    let desktop = Desktop::start();
    let sandbox = Sandbox::start_local(Fixture::benchmark_household())
        .await
        .unwrap();
    let started = Instant::now();
    for user in sandbox.fixture().users {
        let (login, url) = start_cli_login(&desktop, &sandbox.api_url(), &user.name);
        let browsed = std::process::Command::new("curl")
            .args([
                "-s",
                "-L",
                "-o",
                "/dev/null",
                &format!("{url}&user={}", user.name),
            ])
            .status()
            .unwrap();
        assert!(browsed.success());
        let (status, _, err) = login.finish(Duration::from_secs(600));
        assert!(status.success(), "{err}");
    }
    let transactions = sandbox.fixture().transactions.len();
    let imported = started.elapsed();
    let driver = Driver::start(
        &desktop,
        &xvfb,
        &[
            ("MONZO_API_URL", sandbox.api_url()),
            ("MONZO_AUTH_URL", sandbox.auth_url()),
        ],
    );
    let client = driver.session(&["--settings"]).await;
    // The Settings tab, settled.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let (settings_mb, processes) = private_mb(&driver);
    let first = timed_click(
        &client,
        "tab-history",
        "window.monzoCharts && monzoCharts.balances.length && monzoCharts.spending.length",
    )
    .await;
    let to_all = timed_click(
        &client,
        "range-all",
        "monzoCharts.balances.length && monzoCharts.balances[0].data[0].length > 400",
    )
    .await;
    let to_month = timed_click(
        &client,
        "range-1m",
        "monzoCharts.balances.length && monzoCharts.balances[0].data[0].length < 40",
    )
    .await;
    let points: Value = client
        .execute(
            "return monzoCharts.balances.map((u) => u.data[0].length * (u.data.length - 1));",
            vec![],
        )
        .await
        .unwrap();
    let _ = timed_click(
        &client,
        "range-all",
        "monzoCharts.balances.length && monzoCharts.balances[0].data[0].length > 400",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (history_mb, _) = private_mb(&driver);
    let idle: u64 = std::env::var("MONZO_TRAY_IDLE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let before = cpu_ticks(app_tree(&driver));
    tokio::time::sleep(Duration::from_secs(idle)).await;
    let ticks = cpu_ticks(app_tree(&driver)) - before;
    // /proc counts in clock ticks: 100 a second on Linux (USER_HZ).
    let per_second = 100.0;
    let cpu = ticks as f64 / per_second / idle as f64 * 100.0;
    let _ = client.close().await;

    println!(
        "| History view (3 people, {transactions} transactions, imported in {:.1} s) | |",
        imported.as_secs_f64()
    );
    println!("|---|---|");
    println!("| open the History tab → first charts drawn | {first:.0} ms |");
    println!("| range 1 year → all (10 years, a point a day) | {to_all:.0} ms |");
    println!("| range all → 1 month | {to_month:.0} ms |");
    println!("| points drawn at 1 month, per chart | {points} |");
    println!("| private memory, Settings tab ({processes} processes) | {settings_mb:.1} MB |");
    println!(
        "| private memory, History view open (all) | {history_mb:.1} MB (+{:.1} MB) |",
        history_mb - settings_mb
    );
    println!("| idle CPU, History view open, over {idle} s | {cpu:.2} % of a core |");
}
