//! The History view in the real webview (tauri-driver + WebKitWebDriver under Xvfb),
//! against the sandbox's years of generated history: what the charts were given to
//! draw, read from the uPlot objects themselves (series, number of points, first and
//! last values), compared with `monzo-tray history --json` and `spending --json` for
//! the same data; ranges, a person, a month's merchants by keyboard, privacy mode
//! hiding every amount, and the dark theme.

use std::time::Duration;

use chrono::{Datelike, Months, NaiveDate};
use fantoccini::{Client, Locator};
use monzo_sandbox::{Fixture, Sandbox};
use monzo_tray_e2e::gui::{click, eventually, Driver, Xvfb};
use monzo_tray_e2e::{cli_login, text, Desktop};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(60);

/// What the charts hold, from the uPlot instances (see ui/history.js).
const READ_CHARTS: &str = r#"
const charts = window.monzoCharts ?? { balances: [], spending: [] };
const last = (d) => { for (let i = d.length - 1; i >= 0; i--) if (d[i] != null) return d[i]; return null; };
const first = (d) => d.find((v) => v != null) ?? null;
return {
  balances: charts.balances.map((u) => ({
    currency: u.monzo.currency,
    person: u.monzo.person,
    privacy: u.monzo.privacy,
    labels: u.series.slice(1).map((s) => s.label),
    dashes: u.series.slice(1).map((s) => s.dash ?? null),
    x: u.data[0],
    drawn: u.data.slice(1).map((d) => ({ points: d.length, first: first(d), last: last(d) })),
    series: u.monzo.series,
    summaries: u.monzo.summaries,
    ticks: u.axes[1].values(u, [100, 2500, 10000], 1, 50, 100),
    stroke: u.series[1].stroke(),
    axis: u.axes[0].stroke(u, 0),
  })),
  spending: charts.spending.map((u) => ({
    currency: u.monzo.currency,
    person: u.monzo.person,
    privacy: u.monzo.privacy,
    months: u.monzo.months,
    categories: u.monzo.categories.map((c) => c.category),
    values: u.monzo.values,
    drawn: u.data.slice(1),
    totals: u.monzo.totals,
    ticks: u.axes[1].values(u, [100, 2500], 1, 50, 100),
  })),
  month: [...document.querySelectorAll('#month-merchants .amount')].map((e) => e.textContent),
};
"#;

async fn charts(client: &Client) -> Value {
    client.execute(READ_CHARTS, vec![]).await.unwrap()
}

/// Waits until the charts drawn satisfy `ready`.
async fn charts_when(client: &Client, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
    eventually(what, WAIT, || async {
        let read = charts(client).await;
        ready(&read).then_some(read)
    })
    .await
}

/// The chart of `kind` ("balances", "spending") in `currency`, as read.
fn chart_in(read: &Value, kind: &str, currency: &str) -> Value {
    read[kind]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["currency"] == currency)
        .unwrap_or_else(|| panic!("no {kind} chart in {currency}: {read}"))
        .clone()
}

fn run(desktop: &Desktop, sandbox: &Sandbox, args: &[&str]) -> Value {
    let (code, out, err) = text(
        desktop
            .monzo_tray(&sandbox.api_url())
            .args(args)
            .env("MONZO_TRAY_LOG", "off")
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|_| panic!("{args:?}: {out}"))
}

/// The UK day of a chart's x (noon UTC of that day).
fn day_of(x: &Value) -> NaiveDate {
    chrono::DateTime::from_timestamp(x.as_i64().unwrap(), 0)
        .unwrap()
        .date_naive()
}

fn strings(values: &Value) -> Vec<Option<String>> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// A person's account and pot lines against `history --json` for the same days:
/// every value, a pot's observed and rebuilt series together.
fn check_person(chart: &Value, history: &Value, person: &str) {
    let series = chart["series"].as_array().unwrap();
    let x = chart["x"].as_array().unwrap();
    let days: Vec<NaiveDate> = x.iter().map(day_of).collect();
    let mut lines = 0;
    for account in history["accounts"].as_array().unwrap() {
        if account["currency"] != chart["currency"] {
            continue;
        }
        let name = account["name"].as_str().unwrap();
        let line = series
            .iter()
            .find(|s| s["label"] == name && s["kind"] == "account")
            .unwrap_or_else(|| panic!("{person}: no line for {name}: {series:#?}"));
        let want: Vec<Option<String>> = days
            .iter()
            .map(|d| {
                account["days"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|day| day["date"] == d.to_string())
                    .map(|day| day["balance"].as_str().unwrap().to_owned())
            })
            .collect();
        assert_eq!(strings(&line["values"]), want, "{person}'s {name}");
        lines += 1;
        for pot in account["pots"].as_array().unwrap() {
            let pot_name = pot["name"].as_str().unwrap();
            let observed = series
                .iter()
                .find(|s| s["label"] == pot_name && s["kind"] == "pot");
            let rebuilt = series
                .iter()
                .find(|s| s["label"] == format!("{pot_name} (rebuilt)") && s["kind"] == "pot_rebuilt");
            assert!(
                observed.is_some() || rebuilt.is_some(),
                "no line for the pot {pot_name}"
            );
            for (i, d) in days.iter().enumerate() {
                let Some(want) = pot["days"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|day| day["date"] == d.to_string())
                else {
                    continue;
                };
                let line = if want["rebuilt"] == true {
                    rebuilt
                } else {
                    observed
                };
                let line = line.unwrap_or_else(|| panic!("{pot_name} on {d}: no line of its kind"));
                assert_eq!(line["values"][i], want["balance"], "{pot_name} on {d}");
            }
            lines += 1;
        }
    }
    assert!(lines >= 2, "{person} has lines: {series:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built app, tauri-driver, WebKitWebDriver and Xvfb: scripts/test.sh runs it"]
async fn the_history_view_draws_what_the_command_line_prints() {
    let xvfb = Xvfb::start();
    let desktop = Desktop::start();
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    cli_login(&desktop, &sandbox.api_url(), "Dana");
    cli_login(&desktop, &sandbox.api_url(), "Alex");
    let env = [
        ("MONZO_API_URL", sandbox.api_url()),
        ("MONZO_AUTH_URL", sandbox.auth_url()),
    ];
    let driver = Driver::start(&desktop, &xvfb, &env);
    let client = driver.session(&["--history"]).await;

    // Opened on the History tab; everyone's total with pots over a year by default.
    let read = charts_when(&client, "the balances chart", |c| {
        c["balances"].as_array().is_some_and(|b| !b.is_empty())
    })
    .await;
    let selected = client
        .find(Locator::Id("tab-history"))
        .await
        .unwrap()
        .attr("aria-selected")
        .await
        .unwrap();
    assert_eq!(selected.as_deref(), Some("true"));
    let gbp = chart_in(&read, "balances", "GBP");
    let x = gbp["x"].as_array().unwrap();
    let from = day_of(&x[0]);
    let today = day_of(x.last().unwrap());
    assert_eq!(from, today.checked_sub_months(Months::new(12)).unwrap(), "a year");
    let history = run(
        &desktop,
        &sandbox,
        &["history", "--json", "--from", &from.to_string()],
    );
    let household: Vec<Option<String>> = history["household"]["GBP"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["total"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(gbp["series"].as_array().unwrap().len(), 1);
    assert_eq!(gbp["series"][0]["kind"], "household");
    assert_eq!(
        strings(&gbp["series"][0]["values"]),
        household,
        "every day's total"
    );
    let drawn = &gbp["drawn"][0];
    assert_eq!(drawn["points"], json!(household.len()));
    let number = |v: &Option<String>| v.as_deref().unwrap().parse::<f64>().unwrap();
    assert!((drawn["first"].as_f64().unwrap() - number(&household[0])).abs() < 1e-9);
    assert!((drawn["last"].as_f64().unwrap() - number(household.last().unwrap())).abs() < 1e-9);
    assert!(gbp["summaries"][0].as_str().unwrap().contains(" today"), "{gbp}");
    assert!(
        gbp["ticks"][1].as_str().unwrap().contains('£'),
        "ticks in pounds: {}",
        gbp["ticks"]
    );

    // Dana: a line per account and pot, each value as `history --person Dana` says.
    client
        .execute(
            "const s = document.getElementById('history-person'); s.value = 'Dana'; s.dispatchEvent(new Event('change'));",
            vec![],
        )
        .await
        .unwrap();
    let read = charts_when(&client, "Dana's lines", |c| c["balances"][0]["person"] == "Dana").await;
    let dana = run(
        &desktop,
        &sandbox,
        &[
            "history",
            "--json",
            "--person",
            "Dana",
            "--from",
            &from.to_string(),
        ],
    );
    let dana_gbp = chart_in(&read, "balances", "GBP");
    check_person(&dana_gbp, &dana, "Dana");
    for (label, dash) in dana_gbp["labels"]
        .as_array()
        .unwrap()
        .iter()
        .zip(dana_gbp["dashes"].as_array().unwrap())
    {
        if label.as_str().unwrap().ends_with("(rebuilt)") {
            assert_eq!(dash, &json!([8, 5]), "rebuilt pots are dashed");
        }
    }

    // All of it: back to the first day.
    click(&client, "range-all").await;
    let read = charts_when(&client, "the whole history", |c| {
        c["balances"][0]["x"]
            .as_array()
            .is_some_and(|x| !x.is_empty() && day_of(&x[0]) < from)
    })
    .await;
    let all = run(&desktop, &sandbox, &["history", "--json", "--person", "Dana"]);
    let all_gbp = chart_in(&read, "balances", "GBP");
    check_person(&all_gbp, &all, "Dana (all)");
    let first_day = all["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["currency"] == "GBP")
        .filter_map(|a| a["days"][0]["date"].as_str())
        .min()
        .unwrap()
        .to_owned();
    assert_eq!(day_of(&all_gbp["x"][0]).to_string(), first_day);

    // Dana's spending per category: this month and last as `spending` says.
    let read = charts_when(&client, "Dana's spending", |c| {
        c["spending"]
            .as_array()
            .is_some_and(|s| !s.is_empty() && s.iter().all(|c| c["person"] == "Dana"))
    })
    .await;
    let spending = chart_in(&read, "spending", "GBP");
    let months = spending["months"].as_array().unwrap();
    assert_eq!(months.len(), 12);
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap();
    assert_eq!(months[11], this_month.format("%Y-%m").to_string());
    for back in [0usize, 1, 2] {
        let month = months[11 - back].as_str().unwrap();
        let said = run(&desktop, &sandbox, &["spending", "--json", "--month", month]);
        let dana_said = said["spenders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "Dana")
            .map(|s| s["categories"].clone())
            .unwrap_or(json!([]));
        let categories = spending["categories"].as_array().unwrap();
        for (c, category) in categories.iter().enumerate() {
            let want = dana_said
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["category"] == *category && s["currency"] == "GBP")
                .map_or("0.00".to_owned(), |s| s["amount"].as_str().unwrap().to_owned());
            assert_eq!(
                spending["values"][c][11 - back],
                json!(want),
                "{category} in {month}"
            );
            let drawn = spending["drawn"][c][11 - back].as_f64().unwrap_or(0.0);
            assert!((drawn - want.parse::<f64>().unwrap()).abs() < 1e-9);
        }
        for said in dana_said
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["currency"] == "GBP")
        {
            assert!(categories.contains(&said["category"]), "{said} drawn");
        }
    }

    // A month by keyboard: focus the spending chart, Home, Enter → its merchants.
    client
        .execute(
            "document.querySelector('.chart[data-kind=\"spending\"]').focus();",
            vec![],
        )
        .await
        .unwrap();
    let chart = client
        .find(Locator::Css(".chart[data-kind=\"spending\"]"))
        .await
        .unwrap();
    // Home: the first of the 12 months, whole in the generated history (this month
    // may hold nothing yet on its 1st).
    chart.send_keys("\u{E011}").await.unwrap(); // Home
    chart.send_keys("\u{E007}").await.unwrap(); // Enter
    let merchants = eventually("the month's merchants", WAIT, || async {
        let items = client.find_all(Locator::Css("#month-merchants li")).await.ok()?;
        (!items.is_empty()).then_some(items.len())
    })
    .await;
    assert!(merchants <= 10);

    // Privacy mode: every amount hidden, in the charts' ticks and texts as in the page.
    client
        .execute(
            "document.getElementById('tab-settings').click(); const p = document.getElementById('privacy'); if (!p.checked) p.click();",
            vec![],
        )
        .await
        .unwrap();
    eventually("privacy saved", WAIT, || async {
        let settings: Value =
            serde_json::from_str(&std::fs::read_to_string(desktop.settings_path()).ok()?).ok()?;
        (settings["privacy_mode"] == true).then_some(())
    })
    .await;
    click(&client, "tab-history").await;
    let read = charts_when(&client, "the charts and the month in privacy mode", |c| {
        let all_hidden = |kind: &str| {
            c[kind]
                .as_array()
                .is_some_and(|list| !list.is_empty() && list.iter().all(|chart| chart["privacy"] == true))
        };
        all_hidden("balances")
            && all_hidden("spending")
            && c["month"]
                .as_array()
                .is_some_and(|m| m.iter().all(|t| t.as_str().unwrap_or("").ends_with("•••")))
    })
    .await;
    for chart in read["balances"].as_array().unwrap() {
        assert!(
            chart["ticks"].as_array().unwrap().iter().all(|t| t == ""),
            "{}",
            chart["ticks"]
        );
        for series in chart["series"].as_array().unwrap() {
            for text in series["texts"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
            {
                assert!(text.ends_with("•••"), "{text}");
            }
        }
        for summary in chart["summaries"].as_array().unwrap() {
            assert!(
                !summary.as_str().unwrap().chars().any(|c| c.is_ascii_digit()),
                "{summary}"
            );
        }
    }
    for chart in read["spending"].as_array().unwrap() {
        assert!(chart["ticks"].as_array().unwrap().iter().all(|t| t == ""));
        assert!(chart["totals"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t.as_str().unwrap().ends_with("•••")));
    }
    let page: String = client
        .execute(
            "return document.getElementById('panel-history').innerText;",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        regex_lite_amount("spent €12.30"),
        Some("€12.30".to_owned()),
        "the check finds amounts"
    );
    let amount = regex_lite_amount(&page);
    assert!(
        amount.is_none(),
        "an amount shows in privacy mode: {amount:?}\n{page}"
    );
    let light = read["balances"][0]["axis"].clone();
    let _ = client.close().await;
    drop(driver);

    // The dark theme: the same view in the dark scheme's colours.
    let mut dark_env = env.to_vec();
    dark_env.push(("GTK_THEME", "Adwaita:dark".to_owned()));
    let driver = Driver::start(&desktop, &xvfb, &dark_env);
    let client = driver.session(&["--history"]).await;
    let read = charts_when(&client, "the dark charts", |c| {
        c["balances"].as_array().is_some_and(|b| !b.is_empty())
    })
    .await;
    let dark: Value = client
        .execute(
            "return matchMedia('(prefers-color-scheme: dark)').matches;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(dark, json!(true));
    assert_ne!(read["balances"][0]["axis"], light, "the axes follow the theme");
    let _ = client.close().await;
}

/// The first amount in `text` (a currency's sign or code, then a digit: "£1",
/// "€2", "$3", "CHF 4"), if any.
fn regex_lite_amount(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let found = chars
        .windows(2)
        .position(|w| "£€$".contains(w[0]) && w[1].is_ascii_digit());
    let found = found.or_else(|| {
        chars
            .windows(5)
            .position(|w| w[..3].iter().all(char::is_ascii_uppercase) && w[3] == ' ' && w[4].is_ascii_digit())
    });
    found.map(|i| chars[i..(i + 12).min(chars.len())].iter().collect())
}
