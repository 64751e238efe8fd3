//! Soak: 10,000 poll cycles of the demo household against the sandbox with no
//! interval. Prints RSS and open file descriptors of this process after a warm-up
//! and at the end (the sandbox runs in the same process, so its memory is counted
//! too: the figures are an upper bound for the engine).
//!
//! `cargo bench -p monzo-tray-e2e --bench soak` (scripts/bench.sh runs it);
//! `MONZO_TRAY_SOAK_CYCLES` changes the count.

use std::time::{Duration, Instant};

use monzo_sandbox::{Fixture, Sandbox};
use monzo_tray_core::engine::EngineConfig;
use monzo_tray_core::snapshot::ConnectionState;
use monzo_tray_e2e::signed_in::signed_in;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")
                .map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap())
        })
        .unwrap()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[tokio::main]
async fn main() {
    let cycles: usize = std::env::var("MONZO_TRAY_SOAK_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(10_000);
    let warm_up = 500.min(cycles / 10);
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    let s = signed_in(
        &sandbox,
        &["Dana", "Alex"],
        Duration::from_secs(4),
        EngineConfig::default(),
    )
    .await;
    for _ in 0..warm_up {
        s.engine.poll_once().await;
    }
    let (rss_start, fds_start) = (rss_kib(), open_fds());
    let started = Instant::now();
    for _ in warm_up..cycles {
        let snapshot = s.engine.poll_once().await;
        assert!(snapshot.people.iter().all(|p| p.state == ConnectionState::Live));
    }
    let elapsed = started.elapsed();
    let (rss_end, fds_end) = (rss_kib(), open_fds());
    println!("| cycles | after warm-up ({warm_up}) | at the end | growth | open fds | time per cycle |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {cycles} | {:.1} MB | {:.1} MB | {:+.1} MB | {fds_start} → {fds_end} | {:.2} ms |",
        rss_start as f64 / 1024.0,
        rss_end as f64 / 1024.0,
        (rss_end as f64 - rss_start as f64) / 1024.0,
        elapsed.as_secs_f64() * 1e3 / (cycles - warm_up) as f64
    );
}
