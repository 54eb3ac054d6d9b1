//! Retrying: how many attempts, and the doubling pause between them. The one back-off of the
//! store writers and the remote clients' reconnect loops.

use std::time::Duration;

/// Pauses that double from `first` up to `max`: 20 ms, 40 ms, 80 ms, ...
///
/// ```
/// use ringbus_consumers::Backoff;
/// use std::time::Duration;
/// let mut pause = Backoff::new(Duration::from_millis(300), Duration::from_secs(1));
/// let pauses: Vec<u128> = (0..4).map(|_| pause.next_pause().as_millis()).collect();
/// assert_eq!(pauses, [300, 600, 1000, 1000]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    /// Pauses from `first`, doubled after each, never above `max`.
    pub fn new(first: Duration, max: Duration) -> Self {
        Backoff {
            next: first.min(max),
            max,
        }
    }

    /// The pause to take now; the next one is twice as long (up to the maximum).
    pub fn next_pause(&mut self) -> Duration {
        let pause = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        pause
    }
}

/// How a [`BlockStore`](crate::BlockStore) wants a refused commit retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per block before the refusal is reported (at least 1 is made).
    pub max_attempts: u32,
    /// The pauses between attempts.
    pub backoff: Backoff,
}
