//! Footprint of the desktop app (release, demo mode, under Xvfb): private memory
//! (RssAnon + RssShmem) and RSS of the whole process tree (app and WebKit
//! processes) tray-only, with the settings window open, and after closing it; idle
//! CPU over 60 s tray-only and with the settings window open (its first 30 s,
//! WebKit's warm-up, apart; it follows events, so open and idle it should cost next
//! to nothing); binary and .deb size; time from launch to the first full menu (read
//! over D-Bus as a panel would).
//!
//! Measures one or more builds side by side, each given as an argument
//! `NAME=BINARY[,DEB]` (absolute paths: benches run in tests/; the .deb's size is
//! shown when given); with none, the release
//! binary `MONZO_TRAY_RELEASE_BIN`, else target/release/monzo-tray. scripts/bench.sh
//! compares Cargo's default release profile with ours (issue 13).
//! `MONZO_TRAY_IDLE_SECONDS` shortens the idle windows.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use monzo_tray_e2e::gui::Xvfb;
use monzo_tray_e2e::tray_watcher::TrayWatcher;
use monzo_tray_e2e::{status_kib, Desktop};

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
    monzo_tray_e2e::cpu_ticks(descendants(pid))
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

/// How long after the settings window opens its CPU is counted as warm-up.
const WARM_UP: Duration = Duration::from_secs(30);

/// One build to measure: a name for its column, the binary, and maybe its .deb.
struct Build {
    name: String,
    bin: PathBuf,
    deb: Option<PathBuf>,
}

fn builds() -> Vec<Build> {
    let given: Vec<Build> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .filter_map(|arg| {
            let (name, paths) = arg.split_once('=')?;
            let mut paths = paths.split(',');
            Some(Build {
                name: name.to_owned(),
                bin: PathBuf::from(paths.next()?),
                deb: paths.next().map(PathBuf::from),
            })
        })
        .collect();
    if !given.is_empty() {
        return given;
    }
    let bin = std::env::var_os("MONZO_TRAY_RELEASE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/monzo-tray"));
    vec![Build {
        name: "value".into(),
        bin,
        deb: None,
    }]
}

/// What one build measured. Memory as (private MB, RSS MB, processes).
struct Footprint {
    first_menu: Duration,
    tray_only: (f64, f64, usize),
    open: (f64, f64, usize),
    closed: (f64, f64, usize),
    idle_cpu: f64,
    warm_up_cpu: f64,
    open_idle_cpu: f64,
    binary_mb: f64,
    deb_mb: Option<f64>,
}

fn megabytes(path: &std::path::Path) -> f64 {
    let bytes = std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .len();
    bytes as f64 / 1024.0 / 1024.0
}

async fn measure(build: &Build, idle: u64) -> Footprint {
    assert!(
        build.bin.exists(),
        "{} missing: build the release binary first",
        build.bin.display()
    );
    let xvfb = Xvfb::start();
    let desktop = Desktop::start();
    let watcher = TrayWatcher::start(desktop.bus_address()).await.unwrap();
    let launch = |extra: &[&str]| {
        desktop
            .command(&build.bin)
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
    // The first half minute after opening is WebKit's warm-up (its web processes
    // start, fonts are cached in the fresh XDG_CACHE_HOME): measured apart from the
    // idle that follows.
    let ticks = cpu_ticks(app.id());
    tokio::time::sleep(WARM_UP).await;
    let warm_up_cpu = (cpu_ticks(app.id()) - ticks) as f64 / clock_ticks / WARM_UP.as_secs_f64() * 100.0;
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
    let _ = app.kill();
    let _ = app.wait();
    Footprint {
        first_menu,
        tray_only,
        open,
        closed,
        idle_cpu,
        warm_up_cpu,
        open_idle_cpu,
        binary_mb: megabytes(&build.bin),
        deb_mb: build.deb.as_deref().map(megabytes),
    }
}

#[tokio::main]
async fn main() {
    let idle: u64 = std::env::var("MONZO_TRAY_IDLE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let builds = builds();
    let mut measured = Vec::new();
    for build in &builds {
        measured.push(measure(build, idle).await);
    }

    let names: Vec<&str> = builds.iter().map(|b| b.name.as_str()).collect();
    println!("| measure | {} |", names.join(" | "));
    println!("| --- |{}", " ---: |".repeat(names.len()));
    let row = |label: &str, cell: &dyn Fn(&Footprint) -> String| {
        let cells: Vec<String> = measured.iter().map(cell).collect();
        println!("| {label} | {} |", cells.join(" | "));
    };
    let mem = |m: (f64, f64, usize)| format!("{:.1} MB / {:.1} MB ({})", m.0, m.1, m.2);
    row("launch to first full tray menu", &|f| {
        format!("{:.2} s", f.first_menu.as_secs_f64())
    });
    row("tray only: private / RSS (processes)", &|f| mem(f.tray_only));
    row("settings window open", &|f| mem(f.open));
    row("after closing it", &|f| mem(f.closed));
    row(&format!("idle CPU over {idle} s, tray only"), &|f| {
        format!("{:.2} % of a core", f.idle_cpu)
    });
    row(
        &format!(
            "CPU over the first {} s with the settings window open",
            WARM_UP.as_secs()
        ),
        &|f| format!("{:.2} % of a core", f.warm_up_cpu),
    );
    row(
        &format!("idle CPU over {idle} s, settings window open (after that)"),
        &|f| format!("{:.2} % of a core", f.open_idle_cpu),
    );
    row("release binary", &|f| format!("{:.1} MB", f.binary_mb));
    if measured.iter().any(|f| f.deb_mb.is_some()) {
        row(".deb", &|f| {
            f.deb_mb.map_or("–".into(), |mb| format!("{mb:.1} MB"))
        });
    }
}
