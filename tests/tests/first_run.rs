//! The app from first launch, on desktops with and without a tray (issue 13): under
//! Xvfb with a private session bus, with a stand-in StatusNotifierWatcher, with an
//! XEmbed system tray (trayer) instead, or with neither. Windows are counted from
//! outside with xdotool; the settings window is driven through tauri-driver.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use monzo_sandbox::{Fixture, Sandbox};
use monzo_tray_e2e::gui::{click, eventually, reach, visible_text, Driver, Xvfb};
use monzo_tray_e2e::tray_watcher::TrayWatcher;
use monzo_tray_e2e::{cli_login, Desktop};

const WAIT: Duration = Duration::from_secs(30);

/// tauri-driver sessions in this file run one at a time.
static ONE_SESSION: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Visible windows titled `monzo-tray` on `display` at least 300 pixels wide: the
/// settings window (620 wide), not the tray icon an XEmbed tray holds (which GTK
/// names after the app too).
fn settings_windows(display: &str) -> usize {
    let out = Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", "^monzo-tray$"])
        .env("DISPLAY", display)
        .output()
        .expect("xdotool is installed (package xdotool)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|window| {
            let geometry = Command::new("xdotool")
                .args(["getwindowgeometry", "--shell", window])
                .env("DISPLAY", display)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            geometry
                .lines()
                .find_map(|l| l.strip_prefix("WIDTH="))
                .and_then(|w| w.parse::<u32>().ok())
                .is_some_and(|width| width >= 300)
        })
        .count()
}

/// The app, started as a person would (no arguments), logging to `log`.
fn launch(desktop: &Desktop, sandbox: &Sandbox, xvfb: &Xvfb, log: &Path) -> Child {
    desktop
        .monzo_tray(&sandbox.api_url())
        .env("DISPLAY", &xvfb.display)
        .env("NO_AT_BRIDGE", "1")
        .env("MONZO_TRAY_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// Waits until the app's log holds `line`.
async fn logged(log: &Path, line: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(line) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never logged {line:?}; the log: {text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Longer than the app waits to learn whether a tray host is there (3 s).
const PAST_FIRST_ANSWER: Duration = Duration::from_secs(5);

fn stop(mut app: Child) {
    let _ = app.kill();
    let _ = app.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_household_with_a_tray_starts_quietly_in_the_tray() {
    let xvfb = Xvfb::start();
    let desktop = Desktop::start();
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    cli_login(&desktop, &sandbox.api_url(), "Dana");
    let watcher = TrayWatcher::start(desktop.bus_address()).await.unwrap();
    let log = desktop.dir.path().join("app.log");
    let app = launch(&desktop, &sandbox, &xvfb, &log);

    watcher
        .wait_for(WAIT, |l| l.iter().any(|e| e.label.contains("£1,234.56")))
        .await;
    logged(&log, "the tray icon can be seen: true").await;
    tokio::time::sleep(PAST_FIRST_ANSWER).await;
    assert_eq!(settings_windows(&xvfb.display), 0, "no window at start");
    stop(app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_xembed_system_tray_counts_as_a_tray() {
    let xvfb = Xvfb::start();
    let desktop = Desktop::start();
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    cli_login(&desktop, &sandbox.api_url(), "Dana");
    // trayer owns _NET_SYSTEM_TRAY_S0; no StatusNotifierWatcher on the bus.
    let mut trayer = desktop
        .command("trayer")
        .args(["--edge", "top", "--SetDockType", "false"])
        .env("DISPLAY", &xvfb.display)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("trayer is installed (package trayer)");
    let owned = eventually("trayer owning the tray selection", WAIT, || async {
        let out = Command::new("xdotool")
            .args(["search", "--class", "trayer"])
            .env("DISPLAY", &xvfb.display)
            .output()
            .ok()?;
        (!out.stdout.is_empty()).then_some(())
    });
    owned.await;
    let log = desktop.dir.path().join("app.log");
    let app = launch(&desktop, &sandbox, &xvfb, &log);

    logged(&log, "the tray icon can be seen: true").await;
    tokio::time::sleep(PAST_FIRST_ANSWER).await;
    assert_eq!(settings_windows(&xvfb.display), 0, "no window at start");
    stop(app);
    let _ = trayer.kill();
    let _ = trayer.wait();
}

/// The id (or class) of the focused element, and its outline if it draws one
/// (`None`: no visible outline).
async fn focused(client: &Client) -> (String, Option<String>, String) {
    let answer = client
        .execute(
            "const a = document.activeElement; const s = getComputedStyle(a);
             const drawn = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
             return [a.id || a.className || a.tagName,
                     drawn ? `${s.outlineWidth} ${s.outlineStyle}` : null,
                     `${a.matches(':focus-visible')} ${s.outlineStyle} ${s.outlineWidth}`];",
            vec![],
        )
        .await
        .unwrap();
    (
        answer[0].as_str().unwrap_or_default().to_owned(),
        answer[1].as_str().map(str::to_owned),
        answer[2].as_str().unwrap_or_default().to_owned(),
    )
}

/// The page's background colour as the webview computes it.
async fn page_background(client: &Client) -> String {
    let answer = client
        .execute(
            "return getComputedStyle(document.documentElement).backgroundColor;",
            vec![],
        )
        .await
        .unwrap();
    answer.as_str().unwrap_or_default().to_owned()
}

async fn press_tab(client: &Client) {
    let tab: char = Key::Tab.into();
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: tab })
        .then(KeyAction::Up { value: tab });
    client.perform_actions(keys).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_run_opens_the_settings_window_and_every_control_takes_the_keyboard() {
    let _one = ONE_SESSION.lock().await;
    let xvfb = Xvfb::start();
    let desktop = Desktop::start();
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    let watcher = TrayWatcher::start(desktop.bus_address()).await.unwrap();
    let driver = Driver::start(
        &desktop,
        &xvfb,
        &[
            ("MONZO_API_URL", sandbox.api_url()),
            ("MONZO_AUTH_URL", sandbox.auth_url()),
        ],
    );
    // No arguments: the window opens by itself, nobody being signed in.
    let client = driver.session(&[]).await;
    let title = eventually("the first-person heading", WAIT, || async {
        visible_text(&client, "add-title")
            .await
            .filter(|t| t == "Add the first person")
    })
    .await;
    assert_eq!(title, "Add the first person");
    assert!(visible_text(&client, "people-empty").await.is_some());
    assert_eq!(visible_text(&client, "no-tray").await, None, "a tray is there");
    // Straight to the first field.
    let (first, _, _) = eventually("the name field focused", WAIT, || async {
        let now = focused(&client).await;
        (now.0 == "add-name").then_some(now)
    })
    .await;
    assert_eq!(first, "add-name");
    // The system's theme is light here: the light colours.
    assert_eq!(page_background(&client).await, "rgb(247, 248, 250)");

    // From the top of the page, Tab goes through every control to the last one,
    // each drawing its focus. WebKit draws focus only in the window that has the
    // keyboard, which Xvfb (no window manager) gives to none: give it, as a click
    // on the window would.
    let out = Command::new("xdotool")
        .args([
            "search",
            "--onlyvisible",
            "--name",
            "^monzo-tray$",
            "windowfocus",
            "--sync",
        ])
        .env("DISPLAY", &xvfb.display)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    client
        .execute("document.activeElement.blur();", vec![])
        .await
        .unwrap();
    let mut reached = Vec::new();
    for _ in 0..40 {
        press_tab(&client).await;
        let (id, outline, style) = focused(&client).await;
        if id != "BODY" {
            // Ours (style.css), not WebKit's thin default ring.
            assert_eq!(
                outline.as_deref(),
                Some("3px solid"),
                "#{id} has keyboard focus without our outline (focus-visible, style, width: {style})"
            );
            reached.push(id.clone());
        }
        if id == "autostart" {
            break;
        }
    }
    for control in [
        "add-name",
        "add-client-id",
        "add-secret",
        "add-submit",
        "ha-transport-rest",
        "ha-url",
        "ha-token",
        "ha-enabled",
        "ha-test",
        "ha-save",
        "poll-interval",
        "privacy",
        "autostart",
        "refresh",
        "close",
    ] {
        assert!(
            reached.iter().any(|r| r == control),
            "#{control} never focused: {reached:?}"
        );
    }

    // With a tray, closing just closes: the app lives on in the tray. (The window
    // may be gone before WebDriver answers the click.)
    let _ = reach(&client, "close").await.click().await;
    eventually("the window closed", WAIT, || async {
        (settings_windows(&xvfb.display) == 0).then_some(())
    })
    .await;
    let labels = watcher.labels(WAIT).await;
    assert!(
        labels.iter().any(|l| l.label.contains("open Settings")),
        "{labels:#?}"
    );
    let _ = client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_tray_host_the_window_stands_in_and_closing_asks_to_quit() {
    let _one = ONE_SESSION.lock().await;
    let xvfb = Xvfb::start();
    let desktop = Desktop::start();
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    cli_login(&desktop, &sandbox.api_url(), "Dana");
    let driver = Driver::start(
        &desktop,
        &xvfb,
        &[
            ("MONZO_API_URL", sandbox.api_url()),
            ("MONZO_AUTH_URL", sandbox.auth_url()),
            ("XDG_CURRENT_DESKTOP", "GNOME".into()),
            // A dark system theme, as GNOME's dark style sets it for GTK apps.
            ("GTK_THEME", "Adwaita:dark".into()),
        ],
    );
    // Signed in, yet the window opens: nothing would show the tray icon.
    let client = driver.session(&[]).await;
    let line = eventually("the no-tray line", WAIT, || visible_text(&client, "no-tray")).await;
    assert!(line.starts_with("This desktop has no system tray"), "{line}");
    assert!(line.contains("gnome-shell-extension-appindicator"), "{line}");
    // The window follows the dark theme (prefers-color-scheme: dark).
    assert_eq!(page_background(&client).await, "rgb(18, 22, 29)");
    // Every balance is in the window.
    eventually("Dana's balance in the window", WAIT, || async {
        let balance = client.find(Locator::Css(".account .balance")).await.ok()?;
        balance.text().await.ok().filter(|t| t == "£1,234.56")
    })
    .await;

    // Closing asks; "Keep it open" keeps it.
    click(&client, "close").await;
    let question = eventually("the quit question", WAIT, || visible_text(&client, "quit-title")).await;
    assert_eq!(question, "Quit monzo-tray?");
    assert_eq!(settings_windows(&xvfb.display), 1, "the window stays");
    click(&client, "quit-keep").await;
    eventually("the question gone", WAIT, || async {
        visible_text(&client, "quit-question")
            .await
            .is_none()
            .then_some(())
    })
    .await;

    // A panel with a tray comes: the line goes. It leaves: the line is back.
    let watcher = TrayWatcher::start(desktop.bus_address()).await.unwrap();
    eventually("the line gone with a tray host", WAIT, || async {
        visible_text(&client, "no-tray").await.is_none().then_some(())
    })
    .await;
    watcher.stop().await;
    eventually("the line back without one", WAIT, || {
        visible_text(&client, "no-tray")
    })
    .await;

    // Closing, then Quit: the app ends.
    click(&client, "close").await;
    eventually("the quit question again", WAIT, || {
        visible_text(&client, "quit-title")
    })
    .await;
    let running = || driver.descendants().iter().any(|(_, comm)| comm == "monzo-tray");
    assert!(running());
    // The app ends while answering the click: the WebDriver reply may never come.
    let _ = reach(&client, "quit-confirm").await.click().await;
    eventually("the app ended", WAIT, || async { (!running()).then_some(()) }).await;
}
