//! monzo-tray-core: everything in monzo-tray that is not GUI. It builds and tests
//! without GTK or WebKit.
//!
//! Where to look, from the ground floor up (each layer uses only those above it).
//! Modules marked (crate) are internal; the rest are the public API, each naming
//! what the shell and the tests use (everything else in them is `pub(crate)`):
//! - `error` (crate; its [`Error`] and [`Result`] are public): the crate's one
//!   error type; [`sync`]: locks that survive a panic; [`clock`]: the one wall clock,
//!   which tests can drive; [`text`]: text from outside made safe to show (no
//!   control characters, no bidi overrides).
//! - [`money`]: exact amounts (`rust_decimal`) in ISO 4217 currencies; the one place
//!   that parses and formats money.
//! - `account_types` (crate): Monzo's account types in words, and which are not
//!   shown.
//! - [`slug`]: names to entity-id parts, exactly as Home Assistant's `slugify`.
//! - `atomic_file` (crate): writes that a crash cannot leave half-done; backups
//!   kept apart.
//! - [`file_lock`]: locks between the processes of one household (settings, a
//!   person's tokens, the one engine).
//! - [`monzo`]: our HTTP client for Monzo's API, with typed errors; replies read
//!   strictly where it matters; a pot move's [`monzo::Direction`].
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
//! - [`engine`]: the poll engine, split by job: the poll loop and its schedule, a
//!   person's state machine, the account-list cache, Monzo's replies made into
//!   accounts, and its second output, new transactions. Public: `Engine` and its
//!   config, for wiring.
//! - [`pots`]: moving money between an account and its pots, exactly once.
//! - [`home_assistant`]: every balance into Home Assistant (REST or MQTT).
//! - [`background`]: polling and pushing, started and stopped together by one
//!   [`background::Stop`].
//! - `words` (crate): the words every front end shows (a person's state line, the
//!   "updated" label, the push status with its last good push), written once.
//! - [`menu`]: the tray menu as data (labels, privacy mode), rendered by the shell.
//! - [`notifications`]: which desktop notifications a new snapshot calls for.
//! - `terminal` (crate): what the command line prints, aligned by terminal cells.
//! - [`tray_host`]: what to say when the desktop cannot show a tray icon.
//! - [`service`]: the one façade every front end goes through: the window's
//!   redacted views and background sign-in, Home Assistant, pot moves, the tray's
//!   menu and notifications, each command's output, and the changes to follow.
//!
//! The shell (`src-tauri`) builds an `Engine` over a `Household` and hands it to
//! [`service::AppService`]; from then on it calls only the service. The end-to-end
//! tests and benchmarks also drive the lower layers directly (sessions, the
//! engine, the keyring), which is why those stay public.

pub(crate) mod account_types;
pub(crate) mod atomic_file;
pub mod background;
pub mod clock;
pub mod engine;
pub(crate) mod error;
pub mod file_lock;
pub mod history;
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
pub(crate) mod terminal;
pub mod text;
pub mod transactions;
pub mod tray_host;
pub(crate) mod words;

pub use error::{Error, Result};
