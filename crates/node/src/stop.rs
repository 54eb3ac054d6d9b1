//! Ending a run early, like its last block: a request any thread can make (the command
//! line's Ctrl-C handler, a test), seen by the producer between blocks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;

/// A request to end a run at the next block boundary. Cheap to clone; every clone is the
/// same request.
///
/// The producer checks it between blocks (one atomic load), and a paced producer waits
/// for its next block on it, so a stop never waits for the pace.
///
/// ```
/// use ringbus_node::StopSignal;
/// let stop = StopSignal::new();
/// let handle = stop.clone();
/// assert!(!stop.is_requested());
/// handle.request();
/// assert!(stop.is_requested());
/// ```
#[derive(Clone, Debug, Default)]
pub struct StopSignal(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    requested: AtomicBool,
    /// Guards nothing but the wake-up: waiters sleep on `woken` until `requested` is set.
    lock: Mutex<()>,
    woken: Condvar,
}

impl StopSignal {
    /// A signal not yet requested.
    pub fn new() -> Self {
        StopSignal::default()
    }

    /// Asks the run to stop after the block it is publishing; wakes a paced producer.
    pub fn request(&self) {
        let _guard = self.0.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.0.requested.store(true, Ordering::Release);
        self.0.woken.notify_all();
    }

    /// Whether a stop was requested.
    pub fn is_requested(&self) -> bool {
        self.0.requested.load(Ordering::Acquire)
    }

    /// Sleeps until `deadline` or a stop request, whichever comes first; whether a stop was
    /// requested.
    pub fn wait_until(&self, deadline: Instant) -> bool {
        let mut guard = self.0.lock.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if self.is_requested() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            guard = self
                .0
                .woken
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_request_wakes_a_waiter_before_its_deadline() {
        let stop = StopSignal::new();
        let handle = stop.clone();
        let requester = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            handle.request();
        });
        let start = Instant::now();
        assert!(stop.wait_until(start + Duration::from_secs(30)));
        assert!(start.elapsed() < Duration::from_secs(10));
        requester.join().unwrap();
    }

    #[test]
    fn without_a_request_a_wait_ends_at_its_deadline() {
        let stop = StopSignal::new();
        let start = Instant::now();
        assert!(!stop.wait_until(start + Duration::from_millis(30)));
        assert!(start.elapsed() >= Duration::from_millis(30));
    }
}
