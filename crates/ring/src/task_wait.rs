//! Waiting from async code: the counterpart of `wait_for_until` for a task, which must never
//! block its executor's thread.
//!
//! Between two checks a thread spins, yields or parks; a task can only return `Pending`.
//! Either it asks to be polled again at once (`wake_by_ref`: a yield to the executor, which
//! runs other tasks first), or it registers its waker with the bus's `Waker`, in the same
//! sleeper count and under the same lock as parking threads, so the side that advances pays
//! for it only while it is registered (`Waker::register_task`). Which one follows the
//! consumer's wait strategy: spinning strategies only yield, `Blocking` registers at once,
//! `Adaptive` yields for `YIELD_FOR` and then registers.

use crate::reader::{Idle, Reader};
use crate::sync::Arc;
use crate::wait::WaitStrategy;
#[cfg(not(loom))]
use crate::wait::YIELD_FOR;
use std::task::{Context, Poll};
use std::time::Instant;

/// Where a task is in one wait: how long it yields before it registers.
#[derive(Debug, Default)]
pub(crate) struct TaskWait {
    /// Adaptive: when the yield phase of the current wait ends (set by its first yield).
    yield_until: Option<Instant>,
    /// Adaptive under loom (no clock): yields so far in the current wait.
    #[cfg(loom)]
    yields: u32,
}

impl TaskWait {
    /// The wait is over: the next one starts with its yield phase again.
    fn settle(&mut self) {
        self.yield_until = None;
        #[cfg(loom)]
        {
            self.yields = 0;
        }
    }

    /// Whether to yield to the executor once more rather than register.
    fn keeps_yielding(&mut self, strategy: WaitStrategy) -> bool {
        match strategy {
            WaitStrategy::BusySpin | WaitStrategy::SpinThenYield => true,
            WaitStrategy::Blocking => false,
            WaitStrategy::Adaptive => self.still_yielding(),
        }
    }

    #[cfg(not(loom))]
    fn still_yielding(&mut self) -> bool {
        let now = Instant::now();
        now < *self.yield_until.get_or_insert(now + YIELD_FOR)
    }

    /// Loom has no clock: one yield, then register.
    #[cfg(loom)]
    fn still_yielding(&mut self) -> bool {
        self.yields += 1;
        self.yields == 1
    }
}

impl<T> Reader<T> {
    /// [`Reader::wait_available`] for a task: `Ready` with the readable end (or why nothing
    /// will be readable), or `Pending` with the task either woken at once (a yield) or
    /// registered to be woken when the producer, or an upstream, moves.
    pub(crate) fn poll_available(
        &mut self,
        cx: &mut Context<'_>,
        wait: &mut TaskWait,
    ) -> Poll<Result<u64, Idle>> {
        if let Some(ready) = self.try_available().transpose() {
            wait.settle();
            return Poll::Ready(ready);
        }
        if wait.keeps_yielding(self.strategy()) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let shared = Arc::clone(&self.shared);
        let key = self.id;
        let mut outcome = None;
        let ready = self.waker(&shared).register_task(key, cx.waker(), || {
            outcome = self.try_available().transpose();
            outcome.is_some()
        });
        match outcome {
            Some(ready_now) if ready => {
                wait.settle();
                Poll::Ready(ready_now)
            }
            _ => Poll::Pending,
        }
    }

    /// Takes back this reader's task registration, if any (it is dropped, or its stream
    /// ended): the advancing side stops paying for it at once.
    pub(crate) fn forget_task(&self) {
        self.waker(&self.shared).forget_task(self.id);
    }
}
