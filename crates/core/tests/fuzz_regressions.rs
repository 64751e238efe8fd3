#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure should stop the test
//! Inputs the fuzzers found (or that are known to be nasty), kept as regression
//! tests: none may panic, and a pasted URL is only accepted with the right state.

use monzo_tray_core::monzo::{classify, decode, decode_accounts, decode_pots, WireBalance};
use monzo_tray_core::oauth::parse_redirect_input;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
}

#[test]
fn monzo_replies_never_panic() {
    for (_name, data) in inputs("monzo_reply") {
        let _ = decode_accounts(&data);
        let _ = decode_pots(&data);
        let _ = decode::<WireBalance>(&data);
        let _ = classify(500, &reqwest::header::HeaderMap::new(), &data);
    }
}

#[test]
fn pasted_redirects_never_panic_and_need_the_state() {
    for (name, data) in inputs("redirect_input") {
        let text = String::from_utf8_lossy(&data);
        // URL parsing drops tabs and line breaks (WHATWG): a wrapped URL still counts.
        let unwrapped: String = text
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .collect();
        if parse_redirect_input(&text, "expected-state").is_ok() && unwrapped.contains("://") {
            assert!(unwrapped.contains("expected-state"), "{name}");
        }
    }
}
