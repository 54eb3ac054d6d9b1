//! Sequence cursors: the producer's and each consumer's position, each on its own cache line.
//!
//! Sequences are `u64` counts from 0. The producer's cursor `published` is the number of
//! events published (so the next sequence to publish); a consumer's cursor is the next
//! sequence it will read, and every sequence below it is *released*: the producer may reuse
//! its slot. A lossy tap's cursor also carries two flag bits (see [`DETACHED`], [`COPYING`]);
//! no sequence ever reaches them (2^62 events is 146 years at 1 G events/s).

use crate::sync::{AtomicBool, AtomicU64, AtomicU8};
use crossbeam_utils::CachePadded;
use std::marker::PhantomData;
use std::sync::atomic::Ordering;

/// Set by the producer in a lossy tap's cursor: the tap no longer gates the producer.
pub(crate) const DETACHED: u64 = 1 << 63;
/// Set by a lossy tap in its cursor while it copies events out of the ring; the producer
/// does not overwrite those slots until the tap clears it.
pub(crate) const COPYING: u64 = 1 << 62;
/// The sequence part of a cursor.
pub(crate) const SEQUENCE: u64 = COPYING - 1;
/// The most events a bus publishes: every sequence and cursor stays clear of the flag bits.
/// The producer checks it on its slow path, which it takes at least once per lap of the ring.
pub(crate) const MAX_PUBLISHED: u64 = SEQUENCE;

/// What an entry of the membership table holds, as the producer's scan sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Role {
    /// Unused: the producer does not read it.
    Free = 0,
    /// A gating consumer: the producer waits for it.
    Gating = 1,
    /// A lossy tap: it gates until the producer detaches it.
    Tap = 2,
    /// Its consumer is gone, but dependents still read its final cursor; the producer
    /// skips it.
    Retired = 3,
}

/// How a consumer's stream ended, as its dependents see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Done {
    /// Still reading.
    Running = 0,
    /// It saw the end of the stream.
    Finished = 1,
    /// It failed; its cursor is where it stopped.
    Failed = 2,
    /// It left (stopped or dropped) before the end.
    Left = 3,
}

/// An atomic cell holding one of a `#[repr(u8)]` enum's values.
#[derive(Debug)]
pub(crate) struct AtomicEnum<E> {
    raw: AtomicU8,
    decode: PhantomData<E>,
}

/// The enums an [`AtomicEnum`] can hold.
pub(crate) trait U8Enum: Copy {
    fn into_u8(self) -> u8;
    fn from_u8(raw: u8) -> Self;
}

impl U8Enum for Role {
    fn into_u8(self) -> u8 {
        self as u8
    }
    fn from_u8(raw: u8) -> Self {
        match raw {
            0 => Role::Free,
            1 => Role::Gating,
            2 => Role::Tap,
            _ => Role::Retired,
        }
    }
}

impl U8Enum for Done {
    fn into_u8(self) -> u8 {
        self as u8
    }
    fn from_u8(raw: u8) -> Self {
        match raw {
            0 => Done::Running,
            1 => Done::Finished,
            2 => Done::Failed,
            _ => Done::Left,
        }
    }
}

/// How the producer ended the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum StreamEnd {
    /// Still publishing.
    Open = 0,
    /// Closed on purpose: dropped or `close`d.
    Closed = 1,
    /// Gone early: it panicked, or gave up with `abort`.
    Aborted = 2,
}

impl U8Enum for StreamEnd {
    fn into_u8(self) -> u8 {
        self as u8
    }
    fn from_u8(raw: u8) -> Self {
        match raw {
            0 => StreamEnd::Open,
            1 => StreamEnd::Closed,
            _ => StreamEnd::Aborted,
        }
    }
}

impl<E: U8Enum> AtomicEnum<E> {
    pub(crate) fn new(value: E) -> Self {
        AtomicEnum {
            raw: AtomicU8::new(value.into_u8()),
            decode: PhantomData,
        }
    }

    #[inline]
    pub(crate) fn load(&self, order: Ordering) -> E {
        E::from_u8(self.raw.load(order))
    }

    #[inline]
    pub(crate) fn store(&self, value: E, order: Ordering) {
        self.raw.store(value.into_u8(), order);
    }
}

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
    /// What the entry holds; the producer's scan reads it first.
    pub(crate) state: AtomicEnum<Role>,
    /// How the consumer's stream ended: read by dependents to know when to stop.
    pub(crate) done: AtomicEnum<Done>,
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
            state: AtomicEnum::new(Role::Free),
            done: AtomicEnum::new(Done::Running),
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
