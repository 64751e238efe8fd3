//! The account-list cache: a person's `GET /accounts`, kept for
//! [`ACCOUNT_LIST_MAX_AGE`]. Accounts come and go rarely; balances and pots are read
//! every poll, so a steady poll is one round of requests, not two.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use crate::error::Error;
use crate::monzo::WireAccount;
use crate::sync::lock;

/// How long an account list is used before it is read again.
pub(crate) const ACCOUNT_LIST_MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// A person's account list as read.
#[derive(Clone)]
pub(crate) struct Listed {
    pub(crate) accounts: Vec<WireAccount>,
    /// When it was read, on tokio's clock (its age).
    pub(crate) read: Instant,
    /// When it was read, on the wall clock (shown).
    pub(crate) at: DateTime<Utc>,
    /// The sign-in it was read with: a new sign-in reads the list again.
    pub(crate) signed_in_at: Option<DateTime<Utc>>,
}

/// One person's cached account list.
#[derive(Default)]
pub(crate) struct AccountListCache {
    listed: std::sync::Mutex<Option<Listed>>,
    /// Read the list again at the next poll ("Refresh now").
    read_again: AtomicBool,
}

impl AccountListCache {
    /// The next poll reads the list again, whatever its age.
    pub(crate) fn read_again(&self) {
        self.read_again.store(true, Ordering::Relaxed);
    }

    /// Whether a [`Self::read_again`] is pending; taking it clears it.
    pub(crate) fn take_read_again(&self) -> bool {
        self.read_again.swap(false, Ordering::Relaxed)
    }

    /// The list kept, if it may still be used: younger than [`ACCOUNT_LIST_MAX_AGE`],
    /// read with the person's current sign-in (`signed_in_at`).
    pub(crate) fn usable(&self, signed_in_at: Option<DateTime<Utc>>) -> Option<Listed> {
        lock(&self.listed).clone().filter(|listed| {
            listed.read.elapsed() < ACCOUNT_LIST_MAX_AGE && listed.signed_in_at == signed_in_at
        })
    }

    pub(crate) fn keep(&self, listed: Listed) {
        *lock(&self.listed) = Some(listed);
    }
}

/// An account call answering as if the account were gone: not found, or no longer
/// this person's (403 other than the in-app approval, which is its own error). The
/// list is then read again once.
pub(crate) fn is_account_gone(err: &Error) -> bool {
    matches!(
        err,
        Error::Api {
            status: 403 | 404,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(signed_in_at: Option<DateTime<Utc>>) -> Listed {
        Listed {
            accounts: Vec::new(),
            read: Instant::now(),
            at: Utc::now(),
            signed_in_at,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_list_is_used_until_it_is_too_old() {
        let cache = AccountListCache::default();
        assert!(cache.usable(None).is_none(), "nothing read yet");
        cache.keep(listed(None));
        assert!(cache.usable(None).is_some());
        tokio::time::advance(ACCOUNT_LIST_MAX_AGE - Duration::from_secs(1)).await;
        assert!(cache.usable(None).is_some());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(cache.usable(None).is_none(), "read again once it is too old");
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_sign_in_reads_the_list_again() {
        let cache = AccountListCache::default();
        let first: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().unwrap();
        cache.keep(listed(Some(first)));
        assert!(cache.usable(Some(first)).is_some());
        let second = first + chrono::Duration::hours(1);
        assert!(cache.usable(Some(second)).is_none());
    }

    #[test]
    fn refresh_now_is_taken_once() {
        let cache = AccountListCache::default();
        assert!(!cache.take_read_again());
        cache.read_again();
        assert!(cache.take_read_again());
        assert!(!cache.take_read_again(), "the poll after reads the cache again");
    }

    #[test]
    fn gone_is_404_or_a_403_that_is_not_the_approval() {
        let api = |status| Error::Api {
            status,
            code: "x".into(),
            message: "x".into(),
        };
        assert!(is_account_gone(&api(404)));
        assert!(is_account_gone(&api(403)));
        assert!(!is_account_gone(&api(400)));
        assert!(!is_account_gone(&Error::NeedsApproval));
        assert!(!is_account_gone(&Error::Server { status: 500 }));
    }
}
