//! Sequence cursors: the producer's and each consumer's position, each on its own cache line.
//!
//! Sequences are `u64` counts from 0. The producer's cursor `published` is the number of
//! events published (so the next sequence to publish); a consumer's cursor is the next
//! sequence it will read, and every sequence below it is *released*: the producer may reuse
//! its slot. A lossy tap's cursor also carries two flag bits (see [`DETACHED`], [`COPYING`]);
//! no sequence ever reaches them (2^62 events is 146 years at 1 G events/s).

use crate::sync::{AtomicBool, AtomicU64, AtomicU8};
use crossbeam_utils::CachePadded;

/// Set by the producer in a lossy tap's cursor: the tap no longer gates the producer.
pub(crate) const DETACHED: u64 = 1 << 63;
/// Set by a lossy tap in its cursor while it copies events out of the ring; the producer
/// does not overwrite those slots until the tap clears it.
pub(crate) const COPYING: u64 = 1 << 62;
/// The sequence part of a cursor.
pub(crate) const SEQUENCE: u64 = COPYING - 1;

/// The entry is unused: the producer does not read it.
pub(crate) const FREE: u8 = 0;
/// A gating consumer: the producer waits for it.
pub(crate) const GATING: u8 = 1;
/// A lossy tap: it gates until the producer detaches it.
pub(crate) const TAP: u8 = 2;
/// Its consumer is gone, but dependents still read its final cursor; the producer skips it.
pub(crate) const RETIRED: u8 = 3;

/// `done`: the consumer is still reading.
pub(crate) const RUNNING: u8 = 0;
/// `done`: it saw the end of the stream.
pub(crate) const FINISHED: u8 = 1;
/// `done`: it failed; its cursor is where it stopped.
pub(crate) const FAILED: u8 = 2;
/// `done`: it left (stopped or dropped) before the end.
pub(crate) const LEFT: u8 = 3;

/// One consumer's slot in the membership table: what the producer and dependents read.
///
/// Only the owning consumer writes `sequence` (except the producer's `DETACHED` bit on a
/// tap), `handled` and `skipped`, so they share its cache line with no contention; the
/// producer touches `producer_waits`/`producer_wait_ns` only when it actually waits (and
/// then, like a leaving consumer, only under the membership lock).
#[derive(Debug)]
pub(crate) struct ConsumerCursor {
    /// Next sequence to read, plus the tap flag bits. Always `<= published`.
    pub(crate) sequence: AtomicU64,
    /// `FREE`, `GATING`, `TAP` or `RETIRED`.
    pub(crate) state: AtomicU8,
    /// `RUNNING`, `FINISHED`, `FAILED` or `LEFT`: read by dependents to know when to stop.
    pub(crate) done: AtomicU8,
    /// A request from the bus handle that a managed handler stop at its next batch.
    pub(crate) stop: AtomicBool,
    /// Events delivered to the consumer (matching its topics).
    pub(crate) handled: AtomicU64,
    /// Events it stepped over because their topic was not in its set.
    pub(crate) skipped: AtomicU64,
    /// For taps: the most events it may fall behind before it is detached.
    pub(crate) max_lag: AtomicU64,
    /// For taps: the longest the producer waits on it before detaching it (ns; 0 = no limit).
    pub(crate) max_wait_ns: AtomicU64,
    /// How many times the producer found the ring full with this consumer the slowest.
    pub(crate) producer_waits: AtomicU64,
    /// How long the producer waited on it in total (ns).
    pub(crate) producer_wait_ns: AtomicU64,
    /// For taps: sequences missed while detached, in total.
    pub(crate) missed: AtomicU64,
    /// For taps: how many times it was detached.
    pub(crate) detaches: AtomicU64,
}

impl ConsumerCursor {
    pub(crate) fn new() -> Self {
        ConsumerCursor {
            sequence: AtomicU64::new(0),
            state: AtomicU8::new(FREE),
            done: AtomicU8::new(RUNNING),
            stop: AtomicBool::new(false),
            handled: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            max_lag: AtomicU64::new(0),
            max_wait_ns: AtomicU64::new(0),
            producer_waits: AtomicU64::new(0),
            producer_wait_ns: AtomicU64::new(0),
            missed: AtomicU64::new(0),
            detaches: AtomicU64::new(0),
        }
    }
}

/// A cursor padded to its own pair of cache lines (128 bytes on x86-64, where the spatial
/// prefetcher pulls lines in pairs), so two consumers never invalidate each other's lines.
pub(crate) type PaddedCursor = CachePadded<ConsumerCursor>;

/// The producer's published cursor, likewise padded.
pub(crate) type PaddedSequence = CachePadded<AtomicU64>;

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn cursors_sit_on_their_own_cache_lines() {
        let table: Vec<PaddedCursor> = (0..3)
            .map(|_| CachePadded::new(ConsumerCursor::new()))
            .collect();
        let a = &table[0].sequence as *const _ as usize;
        let b = &table[1].sequence as *const _ as usize;
        assert!(b - a >= 128, "neighbouring cursors {} bytes apart", b - a);
        assert_eq!(a % 128, 0, "cursor not aligned to a line pair");
        assert!(
            std::mem::size_of::<ConsumerCursor>() <= 128,
            "a cursor spills onto another line"
        );
        assert_eq!(std::mem::align_of::<PaddedSequence>(), 128);
    }

    #[test]
    fn flag_bits_are_outside_the_sequence() {
        assert_eq!(DETACHED & SEQUENCE, 0);
        assert_eq!(COPYING & SEQUENCE, 0);
        assert_eq!(DETACHED & COPYING, 0);
    }
}
