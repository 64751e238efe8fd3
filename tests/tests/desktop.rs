//! The desktop app end to end, in the real webview: Xvfb, a private D-Bus session
//! with gnome-keyring, tauri-driver + WebKitWebDriver driving the settings window,
//! the sandbox over HTTP standing in for Monzo, and the tray menu read from outside
//! the process over D-Bus (StatusNotifierItem + com.canonical.dbusmenu).
//!
//! One test function (tauri-driver sessions run one at a time), in named steps that
//! run in order on one app; a failure names its step.

use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use monzo_sandbox::fixture::ClientFixture;
use monzo_sandbox::{FaultKind, FaultPlan, Fixture, Sandbox};
use monzo_tray_e2e::gui::{click, eventually, reach, type_into, visible_text, Driver, Xvfb};
use monzo_tray_e2e::notification_server::NotificationServer;
use monzo_tray_e2e::tray_watcher::TrayWatcher;
use monzo_tray_e2e::Desktop;

const CLIENT_ID: &str = "oauthclient_00009desktope2e";
const CLIENT_SECRET: &str = "mnzconf.desktop-e2e-secret-93ab";
const WAIT: Duration = Duration::from_secs(30);

/// Starts a sign-in from the form and returns the authorize URL the UI shows.
async fn start_sign_in(client: &Client, name: &str) -> String {
    let before = client
        .find(Locator::Id("signin-url"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap();
    type_into(client, "add-name", name).await;
    type_into(client, "add-client-id", CLIENT_ID).await;
    type_into(client, "add-secret", CLIENT_SECRET).await;
    click(client, "add-submit").await;
    eventually("the sign-in step with the authorize address", WAIT, || async {
        let link = client.find(Locator::Id("signin-url")).await.ok()?;
        let href = link.attr("href").await.ok()??;
        (href.contains("client_id=") && Some(&href) != before.as_ref()).then_some(href)
    })
    .await
}

async fn person_state(client: &Client, name: &str) -> Option<String> {
    for person in client.find_all(Locator::Css("#people .person")).await.ok()? {
        let label = person
            .find(Locator::Css(".person-name"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        if label == name {
            return person.attr("data-state").await.ok()?;
        }
    }
    None
}

/// A button (`css`) in the entry of the person called `name`.
async fn person_button(client: &Client, name: &str, css: &str) -> Option<Element> {
    for person in client.find_all(Locator::Css("#people .person")).await.ok()? {
        let label = person
            .find(Locator::Css(".person-name"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        if label == name {
            return person.find(Locator::Css(css)).await.ok();
        }
    }
    None
}

/// Scrolls `element` into view and clicks it.
async fn click_element(client: &Client, element: &Element) {
    let arg = serde_json::to_value(element).unwrap();
    client
        .execute("arguments[0].scrollIntoView({block: 'center'})", vec![arg])
        .await
        .unwrap();
    element.click().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_approve_see_balances_paste_and_remove_in_the_real_webview() {
    let xvfb = Xvfb::start();
    let desktop = Desktop::start();
    let mut fixture = Fixture::demo();
    fixture.users.iter_mut().for_each(|u| u.approve_on_login = false);
    fixture.clients.push(ClientFixture {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        confidential: true,
        redirect_uris: vec![],
    });
    let sandbox = Sandbox::start_local(fixture).await.unwrap();
    let watcher = TrayWatcher::start(desktop.bus_address()).await.unwrap();
    let notifications = NotificationServer::start(desktop.bus_address()).await.unwrap();
    let redirect_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Driver::start(
        &desktop,
        &xvfb,
        &[
            ("MONZO_API_URL", sandbox.api_url()),
            ("MONZO_AUTH_URL", sandbox.auth_url()),
            ("MONZO_TRAY_REDIRECT_PORT", redirect_port.to_string()),
            ("MONZO_TRAY_LOG", "info".into()),
        ],
    );
    // A hand-edited settings file with one wrong value: the window names it.
    std::fs::write(desktop.settings_path(), r#"{"poll_interval_secs": "sixty"}"#).unwrap();
    let client = driver.session(&["--settings"]).await;
    let world = World {
        xvfb,
        desktop,
        sandbox,
        watcher,
        notifications,
        redirect_port,
        driver,
        client,
    };
    step(
        "a_wrong_settings_value_is_named",
        a_wrong_settings_value_is_named(&world),
    )
    .await;
    step(
        "an_empty_household_is_told_where_to_start",
        an_empty_household_is_told_where_to_start(&world),
    )
    .await;
    step(
        "bad_input_is_shown_next_to_its_field",
        bad_input_is_shown_next_to_its_field(&world),
    )
    .await;
    step(
        "a_taken_redirect_port_is_said_and_nothing_stored",
        a_taken_redirect_port_is_said_and_nothing_stored(&world),
    )
    .await;
    step(
        "sign_in_waits_for_the_approval_in_the_app",
        sign_in_waits_for_the_approval_in_the_app(&world),
    )
    .await;
    step(
        "approval_makes_the_person_live",
        approval_makes_the_person_live(&world),
    )
    .await;
    step(
        "the_history_is_imported_and_can_be_turned_off",
        the_history_is_imported_and_can_be_turned_off(&world),
    )
    .await;
    step(
        "the_tray_lists_balances_pots_and_actions",
        the_tray_lists_balances_pots_and_actions(&world),
    )
    .await;
    step(
        "refresh_now_shows_a_new_balance",
        refresh_now_shows_a_new_balance(&world),
    )
    .await;
    step(
        "recent_transactions_and_their_notification",
        recent_transactions_and_their_notification(&world),
    )
    .await;
    step(
        "a_pot_move_is_confirmed_and_made_once",
        a_pot_move_is_confirmed_and_made_once(&world),
    )
    .await;
    step(
        "hide_amounts_hides_every_amount",
        hide_amounts_hides_every_amount(&world),
    )
    .await;
    step("a_pasted_address_signs_in", a_pasted_address_signs_in(&world)).await;
    step(
        "a_person_stays_bound_to_their_monzo_user",
        a_person_stays_bound_to_their_monzo_user(&world),
    )
    .await;
    step(
        "removing_a_person_removes_their_secrets",
        removing_a_person_removes_their_secrets(&world),
    )
    .await;
    step("notifications_are_said_once", notifications_are_said_once(&world)).await;
    step(
        "a_locked_screen_pauses_polling",
        a_locked_screen_pauses_polling(&world),
    )
    .await;
    step(
        "start_at_login_comes_and_goes",
        start_at_login_comes_and_goes(&world),
    )
    .await;
    step(
        "the_webview_never_holds_a_secret",
        the_webview_never_holds_a_secret(&world),
    )
    .await;
    step(
        "closing_the_window_keeps_the_tray",
        closing_the_window_keeps_the_tray(&world),
    )
    .await;
    step(
        "a_second_launch_opens_the_first_ones_window",
        a_second_launch_opens_the_first_ones_window(&world),
    )
    .await;
    let _ = world.client.close().await;
}

/// What the steps share: one app, driven from outside. Fields drop in this order:
/// the app and its driver before the sandbox, the session bus and the X server.
struct World {
    client: Client,
    driver: Driver,
    redirect_port: u16,
    notifications: NotificationServer,
    watcher: TrayWatcher,
    sandbox: Sandbox,
    desktop: Desktop,
    xvfb: Xvfb,
}

/// The approval notification's title for Dana.
const APPROVAL_NOTE: &str = "Approve access for Dana in the Monzo app";

/// Runs one named step; if it fails, the failure says which step it was (the steps
/// run in order on one app, so the first failure ends the run).
async fn step(name: &str, run: impl std::future::Future<Output = ()>) {
    struct Named<'a>(&'a str);
    impl Drop for Named<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                eprintln!("desktop step failed: {}", self.0);
            }
        }
    }
    let _named = Named(name);
    eprintln!("desktop step: {name}");
    run.await;
}

/// How many visible windows named monzo-tray `display` shows.
fn visible_windows(display: &str) -> usize {
    let out = std::process::Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", "^monzo-tray$"])
        .env("DISPLAY", display)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// The WebKit processes the app runs (not the driver's own).
fn webkit_processes(driver: &Driver) -> Vec<(u32, String)> {
    driver
        .descendants()
        .into_iter()
        .filter(|(_, comm)| comm.starts_with("WebKit") && comm != "WebKitWebDriver")
        .collect()
}

async fn a_wrong_settings_value_is_named(w: &World) {
    let World { client, .. } = w;
    let notice = eventually("the settings notice", WAIT, || visible_text(client, "notice")).await;
    assert!(notice.contains("\"poll_interval_secs\" is \"sixty\""), "{notice}");
}

/// An empty household: the tray says where to start.
async fn an_empty_household_is_told_where_to_start(w: &World) {
    let World { watcher, .. } = w;
    let labels = watcher.labels(WAIT).await;
    assert!(
        labels.iter().any(|l| l.label.contains("open Settings")),
        "{labels:#?}"
    );
}

/// Bad input is shown next to its field, and nothing starts.
async fn bad_input_is_shown_next_to_its_field(w: &World) {
    let World { client, .. } = w;
    type_into(client, "add-name", "Dana").await;
    type_into(client, "add-client-id", "not a client id").await;
    type_into(client, "add-secret", CLIENT_SECRET).await;
    click(client, "add-submit").await;
    let error = eventually("the client id error", WAIT, || {
        visible_text(client, "add-client-id-error")
    })
    .await;
    assert!(error.contains("client id"), "{error}");
}

/// The redirect port taken by something else: said plainly, nothing stored.
async fn a_taken_redirect_port_is_said_and_nothing_stored(w: &World) {
    let World { desktop, client, .. } = w;
    let redirect_port = w.redirect_port;
    let squatter = std::net::TcpListener::bind(("127.0.0.1", redirect_port)).unwrap();
    type_into(client, "add-client-id", CLIENT_ID).await;
    click(client, "add-submit").await;
    let error = eventually("the port-in-use error", WAIT, || {
        visible_text(client, "add-error")
    })
    .await;
    assert!(error.contains("already in use"), "{error}");
    drop(squatter);
    assert!(desktop.keyring_entries().is_empty());
}

/// Sign in through the loopback redirect: the test plays the browser.
async fn sign_in_waits_for_the_approval_in_the_app(w: &World) {
    let World {
        watcher,
        notifications,
        client,
        ..
    } = w;
    let redirect_port = w.redirect_port;
    let authorize = start_sign_in(client, "Dana").await;
    assert!(
        authorize.contains(&format!("127.0.0.1%3A{redirect_port}")),
        "{authorize}"
    );
    let page = reqwest::get(format!("{authorize}&user=Dana"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("close this tab"));
    let step = eventually("the approve-in-the-app step", WAIT, || {
        visible_text(client, "signin-approval")
    })
    .await;
    assert!(
        step.contains("Approve access in your Monzo app, then press Continue"),
        "{step}"
    );
    let tray = watcher
        .wait_for(WAIT, |l| {
            l.iter()
                .any(|e| e.label.contains("Approve access in the Monzo app"))
        })
        .await;
    assert!(tray.iter().any(|e| e.label == "Dana"));
    eventually("the approval notification", WAIT, || async {
        notifications
            .shown()
            .iter()
            .any(|n| n.summary == APPROVAL_NOTE)
            .then_some(())
    })
    .await;
}

/// Approve in the "app"; Continue finds it.
async fn approval_makes_the_person_live(w: &World) {
    let World { sandbox, client, .. } = w;
    sandbox.approve("Dana").unwrap();
    click(client, "continue").await;
    let done = eventually("the sign-in to finish", WAIT, || {
        visible_text(client, "signin-done")
    })
    .await;
    assert_eq!(done, "Dana is connected.");
    eventually("Dana live in the people list", WAIT, || async {
        (person_state(client, "Dana").await.as_deref() == Some("live")).then_some(())
    })
    .await;
    let balances = eventually("Dana's balances in the UI", WAIT, || async {
        let text = client.find(Locator::Id("people")).await.ok()?.text().await.ok()?;
        text.contains("£1,234.56").then_some(text)
    })
    .await;
    assert!(
        balances.contains("£3,055.31") && balances.contains("Holiday ☀️"),
        "{balances}"
    );
}

/// Once approved, the engine imports Dana's whole history while Monzo's 5 minutes
/// last, and the window says how far back it goes; turning it off deletes it (the
/// line goes), turning it on again keeps it from then on.
async fn the_history_is_imported_and_can_be_turned_off(w: &World) {
    let World { client, .. } = w;
    let line = eventually("Dana's history imported", WAIT, || async {
        let line = person_button(client, "Dana", ".history-line")
            .await?
            .text()
            .await
            .ok()?;
        line.starts_with("Dana's history: back to").then_some(line)
    })
    .await;
    assert!(line.contains(" transactions"), "{line}");
    let toggle = person_button(client, "Dana", ".keep-history").await.unwrap();
    click_element(client, &toggle).await;
    eventually("the history line gone", WAIT, || async {
        person_button(client, "Dana", ".history-line")
            .await
            .is_none()
            .then_some(())
    })
    .await;
    let toggle = person_button(client, "Dana", ".keep-history").await.unwrap();
    click_element(client, &toggle).await;
    eventually("history kept again", WAIT, || async {
        let toggle = person_button(client, "Dana", ".keep-history").await?;
        (toggle.prop("checked").await.ok()?.as_deref() == Some("true")).then_some(())
    })
    .await;
}

/// The tray menu, read over D-Bus: balances, totals, pots, actions.
async fn the_tray_lists_balances_pots_and_actions(w: &World) {
    let World { watcher, client, .. } = w;
    let tray = watcher
        .wait_for(WAIT, |l| {
            l.iter().any(|e| e.label == "Current Account   £1,234.56")
        })
        .await;
    let tray_labels: Vec<&str> = tray.iter().map(|e| e.label.as_str()).collect();
    for wanted in [
        "Dana",
        "    with pots £3,055.31",
        "  Holiday ☀️   £1,500.00",
        "Joint Account   £842.10",
        "Refresh now",
        "Hide amounts",
        "History…",
        "Settings…",
        "Quit",
        "Reconnect Dana…",
    ] {
        assert!(
            tray_labels.contains(&wanted),
            "{wanted:?} missing from {tray_labels:#?}"
        );
    }
    assert!(
        !tray_labels.iter().any(|l| l.contains("New bike")),
        "deleted pots never show"
    );
    // The month at a glance, per account whose history is kept.
    let tray = watcher
        .wait_for(WAIT, |l| {
            l.iter().any(|e| e.label.starts_with("    This month: spent £"))
        })
        .await;
    let month = tray
        .iter()
        .find(|e| e.label.starts_with("    This month: spent £"))
        .unwrap();
    let rest = month.label.trim_start_matches("    This month: spent £");
    assert!(
        rest.starts_with(|c: char| c.is_ascii_digit())
            && (!rest.contains('(') || rest.contains("(last month £") && rest.ends_with(" by this day)")),
        "{}",
        month.label
    );
    // "History…" brings the open window to its History tab; back to Settings after.
    watcher.click("History…").await;
    eventually("the History tab", WAIT, || async {
        let tab = client.find(Locator::Id("tab-history")).await.ok()?;
        (tab.attr("aria-selected").await.ok()?.as_deref() == Some("true")).then_some(())
    })
    .await;
    click(client, "tab-settings").await;
    eventually("the Settings tab", WAIT, || async {
        let panel = client.find(Locator::Id("panel-settings")).await.ok()?;
        panel.is_displayed().await.ok()?.then_some(())
    })
    .await;
}

/// A balance changes at "Monzo"; "Refresh now" clicked in the tray shows it.
async fn refresh_now_shows_a_new_balance(w: &World) {
    let World { sandbox, watcher, .. } = w;
    sandbox.set_balance("acc_00009demodanacurrent", 500).unwrap();
    watcher.click("Refresh now").await;
    watcher
        .wait_for(WAIT, |l| l.iter().any(|e| e.label == "Current Account   £5.00"))
        .await;
}

/// Recent transactions: a "Recent" submenu per account, newest first. Dana asks
/// for notifications of her new transactions (off until she does).
async fn recent_transactions_and_their_notification(w: &World) {
    let World {
        desktop,
        sandbox,
        watcher,
        notifications,
        client,
        ..
    } = w;
    let recent = watcher
        .wait_for(WAIT, |l| {
            l.iter().any(|e| e.label.ends_with("Tesco Metro  -£12.30"))
        })
        .await;
    assert!(recent.iter().any(|e| e.label == "    Recent"), "{recent:#?}");
    assert!(
        recent
            .iter()
            .any(|e| e.label.ends_with("To Holiday ☀️  -£500.00")),
        "pot transfers named: {recent:#?}"
    );
    assert!(
        recent
            .iter()
            .any(|e| e.label.ends_with("Co-op  -£45.00 (declined)")),
        "declined ones marked: {recent:#?}"
    );
    let notify = eventually("Dana's notify box", WAIT, || async {
        person_button(client, "Dana", ".notify").await
    })
    .await;
    click_element(client, &notify).await;
    eventually("the choice saved", WAIT, || async {
        let saved = std::fs::read_to_string(desktop.settings_path()).ok()?;
        saved.contains("\"notify_transactions\": true").then_some(())
    })
    .await;
    sandbox
        .add_transaction(monzo_tray_e2e::spend(
            "acc_00009demodanacurrent",
            -1599,
            "M&S Simply Food",
        ))
        .unwrap();
    watcher.click("Refresh now").await;
    watcher
        .wait_for(WAIT, |l| {
            l.iter().any(|e| e.label.ends_with("M&S Simply Food  -£15.99"))
        })
        .await;
    let told = "Dana · -£15.99 M&S Simply Food";
    eventually("the transaction notification", WAIT, || async {
        notifications
            .shown()
            .iter()
            .any(|n| n.summary == told)
            .then_some(())
    })
    .await;
}

/// Move money out of a pot from the window: a wrong amount is shown next to its
/// field; the question says exactly what will happen; the move is made once and
/// the tray follows.
async fn a_pot_move_is_confirmed_and_made_once(w: &World) {
    let World {
        sandbox,
        watcher,
        client,
        ..
    } = w;
    let holiday = "li.pot[data-id='pot_00009demoholiday']";
    let find = |css: String| {
        let client = &client;
        async move { client.find(Locator::Css(&css)).await.unwrap() }
    };
    click_element(client, &find(format!("{holiday} .move")).await).await;
    let amount = find(format!("{holiday} .move-amount")).await;
    amount.send_keys("12.345").await.unwrap();
    click_element(client, &find(format!("{holiday} .move-continue")).await).await;
    let wrong = eventually("the amount's error", WAIT, || async {
        let text = find(format!("{holiday} .move-amount-error"))
            .await
            .text()
            .await
            .ok()?;
        (!text.is_empty()).then_some(text)
    })
    .await;
    assert!(wrong.contains("2 decimal places"), "{wrong}");
    amount.clear().await.unwrap();
    amount.send_keys("20").await.unwrap();
    click_element(client, &find(format!("{holiday} .move-out")).await).await;
    click_element(client, &find(format!("{holiday} .move-continue")).await).await;
    let question = eventually("the move's question", WAIT, || async {
        let text = find(format!("{holiday} .move-question"))
            .await
            .text()
            .await
            .ok()?;
        (!text.is_empty()).then_some(text)
    })
    .await;
    assert_eq!(
        question,
        "Move £20.00 out of Holiday ☀️ into Dana's Current Account?"
    );
    let pot_at_monzo = || {
        sandbox
            .fixture()
            .pots
            .iter()
            .find(|p| p.id == "pot_00009demoholiday")
            .unwrap()
            .balance
    };
    assert_eq!(pot_at_monzo(), 150_000, "nothing moves before the confirmation");
    // Every try of the move is lost on the way: the outcome is unknown, the person is
    // told to check, and "Try again" sends the same move (its dedupe id) once Monzo
    // answers again: moved once.
    sandbox.set_faults(FaultPlan::every(
        FaultKind::DropConnection,
        "/pots/pot_00009demoholiday/withdraw",
    ));
    click_element(client, &find(format!("{holiday} .move-confirm")).await).await;
    let unknown = eventually("the unknown outcome", WAIT, || async {
        let text = find(format!("{holiday} .move-error")).await.text().await.ok()?;
        (!text.is_empty()).then_some(text)
    })
    .await;
    assert!(unknown.contains("Check the pot in the Monzo app"), "{unknown}");
    let try_again = find(format!("{holiday} .move-confirm")).await;
    assert_eq!(try_again.text().await.unwrap(), "Try again");
    assert_eq!(pot_at_monzo(), 150_000);
    sandbox.clear_faults();
    click_element(client, &try_again).await;
    let done = eventually("the move's result", WAIT, || visible_text(client, "move-result")).await;
    assert_eq!(done, "Moved £20.00 out of Holiday ☀️; it now holds £1,480.00.");
    assert_eq!(pot_at_monzo(), 148_000);
    watcher
        .wait_for(WAIT, |l| {
            l.iter().any(|e| e.label == "  Holiday ☀\u{fe0f}   £1,480.00")
        })
        .await;
}

/// Hide amounts from the tray: every amount becomes £•••.
async fn hide_amounts_hides_every_amount(w: &World) {
    let World { watcher, .. } = w;
    watcher.click("Hide amounts").await;
    let hidden = watcher
        .wait_for(WAIT, |l| l.iter().any(|e| e.label == "Current Account   £•••"))
        .await;
    assert!(!hidden
        .iter()
        .any(|e| e.label.contains("£10.99") || e.label.contains("£1,500.00") || e.label.contains("Tesco")));
    let hidden = watcher
        .wait_for(WAIT, |l| {
            l.iter()
                .any(|e| e.label.starts_with("    This month: spent £•••"))
        })
        .await;
    assert!(
        !hidden
            .iter()
            .any(|e| e.label.starts_with("    This month: spent £")
                && e.label.chars().any(|c| c.is_ascii_digit())),
        "the month line hides its amounts"
    );
    watcher.click("Hide amounts").await;
    // £5.00, less the £15.99 at M&S, plus the £20.00 out of Holiday.
    watcher
        .wait_for(WAIT, |l| l.iter().any(|e| e.label == "Current Account   £9.01"))
        .await;
}

/// The paste path: Alex opened the email on a phone.
async fn a_pasted_address_signs_in(w: &World) {
    let World { sandbox, client, .. } = w;
    let authorize = start_sign_in(client, "Alex").await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let landed = no_redirects
        .get(format!("{authorize}&user=Alex"))
        .send()
        .await
        .unwrap()
        .headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    type_into(client, "paste-input", "https://example.com/not-it").await;
    click(client, "paste-submit").await;
    let error = eventually("the paste error", WAIT, || visible_text(client, "paste-error")).await;
    assert!(error.contains("sign-in"), "{error}");
    type_into(client, "paste-input", &landed).await;
    click(client, "paste-submit").await;
    eventually("Alex's approval step", WAIT, || {
        visible_text(client, "signin-approval")
    })
    .await;
    sandbox.approve("Alex").unwrap();
    // Completes by itself (no Continue): the engine looks again within seconds.
    let done = eventually(
        "Alex's sign-in to finish by itself",
        Duration::from_secs(45),
        || visible_text(client, "signin-done"),
    )
    .await;
    assert_eq!(done, "Alex is connected.");
}

/// A person is bound to their Monzo user. Reconnecting Dana while the browser
/// signs in to Alex's Monzo is refused, said in the window, and nobody is signed
/// out (the new sign-in ended Alex's old one, so it was kept for Alex).
async fn a_person_stays_bound_to_their_monzo_user(w: &World) {
    let World { sandbox, client, .. } = w;
    let reconnect_dana = eventually("Dana's reconnect button", WAIT, || async {
        person_button(client, "Dana", ".reconnect").await
    })
    .await;
    let before = client
        .find(Locator::Id("signin-url"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap();
    click_element(client, &reconnect_dana).await;
    let authorize = eventually("the reconnect's authorize address", WAIT, || async {
        let href = client
            .find(Locator::Id("signin-url"))
            .await
            .ok()?
            .attr("href")
            .await
            .ok()??;
        (href.contains("client_id=") && Some(&href) != before.as_ref()).then_some(href)
    })
    .await;
    reqwest::get(format!("{authorize}&user=Alex")).await.unwrap();
    let refused = eventually("the wrong-account sentence", WAIT, || {
        visible_text(client, "signin-failed")
    })
    .await;
    assert!(refused.contains("Alex's Monzo account"), "{refused}");
    assert!(refused.contains("Dana keeps their sign-in"), "{refused}");
    // A new person who is a Monzo user already here is refused and pointed at them.
    let authorize = start_sign_in(client, "Alex again").await;
    reqwest::get(format!("{authorize}&user=Alex")).await.unwrap();
    let refused = eventually("the already-here sentence", WAIT, || async {
        visible_text(client, "signin-failed")
            .await
            .filter(|t| t.contains("already in the household"))
    })
    .await;
    assert!(
        refused.contains("as Alex") && refused.contains("Reconnect for Alex"),
        "{refused}"
    );
    // Alex's new sign-in waits for Alex's approval in the app, as any sign-in does.
    sandbox.approve("Alex").unwrap();
    click(client, "refresh").await;
    for name in ["Dana", "Alex"] {
        eventually(&format!("{name} live again"), WAIT, || async {
            (person_state(client, name).await.as_deref() == Some("live")).then_some(())
        })
        .await;
    }
    assert!(
        person_state(client, "Alex again").await.is_none(),
        "nobody was added"
    );
}

/// Remove Dana: two clicks; her keyring entries go too.
async fn removing_a_person_removes_their_secrets(w: &World) {
    let World {
        desktop,
        watcher,
        client,
        ..
    } = w;
    let before = desktop.keyring_entries().len();
    assert_eq!(before, 6, "three entries each for Dana and Alex");
    // Two clicks: the first arms the button, the second removes. A new snapshot
    // redraws the list (the two clicks then start over, and an element found
    // before it is stale), so each round finds the button again.
    eventually("Dana removed", WAIT, || async {
        if person_state(client, "Dana").await.is_none() {
            return Some(());
        }
        let remove = person_button(client, "Dana", ".remove").await?;
        let armed = remove.attr("class").await.ok()??.contains("confirm");
        let arg = serde_json::to_value(&remove).ok()?;
        client
            .execute("arguments[0].scrollIntoView({block: 'center'})", vec![arg])
            .await
            .ok()?;
        remove.click().await.ok()?;
        if armed {
            // Removing: give it time before looking again, so it is asked once.
            for _ in 0..50 {
                if person_state(client, "Dana").await.is_none() {
                    return Some(());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        None
    })
    .await;
    assert_eq!(desktop.keyring_entries().len(), 3);
    watcher
        .wait_for(WAIT, |l| {
            !l.iter().any(|e| e.label == "Dana") && l.iter().any(|e| e.label == "Alex")
        })
        .await;
}

/// Notifications were edge-triggered: the approval one was said once, however
/// many polls saw Dana waiting.
async fn notifications_are_said_once(w: &World) {
    let World { notifications, .. } = w;
    let said = notifications.shown();
    assert_eq!(
        said.iter().filter(|n| n.summary == APPROVAL_NOTE).count(),
        1,
        "{said:#?}"
    );
}

/// Screen locked: no polling, even when asked; unlocked: it catches up at once.
async fn a_locked_screen_pauses_polling(w: &World) {
    let World {
        desktop,
        sandbox,
        watcher,
        ..
    } = w;
    let bus = zbus::connection::Builder::address(desktop.bus_address())
        .unwrap()
        .build()
        .await
        .unwrap();
    let lock = |locked: bool| {
        let bus = bus.clone();
        async move {
            bus.emit_signal(
                None::<()>,
                "/org/gnome/ScreenSaver",
                "org.gnome.ScreenSaver",
                "ActiveChanged",
                &(locked,),
            )
            .await
            .unwrap()
        }
    };
    lock(true).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    sandbox.reset_request_counts();
    watcher.click("Refresh now").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        sandbox.total_requests(),
        0,
        "no polling while the screen is locked"
    );
    sandbox.set_balance("acc_00009demoalexcurrent", 4200).unwrap();
    lock(false).await;
    watcher
        .wait_for(WAIT, |l| l.iter().any(|e| e.label == "Current Account   £42.00"))
        .await;
}

/// Start at login: an XDG autostart entry appears, and goes again.
async fn start_at_login_comes_and_goes(w: &World) {
    let World { desktop, client, .. } = w;
    let autostart_dir = desktop.dir.path().join("home/.config/autostart");
    let entries = || std::fs::read_dir(&autostart_dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(entries(), 0);
    click(client, "autostart").await;
    eventually("an autostart entry", WAIT, || async {
        (entries() == 1).then_some(())
    })
    .await;
    click(client, "autostart").await;
    eventually("the autostart entry removed", WAIT, || async {
        (entries() == 0).then_some(())
    })
    .await;
}

/// The webview never held a secret.
async fn the_webview_never_holds_a_secret(w: &World) {
    let World { sandbox, client, .. } = w;
    let html = client.source().await.unwrap();
    assert!(!html.contains(CLIENT_SECRET));
    for token in sandbox.issued_tokens() {
        assert!(!html.contains(&token.access_token));
    }
}

/// Closing the window destroys it but never quits: the tray stays.
async fn closing_the_window_keeps_the_tray(w: &World) {
    let World {
        xvfb,
        watcher,
        driver,
        client,
        ..
    } = w;
    assert_eq!(visible_windows(&xvfb.display), 1);
    // The click destroys the very window WebDriver is talking to, so its answer may
    // be "no such window": what counts is that the window is gone, below.
    let _ = reach(client, "close").await.click().await;
    eventually("the settings window gone", WAIT, || async {
        (visible_windows(&xvfb.display) == 0).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!watcher.labels(WAIT).await.is_empty(), "the tray lives on");
    // And no WebKit process is left behind (the network process is ended).
    eventually("no WebKit process left", WAIT, || async {
        webkit_processes(driver).is_empty().then_some(())
    })
    .await;
}

/// One instance only: a second launch opens the settings window of the first.
async fn a_second_launch_opens_the_first_ones_window(w: &World) {
    let World {
        xvfb,
        desktop,
        sandbox,
        driver,
        ..
    } = w;
    let second = desktop
        .command(monzo_tray_e2e::binary())
        .env("DISPLAY", &xvfb.display)
        .env("MONZO_API_URL", sandbox.api_url())
        .env("MONZO_AUTH_URL", sandbox.auth_url())
        .output()
        .unwrap();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    eventually(
        "the settings window reopened by the second launch",
        WAIT,
        || async { (visible_windows(&xvfb.display) == 1).then_some(()) },
    )
    .await;
    // The new webview works with a new network process: the page is drawn (a blank
    // or crashed page is a handful of colours; text and buttons are hundreds). The
    // WebDriver session ended with the first window, so this is read off the screen.
    let drawn_colours = || {
        let display = xvfb.display.clone();
        let id = std::process::Command::new("xdotool")
            .args(["search", "--onlyvisible", "--name", "^monzo-tray$"])
            .env("DISPLAY", &display)
            .output()
            .unwrap();
        let id = String::from_utf8_lossy(&id.stdout).lines().next()?.to_owned();
        let shot = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("import -window {id} png:- | identify -format %k -"))
            .env("DISPLAY", &display)
            .output()
            .ok()?;
        String::from_utf8_lossy(&shot.stdout).trim().parse::<u32>().ok()
    };
    eventually("the reopened window drawn", WAIT, || async {
        drawn_colours().filter(|&colours| colours > 100)
    })
    .await;
    assert!(
        webkit_processes(driver)
            .iter()
            .any(|(_, comm)| comm == "WebKitNetworkPr"),
        "{:?}",
        webkit_processes(driver)
    );
}
