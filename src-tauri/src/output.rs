//! Everything the command line prints goes through here, never through `println!`
//! (which panics when standard output is a closed pipe or a full disk):
//!
//! - [`print`] and [`line`] write to standard output. When its reader has gone (`|
//!   head`) they answer [`Closed`], which ends the command quietly with exit 0, as
//!   `cat` does; any other failed write is one sentence and exit 1.
//! - [`note`] writes a line to standard error; if even that fails there is no one
//!   left to tell.
//!
//! Both pass the text through the core's last guard (`text::lines`): control
//! characters and bidirectional overrides never reach the terminal, whatever the
//! text holds.

use std::fmt;
use std::io::Write;

use monzo_tray_core::text;

/// Standard output is a pipe whose reader has gone: nothing more can be said, and
/// that is not a failure.
#[derive(Debug)]
pub struct Closed;

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for Closed {}

/// `text` on standard output, as it is (add the line breaks you want).
///
/// Errors: [`Closed`] when the reader has gone; otherwise a sentence naming the
/// failure (a full disk, `/dev/full`).
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out
        .write_all(text::lines(text).as_bytes())
        .and_then(|()| out.flush())
    {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Err(Closed.into()),
        Err(err) => Err(anyhow::anyhow!("Could not write to standard output ({err}).")),
    }
}

/// CSV the core wrote on standard output, byte for byte: its cells are already
/// cleaned of control characters (`history::export::safe_cell`), and its CRLF line
/// ends are RFC 4180's. Errors as [`print`].
pub fn print_csv(csv: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(csv).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Err(Closed.into()),
        Err(err) => Err(anyhow::anyhow!("Could not write to standard output ({err}).")),
    }
}

/// `text` and a line break on standard output (see [`print`]).
pub fn line(text: &str) -> anyhow::Result<()> {
    print(&format!("{text}\n"))
}

/// `text` and a line break on standard error.
pub fn note(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", text::lines(text));
}

/// `text` on standard error with no line break (a question), flushed.
pub fn ask(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{}", text::lines(text)).and_then(|()| err.flush());
}

/// The exit code for what a command ended with: 0 when standard output was closed
/// under it, else 1 with the error's sentence on standard error.
pub fn failure(err: &anyhow::Error) -> u8 {
    if err.is::<Closed>() {
        return 0;
    }
    note(&format!("monzo-tray: {err}"));
    1
}
