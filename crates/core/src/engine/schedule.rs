//! When the poll loop polls next.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::settings::PersonSettings;
use crate::snapshot::{ConnectionState, Snapshot};

/// How often to look for the in-app approval right after a sign-in (one request per
/// waiting person: Monzo's rate limits allow it), and for how long.
pub(crate) const APPROVAL_POLL_INTERVAL: Duration = Duration::from_secs(10);
pub(crate) const APPROVAL_WATCH: Duration = Duration::from_secs(30 * 60);

/// How long until the next poll: `interval`, or [`APPROVAL_POLL_INTERVAL`] if
/// shorter while someone who signed in within [`APPROVAL_WATCH`] before `now` waits
/// for the in-app approval (in `last`, the last snapshot), so it is seen quickly.
pub(crate) fn next_poll_in(
    people: &[PersonSettings],
    last: &Snapshot,
    now: DateTime<Utc>,
    interval: Duration,
) -> Duration {
    let watch = chrono::Duration::from_std(APPROVAL_WATCH).unwrap_or_default();
    let watching = people.iter().any(|person| {
        let recent = person.signed_in_at.is_some_and(|at| now - at < watch);
        let waiting = last
            .people
            .iter()
            .any(|p| p.id == person.id && p.state == ConnectionState::AwaitingApproval);
        recent && waiting
    });
    if watching {
        APPROVAL_POLL_INTERVAL.min(interval)
    } else {
        interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(300);

    fn now() -> DateTime<Utc> {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    fn signed_in(minutes_ago: i64) -> Vec<PersonSettings> {
        vec![PersonSettings {
            signed_in_at: Some(now() - chrono::Duration::minutes(minutes_ago)),
            ..PersonSettings::example("p1", "Dana")
        }]
    }

    fn last(state: ConnectionState) -> Snapshot {
        let mut last = crate::snapshot::example();
        last.people[0].state = state;
        last
    }

    #[test]
    fn waiting_for_the_approval_after_a_sign_in_polls_often() {
        let awaiting = last(ConnectionState::AwaitingApproval);
        assert_eq!(
            next_poll_in(&signed_in(1), &awaiting, now(), INTERVAL),
            APPROVAL_POLL_INTERVAL
        );
        assert_eq!(
            next_poll_in(&signed_in(1), &awaiting, now(), Duration::from_secs(5)),
            Duration::from_secs(5),
            "never slower than asked"
        );
    }

    #[test]
    fn otherwise_the_poll_interval() {
        let awaiting = last(ConnectionState::AwaitingApproval);
        assert_eq!(
            next_poll_in(&signed_in(31), &awaiting, now(), INTERVAL),
            INTERVAL,
            "the watch is over"
        );
        let live = last(ConnectionState::Live);
        assert_eq!(next_poll_in(&signed_in(1), &live, now(), INTERVAL), INTERVAL);
        assert_eq!(next_poll_in(&[], &Snapshot::default(), now(), INTERVAL), INTERVAL);
    }
}
