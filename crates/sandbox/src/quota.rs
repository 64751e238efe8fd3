//! A request quota on demand. Monzo publishes no rate limit; one user reported 429
//! after about 30 requests in 5 minutes, and still being blocked 10 minutes later
//! (monzo/docs#66). A [`Quota`] reproduces that shape: per OAuth client and user,
//! the data requests of a sliding window are counted, and the one over the limit
//! starts a block during which every data request answers 429 with `Retry-After`.
//! All on the sandbox's clock, so a test can end a block by advancing it.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// `POST /_sandbox/quota` `{"requests": 30, "window_secs": 300, "block_secs": 600}`:
/// more than `requests` data requests (`/ping/whoami`, `/accounts`, `/balance`,
/// `/pots`, `/transactions`) within `window_secs` seconds by one client for one user
/// block that client and user for `block_secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    pub requests: u32,
    pub window_secs: u64,
    pub block_secs: u64,
}

/// One client's and user's use of the quota.
#[derive(Debug, Default)]
pub(crate) struct QuotaUse {
    /// When the requests still inside the window were let through, oldest first.
    recent: VecDeque<DateTime<Utc>>,
    blocked_until: Option<DateTime<Utc>>,
}

/// `secs` later than `at`; a span beyond any calendar saturates.
fn after(at: DateTime<Utc>, secs: u64) -> DateTime<Utc> {
    i64::try_from(secs)
        .ok()
        .and_then(Duration::try_seconds)
        .and_then(|span| at.checked_add_signed(span))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `secs` earlier than `at`, saturating likewise.
fn before(at: DateTime<Utc>, secs: u64) -> DateTime<Utc> {
    i64::try_from(secs)
        .ok()
        .and_then(Duration::try_seconds)
        .and_then(|span| at.checked_sub_signed(span))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Whole seconds from `now` to `until`, rounded up, at least 1: what `Retry-After`
/// says.
fn seconds_left(now: DateTime<Utc>, until: DateTime<Utc>) -> u64 {
    let millis = (until - now).num_milliseconds().max(1);
    u64::try_from((millis + 999) / 1_000).unwrap_or(1)
}

impl Quota {
    /// Counts a request made at `now`; `Err(seconds)` when it is refused, with the
    /// seconds left in the block.
    pub(crate) fn admit(&self, used: &mut QuotaUse, now: DateTime<Utc>) -> Result<(), u64> {
        if let Some(until) = used.blocked_until {
            if now < until {
                return Err(seconds_left(now, until));
            }
            used.blocked_until = None;
        }
        let window_start = before(now, self.window_secs);
        while used.recent.front().is_some_and(|at| *at <= window_start) {
            used.recent.pop_front();
        }
        if used.recent.len() >= self.requests as usize {
            let until = after(now, self.block_secs);
            used.recent.clear();
            used.blocked_until = Some(until);
            return Err(seconds_left(now, until));
        }
        used.recent.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORTED: Quota = Quota {
        requests: 30,
        window_secs: 300,
        block_secs: 600,
    };

    #[test]
    fn the_request_over_the_limit_starts_a_block_that_ends() {
        let mut used = QuotaUse::default();
        let start = Utc::now();
        for n in 0..30 {
            assert_eq!(REPORTED.admit(&mut used, start + Duration::seconds(n)), Ok(()));
        }
        let over = start + Duration::seconds(30);
        assert_eq!(REPORTED.admit(&mut used, over), Err(600));
        // Every request during the block is refused, with what is left of it.
        assert_eq!(REPORTED.admit(&mut used, over + Duration::seconds(100)), Err(500));
        assert_eq!(
            REPORTED.admit(&mut used, over + Duration::milliseconds(599_500)),
            Err(1)
        );
        assert_eq!(REPORTED.admit(&mut used, over + Duration::seconds(600)), Ok(()));
    }

    #[test]
    fn requests_older_than_the_window_no_longer_count() {
        let mut used = QuotaUse::default();
        let start = Utc::now();
        for n in 0..30 {
            assert!(REPORTED.admit(&mut used, start + Duration::seconds(n)).is_ok());
        }
        // The first ten leave the window: ten more fit, the eleventh does not.
        let later = start + Duration::milliseconds(309_500);
        for n in 0..10 {
            assert!(REPORTED
                .admit(&mut used, later + Duration::milliseconds(n))
                .is_ok());
        }
        assert!(REPORTED
            .admit(&mut used, later + Duration::milliseconds(10))
            .is_err());
    }

    #[test]
    fn spans_beyond_any_calendar_saturate_instead_of_panicking() {
        let endless = Quota {
            requests: 0,
            window_secs: u64::MAX,
            block_secs: u64::MAX,
        };
        let mut used = QuotaUse::default();
        let left = endless.admit(&mut used, Utc::now()).unwrap_err();
        assert!(left > 100 * 365 * 86_400);
    }
}
