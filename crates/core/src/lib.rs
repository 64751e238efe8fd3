//! monzo-tray-core: everything in monzo-tray that is not GUI. It builds and tests
//! without GTK or WebKit.
//!
//! Where to look, from the ground floor up (each layer uses only those above it):
//! - [`error`]: the crate's one error type; [`sync`]: locks that survive a panic;
//!   [`clock`]: the one wall clock, which tests can drive; [`text`]: text from
//!   outside made safe to show (no control characters, no bidi overrides).
//! - [`money`]: exact amounts (`rust_decimal`) in ISO 4217 currencies; the one place
//!   that parses and formats money.
//! - [`account_types`]: Monzo's account types in words, and which are not shown.
//! - [`slug`]: names to entity-id parts, exactly as Home Assistant's `slugify`.
//! - [`atomic_file`]: writes that a crash cannot leave half-done; backups kept apart.
//! - [`file_lock`]: locks between the processes of one household (settings, a
//!   person's tokens, the one engine).
//! - [`monzo`]: our HTTP client for Monzo's API, with typed errors; replies read
//!   strictly where it matters.
//! - [`transactions`]: a transaction as shown and announced; the last one seen per
//!   account, kept across restarts.
//! - [`snapshot`]: the immutable picture of every balance the engine publishes; the
//!   tray, UI, command line and Home Assistant read only this.
//! - [`settings`]: people, poll interval, privacy mode; JSON read value by value.
//! - [`secrets`]: the OS keyring (time-bounded), or memory for tests and the demo.
//! - [`retry`]: backoff with jitter for transient failures.
//! - [`oauth`]: authorize URL, code exchange, refresh (the `oauth2` crate), and
//!   reading a pasted redirect URL or code.
//! - [`household`]: settings and secrets changed together, never half-way; people
//!   bound to their Monzo user.
//! - [`session`]: the one path for signed-in calls: tokens, serialised refresh,
//!   keyring writes, a retry policy per call.
//! - [`loopback`]: the one-shot listener on 127.0.0.1 that receives the redirect.
//! - [`login`]: a sign-in from start to finish.
//! - [`engine`]: the poll engine and per-person state machine; its second output,
//!   new transactions.
//! - [`pots`]: moving money between an account and its pots, exactly once.
//! - [`home_assistant`]: every balance into Home Assistant (REST or MQTT).
//! - [`background`]: polling and pushing, started and stopped together.
//! - [`words`]: the words every front end shows (a person's state line, the
//!   "updated" label, the push status with its last good push), written once.
//! - [`menu`]: the tray menu as data (labels, privacy mode), rendered by the shell.
//! - [`notifications`]: which desktop notifications a new snapshot calls for.
//! - [`terminal`]: what the command line prints, aligned by terminal cells.
//! - [`tray_host`]: what to say when the desktop cannot show a tray icon.
//! - [`service`]: what the settings window can do (redacted views, background
//!   sign-in, Home Assistant), and the changes it follows.

pub(crate) mod account_types;
pub(crate) mod atomic_file;
pub mod background;
pub mod clock;
pub mod engine;
pub(crate) mod error;
pub mod file_lock;
pub mod home_assistant;
pub mod household;
pub mod login;
pub mod loopback;
pub mod menu;
pub mod money;
pub mod monzo;
pub mod notifications;
pub mod oauth;
pub mod pots;
pub mod retry;
pub mod secrets;
pub mod service;
pub mod session;
pub mod settings;
pub mod slug;
pub mod snapshot;
pub mod sync;
pub mod terminal;
pub mod text;
pub mod transactions;
pub mod tray_host;
pub(crate) mod words;

pub use error::{Error, Result};
