//! The words a person reads about their household, written once for every front
//! end (the tray menu, the settings window, the command line): a person's state
//! line, the "updated" label, when Monzo asks for approval again, and the Home
//! Assistant push status with the time of its last good push. A front end lays out
//! these strings; it writes none of its own, so two front ends cannot disagree.
//!
//! Times are shown in the local time of `offset` (see [`local_offset`]); "now" is
//! the household's clock, passed in, so tests can drive it.

use chrono::{DateTime, FixedOffset, Utc};

use crate::home_assistant::PushState;
use crate::snapshot::{ConnectionState, PersonSnapshot};

/// This machine's offset from UTC now: what times are shown in.
pub(crate) fn local_offset() -> FixedOffset {
    *chrono::Local::now().offset()
}

/// `at` as "14:02" in the local time of `offset`.
pub(crate) fn clock_time(at: DateTime<Utc>, offset: FixedOffset) -> String {
    at.with_timezone(&offset).format("%H:%M").to_string()
}

/// How long ago `updated` was: "just now", "2 min ago", and after an hour the
/// time, "14:02".
fn since(updated: DateTime<Utc>, now: DateTime<Utc>, offset: FixedOffset) -> String {
    let minutes = (now - updated).num_minutes();
    match minutes {
        i64::MIN..=0 => "just now".to_owned(),
        1..=59 => format!("{minutes} min ago"),
        _ => clock_time(updated, offset),
    }
}

/// The "updated" label: "Updated just now", "Updated 2 min ago", "Updated 14:02",
/// or "Not updated yet". It moves on with time: whoever shows it asks again.
pub(crate) fn updated_label(
    updated: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    offset: FixedOffset,
) -> String {
    match updated {
        Some(updated) => format!("Updated {}", since(updated, now, offset)),
        None => "Not updated yet".to_owned(),
    }
}

/// A person's state in one line, saying what to do when they are not live:
/// "Up to date · updated 2 min ago", "Approve access in the Monzo app", "Sign in
/// again", "Offline — last updated 14:02", "Problem: <Monzo's words>". The live
/// line moves on with time, as [`updated_label`] does.
pub(crate) fn state_line(person: &PersonSnapshot, now: DateTime<Utc>, offset: FixedOffset) -> String {
    match person.state {
        ConnectionState::Live => match person.updated_at {
            Some(at) => format!("Up to date · updated {}", since(at, now, offset)),
            None => "Up to date".to_owned(),
        },
        ConnectionState::AwaitingApproval => "Approve access in the Monzo app".to_owned(),
        ConnectionState::SignedOut => "Sign in again".to_owned(),
        ConnectionState::Stale => match person.updated_at {
            Some(at) => format!("Offline — last updated {}", clock_time(at, offset)),
            None => "Offline — not updated yet".to_owned(),
        },
        ConnectionState::Error => format!(
            "Problem: {}",
            person.error.as_deref().unwrap_or("something went wrong")
        ),
    }
}

/// When Monzo asks the person to approve access in its app again: "Monzo asks for
/// approval in the app again on 27 November 2026." (`due` in the local date of
/// `offset`).
pub(crate) fn approval_due_line(due: DateTime<Utc>, offset: FixedOffset) -> String {
    format!(
        "Monzo asks for approval in the app again on {}.",
        due.with_timezone(&offset).format("%-d %B %Y")
    )
}

/// The push status as the settings window shows it: the one status line (see
/// [`crate::home_assistant::status_line`]), then when the last good push was:
/// "Pushing: all good · last pushed 14:02".
pub(crate) fn push_status_line(state: &PushState, offset: FixedOffset) -> String {
    let line = state.line();
    match state.last_ok_at {
        Some(at) => format!("{line} · last pushed {}", clock_time(at, offset)),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::home_assistant::{HaFailure, PushStatus};
    use crate::settings::HaTransport;

    fn at(hh: u32, mm: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-11-24T{hh:02}:{mm:02}:00Z"))
            .unwrap()
            .with_timezone(&Utc)
    }

    fn utc() -> FixedOffset {
        FixedOffset::east_opt(0).unwrap()
    }

    fn person(state: ConnectionState, updated: Option<DateTime<Utc>>, error: Option<&str>) -> PersonSnapshot {
        PersonSnapshot {
            id: "p1".into(),
            name: "Dana".into(),
            state,
            error: error.map(str::to_owned),
            updated_at: updated,
            ..Default::default()
        }
    }

    #[test]
    fn every_state_has_its_line() {
        let now = at(14, 4);
        let hour = FixedOffset::east_opt(3600).unwrap();
        let line = |state, updated, error| state_line(&person(state, updated, error), now, hour);
        use ConnectionState::*;
        assert_eq!(
            line(Live, Some(at(14, 2)), None),
            "Up to date · updated 2 min ago"
        );
        assert_eq!(line(Live, Some(at(14, 4)), None), "Up to date · updated just now");
        assert_eq!(line(Live, Some(at(12, 0)), None), "Up to date · updated 13:00");
        assert_eq!(line(Live, None, None), "Up to date");
        assert_eq!(
            line(AwaitingApproval, None, None),
            "Approve access in the Monzo app"
        );
        assert_eq!(line(SignedOut, Some(at(1, 0)), None), "Sign in again");
        assert_eq!(line(Stale, Some(at(14, 2)), None), "Offline — last updated 15:02");
        assert_eq!(line(Stale, None, None), "Offline — not updated yet");
        assert_eq!(line(Error, None, Some("Monzo said no")), "Problem: Monzo said no");
        assert_eq!(line(Error, None, None), "Problem: something went wrong");
    }

    #[test]
    fn the_updated_label_moves_on_with_time() {
        let o = utc();
        assert_eq!(updated_label(Some(at(14, 2)), at(14, 2), o), "Updated just now");
        assert_eq!(updated_label(Some(at(14, 2)), at(14, 3), o), "Updated 1 min ago");
        assert_eq!(updated_label(Some(at(14, 2)), at(14, 5), o), "Updated 3 min ago");
        assert_eq!(updated_label(Some(at(12, 2)), at(14, 3), o), "Updated 12:02");
        assert_eq!(updated_label(None, at(14, 3), o), "Not updated yet");
    }

    #[test]
    fn the_approval_date_is_written_out() {
        assert_eq!(
            approval_due_line(at(23, 30), FixedOffset::east_opt(3600).unwrap()),
            "Monzo asks for approval in the app again on 25 November 2026."
        );
    }

    #[test]
    fn the_window_push_line_adds_the_last_good_push() {
        let mut ok = PushState::ok(HaTransport::Mqtt);
        ok.last_ok_at = Some(at(14, 2));
        assert_eq!(
            push_status_line(&ok, utc()),
            "Pushing: all good · last pushed 14:02"
        );
        let failed = PushState::failed(HaTransport::Mqtt, HaFailure::Unauthorized, Some(at(9, 5)));
        assert_eq!(failed.status, PushStatus::Unauthorized);
        assert_eq!(
            push_status_line(&failed, utc()),
            "The MQTT broker refused the user name or password (or this user may not connect) · last pushed 09:05"
        );
        assert_eq!(
            push_status_line(&PushState::off(HaTransport::Rest), utc()),
            "Not pushing (switched off)"
        );
    }
}
