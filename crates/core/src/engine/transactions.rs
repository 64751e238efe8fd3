//! Reading an account's new transactions through the person's session:
//! `GET /transactions?account_id=…&since=…&limit=100&expand[]=merchant`, page after
//! page (a full page of 100 means more: the next page is `since` its last id).
//!
//! - The first read of a run reads the last [`WINDOW`] (to fill the "Recent" list),
//!   and what it finds after the last transaction seen is new. With nothing seen
//!   before (the first sign-in), nothing is new: the backlog is never announced.
//! - Later reads ask for what came after the last transaction seen.
//! - Monzo no longer knowing that id: read from its time instead.
//! - More than five minutes after a sign-in Monzo only lets the last 90 days be read
//!   (403 `forbidden.verification_required`): that is "start from now": the window
//!   is read again and nothing in it is announced.

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::session::Sessions;
use crate::settings::PersonSettings;
use crate::transactions::seen::Cursor;
use crate::transactions::Transaction;

/// How far back the first read of a run goes: well within the 90 days Monzo allows
/// after the first five minutes of a sign-in.
pub const WINDOW: Duration = Duration::days(30);
/// Transactions per page: Monzo's most.
pub const PAGE: u32 = 100;
/// Pages one read may take, at most (10,000 transactions): a guard, not a limit any
/// household should meet.
const MAX_PAGES: usize = 100;

/// What one read found.
#[derive(Debug, Default)]
pub struct Read {
    /// Seen for the first time, oldest first.
    pub new: Vec<Transaction>,
    /// Everything read, oldest first.
    pub read: Vec<Transaction>,
    /// `read` is the whole recent window (a first read): it replaces the "Recent"
    /// list rather than adding to it.
    pub window: bool,
}

impl Read {
    /// Where the next read starts: the newest transaction read, else `before`.
    pub fn cursor(&self, before: Option<Cursor>) -> Option<Cursor> {
        self.read
            .last()
            .map(|t| Cursor {
                id: t.id.clone(),
                created: t.created,
            })
            .or(before)
    }
}

fn is_verification_required(err: &Error) -> bool {
    matches!(err, Error::Api { status: 403, code, .. } if code == "forbidden.verification_required")
}

fn is_unknown_since(err: &Error) -> bool {
    matches!(
        err,
        Error::Api {
            status: 400 | 404,
            ..
        }
    )
}

/// Reads `account_id`'s new transactions for `person` (see the module's rules).
pub async fn read_new(
    sessions: &Sessions,
    person: &PersonSettings,
    retry: &RetryPolicy,
    account_id: &str,
    cursor: Option<&Cursor>,
    first_of_run: bool,
    now: DateTime<Utc>,
) -> Result<Read> {
    let window = || async {
        let since = (now - WINDOW).to_rfc3339_opts(SecondsFormat::Secs, true);
        pages(sessions, person, retry, account_id, since).await
    };
    let Some(cursor) = cursor.filter(|_| !first_of_run) else {
        let read = window().await?;
        let new = match cursor {
            Some(cursor) => after(&read, cursor),
            None if first_of_run => Vec::new(),
            // Nothing was seen before (the account had nothing in the window).
            None => read.clone(),
        };
        return Ok(Read {
            new,
            read,
            window: true,
        });
    };
    match pages(sessions, person, retry, account_id, cursor.id.clone()).await {
        Ok(read) => Ok(Read {
            new: read.clone(),
            read,
            window: false,
        }),
        Err(err) if is_unknown_since(&err) => {
            tracing::info!(
                account = account_id,
                "Monzo no longer knows the last transaction seen; reading from its time"
            );
            let since = cursor.created.to_rfc3339_opts(SecondsFormat::Millis, true);
            let read = pages(sessions, person, retry, account_id, since).await?;
            Ok(Read {
                new: after(&read, cursor),
                read,
                window: false,
            })
        }
        Err(err) if is_verification_required(&err) => {
            tracing::info!(
                account = account_id,
                "older transactions need a new sign-in; starting from now"
            );
            let read = window().await?;
            Ok(Read {
                new: Vec::new(),
                read,
                window: true,
            })
        }
        Err(err) => Err(err),
    }
}

/// Every transaction of `account_id` made since `since`, oldest first (within the
/// 90 days Monzo lets be read more than five minutes after a sign-in).
pub async fn read_since(
    sessions: &Sessions,
    person: &PersonSettings,
    retry: &RetryPolicy,
    account_id: &str,
    since: DateTime<Utc>,
) -> Result<Vec<Transaction>> {
    let since = since.to_rfc3339_opts(SecondsFormat::Secs, true);
    pages(sessions, person, retry, account_id, since).await
}

/// What in `read` comes after `cursor`: after its id where it is there, else
/// everything made after its time.
fn after(read: &[Transaction], cursor: &Cursor) -> Vec<Transaction> {
    match read.iter().position(|t| t.id == cursor.id) {
        Some(at) => read[at + 1..].to_vec(),
        None => read
            .iter()
            .filter(|t| t.created > cursor.created || (t.created == cursor.created && t.id != cursor.id))
            .cloned()
            .collect(),
    }
}

/// Every page from `since` on.
async fn pages(
    sessions: &Sessions,
    person: &PersonSettings,
    retry: &RetryPolicy,
    account_id: &str,
    mut since: String,
) -> Result<Vec<Transaction>> {
    let api = sessions.api();
    let mut all = Vec::new();
    for _ in 0..MAX_PAGES {
        let from = since.as_str();
        let page = sessions
            .authorized(person, retry, None, "transactions", |t| async move {
                api.transactions(&t, account_id, from, PAGE).await
            })
            .await?;
        let full = page.len() >= PAGE as usize;
        all.extend(page.into_iter().map(|w| Transaction::from_wire(account_id, w)));
        match (full, all.last()) {
            (true, Some(last)) => since = last.id.clone(),
            _ => return Ok(all),
        }
    }
    tracing::warn!(
        account = account_id,
        "stopped reading transactions after {MAX_PAGES} pages"
    );
    Ok(all)
}
