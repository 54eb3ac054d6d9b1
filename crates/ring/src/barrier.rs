//! The fence pair that makes parking lose no wake-up, and who pays for it.
//!
//! A notifier stores (an event, a cursor) and then reads a waker's sleeper count; a waiter
//! counts itself in and then re-checks the store. Each side needs a full barrier between its
//! store and its load, or both may miss the other (store-buffering). With *symmetric*
//! barriers both sides issue a SeqCst fence: the producer then pays a fence per publish, on
//! the line its consumers are reading, whether or not anyone is asleep.
//!
//! With *asymmetric* barriers the notifier's side is a compiler fence only (free), and the
//! waiter, which is about to sleep anyway, issues the heavy side: Linux
//! `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which makes every running thread of the
//! process execute a full barrier before it returns (threads not running pass one when they
//! are scheduled). So either a notifier's load of the count ran after that barrier on its
//! CPU, and sees the waiter counted in, or it ran before, and then the barrier drained the
//! notifier's earlier store, which the waiter's re-check sees. This is the pattern the
//! `membarrier(2)` man page gives and that userspace RCU and folly's asymmetric barriers use.
//!
//! Asymmetric barriers are used where the kernel supports them (registered once per process);
//! elsewhere, under loom (which models fences, not `membarrier`) and under Miri, both sides
//! fence.

use crate::sync::fence;
use std::sync::atomic::{compiler_fence, Ordering::SeqCst};

/// Which barrier pair a bus uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Barriers {
    /// Notifiers and waiters both issue a SeqCst fence.
    Symmetric,
    /// Notifiers issue a compiler fence; waiters issue `membarrier` (and a fence).
    Asymmetric,
}

impl Barriers {
    /// The best pair this process can have: asymmetric if the kernel registers it.
    pub(crate) fn available() -> Barriers {
        if asymmetric_registered() {
            Barriers::Asymmetric
        } else {
            Barriers::Symmetric
        }
    }

    /// The notifier's side, between its store and its load of a sleeper count.
    #[inline(always)]
    pub(crate) fn light(self) {
        match self {
            // Keeps the compiler from moving the load above the store; the hardware may
            // still, which the waiter's heavy barrier covers.
            Barriers::Asymmetric => compiler_fence(SeqCst),
            Barriers::Symmetric => fence(SeqCst),
        }
    }

    /// The waiter's side, between counting itself in and re-checking.
    #[cold]
    pub(crate) fn heavy(self) {
        if self == Barriers::Asymmetric {
            expedited_barrier();
        }
        fence(SeqCst);
    }
}

#[cfg(all(target_os = "linux", not(loom), not(miri)))]
fn asymmetric_registered() -> bool {
    use rustix::thread::{membarrier, membarrier_query, MembarrierCommand, MembarrierQuery};
    use std::sync::OnceLock;
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| {
        membarrier_query().contains(MembarrierQuery::PRIVATE_EXPEDITED)
            && membarrier(MembarrierCommand::RegisterPrivateExpedited).is_ok()
    })
}

#[cfg(not(all(target_os = "linux", not(loom), not(miri))))]
fn asymmetric_registered() -> bool {
    false
}

#[cfg(all(target_os = "linux", not(loom), not(miri)))]
fn expedited_barrier() {
    use rustix::thread::{membarrier, MembarrierCommand};
    // Registered before any bus used it (`asymmetric_registered`), so it cannot fail with
    // EPERM; should it fail anyway, the fence after it still orders this thread, and the
    // waker's deadline-free park would be at risk, so fail loudly rather than lose a wake-up.
    if let Err(e) = membarrier(MembarrierCommand::PrivateExpedited) {
        panic!("membarrier(PRIVATE_EXPEDITED) failed after registration: {e}");
    }
}

#[cfg(not(all(target_os = "linux", not(loom), not(miri))))]
fn expedited_barrier() {}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn both_sides_run_on_this_machine() {
        let barriers = Barriers::available();
        barriers.light();
        barriers.heavy();
        if cfg!(all(target_os = "linux", not(miri))) {
            assert_eq!(
                barriers,
                Barriers::Asymmetric,
                "membarrier is not available"
            );
        }
    }
}
