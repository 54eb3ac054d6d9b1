//! The simulator's pace: when each block may start, so a run makes N blocks per second like
//! a real node. The clock decides only *when* a block is published, never what it holds:
//! the simulated block time comes from the seeded generator, so a paced run publishes the
//! same bytes as an unpaced one.

use std::time::{Duration, Instant};

/// Blocks per second: a positive, finite rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pace {
    blocks_per_sec: f64,
}

/// A rate that is not a positive, finite number of blocks per second.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("{0} is not a positive number of blocks per second")]
pub struct BadPace(pub f64);

impl Pace {
    /// `blocks_per_sec` blocks a second.
    ///
    /// ```
    /// use ringbus_node::Pace;
    /// assert!(Pace::new(2.0).is_ok());
    /// assert!(Pace::new(0.0).is_err());
    /// assert!(Pace::new(f64::NAN).is_err());
    /// ```
    pub fn new(blocks_per_sec: f64) -> Result<Pace, BadPace> {
        let period = Duration::try_from_secs_f64(1.0 / blocks_per_sec);
        if blocks_per_sec.is_finite() && blocks_per_sec > 0.0 && period.is_ok() {
            Ok(Pace { blocks_per_sec })
        } else {
            Err(BadPace(blocks_per_sec))
        }
    }

    /// Blocks per second.
    pub fn blocks_per_sec(self) -> f64 {
        self.blocks_per_sec
    }

    /// The time between two blocks.
    pub fn period(self) -> Duration {
        Duration::from_secs_f64(1.0 / self.blocks_per_sec)
    }
}

/// When the next block may start: block `k` at `origin + k × period`. A producer that fell
/// more than a period behind (a slow consumer, a busy machine) starts again from now
/// instead of publishing the missed blocks in a burst.
#[derive(Debug)]
pub(crate) struct Schedule {
    period: Duration,
    next: Instant,
}

impl Schedule {
    /// The first block may start at once.
    pub(crate) fn new(pace: Pace, now: Instant) -> Self {
        Schedule {
            period: pace.period(),
            next: now,
        }
    }

    /// When the next block may start; moves on by one block.
    pub(crate) fn next_block(&mut self, now: Instant) -> Instant {
        if now > self.next + self.period {
            self.next = now;
        }
        let at = self.next;
        self.next += self.period;
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_a_period_apart_and_a_late_producer_does_not_burst() {
        let t0 = Instant::now();
        let mut s = Schedule::new(Pace::new(4.0).unwrap(), t0);
        let ms = |n| Duration::from_millis(n);
        assert_eq!(s.next_block(t0), t0);
        assert_eq!(s.next_block(t0 + ms(10)), t0 + ms(250));
        assert_eq!(s.next_block(t0 + ms(260)), t0 + ms(500));
        // Two seconds late: the next block starts now, the one after a period later.
        let late = t0 + ms(2_500);
        assert_eq!(s.next_block(late), late);
        assert_eq!(s.next_block(late), late + ms(250));
    }

    #[test]
    fn a_rate_that_can_never_work_is_refused() {
        for bad in [0.0, -1.0, f64::INFINITY, f64::NAN, 1e-300] {
            assert!(Pace::new(bad).is_err(), "{bad}");
        }
        assert_eq!(Pace::new(0.5).unwrap().period(), Duration::from_secs(2));
    }
}
