//! The `.deb` built by the Tauri bundler, installed with dpkg on this machine, and the
//! installed app started in demo mode: its tray menu read over D-Bus.
//!
//! Needs the package and root: `scripts/test.sh` builds it (`scripts/build-deb.sh`)
//! and runs this with `--include-ignored`, passing its path in `MONZO_TRAY_DEB`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use monzo_tray_e2e::gui::Xvfb;
use monzo_tray_e2e::tray_watcher::TrayWatcher;
use monzo_tray_e2e::{text, Desktop};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the .deb and root: scripts/test.sh builds it and runs this"]
async fn the_deb_installs_and_the_installed_app_runs_the_demo() {
    let deb = PathBuf::from(std::env::var("MONZO_TRAY_DEB").expect("MONZO_TRAY_DEB names the .deb to test"));
    assert!(deb.exists(), "{} is missing", deb.display());

    let (code, _, stderr) = text(Command::new("dpkg").arg("-i").arg(&deb).output().unwrap());
    assert_eq!(code, 0, "dpkg -i failed: {stderr}");
    let (_, listing, _) = text(Command::new("dpkg").args(["-L", "monzo-tray"]).output().unwrap());
    for wanted in [
        "/usr/bin/monzo-tray",
        "/usr/share/applications/monzo-tray.desktop",
    ] {
        assert!(
            listing.lines().any(|l| l == wanted),
            "{wanted} not installed: {listing}"
        );
    }
    assert!(listing.contains("/usr/share/icons/hicolor/"), "icons installed");
    let desktop_entry = std::fs::read_to_string("/usr/share/applications/monzo-tray.desktop").unwrap();
    assert!(desktop_entry.contains("Exec=monzo-tray"), "{desktop_entry}");

    // The installed binary, headless: the demo household.
    let desktop = Desktop::start();
    let (code, stdout, stderr) = text(
        desktop
            .command("/usr/bin/monzo-tray")
            .args(["--demo", "status", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"state\": \"live\""), "{stdout}");

    // The installed app on a display: its tray menu shows the demo balances.
    let xvfb = Xvfb::start();
    let watcher = TrayWatcher::start(desktop.bus_address()).await.unwrap();
    let mut app = desktop
        .command("/usr/bin/monzo-tray")
        .arg("--demo")
        .env("DISPLAY", &xvfb.display)
        .env("NO_AT_BRIDGE", "1")
        .spawn()
        .unwrap();
    let labels = watcher
        .wait_for(Duration::from_secs(30), |l| {
            l.iter().any(|e| e.label == "Current Account   £1,234.56")
        })
        .await;
    assert!(labels.iter().any(|e| e.label == "Alex"));
    let _ = app.kill();
    let _ = app.wait();
}
