//! Retries with exponential backoff and jitter (the `backon` crate) for transient
//! failures: rate limits, server trouble, the network, garbled replies. A
//! `Retry-After` that fits in the budget is honoured; a longer one ends the retries
//! so the engine can wait it out between polls instead of inside one.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// First delay; doubled after each failure, with jitter.
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Retries after the first try.
    pub max_retries: usize,
    /// All tries of one call, waits included, end within this.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    /// Up to four tries, all within 10 s.
    fn default() -> Self {
        Self {
            min_delay: Duration::from_millis(300),
            max_delay: Duration::from_secs(3),
            max_retries: 3,
            budget: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// No retries: for tests that want to see a single failure.
    pub(crate) fn none() -> Self {
        Self {
            min_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            max_retries: 0,
            budget: Duration::from_secs(60),
        }
    }

    pub(crate) async fn run<T, F, Fut>(&self, what: &str, op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries)
            .with_jitter();
        let max_delay = self.max_delay;
        let tries = op
            .retry(backoff)
            .when(Error::is_transient)
            .adjust(move |err: &Error, planned: Option<Duration>| match err {
                Error::RateLimited {
                    retry_after: Some(wait),
                } => {
                    // Honour the server; if it asks for longer than we would wait
                    // anyway, stop and let the next poll pick it up.
                    planned.filter(|_| *wait <= max_delay).map(|p| p.max(*wait))
                }
                _ => planned,
            })
            .notify(|err: &Error, wait: Duration| {
                tracing::debug!(
                    what,
                    code = err.code(),
                    wait_ms = wait.as_millis() as u64,
                    "retrying"
                );
            });
        match tokio::time::timeout(self.budget, tries).await {
            Ok(result) => result,
            Err(_) => Err(Error::Network(format!(
                "no answer within {} s",
                self.budget.as_secs()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_retried_then_given_up() {
        let tries = AtomicUsize::new(0);
        let result: Result<()> = RetryPolicy::default()
            .run("test", || async {
                tries.fetch_add(1, Ordering::SeqCst);
                Err(Error::Server { status: 500 })
            })
            .await;
        assert!(matches!(result, Err(Error::Server { status: 500 })));
        assert_eq!(tries.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn slow_tries_end_within_the_budget() {
        let started = tokio::time::Instant::now();
        let result: Result<()> = RetryPolicy::default()
            .run("test", || async {
                tokio::time::sleep(Duration::from_secs(4)).await;
                Err(Error::Network("the request timed out".into()))
            })
            .await;
        assert!(
            matches!(result, Err(Error::Network(ref m)) if m.contains("within 10 s")),
            "{result:?}"
        );
        assert!(started.elapsed() <= Duration::from_secs(10) + Duration::from_millis(10));
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_are_not_retried() {
        let tries = AtomicUsize::new(0);
        let _ = RetryPolicy::default()
            .run("test", || async {
                tries.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(Error::NeedsApproval)
            })
            .await;
        assert_eq!(tries.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_retry_after_stops_retrying_and_a_short_one_is_waited() {
        let tries = AtomicUsize::new(0);
        let _ = RetryPolicy::default()
            .run("test", || async {
                tries.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(Error::RateLimited {
                    retry_after: Some(Duration::from_secs(600)),
                })
            })
            .await;
        assert_eq!(tries.load(Ordering::SeqCst), 1);

        let start = tokio::time::Instant::now();
        let tries = AtomicUsize::new(0);
        let result = RetryPolicy::default()
            .run("test", || async {
                if tries.fetch_add(1, Ordering::SeqCst) == 0 {
                    Err(Error::RateLimited {
                        retry_after: Some(Duration::from_secs(2)),
                    })
                } else {
                    Ok(())
                }
            })
            .await;
        assert!(result.is_ok());
        assert!(start.elapsed() >= Duration::from_secs(2));
    }
}
