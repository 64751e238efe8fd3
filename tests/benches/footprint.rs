//! Footprint of the desktop app (release, demo mode, under Xvfb): private memory
//! (RssAnon + RssShmem) and RSS of the whole process tree (app and WebKit
//! processes) tray-only, with the settings window open, and after closing it; idle
//! CPU over 60 s tray-only and with the settings window open (it follows events, so
//! open and idle it should cost next to nothing); binary size; time from launch to the
//! first full menu (read over D-Bus as a panel would).
//!
//! Needs the release binary: `MONZO_TRAY_RELEASE_BIN`, else target/release/monzo-tray
//! (scripts/bench.sh builds it). `MONZO_TRAY_IDLE_SECONDS` shortens the idle window.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use monzo_tray_e2e::gui::Xvfb;
use monzo_tray_e2e::tray_watcher::TrayWatcher;
use monzo_tray_e2e::Desktop;

fn descendants(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let children =
            std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", all[i])).unwrap_or_default();
        all.extend(children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
        i += 1;
    }
    all
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)
                .map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0))
        })
        .unwrap_or(0)
}

/// (private MB, RSS MB, process count) of the tree under `pid`.
fn memory(pid: u32) -> (f64, f64, usize) {
    let tree = descendants(pid);
    let private: u64 = tree
        .iter()
        .map(|p| status_kib(*p, "RssAnon:") + status_kib(*p, "RssShmem:"))
        .sum();
    let rss: u64 = tree.iter().map(|p| status_kib(*p, "VmRSS:")).sum();
    (private as f64 / 1024.0, rss as f64 / 1024.0, tree.len())
}

fn cpu_ticks(pid: u32) -> u64 {
    descendants(pid)
        .iter()
        .map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
            let fields: Vec<&str> = after.split_whitespace().collect();
            fields.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
                + fields.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
        })
        .sum()
}

fn settings_windows(display: &str) -> Vec<String> {
    let out = Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", "^monzo-tray$"])
        .env("DISPLAY", display)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::main]
async fn main() {
    let bin = std::env::var_os("MONZO_TRAY_RELEASE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/monzo-tray"));
    assert!(
        bin.exists(),
        "{} missing: build the release binary first",
        bin.display()
    );
    let idle: u64 = std::env::var("MONZO_TRAY_IDLE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let xvfb = Xvfb::start();
    let desktop = Desktop::start();
    let watcher = TrayWatcher::start(desktop.bus_address()).await.unwrap();
    let launch = |extra: &[&str]| {
        desktop
            .command(&bin)
            .arg("--demo")
            .args(extra)
            .env("DISPLAY", &xvfb.display)
            .env("NO_AT_BRIDGE", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };

    let started = Instant::now();
    let mut app = launch(&[]);
    watcher
        .wait_for(Duration::from_secs(60), |l| {
            l.iter().any(|e| e.label == "Current Account   £1,234.56")
        })
        .await;
    let first_menu = started.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let tray_only = memory(app.id());

    let ticks = cpu_ticks(app.id());
    tokio::time::sleep(Duration::from_secs(idle)).await;
    let clock_ticks = 100.0; // USER_HZ on Linux
    let idle_cpu = (cpu_ticks(app.id()) - ticks) as f64 / clock_ticks / idle as f64 * 100.0;

    // A second launch opens the settings window of the first.
    launch(&[]).wait().unwrap();
    while settings_windows(&xvfb.display).is_empty() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let open = memory(app.id());
    let ticks = cpu_ticks(app.id());
    tokio::time::sleep(Duration::from_secs(idle)).await;
    let open_idle_cpu = (cpu_ticks(app.id()) - ticks) as f64 / clock_ticks / idle as f64 * 100.0;

    // Close it with its own Close button (top right of the window).
    let window = settings_windows(&xvfb.display)[0].clone();
    Command::new("xdotool")
        .args(["mousemove", "--window", &window, "568", "29", "click", "1"])
        .env("DISPLAY", &xvfb.display)
        .status()
        .unwrap();
    while !settings_windows(&xvfb.display).is_empty() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let closed = memory(app.id());
    let size = std::fs::metadata(&bin).unwrap().len() as f64 / 1024.0 / 1024.0;
    let _ = app.kill();
    let _ = app.wait();

    println!("| measure | value |");
    println!("| --- | ---: |");
    println!(
        "| launch to first full tray menu | {:.2} s |",
        first_menu.as_secs_f64()
    );
    println!(
        "| tray only: private / RSS (processes) | {:.1} MB / {:.1} MB ({}) |",
        tray_only.0, tray_only.1, tray_only.2
    );
    println!(
        "| settings window open | {:.1} MB / {:.1} MB ({}) |",
        open.0, open.1, open.2
    );
    println!(
        "| after closing it | {:.1} MB / {:.1} MB ({}) |",
        closed.0, closed.1, closed.2
    );
    println!("| idle CPU over {idle} s, tray only | {idle_cpu:.2} % of a core |");
    println!("| idle CPU over {idle} s, settings window open | {open_idle_cpu:.2} % of a core |");
    println!("| release binary | {size:.1} MB |");
}
