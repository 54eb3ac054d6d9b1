//! The state every handle of one bus points to.

use crate::barrier::Barriers;
use crate::cursor::{AtomicEnum, ConsumerCursor, PaddedCursor, PaddedSequence, StreamEnd};
use crate::key::SlotKey;
use crate::membership::Members;
use crate::slots::Slots;
use crate::sync::{AtomicU64, AtomicUsize, Mutex};
use crate::wait::{WaitStrategy, Waker};
use crossbeam_utils::CachePadded;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::time::Instant;

/// Settings fixed at build time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    pub(crate) strategy: WaitStrategy,
    /// Whether advancing sides signal the wakers (some waiter may park).
    pub(crate) signals: bool,
    /// The barrier pair between notifiers and parking waiters.
    pub(crate) barriers: Barriers,
    /// The producer commits to overwriting at most `capacity - replay_window` events ahead
    /// of what it has published, so a consumer can always join that far back.
    pub(crate) replay_window: u64,
    /// Whether consumers may join after `build`.
    pub(crate) dynamic: bool,
    pub(crate) bus_id: u64,
    /// How many departed consumers' final figures are kept for the metrics.
    pub(crate) departed_kept: usize,
}

/// The producer's wait statistics, written by the producer only, on its slow path.
#[derive(Debug)]
pub(crate) struct ProducerStats {
    pub(crate) waits: AtomicU64,
    pub(crate) wait_ns: AtomicU64,
    pub(crate) full: AtomicU64,
    pub(crate) detached: AtomicU64,
    /// The table index + 1 of the consumer the producer is waiting on now (0: none). Set by
    /// the producer when a wait starts; whoever takes it back, under the membership lock,
    /// charges the wait to that consumer: the producer when the wait ends, or the consumer's
    /// `leave` if it leaves first (so a wait ended by a leave counts for the leaver).
    pub(crate) waiting_on: AtomicUsize,
    /// When that wait started, in nanoseconds since `Shared::epoch`.
    pub(crate) wait_started_ns: AtomicU64,
}

/// Asks an event whether it passes a key filter its key answered `Maybe` to
/// (`Routed::matches` for a routed bus).
pub(crate) type Confirm<T, K> = fn(&T, &<K as SlotKey>::Filter) -> bool;

/// One bus: the ring, the cursors, the wakers and the membership table.
#[derive(Debug)]
pub(crate) struct Shared<T, K: SlotKey = ()> {
    /// Events published so far: the next sequence to publish. Written only by the producer,
    /// with Release stores that consumers pair with Acquire loads.
    pub(crate) published: PaddedSequence,
    /// The producer's promise (its `limit`, never below `next`): it has written no sequence
    /// at or past this value, and writes none before it has re-read the consumer cursors. So every event from `committed -
    /// capacity` on is intact until then; joiners read it to know which events are safe to
    /// start at (see `membership.rs`).
    pub(crate) committed: PaddedSequence,
    /// Set by the producer when it is dropped, closed or aborted, after its last `published`
    /// store; `Aborted` if it panicked or called `abort`.
    pub(crate) closed: CachePadded<AtomicEnum<StreamEnd>>,
    pub(crate) slots: Slots<T, K>,
    /// Decides key filters' `Maybe`s on the event.
    pub(crate) confirm: Confirm<T, K>,
    /// The membership table the producer scans. Entries at or past `high_water` are `Free`.
    pub(crate) cursors: Box<[PaddedCursor]>,
    pub(crate) high_water: CachePadded<AtomicUsize>,
    /// Bumped by every join after its cursor is in the table; see `membership.rs`.
    pub(crate) generation: CachePadded<AtomicU64>,
    /// The producer's scans of the table: odd while one runs. A freed entry is reused only
    /// once every scan that may have read its old occupant has ended; see `membership.rs`.
    pub(crate) scans: CachePadded<AtomicU64>,
    /// Names, kinds, dependencies, failures, threads: everything off the hot path.
    pub(crate) members: Mutex<Members>,
    /// Consumers without dependencies park here; the producer signals it.
    pub(crate) data_waker: CachePadded<Waker>,
    /// Consumers with dependencies park here; every consumer release signals it.
    pub(crate) upstream_waker: CachePadded<Waker>,
    /// The producer parks here on a full ring; every consumer release signals it.
    pub(crate) space_waker: CachePadded<Waker>,
    pub(crate) producer_stats: CachePadded<ProducerStats>,
    pub(crate) config: Config,
    /// The clock origin of `ProducerStats::wait_started_ns`.
    pub(crate) epoch: Instant,
}

impl<T, K: SlotKey> Shared<T, K> {
    pub(crate) fn new(
        slots: Slots<T, K>,
        confirm: Confirm<T, K>,
        max_consumers: usize,
        config: Config,
    ) -> Self {
        Shared {
            confirm,
            published: CachePadded::new(AtomicU64::new(0)),
            committed: CachePadded::new(AtomicU64::new(0)),
            closed: CachePadded::new(AtomicEnum::new(StreamEnd::Open)),
            slots,
            cursors: (0..max_consumers)
                .map(|_| CachePadded::new(ConsumerCursor::new()))
                .collect(),
            high_water: CachePadded::new(AtomicUsize::new(0)),
            generation: CachePadded::new(AtomicU64::new(0)),
            scans: CachePadded::new(AtomicU64::new(0)),
            members: Mutex::new(Members::new(max_consumers, config.departed_kept)),
            data_waker: CachePadded::new(Waker::new(config.barriers)),
            upstream_waker: CachePadded::new(Waker::new(config.barriers)),
            space_waker: CachePadded::new(Waker::new(config.barriers)),
            producer_stats: CachePadded::new(ProducerStats {
                waits: AtomicU64::new(0),
                wait_ns: AtomicU64::new(0),
                full: AtomicU64::new(0),
                detached: AtomicU64::new(0),
                waiting_on: AtomicUsize::new(0),
                wait_started_ns: AtomicU64::new(0),
            }),
            config,
            epoch: Instant::now(),
        }
    }

    #[inline]
    pub(crate) fn capacity(&self) -> u64 {
        self.slots.capacity()
    }

    /// Nanoseconds since `epoch`.
    pub(crate) fn clock_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos().min(u64::MAX as u128) as u64
    }

    /// The producer's wait on the consumer at `index`, if one is in progress: its start.
    pub(crate) fn wait_in_progress(&self, index: usize) -> Option<u64> {
        let stats = &self.producer_stats;
        // Acquire: pairs with the producer's Release store of `waiting_on`, so the start
        // it stored first is visible.
        (stats.waiting_on.load(Acquire) == index + 1)
            // Relaxed: ordered by the Acquire load above.
            .then(|| stats.wait_started_ns.load(Relaxed))
    }

    /// Whether the producer has ended the stream (closed or aborted); `Acquire`: pairs with its
    /// Release store, so the final `published` is visible.
    #[inline]
    pub(crate) fn stream_end(&self) -> StreamEnd {
        self.closed.load(Acquire)
    }

    /// Wakes every parked thread of every kind (close, stop, leave).
    pub(crate) fn wake_everyone(&self) {
        self.data_waker.notify();
        self.upstream_waker.notify_after_barrier();
        self.space_waker.notify_after_barrier();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn producer_and_shared_cursors_do_not_share_lines() {
        let config = Config {
            strategy: WaitStrategy::Adaptive,
            signals: true,
            barriers: Barriers::Symmetric,
            replay_window: 0,
            dynamic: true,
            bus_id: 1,
            departed_kept: usize::MAX,
        };
        let slots = Slots::<u64, ()>::new(4, || 0u64).unwrap();
        let shared = Shared::new(slots, |_, _| true, 2, config);
        let addr = |p: *const u8| p as usize;
        let published = addr(&*shared.published as *const _ as *const u8);
        let committed = addr(&*shared.committed as *const _ as *const u8);
        let closed = addr(&*shared.closed as *const _ as *const u8);
        let c0 = addr(&shared.cursors[0].sequence as *const _ as *const u8);
        let c1 = addr(&shared.cursors[1].sequence as *const _ as *const u8);
        let all = [published, committed, closed, c0, c1];
        for (i, a) in all.iter().enumerate() {
            assert_eq!(a % 128, 0, "field {i} not on its own line pair");
            for b in &all[i + 1..] {
                assert!(
                    a.abs_diff(*b) >= 128,
                    "fields {a:#x} and {b:#x} share a line pair"
                );
            }
        }
    }
}
