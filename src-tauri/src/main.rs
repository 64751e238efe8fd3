//! monzo-tray: the one user-facing binary. Thin: it parses the command line, wires
//! up `monzo-tray-core`, and reports errors as one plain sentence.

mod cli;
mod commands;
mod context;
mod demo;
mod gui;
mod output;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

/// What is logged unless `--log` (`MONZO_TRAY_LOG`) says otherwise: warnings, except the
/// settings file's, which every front end already says in a sentence of its own
/// (the command line on stderr, the settings window at its top).
const DEFAULT_LOG_FILTER: &str = "warn,monzo_tray_core::settings=error";

/// Logs go to stderr; stdout is kept for what commands print (URLs, JSON). A filter
/// `tracing` cannot read logs as if none were given.
fn init_logging(filter: Option<&str>) {
    let filter = filter
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging(cli.log.as_deref());
    if cli.command.is_none() && gui::display_available() {
        return match gui::run(&cli.places, cli.demo, gui::opening(cli.settings, cli.history)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                output::note(&format!("monzo-tray: {err:#}"));
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            output::note(&format!("monzo-tray: could not start: {err}"));
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(err) => output::failure(&err),
    };
    // A blocking stdin read may still be pending (login waits on stdin and the
    // redirect at once); exiting here does not wait for it.
    std::process::exit(i32::from(code));
}
