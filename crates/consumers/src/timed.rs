//! Busy time of a consumer, measured per batch (two clock reads per batch, not per event).

use ringbus_ring::{EventHandler, HandlerError, ShutdownReason};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A shared counter of the time a [`Timed`] handler spent in its events.
#[derive(Clone, Debug, Default)]
pub struct BusyTime(Arc<AtomicU64>);

impl BusyTime {
    /// Time spent so far.
    pub fn get(&self) -> Duration {
        // Relaxed: a statistic read after the consumer's thread was joined (or roughly, live).
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

/// Wraps a handler and adds the time from the first event of each batch to the end of the
/// batch into a [`BusyTime`].
///
/// ```
/// use ringbus_consumers::Timed;
/// use ringbus_ring::EventHandler;
/// let (mut h, busy) = Timed::new(|_e: &u64, _s: u64, _eob: bool| Ok(()));
/// h.on_event(&1, 0, true).unwrap();
/// let _ = busy.get();
/// ```
#[derive(Debug)]
pub struct Timed<H> {
    inner: H,
    busy: BusyTime,
    batch_start: Option<Instant>,
}

impl<H> Timed<H> {
    /// `inner`, timed.
    pub fn new(inner: H) -> (Self, BusyTime) {
        let busy = BusyTime::default();
        (
            Timed {
                inner,
                busy: busy.clone(),
                batch_start: None,
            },
            busy,
        )
    }
}

impl<T, H: EventHandler<T>> EventHandler<T> for Timed<H> {
    fn on_start(&mut self) {
        self.inner.on_start();
    }

    #[inline]
    fn on_event(&mut self, event: &T, seq: u64, end_of_batch: bool) -> Result<(), HandlerError> {
        let start = *self.batch_start.get_or_insert_with(Instant::now);
        let result = self.inner.on_event(event, seq, end_of_batch);
        if end_of_batch || result.is_err() {
            let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            // Relaxed: a statistic; see BusyTime::get.
            self.busy.0.fetch_add(ns, Ordering::Relaxed);
            self.batch_start = None;
        }
        result
    }

    fn on_shutdown(&mut self, reason: &ShutdownReason) {
        self.inner.on_shutdown(reason);
    }

    fn on_lagged(&mut self, missed: u64) {
        self.inner.on_lagged(missed);
    }
}
