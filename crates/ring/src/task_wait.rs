//! Waiting from async code: the counterpart of `wait_for_until` for a task, which must never
//! block its executor's thread.
//!
//! Between two checks a thread spins, yields or parks. A task spins and yields the same way,
//! for as long, but hands the thread back to its executor between yields (it wakes itself
//! and returns `Pending`, so the executor runs its other tasks first), and instead of parking
//! it registers its waker with the bus's `Waker`, in the same sleeper count and under the
//! same lock as parking threads: the side that advances pays for it only while it is
//! registered (`Waker::register_task`).

use crate::reader::{Idle, Reader};
use crate::sync::{self, Arc};
use crate::wait::{still_yielding, ParkHistory, WaitStrategy, SPINS, SPINS_BEFORE_YIELD};
use std::task::{Context, Poll};
use std::time::Instant;

/// `BusySpin`: checks per poll before the task hands the thread back to its executor.
const SPINS_PER_POLL: u32 = if cfg!(loom) { 1 } else { 64 };

/// Where a task is in one wait.
#[derive(Debug, Default)]
pub(crate) struct TaskWait {
    /// Checks that found nothing so far in the current wait.
    step: u32,
    /// Adaptive: when the yield phase of the current wait ends (set by its first yield).
    yield_until: Option<Instant>,
    /// When the task last registered to be woken, across its waits: as a thread's parks, it
    /// sets how long the task's adaptive waits yield.
    park_history: ParkHistory,
}

/// What a task does after a check that found nothing.
enum Then {
    /// Check again at once.
    Spin,
    /// Let the executor run other tasks, then check again.
    Requeue,
    /// Yield the thread to the operating system too (as a waiting thread's `yield_now`).
    Yield,
    /// Register to be woken.
    Register,
}

impl TaskWait {
    /// The wait is over: the next one starts with its spins again.
    fn settle(&mut self) {
        self.step = 0;
        self.yield_until = None;
    }

    /// The step after the current check, as `wait_for_until` takes it for a thread.
    fn then(&mut self, strategy: WaitStrategy) -> Then {
        let step = self.step;
        self.step = step.saturating_add(1);
        match strategy {
            WaitStrategy::BusySpin if step % SPINS_PER_POLL == SPINS_PER_POLL - 1 => Then::Requeue,
            WaitStrategy::BusySpin => Then::Spin,
            WaitStrategy::SpinThenYield if step < SPINS_BEFORE_YIELD => Then::Spin,
            WaitStrategy::SpinThenYield => Then::Yield,
            WaitStrategy::Adaptive if step < SPINS => Then::Spin,
            WaitStrategy::Adaptive
                if still_yielding(&mut self.yield_until, step, self.park_history) =>
            {
                Then::Yield
            }
            WaitStrategy::Adaptive => {
                self.park_history.parked();
                Then::Register
            }
            WaitStrategy::Blocking => Then::Register,
        }
    }
}

impl<T, K: crate::key::SlotKey> Reader<T, K> {
    /// [`Reader::wait_available`] for a task: `Ready` with the readable end (or why nothing
    /// will be readable), or `Pending` with the task either woken at once (to be polled again
    /// after the executor's other tasks) or registered to be woken when the producer, or an
    /// upstream, moves.
    pub(crate) fn poll_available(
        &mut self,
        cx: &mut Context<'_>,
        wait: &mut TaskWait,
    ) -> Poll<Result<u64, Idle>> {
        loop {
            if let Some(ready) = self.try_available().transpose() {
                wait.settle();
                return Poll::Ready(ready);
            }
            match wait.then(self.strategy()) {
                Then::Spin => sync::spin_loop(),
                Then::Requeue => {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Then::Yield => {
                    sync::thread::yield_now();
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Then::Register => return self.register(cx, wait),
            }
        }
    }

    #[cold]
    fn register(&mut self, cx: &mut Context<'_>, wait: &mut TaskWait) -> Poll<Result<u64, Idle>> {
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
