//! The money history's full import, measured: a household of 3 people with 10 years
//! of history (`Fixture::benchmark_household`, about 100,000 transactions) in the
//! sandbox, imported into a real SQLite file.
//!
//! - With no rate limit: requests and time for the whole import, the database's
//!   size, and the times of `history --csv` (every account's daily balances) and
//!   `spending` for a month. Where the time goes: the import's requests
//!   (`/transactions` pages, each a round trip and a JSON page of 100) against the
//!   SQLite writes, timed apart.
//! - With Monzo's reported limit (30 requests in 5 minutes, then blocked 10
//!   minutes; monzo/docs#66), on the sandbox's clock (no real waiting): how much of
//!   the history fits in Monzo's 5 minutes after a sign-in, and how many sign-ins
//!   (Reconnects) the whole history would take.
//! - The process's private memory before the import and after it and the queries:
//!   history is kept on disk, not in memory.
//!
//! `cargo bench -p monzo-tray-e2e --bench history` (scripts/bench.sh runs it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use monzo_sandbox::{Fixture, Quota, Sandbox, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use monzo_tray_core::clock::Clock;
use monzo_tray_core::engine::{Engine, EngineConfig};
use monzo_tray_core::history::HistoryStore;
use monzo_tray_core::household::Household;
use monzo_tray_core::login::SignIn;
use monzo_tray_core::monzo::{http_client, Endpoints, MonzoApi};
use monzo_tray_core::secrets::SecretStore;
use monzo_tray_core::service::{AppService, HistoryFormat, HistoryQuery};
use monzo_tray_core::settings::Settings;

struct Run {
    sandbox: Sandbox,
    engine: Arc<Engine>,
    service: AppService,
    clock: Clock,
    file: std::path::PathBuf,
    _data: tempfile::TempDir,
}

async fn household(quota: Option<Quota>, clock: Clock) -> Run {
    let sandbox = Sandbox::start_local(Fixture::benchmark_household())
        .await
        .unwrap();
    sandbox.set_quota(quota);
    let http = http_client(Duration::from_secs(10)).unwrap();
    let api = MonzoApi::new(
        http.clone(),
        Endpoints::new(&sandbox.api_url(), &sandbox.auth_url()).unwrap(),
    );
    let house =
        Arc::new(Household::in_memory(Settings::default(), SecretStore::memory()).with_clock(clock.clone()));
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("h_bench").join("history.sqlite3");
    let store = HistoryStore::open(&file).unwrap();
    let engine = Arc::new(
        Engine::new(house, http, api.clone(), EngineConfig::default()).with_history(Some(Arc::new(store))),
    );
    for user in sandbox.fixture().users {
        let sign_in = SignIn::start(
            &api,
            &user.name,
            DEMO_CLIENT_ID,
            DEMO_CLIENT_SECRET,
            "http://127.0.0.1:1/cb",
        )
        .unwrap();
        let landed = monzo_sandbox::email_link_landing(sign_in.authorize_url(), &user.name)
            .await
            .unwrap();
        let code = sign_in.code_from_pasted(&landed).unwrap();
        sign_in.finish(engine.sessions(), code).await.unwrap();
    }
    let service = AppService::new(engine.clone(), 0, tokio::sync::watch::Sender::new(None));
    Run {
        sandbox,
        engine,
        service,
        clock,
        file,
        _data: data,
    }
}

/// Private memory of this process (kB): clean and dirty private pages.
fn private_kb() -> u64 {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("Private_Clean:") || l.starts_with("Private_Dirty:"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

fn size_mb(file: &std::path::Path) -> f64 {
    let bytes: u64 = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", file.display())).ok())
        .map(|m| m.len())
        .sum();
    bytes as f64 / 1_048_576.0
}

fn transactions_requests(sandbox: &Sandbox) -> u64 {
    sandbox
        .request_counts()
        .get("/transactions")
        .copied()
        .unwrap_or(0)
}

fn stored(service: &AppService) -> usize {
    service
        .export_transactions(&HistoryQuery::default(), std::io::sink())
        .unwrap()
}

async fn unlimited() {
    let run = household(None, Clock::default()).await;
    let served = run.sandbox.fixture().transactions.len();
    run.engine.poll_balances().await;
    let memory_before = private_kb();
    let started = Instant::now();
    let round = run.engine.import_history_now().await;
    let import = started.elapsed();
    let requests = transactions_requests(&run.sandbox);
    let count = stored(&run.service);

    let started = Instant::now();
    let csv = run
        .service
        .history_report(&HistoryQuery::default(), HistoryFormat::Csv)
        .unwrap();
    let history_csv = started.elapsed();
    let month = (chrono::Utc::now() - chrono::Duration::days(400))
        .format("%Y-%m")
        .to_string();
    let started = Instant::now();
    let spending = run.service.spending(Some(&month)).unwrap();
    let spending_time = started.elapsed();
    let memory_after = private_kb();

    println!("| with no rate limit | figure |");
    println!("| --- | ---: |");
    println!("| transactions served / stored | {served} / {count} |");
    println!("| `/transactions` requests | {requests} |");
    println!("| whole import | {:.1} s |", import.as_secs_f64());
    println!(
        "| of which waiting for the {} pages (3 people side by side) / storing them | {:.1} s / {:.1} s |",
        round.pages,
        round.reading.as_secs_f64(),
        round.storing.as_secs_f64()
    );
    println!("| database size | {:.1} MB |", size_mb(&run.file));
    println!(
        "| `history --csv` (every account, every day; {} lines) | {:.0} ms |",
        csv.printed.lines().count(),
        history_csv.as_secs_f64() * 1000.0
    );
    println!(
        "| `spending` for {month} ({} categories) | {:.0} ms |",
        spending.categories.len(),
        spending_time.as_secs_f64() * 1000.0
    );
    println!(
        "| private memory before the import / after it and the queries | {:.1} / {:.1} MB |",
        memory_before as f64 / 1024.0,
        memory_after as f64 / 1024.0
    );
}

async fn limited() {
    let clock = Clock::manual(chrono::Utc::now());
    let quota = Quota {
        requests: 30,
        window_secs: 300,
        block_secs: 600,
    };
    let run = household(Some(quota), clock.clone()).await;
    let served = run.sandbox.fixture().transactions.len();
    // The app's rhythm on the sandbox's clock: a poll a minute, the import beside it.
    let mut minutes = 0u64;
    let mut in_window = 0;
    while minutes < 60 {
        run.engine.poll_balances().await;
        run.engine.import_round().await;
        if minutes < 5 {
            in_window = stored(&run.service);
        }
        let importing = run
            .service
            .history_notes()
            .iter()
            .any(|n| n.starts_with("Importing"));
        if !importing {
            break;
        }
        run.sandbox.advance_clock(Duration::from_secs(60));
        run.clock.advance(Duration::from_secs(60));
        minutes += 1;
    }
    let count = stored(&run.service);
    let requests: u64 = run.sandbox.request_counts().values().sum();
    println!();
    println!("| with 30 requests in 5 minutes, then a 10-minute block (sandbox clock) | figure |");
    println!("| --- | ---: |");
    println!("| transactions served | {served} |");
    println!(
        "| imported within Monzo's 5 minutes after the sign-ins | {in_window} ({:.1} %) |",
        in_window as f64 * 100.0 / served as f64
    );
    println!("| stored once the import stopped (the last 90 days added) | {count} |");
    println!("| minutes on the sandbox's clock until it stopped | {minutes} |");
    println!("| requests in all (polls, import, 429s) | {requests} |");
    println!(
        "| sign-ins (Reconnects) the whole history needs at this rate | {} |",
        served.div_ceil(in_window.max(1))
    );
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        unlimited().await;
        limited().await;
    });
}
