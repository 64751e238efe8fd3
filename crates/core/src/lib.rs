//! monzo-tray-core: everything in monzo-tray that is not GUI. It builds and tests
//! without GTK or WebKit.
//!
//! Where to look:
//! - [`money`]: exact amounts (`rust_decimal`) in ISO 4217 currencies; the one place
//!   that formats money.
//! - [`account_types`]: Monzo's account types in words, and which are not shown.
//! - [`snapshot`]: the immutable picture of every balance the engine publishes; the
//!   tray, UI, command line and Home Assistant read only this.
//! - [`monzo`]: our HTTP client for Monzo's data API, with typed errors.
//! - [`oauth`]: authorize URL, code exchange, refresh (the `oauth2` crate), and
//!   reading a pasted redirect URL or code.
//! - [`loopback`]: the one-shot listener on 127.0.0.1 that receives the redirect.
//! - [`login`]: a sign-in from start to finish.
//! - [`secrets`]: the OS keyring (time-bounded), or memory for tests and the demo.
//! - [`settings`]: people, poll interval, privacy mode; JSON read value by value.
//! - [`atomic_file`]: writes that a crash cannot leave half-done; backups kept apart.
//! - [`household`]: settings and secrets changed together, never half-way.
//! - [`retry`]: backoff with jitter for transient failures.
//! - [`engine`]: the poll engine and per-person state machine.
//! - [`home_assistant`]: pushing every balance into Home Assistant.
//! - [`menu`]: the tray menu as data (labels, privacy mode), rendered by the shell.
//! - [`notifications`]: which desktop notifications a new snapshot calls for.
//! - [`terminal`]: what the command line prints, aligned by terminal cells.
//! - [`service`]: what the settings window can do (redacted views, background sign-in).
//! - [`error`]: the crate's one error type.

pub mod account_types;
pub mod atomic_file;
pub mod engine;
pub mod error;
pub mod home_assistant;
pub mod household;
pub mod login;
pub mod loopback;
pub mod menu;
pub mod money;
pub mod monzo;
pub mod notifications;
pub mod oauth;
pub mod retry;
pub mod secrets;
pub mod service;
pub mod settings;
pub mod snapshot;
pub mod terminal;

pub use error::{Error, Result};
