//! Any bytes as a Monzo reply: decoding and error classification must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use monzo_tray_core::monzo::{classify, decode, decode_accounts, decode_pots, WireBalance};

fuzz_target!(|data: &[u8]| {
    let _ = decode_accounts(data);
    let _ = decode_pots(data);
    let _ = decode::<WireBalance>(data);
    let status = data.first().map_or(500, |b| 400 + u16::from(*b) % 200);
    let _ = classify(status, &reqwest::header::HeaderMap::new(), data);
});
