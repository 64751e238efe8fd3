//! A person's state machine: what one poll's result makes of their snapshot.
//!
//! `signed_out → awaiting_approval → live → stale/error`: data makes a person live;
//! an error moves them to the state [`state_after`] gives, with the last known
//! balances kept (and marked stale) when Monzo or the network is in trouble. A
//! Retry-After from Monzo holds the person's next poll back until it has passed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::accounts::AccountListCache;
use crate::error::{Error, Result};
use crate::settings::PersonSettings;
use crate::snapshot::{AccountSnapshot, ConnectionState, PersonSnapshot};
use crate::sync::lock;

/// The state a person is in after a poll that failed with `err`:
///
/// | error | state |
/// | --- | --- |
/// | the in-app approval is missing (403 `forbidden.insufficient_permissions`) | awaiting approval |
/// | no tokens, expired or refused tokens, refused client credentials | signed out |
/// | rate limited, 5xx, network, unreadable reply | stale (balances kept) |
/// | anything else (a 4xx Monzo explains) | error |
pub(crate) fn state_after(err: &Error) -> ConnectionState {
    match err {
        Error::NeedsApproval => ConnectionState::AwaitingApproval,
        Error::SignInRequired { .. }
        | Error::TokenExpired
        | Error::TokenRejected(_)
        | Error::SecretMissing { .. }
        | Error::BadClientCredentials => ConnectionState::SignedOut,
        e if e.is_transient() => ConnectionState::Stale,
        _ => ConnectionState::Error,
    }
}

/// One poll's findings for a person.
pub(crate) struct Fetched {
    pub(crate) accounts: Vec<AccountSnapshot>,
    /// Ids of accounts listed as closed and pots listed as deleted.
    pub(crate) closed_or_deleted: Vec<String>,
    /// When the account list they come from was read.
    pub(crate) listed_at: DateTime<Utc>,
}

/// What a poll changed about the person's in-app approval, for the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ApprovalChange {
    Unchanged,
    /// First data since the in-app approval: Monzo's 90 days start at this time.
    Approved(DateTime<Utc>),
    /// Monzo asks for the approval again.
    Withdrawn,
}

/// What the engine keeps about a person between polls.
#[derive(Default)]
pub(crate) struct PersonPoll {
    last: std::sync::Mutex<Option<PersonSnapshot>>,
    /// Monzo asked us (Retry-After) not to come back before this.
    not_before: std::sync::Mutex<Option<Instant>>,
    /// The same on the household's clock, for the history import: its rounds are
    /// driven by that clock, so tests and the benchmark can pass a block at once.
    held_until: std::sync::Mutex<Option<DateTime<Utc>>>,
    pub(crate) accounts: AccountListCache,
}

impl PersonPoll {
    /// How long Monzo's last Retry-After still holds this person's polls back;
    /// `None` once it has passed (tokio's clock, so paused time drives it).
    pub(crate) fn deferred(&self) -> Option<Duration> {
        let now = Instant::now();
        lock(&self.not_before)
            .filter(|until| now < *until)
            .map(|until| until - now)
    }

    /// Holds every request of this person back for `wait` from `now` (Monzo's
    /// Retry-After met by a request outside the poll, e.g. the history import).
    pub(crate) fn hold_back(&self, wait: Duration, now: DateTime<Utc>) {
        *lock(&self.not_before) = Some(Instant::now() + wait);
        self.hold_history(wait, now);
    }

    fn hold_history(&self, wait: Duration, now: DateTime<Utc>) {
        let until = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        *lock(&self.held_until) = Some(until);
    }

    /// Whether Monzo's last Retry-After still holds the history import back at `now`
    /// (the household's clock).
    pub(crate) fn history_held(&self, now: DateTime<Utc>) -> bool {
        lock(&self.held_until).is_some_and(|until| now < until)
    }

    /// Turns one poll's `result` into the person's snapshot at `now`, keeps it as
    /// their last, and says what changed about their approval.
    pub(crate) fn settle(
        &self,
        person: &PersonSettings,
        result: Result<Fetched>,
        now: DateTime<Utc>,
    ) -> (PersonSnapshot, ApprovalChange) {
        let mut approved_at = person.approved_at;
        let mut change = ApprovalChange::Unchanged;
        let snapshot = match result {
            Ok(fetched) => {
                if approved_at.is_none() {
                    approved_at = Some(now);
                    change = ApprovalChange::Approved(now);
                }
                PersonSnapshot {
                    state: ConnectionState::Live,
                    updated_at: Some(now),
                    accounts: fetched.accounts,
                    closed_or_deleted: fetched.closed_or_deleted,
                    accounts_listed_at: Some(fetched.listed_at),
                    ..PersonSnapshot::default()
                }
            }
            Err(err) => {
                let state = state_after(&err);
                if state == ConnectionState::AwaitingApproval && approved_at.take().is_some() {
                    change = ApprovalChange::Withdrawn;
                }
                // A fresh 429, not the hold-back echoed by `deferred`: the hold starts now.
                if let (
                    Error::RateLimited {
                        retry_after: Some(wait),
                    },
                    None,
                ) = (&err, self.deferred())
                {
                    *lock(&self.not_before) = Some(Instant::now() + *wait);
                    self.hold_history(*wait, now);
                }
                tracing::info!(person = %person.name, state = state.as_str(), code = err.code(), "person not live");
                let previous = lock(&self.last).clone().unwrap_or_default();
                PersonSnapshot {
                    state,
                    error: Some(err.to_string()),
                    updated_at: previous.updated_at,
                    accounts: previous.accounts,
                    accounts_listed_at: previous.accounts_listed_at,
                    ..PersonSnapshot::default()
                }
            }
        };
        let approved = PersonSettings {
            approved_at,
            ..person.clone()
        };
        let snapshot = PersonSnapshot {
            id: person.id.clone(),
            name: person.name.clone(),
            approval_due_at: approved.approval_due_at(),
            ..snapshot
        };
        *lock(&self.last) = Some(snapshot.clone());
        (snapshot, change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot;

    fn dana(approved_at: Option<DateTime<Utc>>) -> PersonSettings {
        PersonSettings {
            approved_at,
            ..PersonSettings::example("p1", "Dana")
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    fn fetched() -> Fetched {
        Fetched {
            accounts: vec![snapshot::example_account()],
            closed_or_deleted: vec!["pot_gone".into()],
            listed_at: now(),
        }
    }

    #[test]
    fn every_error_has_its_state() {
        let table = [
            (Error::NeedsApproval, ConnectionState::AwaitingApproval),
            (
                Error::SignInRequired {
                    person: "Dana".into(),
                },
                ConnectionState::SignedOut,
            ),
            (Error::TokenExpired, ConnectionState::SignedOut),
            (
                Error::TokenRejected("invalid_grant".into()),
                ConnectionState::SignedOut,
            ),
            (Error::BadClientCredentials, ConnectionState::SignedOut),
            (Error::RateLimited { retry_after: None }, ConnectionState::Stale),
            (Error::Server { status: 503 }, ConnectionState::Stale),
            (Error::Network("reset".into()), ConnectionState::Stale),
            (Error::Decode("not JSON".into()), ConnectionState::Stale),
            (
                Error::Api {
                    status: 400,
                    code: "bad_request".into(),
                    message: "no".into(),
                },
                ConnectionState::Error,
            ),
        ];
        for (err, state) in table {
            assert_eq!(state_after(&err), state, "{err:?}");
        }
    }

    #[test]
    fn first_data_makes_a_person_live_and_starts_the_approval_clock() {
        let poll = PersonPoll::default();
        let (snapshot, change) = poll.settle(&dana(None), Ok(fetched()), now());
        assert_eq!(snapshot.state, ConnectionState::Live);
        assert_eq!((snapshot.id.as_str(), snapshot.name.as_str()), ("p1", "Dana"));
        assert_eq!(snapshot.updated_at, Some(now()));
        assert_eq!(snapshot.closed_or_deleted, ["pot_gone"]);
        assert_eq!(change, ApprovalChange::Approved(now()));
        assert_eq!(snapshot.approval_due_at, Some(now() + chrono::Duration::days(90)));

        let (_, again) = poll.settle(&dana(Some(now())), Ok(fetched()), now());
        assert_eq!(again, ApprovalChange::Unchanged, "an approval already known");
    }

    #[test]
    fn trouble_keeps_the_last_balances_and_says_why() {
        let poll = PersonPoll::default();
        let (live, _) = poll.settle(&dana(Some(now())), Ok(fetched()), now());
        let later = now() + chrono::Duration::minutes(5);
        let (stale, change) = poll.settle(&dana(Some(now())), Err(Error::Server { status: 502 }), later);
        assert_eq!(stale.state, ConnectionState::Stale);
        assert_eq!(stale.accounts, live.accounts);
        assert_eq!(
            stale.updated_at,
            Some(now()),
            "when the balances were read, not now"
        );
        assert!(
            stale.closed_or_deleted.is_empty(),
            "nothing is removed on no evidence"
        );
        assert_eq!(
            stale.error.as_deref(),
            Some(Error::Server { status: 502 }.to_string().as_str())
        );
        assert_eq!(change, ApprovalChange::Unchanged);
    }

    #[test]
    fn approval_asked_again_is_withdrawn() {
        let poll = PersonPoll::default();
        let (snapshot, change) = poll.settle(&dana(Some(now())), Err(Error::NeedsApproval), now());
        assert_eq!(snapshot.state, ConnectionState::AwaitingApproval);
        assert_eq!(snapshot.approval_due_at, None);
        assert_eq!(change, ApprovalChange::Withdrawn);

        let (_, change) = poll.settle(&dana(None), Err(Error::NeedsApproval), now());
        assert_eq!(
            change,
            ApprovalChange::Unchanged,
            "never approved: nothing to withdraw"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_holds_the_person_back_until_it_has_passed() {
        let poll = PersonPoll::default();
        assert_eq!(poll.deferred(), None);
        let limited = Error::RateLimited {
            retry_after: Some(Duration::from_secs(30)),
        };
        let (snapshot, _) = poll.settle(&dana(Some(now())), Err(limited), now());
        assert_eq!(snapshot.state, ConnectionState::Stale);
        assert_eq!(poll.deferred(), Some(Duration::from_secs(30)));
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(poll.deferred(), Some(Duration::from_secs(1)));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(poll.deferred(), None, "polled again once the wait is over");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_without_retry_after_does_not_hold_back() {
        let poll = PersonPoll::default();
        poll.settle(&dana(None), Err(Error::RateLimited { retry_after: None }), now());
        assert_eq!(poll.deferred(), None, "the session's backoff already waited");
    }
}
