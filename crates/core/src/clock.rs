//! The one clock the core reads wall time from (when a poll happened, when an
//! approval was seen, when a sign-in was made), so tests can drive it: a
//! [`Clock::manual`] clock only moves when told to.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::sync::lock;

/// Wall time: the system's, or a manual one for tests.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl Clock {
    /// The system's wall clock.
    pub(crate) fn system() -> Self {
        Self::default()
    }

    /// A clock standing at `start` until [`Clock::advance`] moves it.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self {
            manual: Some(Arc::new(Mutex::new(start))),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            Some(at) => *lock(at),
            None => Utc::now(),
        }
    }

    /// Moves a manual clock on (every copy of it); the system clock moves by itself.
    pub fn advance(&self, by: Duration) {
        if let Some(at) = &self.manual {
            let mut at = lock(at);
            *at += chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_copies_share_it() {
        let start = DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = Clock::manual(start);
        let copy = clock.clone();
        assert_eq!(clock.now(), start);
        copy.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), start + chrono::Duration::seconds(90));
        let system = Clock::system();
        system.advance(Duration::from_secs(3600));
        assert!((system.now() - Utc::now()).num_seconds().abs() < 5);
    }
}
