//! The packages built by the Tauri bundler: the `.deb` installed with dpkg on this
//! machine and the installed app started in demo mode (its tray menu read over
//! D-Bus); the `.rpm`'s contents and header read with `rpm -qp` (Debian cannot
//! install it).
//!
//! Needs the packages (and root for dpkg): `scripts/test.sh` builds them
//! (`scripts/build-packages.sh`) and runs these with `--include-ignored`, passing
//! their paths in `MONZO_TRAY_DEB` and `MONZO_TRAY_RPM`.

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

#[test]
#[ignore = "needs the .rpm: scripts/test.sh builds it and runs this"]
fn the_rpm_holds_the_binary_the_desktop_entry_and_the_icons() {
    let rpm = PathBuf::from(std::env::var("MONZO_TRAY_RPM").expect("MONZO_TRAY_RPM names the .rpm to test"));
    assert!(rpm.exists(), "{} is missing", rpm.display());
    let query = |args: &[&str]| {
        let (code, stdout, stderr) = text(
            Command::new("rpm")
                .args(args)
                .arg(&rpm)
                .output()
                .expect("rpm is installed (package rpm)"),
        );
        assert_eq!(code, 0, "rpm {args:?} failed: {stderr}");
        stdout
    };

    let listing = query(&["-qlp"]);
    for wanted in [
        "/usr/bin/monzo-tray",
        "/usr/share/applications/monzo-tray.desktop",
        "/usr/share/icons/hicolor/32x32/apps/monzo-tray.png",
        "/usr/share/icons/hicolor/128x128/apps/monzo-tray.png",
    ] {
        assert!(
            listing.lines().any(|l| l == wanted),
            "{wanted} not in the .rpm: {listing}"
        );
    }
    // Nothing from the build machine leaks in (sources, the target folder, tests).
    for line in listing.lines() {
        assert!(line.starts_with("/usr/"), "unexpected path in the .rpm: {line}");
    }

    let name_version = query(&["-qp", "--queryformat", "%{NAME} %{VERSION} %{ARCH}"]);
    assert_eq!(
        name_version,
        format!("monzo-tray {} x86_64", env!("CARGO_PKG_VERSION")),
        "the .rpm's header"
    );
    // The libraries the app links at run time, as the bundler reads them from the
    // binary (shared-library names, which Fedora's and openSUSE's packages provide).
    let requires = query(&["-qpR"]);
    for wanted in [
        "libwebkit2gtk-4.1.so.0()(64bit)",
        "libgtk-3.so.0()(64bit)",
        "libayatana-appindicator3.so.1()(64bit)",
    ] {
        assert!(
            requires.lines().any(|l| l.trim() == wanted),
            "{wanted} not required: {requires}"
        );
    }
}
