//! Wait strategies: how a consumer waits for events and the producer waits for space.
//!
//! Every wait is "loop until a condition holds"; strategies differ only in what a thread
//! does between two checks. Blocking needs the other side to *signal*, so the side that
//! advances a cursor calls [`Waker::notify`] after its store; that costs the light side of a
//! barrier pair (`barrier.rs`: a compiler fence where the kernel offers asymmetric barriers)
//! and one load of a counter, and takes the lock only when some thread is actually parked
//! (the crossbeam `SyncWaker` design). An async consumer that must wait registers its task's
//! waker in the same count and under the same lock (`register_task`), so a notifier pays for
//! it exactly as for a parked thread: only while it waits.

use crate::barrier::Barriers;
#[cfg(feature = "async")]
use crate::subscription::ConsumerId;
use crate::sync::{self, AtomicUsize, Condvar, Mutex};
use std::cell::Cell;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// How a thread waits for the ring to move.
///
/// ```
/// use ringbus_ring::{RingBus, WaitStrategy};
/// let (producer, bus) = RingBus::builder::<u64>()
///     .capacity(64)
///     .wait_strategy(WaitStrategy::Blocking)
///     .build()
///     .unwrap();
/// drop(producer);
/// bus.join().unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WaitStrategy {
    /// Spin on the cursor. Lowest latency with a core per thread; collapses when threads
    /// outnumber cores (a spinning thread burns the time slice the thread it waits for needs).
    BusySpin,
    /// Spin briefly, then `yield_now` between checks. Never parks.
    SpinThenYield,
    /// Park on a condition variable at once; the advancing side wakes parked threads.
    Blocking,
    /// Spin, then yield for up to 5 ms (1 ms for a waiter that parked in the last 100 ms),
    /// then park: as fast as spinning and yielding while the bus is busy (nobody parks, so
    /// publishing pays nothing for parking), no collapse when threads outnumber cores, a
    /// stream's hiccups ridden out without a park, and no CPU burnt once the bus has been
    /// quiet for 5 ms. The default.
    #[default]
    Adaptive,
}

impl WaitStrategy {
    /// Every strategy, for sweeps and tests.
    pub const ALL: [WaitStrategy; 4] = [
        WaitStrategy::BusySpin,
        WaitStrategy::SpinThenYield,
        WaitStrategy::Blocking,
        WaitStrategy::Adaptive,
    ];

    /// Whether a waiting thread may park, so the advancing side must signal.
    #[inline]
    pub(crate) fn may_park(self) -> bool {
        matches!(self, WaitStrategy::Blocking | WaitStrategy::Adaptive)
    }

    /// A short, stable name ("busy-spin", "spin-yield", "blocking", "adaptive").
    pub fn name(self) -> &'static str {
        match self {
            WaitStrategy::BusySpin => "busy-spin",
            WaitStrategy::SpinThenYield => "spin-yield",
            WaitStrategy::Blocking => "blocking",
            WaitStrategy::Adaptive => "adaptive",
        }
    }
}

impl std::str::FromStr for WaitStrategy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WaitStrategy::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| format!("unknown wait strategy {s:?} (expected busy-spin, spin-yield, blocking or adaptive)"))
    }
}

impl std::fmt::Display for WaitStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Spins before yielding. Short: on two cores the thread we wait for may need our core.
pub(crate) const SPINS: u32 = if cfg!(loom) { 1 } else { 64 };
/// Adaptive: how long a wait yields before it parks. While nobody is parked the advancing
/// side pays nothing for parking (asymmetric barriers, `barrier.rs`), so parking should be
/// for a bus gone quiet, not for the gaps of a busy one: a park costs the sleeper a
/// `membarrier` (an interrupt on every core running the process) and the waker a lock and a
/// futex call, a consumer that parked mid-stream lets the ring fill behind it, and the kernel
/// may wake it onto the CPU of the thread that woke it, where it shares that CPU with a busy
/// producer until the scheduler moves one of them (tens of milliseconds). Measured on 2 cores
/// (docs/decisions/adaptive-yield-phase.md): below 100 µs throughput with 4 and 8 consumers
/// suffers; a stream paced at 1 M events/s, whose producer the machine stops for up to a few
/// milliseconds now and then, parks and gets millisecond p99 runs several times as often with
/// a 1 ms or 3 ms phase as with 5 ms. A bus quiet for 5 ms still costs no CPU.
const YIELD_FOR: Duration = Duration::from_millis(5);
/// Adaptive: the yield phase of a waiter that parked less than [`PARKED_RECENTLY`] ago. Its
/// stream has quiet spells, so a wait is more likely one of those than a hiccup of the
/// producer, and yielding through it would burn a core for nothing.
const YIELD_FOR_AFTER_PARK: Duration = Duration::from_millis(1);
/// Adaptive: how long a park counts as recent for [`YIELD_FOR_AFTER_PARK`].
const PARKED_RECENTLY: Duration = Duration::from_millis(100);
/// Spins before yielding under `SpinThenYield`.
pub(crate) const SPINS_BEFORE_YIELD: u32 = if cfg!(loom) { 1 } else { 128 };

/// Where threads park (and async tasks register), and the signal that wakes them.
#[derive(Debug)]
pub(crate) struct Waker {
    /// Threads counted as parked or about to park, and tasks registered. Read by `notify`
    /// after the light barrier; see there. Changed only under `parked`'s lock.
    sleepers: AtomicUsize,
    /// The barrier pair between notifiers and parking waiters.
    barriers: Barriers,
    parked: Mutex<Parked>,
    condvar: Condvar,
}

/// What `Waker`'s lock guards.
#[derive(Debug, Default)]
struct Parked {
    /// How many times `wake_all` ran: a parked thread that wakes to an unchanged count
    /// timed out or woke spuriously, and still counts itself in `sleepers`.
    wakeups: u64,
    /// The wakers of registered async tasks, one per consumer; each is counted in
    /// `sleepers` while it is here (`wake_all` takes them all as it clears the count).
    #[cfg(feature = "async")]
    tasks: Vec<(ConsumerId, std::task::Waker)>,
}

impl Waker {
    pub(crate) fn new(barriers: Barriers) -> Self {
        Waker {
            sleepers: AtomicUsize::new(0),
            barriers,
            parked: Mutex::new(Parked::default()),
            condvar: Condvar::new(),
        }
    }

    /// Wakes every parked thread. Call it after the store that may satisfy their condition.
    ///
    /// No wake-up is lost: the light barrier here and the heavy one in `park_until` form a
    /// pair (`barrier.rs`), so either this load sees the sleeper's increment (and we lock and
    /// notify; the sleeper holds the lock from before its increment until it waits, so the
    /// notify cannot fall in between), or the sleeper's re-check after its barrier sees our
    /// store.
    #[inline]
    pub(crate) fn notify(&self) {
        self.barriers.light();
        self.notify_after_barrier();
    }

    /// [`Waker::notify`] for a caller that has just issued the light barrier itself (one
    /// barrier can serve several wakers).
    #[inline]
    pub(crate) fn notify_after_barrier(&self) {
        // Relaxed: ordered after the caller's store by the barrier pair (see `notify`).
        if self.sleepers.load(Relaxed) != 0 {
            self.wake_all();
        }
    }

    /// Wakes everyone and clears the count, so the notifications that follow (one per
    /// publish, while the woken threads are still being scheduled) cost no lock.
    #[cold]
    fn wake_all(&self) {
        let mut parked = sync::lock(&self.parked);
        parked.wakeups = parked.wakeups.wrapping_add(1);
        // Relaxed: under the lock, like every change of the count.
        self.sleepers.store(0, Relaxed);
        self.condvar.notify_all();
        #[cfg(feature = "async")]
        {
            let tasks = std::mem::take(&mut parked.tasks);
            // Woken outside the lock: a task's waker is the executor's code, which may poll
            // the task (and so register it again) before returning.
            drop(parked);
            for (_, task) in tasks {
                task.wake();
            }
        }
    }

    /// Registers an async consumer's task to be woken by the next notify, unless `ready`
    /// (run under the lock, like `park_until`'s) says its condition holds already: then
    /// returns true and registers nothing. A task that is registered already only has its
    /// waker updated: it is still counted, so no notify has run since it registered (one would
    /// have taken it), and whatever was stored since then will notify it.
    ///
    /// The same protocol as a parking thread (`park_until`): count in, heavy barrier,
    /// re-check; a notifier's light barrier then either sees the count or the re-check sees
    /// its store.
    #[cfg(feature = "async")]
    pub(crate) fn register_task(
        &self,
        key: ConsumerId,
        task: &std::task::Waker,
        ready: impl FnOnce() -> bool,
    ) -> bool {
        let mut parked = sync::lock(&self.parked);
        if let Some((_, registered)) = parked.tasks.iter_mut().find(|(k, _)| *k == key) {
            registered.clone_from(task);
            return false;
        }
        // Relaxed: under the lock; the heavy barrier orders it before the re-check.
        self.sleepers.fetch_add(1, Relaxed);
        self.barriers.heavy();
        if ready() {
            // Relaxed: under the lock; no notifier cleared the count since we added to it.
            self.sleepers.fetch_sub(1, Relaxed);
            return true;
        }
        parked.tasks.push((key, task.clone()));
        false
    }

    /// Takes back a task's registration, if it is still registered (a dropped async
    /// consumer, or one whose stream ended): notifiers stop paying for it at once.
    #[cfg(feature = "async")]
    pub(crate) fn forget_task(&self, key: ConsumerId) {
        let mut parked = sync::lock(&self.parked);
        if let Some(i) = parked.tasks.iter().position(|(k, _)| *k == key) {
            parked.tasks.swap_remove(i);
            // Relaxed: under the lock. Still registered, so still counted: `wake_all` takes
            // the registrations and clears the count together.
            self.sleepers.fetch_sub(1, Relaxed);
        }
    }

    /// Whether some thread or task is counted as waiting (tests).
    #[cfg(all(test, feature = "async"))]
    pub(crate) fn has_sleepers(&self) -> bool {
        self.sleepers.load(Relaxed) != 0
    }

    /// Parks until `ready` returns true, or until `deadline()` passes (then returns without
    /// it). `ready` runs under the waker's lock: it must not take this waker's lock or run
    /// user code (the producer's check may detach a tap, which waits only on the tap's copy).
    pub(crate) fn park_until(
        &self,
        mut ready: impl FnMut() -> bool,
        deadline: impl Fn() -> Option<Instant>,
    ) {
        let mut parked = sync::lock(&self.parked);
        loop {
            // Count ourselves in, then re-check: the heavy barrier orders the increment before
            // the re-check against every notifier's light one (see `notify`). Relaxed: under
            // the lock.
            self.sleepers.fetch_add(1, Relaxed);
            self.barriers.heavy();
            if ready() {
                // Relaxed: under the lock; no notifier cleared the count since we added to it.
                self.sleepers.fetch_sub(1, Relaxed);
                return;
            }
            let seen = parked.wakeups;
            parked = match deadline() {
                None => self.condvar.wait(parked),
                Some(at) if Instant::now() < at => self.condvar.wait_until(parked, at),
                Some(_) => {
                    // Relaxed: under the lock.
                    self.sleepers.fetch_sub(1, Relaxed);
                    return;
                }
            };
            if parked.wakeups == seen {
                // Timed out or woken spuriously: nobody cleared our count, take it back.
                // Relaxed: under the lock.
                self.sleepers.fetch_sub(1, Relaxed);
            }
            // Woken (or timed out) to a condition that holds: done, without the heavy barrier
            // of counting in again, which a wake-up would otherwise pay on the way out. We are
            // not counted now, so there is nothing to order; if it does not hold, the loop
            // counts in and re-checks as the first time.
            if ready() {
                return;
            }
        }
    }
}

/// Runs `check` until it returns `Some`, waiting between checks as `strategy` says. A
/// parked waiter also wakes by `deadline` (if set; `check` may move it), for conditions that
/// can become true with time alone: a caller's timeout, or the producer detaching a tap
/// after its `max_wait`. `history` is the waiter's: a park is recorded in it.
#[inline]
pub(crate) fn wait_for_until<R>(
    strategy: WaitStrategy,
    waker: &Waker,
    history: &mut ParkHistory,
    deadline: &Cell<Option<Instant>>,
    mut check: impl FnMut() -> Option<R>,
) -> R {
    let mut step: u32 = 0;
    let mut yield_until = None;
    loop {
        if let Some(r) = check() {
            return r;
        }
        match strategy {
            WaitStrategy::BusySpin => sync::spin_loop(),
            WaitStrategy::SpinThenYield if step < SPINS_BEFORE_YIELD => sync::spin_loop(),
            WaitStrategy::SpinThenYield => sync::thread::yield_now(),
            WaitStrategy::Adaptive if step < SPINS => sync::spin_loop(),
            WaitStrategy::Adaptive if still_yielding(&mut yield_until, step, *history) => {
                sync::thread::yield_now()
            }
            WaitStrategy::Adaptive | WaitStrategy::Blocking => {
                // Only an adaptive wait reads the history: a blocking one parks every time.
                if strategy == WaitStrategy::Adaptive {
                    history.parked();
                }
                let mut result = None;
                waker.park_until(
                    || {
                        result = check();
                        result.is_some()
                    },
                    || deadline.get(),
                );
                if let Some(r) = result {
                    return r;
                }
            }
        }
        step = step.saturating_add(1);
    }
}

/// When a waiter last parked (or registered its task): it sets how long the waiter's
/// adaptive waits yield before parking. One per waiter, kept across its waits.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ParkHistory {
    last_park: Option<Instant>,
}

impl ParkHistory {
    /// How long a wait that starts yielding at `now` yields.
    fn yield_phase(self, now: Instant) -> Duration {
        match self.last_park {
            Some(at) if now.saturating_duration_since(at) < PARKED_RECENTLY => YIELD_FOR_AFTER_PARK,
            _ => YIELD_FOR,
        }
    }

    /// The waiter parks now.
    #[inline]
    pub(crate) fn parked(&mut self) {
        // Loom has no clock (and `still_yielding` does not read this under it).
        if !cfg!(loom) {
            self.last_park = Some(Instant::now());
        }
    }
}

/// Whether an adaptive wait is still in its yield phase (from its first yield, as long as
/// `history` says).
#[inline]
pub(crate) fn still_yielding(until: &mut Option<Instant>, step: u32, history: ParkHistory) -> bool {
    if cfg!(loom) {
        // Loom has no clock: one yield, then park.
        return step == SPINS;
    }
    let now = Instant::now();
    now < *until.get_or_insert_with(|| now + history.yield_phase(now))
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    #[test]
    fn names_round_trip() {
        for w in WaitStrategy::ALL {
            assert_eq!(w.name().parse::<WaitStrategy>().unwrap(), w);
        }
        assert!("spin".parse::<WaitStrategy>().is_err());
        assert_eq!(WaitStrategy::default(), WaitStrategy::Adaptive);
    }

    #[test]
    fn the_yield_phase_is_short_only_after_a_recent_park() {
        let now = Instant::now();
        let never = ParkHistory::default();
        assert_eq!(never.yield_phase(now), YIELD_FOR);
        let mut history = ParkHistory::default();
        history.parked();
        let parked = history.last_park.expect("a park is recorded");
        assert_eq!(history.yield_phase(parked), YIELD_FOR_AFTER_PARK);
        assert_eq!(
            history.yield_phase(parked + PARKED_RECENTLY - Duration::from_micros(1)),
            YIELD_FOR_AFTER_PARK
        );
        assert_eq!(history.yield_phase(parked + PARKED_RECENTLY), YIELD_FOR);
        // A clock read older than the recorded park counts as recent (and does not panic).
        assert_eq!(
            history.yield_phase(parked - Duration::from_millis(1)),
            YIELD_FOR_AFTER_PARK
        );
    }

    #[test]
    fn an_adaptive_wait_records_its_park() {
        let waker = Arc::new(Waker::new(Barriers::available()));
        let flag = Arc::new(AtomicBool::new(false));
        let t = {
            let (waker, flag) = (waker.clone(), flag.clone());
            std::thread::spawn(move || {
                let mut history = ParkHistory::default();
                wait_for_until(
                    WaitStrategy::Adaptive,
                    &waker,
                    &mut history,
                    &Cell::new(None),
                    || {
                        flag.load(std::sync::atomic::Ordering::Acquire)
                            .then_some(())
                    },
                );
                history
            })
        };
        // Set the flag once the waiter has counted itself in to park (after its yield phase).
        while waker.sleepers.load(Relaxed) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        flag.store(true, std::sync::atomic::Ordering::Release);
        waker.notify();
        let history = t.join().unwrap();
        assert!(history.last_park.is_some(), "the park is recorded");
    }

    #[test]
    fn a_parked_waiter_is_woken_by_notify() {
        for strategy in WaitStrategy::ALL {
            let waker = Arc::new(Waker::new(Barriers::available()));
            let flag = Arc::new(AtomicBool::new(false));
            let t = {
                let (waker, flag) = (waker.clone(), flag.clone());
                std::thread::spawn(move || {
                    wait_for_until(
                        strategy,
                        &waker,
                        &mut ParkHistory::default(),
                        &Cell::new(None),
                        || flag.load(std::sync::atomic::Ordering::Acquire).then_some(7),
                    )
                })
            };
            std::thread::sleep(std::time::Duration::from_millis(if cfg!(miri) {
                1
            } else {
                20
            }));
            flag.store(true, std::sync::atomic::Ordering::Release);
            waker.notify();
            assert_eq!(t.join().unwrap(), 7);
        }
    }
}
