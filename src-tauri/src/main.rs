//! monzo-tray: the one user-facing binary. Thin: it parses the command line, wires
//! up `monzo-tray-core`, and reports errors as one plain sentence.

mod cli;
mod commands;
mod context;
mod demo;
mod gui;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

fn init_logging() {
    // Logs go to stderr; stdout is kept for what commands print (URLs, JSON).
    let filter = tracing_subscriber::EnvFilter::try_from_env("MONZO_TRAY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging();
    if cli.command.is_none() && gui::display_available() {
        return match gui::run(cli.demo, cli.settings) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("monzo-tray: {err:#}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("monzo-tray: could not start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(commands::run(cli));
    let _ = std::io::stdout().flush();
    let code = match result {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("monzo-tray: {err}");
            1
        }
    };
    // A blocking stdin read may still be pending (login waits on stdin and the
    // redirect at once); exiting here does not wait for it.
    std::process::exit(code);
}
