//! The consumer of every bench: it checks each event's id (order, gaps, duplicates, torn
//! slots) and its count, and reports when it has seen the last one.

use super::event::Event;
use ringbus::{EventHandler, HandlerError, ShutdownReason};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the consumers of one run share with the thread that times it.
#[derive(Debug)]
pub struct Tally {
    /// Consumers that have not yet seen their last event (or failed).
    pending: AtomicUsize,
    failures: Mutex<Vec<String>>,
}

impl Tally {
    pub fn new(consumers: usize) -> Arc<Self> {
        Arc::new(Tally {
            pending: AtomicUsize::new(consumers),
            failures: Mutex::new(Vec::new()),
        })
    }

    fn done(&self) {
        // Release: pairs with the Acquire in `wait_for_all`; nothing else is published by it.
        self.pending.fetch_sub(1, Ordering::Release);
    }

    fn fail(&self, why: String) {
        self.failures.lock().unwrap().push(why);
    }

    /// Waits (yielding: the producer is done, consumers need the cores) until every
    /// consumer has seen its last event; panics with a diagnosis after `deadline`.
    pub fn wait_for_all(&self, start: Instant, deadline: Duration) {
        while self.pending.load(Ordering::Acquire) > 0 {
            assert!(
                start.elapsed() < deadline,
                "{} consumer(s) still behind after {deadline:?}: collapsed or hung",
                self.pending.load(Ordering::Relaxed)
            );
            std::thread::yield_now();
        }
    }

    /// Panics if any consumer saw a wrong event or a wrong count.
    pub fn assert_clean(&self) {
        let failures = self.failures.lock().unwrap();
        assert!(failures.is_empty(), "broken bus: {failures:?}");
    }
}

/// Expects the ids `next, next + stride, ...` up to `last`, each exactly once.
#[derive(Debug)]
pub struct Checker {
    name: String,
    next: u64,
    stride: u64,
    last: u64,
    tally: Arc<Tally>,
}

impl Checker {
    pub fn new(name: String, (first, stride): (u64, u64), events: u64, tally: Arc<Tally>) -> Self {
        assert!(first < events, "{name}: no event of its own among {events}");
        let last = first + (events - 1 - first) / stride * stride;
        Checker {
            name,
            next: first,
            stride,
            last,
            tally,
        }
    }

    fn fail(&self, why: String) -> HandlerError {
        let why = format!("{}: {why}", self.name);
        self.tally.fail(why.clone());
        self.tally.done(); // so the timing thread stops waiting on a consumer that stopped
        why.into()
    }
}

impl EventHandler<Event> for Checker {
    #[inline]
    fn on_event(&mut self, event: &Event, _seq: u64, _end: bool) -> Result<(), HandlerError> {
        match event.id() {
            Some(id) if id == self.next && id <= self.last => {
                if id == self.last {
                    self.tally.done();
                }
                self.next += self.stride;
                Ok(())
            }
            Some(id) => Err(self.fail(format!("got event {id}, expected {}", self.next))),
            None => Err(self.fail(format!("torn event where {} was expected", self.next))),
        }
    }

    fn on_shutdown(&mut self, _reason: &ShutdownReason) {
        if self.next != self.last + self.stride {
            self.tally.fail(format!(
                "{}: stopped before {} (last is {})",
                self.name, self.next, self.last
            ));
        }
    }
}
