//! Lossy taps: consumers that must never slow the producer.
//!
//! A tap gates the producer like any consumer until it lags past its [`TapPolicy`]; then the
//! producer sets `DETACHED` in its cursor and stops reading it. Because a detached tap's
//! slots may be overwritten at any moment, a tap never hands out references into the ring:
//! it copies a bounded batch out while holding `COPYING` in its cursor, and the producer,
//! if it detaches the tap mid-copy, waits for that bit to clear before it reuses a slot.
//! The wait is bounded: the copy covers at most [`TAP_BATCH`] events, and the only user code
//! in it is `T::clone`; if that panics, the tap clears the bit as it unwinds and leaves the
//! bus as failed. So a tap never sees a torn event, and the producer never waits on a tap's
//! handler.
//!
//! [`TapPolicy`]: crate::TapPolicy

use crate::cursor::{COPYING, DETACHED, SEQUENCE};
use crate::error::PollError;
use crate::handler::panic_message;
use crate::key::SlotKey;
use crate::reader::{Idle, Reader};
use crate::shared::Shared;
use crate::subscription::ConsumerId;
use crate::sync::{self, fence};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::time::{Duration, Instant};

/// The most events a tap copies out of the ring at once: it bounds how long a producer
/// detaching it mid-copy can wait.
pub(crate) const TAP_BATCH: u64 = if cfg!(any(loom, miri)) { 4 } else { 256 };

impl<T, K: SlotKey> Shared<T, K> {
    /// Puts a detached tap back at the head of the stream; returns its new start.
    pub(crate) fn rejoin_tap(&self, index: usize) -> u64 {
        let _members = sync::lock(&self.members);
        let cursor = &self.cursors[index];
        // Relaxed: statistics, written by this tap under the membership lock, which the
        // join that resets them and every report also take.
        cursor
            .detaches
            .store(cursor.detaches.load(Relaxed) + 1, Relaxed);
        loop {
            // Acquire: pairs with the producer's Release store of `published`.
            let head = self.published.load(Acquire);
            // Release: the producer's Acquire load of this cursor sees a plain position
            // again; the same protocol as a join (see `membership.rs`).
            cursor.sequence.store(head, Release);
            // Release: pairs with the producer's Acquire generation load.
            self.generation.fetch_add(1, Release);
            fence(SeqCst);
            // Acquire: pairs with the producer's Release store of `committed`.
            if head >= self.committed.load(Acquire).saturating_sub(self.capacity()) {
                // As after a join: a producer parked on a refused attempt must re-read.
                self.space_waker.notify();
                return head;
            }
        }
    }
}

/// Where a tap copies events to: the blocking tap's buffer (lent out as a slice) or the async
/// tap's queue (handed out one by one).
pub(crate) trait TapBuffer<T> {
    fn clear(&mut self);
    fn push(&mut self, event: (u64, T));
    fn len(&self) -> usize;
}

impl<T> TapBuffer<T> for Vec<(u64, T)> {
    fn clear(&mut self) {
        Vec::clear(self);
    }
    fn push(&mut self, event: (u64, T)) {
        Vec::push(self, event);
    }
    fn len(&self) -> usize {
        Vec::len(self)
    }
}

#[cfg(feature = "async")]
impl<T> TapBuffer<T> for std::collections::VecDeque<(u64, T)> {
    fn clear(&mut self) {
        std::collections::VecDeque::clear(self);
    }
    fn push(&mut self, event: (u64, T)) {
        self.push_back(event);
    }
    fn len(&self) -> usize {
        std::collections::VecDeque::len(self)
    }
}

impl<T: Clone, K: SlotKey> Reader<T, K> {
    /// Copies the readable events of its topics (at most `TAP_BATCH` sequences) into `out`.
    ///
    /// Returns `Ok(false)` when nothing is readable yet; `Err(Lagged)` after rejoining at the
    /// head if the producer detached it.
    ///
    /// # Panics
    /// If `T::clone` panics: the tap then clears `COPYING` (a producer detaching it goes on),
    /// leaves the bus as failed, and the panic continues.
    pub(crate) fn copy_out(&mut self, out: &mut impl TapBuffer<T>) -> Result<bool, Idle> {
        out.clear();
        if self.stop_requested() {
            return Err(Idle::Stop);
        }
        // Detached but nothing published since: it rejoined where it was and missed nothing,
        // so there is no gap to report.
        if let Some(missed @ 1..) = self.detached() {
            return Err(Idle::End(PollError::Lagged { missed }));
        }
        let Some(end) = self.try_available()? else {
            return Ok(false);
        };
        let start = self.next;
        let end = end.min(start + TAP_BATCH);
        let cursor = &self.shared.cursors[self.index];
        // Acquire on success: our slot reads below stay after it. Fails only if the producer
        // set DETACHED (it never changes the sequence part).
        if cursor
            .sequence
            .compare_exchange(start, start | COPYING, Acquire, Relaxed)
            .is_err()
        {
            return match self.detached() {
                Some(missed @ 1..) => Err(Idle::End(PollError::Lagged { missed })),
                // Rejoined with nothing missed; the caller reads again.
                _ => Ok(false),
            };
        }
        let copied = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: `start..end` is published (observed in `try_available` with Acquire)
            // and at or past our cursor, which holds COPYING: the producer does not overwrite
            // it until we clear that bit, attached or not (`Producer::detach`).
            for sequence in unsafe { self.wanted(start, end) } {
                // SAFETY: as above; the clone completes before COPYING is cleared below
                // (or, if it panics, in the unwinding branch after this closure).
                out.push((sequence, unsafe { self.shared.slots.get(sequence) }.clone()));
            }
        }));
        if let Err(payload) = copied {
            // `T::clone` panicked. Release: what was cloned happens before the producer's
            // Acquire load that sees COPYING clear (its detach may be waiting for it).
            cursor.sequence.fetch_and(!COPYING, Release);
            out.clear();
            let message = format!("T::clone panicked: {}", panic_message(&*payload));
            self.leave_panicked(start, message);
            resume_unwind(payload);
        }
        // Release: our copies happen before the producer's Acquire load that sees the new
        // cursor (or the cleared COPYING bit) and so before it overwrites those slots.
        if cursor
            .sequence
            .compare_exchange(start | COPYING, end, Release, Relaxed)
            .is_err()
        {
            // Detached mid-copy; the producer waits for COPYING to clear. The copies are
            // whole; the next read reports what follows as missed.
            cursor.sequence.store(end | DETACHED, Release);
        }
        let handled = out.len() as u64;
        let skipped = (end - start) - handled;
        // Relaxed: statistics, written by this thread only.
        cursor
            .handled
            .store(cursor.handled.load(Relaxed) + handled, Relaxed);
        cursor
            .skipped
            .store(cursor.skipped.load(Relaxed) + skipped, Relaxed);
        self.next = end;
        self.signal_release();
        Ok(true)
    }

    /// If the producer detached this tap: rejoins at the head and returns how many sequences
    /// it missed.
    fn detached(&mut self) -> Option<u64> {
        let cursor = &self.shared.cursors[self.index];
        // Acquire: pairs with the producer's detach (its compare-exchange sets DETACHED).
        let raw = cursor.sequence.load(Acquire);
        if raw & DETACHED == 0 {
            return None;
        }
        let position = raw & SEQUENCE;
        let start = self.shared.rejoin_tap(self.index);
        let missed = start - position;
        // Relaxed: statistics.
        cursor
            .missed
            .store(cursor.missed.load(Relaxed) + missed, Relaxed);
        self.next = start;
        self.reset_available();
        tracing::warn!(tap = %self.name, missed, rejoined_at = start, "lossy tap lagged and was detached");
        Some(missed)
    }
}

/// A lossy consumer the user's thread drives: it never slows the producer.
///
/// Events are copied out of the ring (so `T: Clone`) in batches; when the tap falls behind
/// its [`TapPolicy`](crate::TapPolicy), the producer detaches it, and its next poll returns
/// [`PollError::Lagged`] with the number of events it missed, having rejoined at the head.
///
/// ```
/// use ringbus_ring::{PollError, RingBus, Subscription, TapPolicy, Topic};
/// let (mut producer, bus) = RingBus::builder::<u64>().capacity(4).build().unwrap();
/// let mut tap = bus.tap(Subscription::new("monitor").lossy(TapPolicy::default())).unwrap();
/// for i in 0..10 {
///     producer.publish(Topic::new(0), |slot| *slot = i); // never waits on the tap
/// }
/// let missed = match tap.poll() {
///     Err(PollError::Lagged { missed }) => missed,
///     other => panic!("{other:?}"),
/// };
/// assert_eq!(missed, 10); // the tap now continues from the head
/// ```
#[derive(Debug)]
pub struct Tap<T, K: SlotKey = ()> {
    reader: Reader<T, K>,
    buffer: Vec<(u64, T)>,
    ended: Option<PollError>,
}

impl<T: Clone, K: SlotKey> Tap<T, K> {
    pub(crate) fn new(reader: Reader<T, K>) -> Self {
        Tap {
            reader,
            buffer: Vec::with_capacity(TAP_BATCH as usize),
            ended: None,
        }
    }

    /// Waits for events, then returns copies of those of the tap's topics (possibly none, if
    /// the readable ones were all of other topics) with their sequences.
    ///
    /// # Panics
    /// If `T::clone` panics; the tap has then left the bus as failed (reported by
    /// `Bus::metrics` and `Bus::join`), and a later poll returns [`PollError::Failed`].
    pub fn poll(&mut self) -> Result<&[(u64, T)], PollError> {
        self.poll_until(None)
    }

    /// Like [`Tap::poll`], but waits at most `timeout`: then returns
    /// [`PollError::Timeout`], which ends nothing (poll again).
    pub fn poll_timeout(&mut self, timeout: Duration) -> Result<&[(u64, T)], PollError> {
        self.poll_until(Instant::now().checked_add(timeout))
    }

    fn poll_until(&mut self, deadline: Option<Instant>) -> Result<&[(u64, T)], PollError> {
        loop {
            self.check_ended()?;
            match self.reader.copy_out(&mut self.buffer) {
                Ok(true) => return Ok(&self.buffer),
                Ok(false) => {}
                Err(idle) => return Err(self.end(idle)),
            }
            if let Err(idle) = self.reader.wait_available_until(deadline) {
                return Err(self.end(idle));
            }
        }
    }

    /// Like [`Tap::poll`] without waiting: `None` when nothing is readable yet.
    pub fn try_poll(&mut self) -> Result<Option<&[(u64, T)]>, PollError> {
        self.check_ended()?;
        match self.reader.copy_out(&mut self.buffer) {
            Ok(true) => Ok(Some(&self.buffer)),
            Ok(false) => Ok(None),
            Err(idle) => Err(self.end(idle)),
        }
    }

    /// The same tap, waited on from async code: see [`AsyncTap`](crate::AsyncTap).
    #[cfg(feature = "async")]
    pub fn into_async(self) -> crate::AsyncTap<T, K> {
        crate::AsyncTap::new(self.reader, self.ended)
    }

    /// This tap's id.
    pub fn id(&self) -> ConsumerId {
        self.reader.id
    }

    /// The next sequence this tap will read.
    pub fn sequence(&self) -> u64 {
        self.reader.next
    }

    fn check_ended(&mut self) -> Result<(), PollError> {
        self.reader.check_ended(&mut self.ended)
    }

    fn end(&mut self, idle: Idle) -> PollError {
        match idle {
            // Lagged is not an end: the tap has rejoined. Nor is a timeout.
            Idle::End(lagged @ PollError::Lagged { .. }) => lagged,
            Idle::Timeout => PollError::Timeout,
            other => {
                self.reader.leave_after(&other);
                let err = other.into_error();
                self.ended = Some(err.clone());
                err
            }
        }
    }
}
