//! Any text pasted as the address the sign-in landed on: never a panic, and a code
//! is only ever accepted from a URL carrying the right state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use monzo_tray_core::oauth::parse_redirect_input;

fuzz_target!(|text: &str| {
    if let Ok(_code) = parse_redirect_input(text, "expected-state") {
        // URL parsing drops tabs and line breaks (WHATWG), so a URL wrapped across
        // lines still counts: compare without them.
        let unwrapped: String = text.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
        if unwrapped.contains("://") {
            assert!(unwrapped.contains("expected-state"), "a URL without the state was accepted");
        }
    }
});
