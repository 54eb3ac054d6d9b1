//! What every consumer shares: its cursor, its topics, its dependencies, and how it waits.

use crate::cursor::{ConsumerCursor, Done, StreamEnd};
use crate::error::{ConfigError, ConsumerFailure, FailureCause, PollError};
use crate::key::{KeyMatch, SlotKey};
use crate::membership::Joined;
use crate::shared::Shared;
use crate::subscription::{ConsumerId, Subscription};
use crate::sync::Arc;
use crate::topic::{Topic, TopicSet};
use crate::wait::{wait_for_until, ParkHistory, WaitStrategy, Waker};
use std::cell::Cell;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::Instant;

/// A consumer's read position and the rules for advancing it.
#[derive(Debug)]
pub(crate) struct Reader<T, K: SlotKey = ()> {
    pub(crate) shared: Arc<Shared<T, K>>,
    pub(crate) id: ConsumerId,
    pub(crate) name: String,
    pub(crate) index: usize,
    /// The next sequence to read; mirrors the cursor, which only this reader writes.
    pub(crate) next: u64,
    /// A known upper bound of what is readable, so a consumer with a backlog does not
    /// re-read `published` per batch.
    available: u64,
    pub(crate) topics: TopicSet,
    pub(crate) all_topics: bool,
    /// The topic of a one-topic subscription: its tags are scanned eight at a time.
    single_topic: Option<Topic>,
    /// What its events' keys must pass, if anything.
    keys: Option<KeyFilter<K>>,
    /// How this reader waits (its subscription's strategy, or the bus's).
    strategy: WaitStrategy,
    /// When it last parked, for how long its adaptive waits yield.
    park_history: ParkHistory,
    upstream: Box<[(usize, String)]>,
    /// How it left the table, once it has.
    gone: Option<Done>,
}

/// Why a wait ended without events.
#[derive(Debug)]
pub(crate) enum Idle {
    /// The stream ended (or an upstream stopped) for this reader.
    End(PollError),
    /// The bus asked this reader to stop (`Bus::stop`).
    Stop,
    /// The caller's deadline passed first; nothing ended.
    Timeout,
}

impl Idle {
    /// What a poll returns for it.
    pub(crate) fn into_error(self) -> PollError {
        match self {
            Idle::End(e) => e,
            Idle::Stop => PollError::Stopped,
            Idle::Timeout => PollError::Timeout,
        }
    }
}

/// A reader's key filter, and the topics it does not apply to.
#[derive(Debug)]
pub(crate) struct KeyFilter<K: SlotKey> {
    pub(crate) filter: K::Filter,
    /// Events of these topics pass whatever their key (`Subscription::always`).
    pub(crate) unkeyed: TopicSet,
}

impl<K: SlotKey> KeyFilter<K> {
    /// The key filter of `sub`, if it has one, as the bus's key type takes it.
    pub(crate) fn of(sub: &Subscription) -> Result<Option<Self>, ConfigError> {
        let Some(filter) = &sub.keys else {
            return Ok(None);
        };
        match filter.get::<K::Filter>() {
            Some(filter) => Ok(Some(KeyFilter {
                filter,
                unkeyed: sub.always,
            })),
            None => Err(ConfigError::KeyFilterType {
                consumer: sub.name.clone(),
                expected: std::any::type_name::<K::Filter>(),
                found: filter.type_name(),
            }),
        }
    }
}

impl<T, K: SlotKey> Reader<T, K> {
    pub(crate) fn new(
        shared: Arc<Shared<T, K>>,
        joined: Joined,
        name: String,
        topics: TopicSet,
        keys: Option<KeyFilter<K>>,
        strategy: WaitStrategy,
    ) -> Self {
        Reader {
            shared,
            id: joined.id,
            name,
            index: joined.index,
            next: joined.start,
            available: joined.start,
            all_topics: topics.is_all(),
            single_topic: topics.single(),
            // A key filter is never checked on a bus without keys: every `()` passes.
            keys: keys.filter(|_| K::STORED),
            strategy,
            park_history: ParkHistory::default(),
            topics,
            upstream: joined.upstream.into_boxed_slice(),
            gone: None,
        }
    }

    #[inline]
    pub(crate) fn cursor(&self) -> &ConsumerCursor {
        &self.shared.cursors[self.index]
    }

    /// The end of what is readable now (exclusive), if anything is; or why nothing ever will be.
    #[inline]
    pub(crate) fn try_available(&mut self) -> Result<Option<u64>, Idle> {
        if self.available > self.next {
            return Ok(Some(self.available));
        }
        // Acquire: pairs with the producer's Release store; the slot writes below `end` are
        // visible to us.
        let mut end = self.shared.published.load(Acquire);
        for (u, _) in self.upstream.iter() {
            // Acquire: pairs with the upstream's Release store of its cursor: it has finished
            // with (and whatever it did for) every event below. (An upstream is never a tap,
            // so its cursor carries no flag.)
            end = end.min(self.shared.cursors[*u].sequence.load(Acquire));
        }
        if end > self.next {
            self.available = end;
            return Ok(Some(end));
        }
        self.idle()
    }

    /// Whether the bus asked this reader to stop (checked once per batch or poll).
    #[inline]
    pub(crate) fn stop_requested(&self) -> bool {
        // Relaxed: the bus sets it and then wakes us; a late sight costs one more batch.
        self.cursor().stop.load(Relaxed)
    }

    /// The error a polled consumer returns from now on, if its stream has ended: `ended`
    /// as recorded by its last poll, or `Failed` if it left as failed in a panic its caller
    /// caught (a batch dropped while panicking, a panicking `T::clone`).
    pub(crate) fn check_ended(&self, ended: &mut Option<PollError>) -> Result<(), PollError> {
        if ended.is_none() && self.gone == Some(Done::Failed) {
            *ended = Some(PollError::Failed);
        }
        match ended {
            Some(end) => Err(end.clone()),
            None => Ok(()),
        }
    }

    #[cold]
    fn idle(&mut self) -> Result<Option<u64>, Idle> {
        if self.stop_requested() {
            return Err(Idle::Stop);
        }
        for (u, name) in self.upstream.iter() {
            let up = &self.shared.cursors[*u];
            // Acquire: pairs with the Release store in `leave`: its final cursor is visible.
            let done = up.done.load(Acquire);
            if matches!(done, Done::Failed | Done::Left)
                // Acquire: as in `try_available`.
                && up.sequence.load(Acquire) <= self.next
            {
                return Err(Idle::End(PollError::UpstreamGone {
                    name: name.clone(),
                    failed: done == Done::Failed,
                }));
            }
        }
        // Acquire (in `stream_end`): pairs with the producer's Release store at its end:
        // `published` is final.
        let stream_end = self.shared.stream_end();
        if stream_end != StreamEnd::Open {
            // Acquire: as in `try_available`.
            let last = self.shared.published.load(Acquire);
            let mut end = last;
            for (u, _) in self.upstream.iter() {
                // Acquire: as in `try_available`.
                end = end.min(self.shared.cursors[*u].sequence.load(Acquire));
            }
            if end > self.next {
                self.available = end;
                return Ok(Some(end));
            }
            if self.next >= last {
                return Err(Idle::End(match stream_end {
                    StreamEnd::Aborted => PollError::ProducerFailed,
                    _ => PollError::Shutdown,
                }));
            }
        }
        Ok(None)
    }

    /// Whether every event reaches this reader: no topic or key is ever checked.
    #[inline]
    pub(crate) fn takes_everything(&self) -> bool {
        self.all_topics && self.keys.is_none()
    }

    /// The first sequence in `from..end` this reader wants (of its topics, passing its key
    /// filter), or `end`.
    ///
    /// # Safety
    /// As for [`Reader::wanted`].
    #[cfg(feature = "async")]
    #[inline]
    pub(crate) unsafe fn next_wanted(&self, from: u64, end: u64) -> u64 {
        if self.filters_keys() {
            // The next few slots alone first: a caller asking event by event with a filter
            // that takes most events should not pay for a whole block each time.
            let near = end.min(from.saturating_add(8));
            // SAFETY: per this function's contract (`from..near` and `near..end` are in it).
            return unsafe { self.wanted(from, near) }
                .next()
                // SAFETY: as above.
                .or_else(|| unsafe { self.wanted(near, end) }.next())
                .unwrap_or(end);
        }
        // SAFETY: per this function's contract.
        unsafe { self.next_of_topics(from, end) }
    }

    /// Whether this reader checks keys (a key filter, on a bus that stores keys).
    #[inline(always)]
    pub(crate) fn filters_keys(&self) -> bool {
        K::STORED && self.keys.is_some()
    }

    /// The sequences in `from..end` this reader wants, in order: a consumer working through
    /// a batch takes them from one iterator, so that a key filter's scan of a block of
    /// foreign events serves every event of the block.
    ///
    /// # Safety
    /// Every sequence in `from..end` is published (observed with an Acquire load) and not yet
    /// released by this reader, while the iterator lives (it borrows the reader, whose cursor
    /// moves only through `&mut self`).
    #[inline]
    pub(crate) unsafe fn wanted(&self, from: u64, end: u64) -> Wanted<'_, T, K> {
        Wanted {
            reader: self,
            at: from,
            end,
            block: from,
            bits: 0,
        }
    }

    /// Which slots of the block that starts at `from` (up to 64 of `from..end`, see
    /// `Slots::wanted_block`) are candidates: of this reader's topics, and either of a topic
    /// that passes whatever its key or of a key that does not rule them out. Returns the
    /// candidates as bits (bit `j`: `from + j`) and the block's length.
    ///
    /// # Safety
    /// As for [`Reader::wanted`]; `from < end`; a bus with a key filter stores keys
    /// (`Reader::new` drops the filter otherwise).
    #[inline]
    unsafe fn candidates(&self, from: u64, end: u64, keys: &KeyFilter<K>) -> (u64, u64) {
        let slots = &self.shared.slots;
        let (topics, unkeyed, filter) = (&self.topics, &keys.unkeyed, &keys.filter);
        if self.all_topics && unkeyed.is_empty() {
            // Every topic, and the key decides for each: the scan compares keys only.
            // SAFETY: per this function's contract.
            unsafe { slots.wanted_block(from, end, |_, key: K| key.check(filter) != KeyMatch::No) }
        } else {
            let all = self.all_topics;
            // SAFETY: per this function's contract.
            unsafe {
                slots.wanted_block(from, end, |topic, key: K| {
                    (all || topics.contains(topic))
                        && (unkeyed.contains(topic) || key.check(filter) != KeyMatch::No)
                })
            }
        }
    }

    /// Whether the candidate `sequence` (of this reader's topics, its key not ruling it out)
    /// passes `keys`: its topic takes any key, or its key says yes, or (a digest that cannot
    /// tell) the event itself says yes.
    ///
    /// # Safety
    /// As for [`Reader::wanted`], for `sequence`.
    #[inline(always)]
    unsafe fn passes(&self, sequence: u64, keys: &KeyFilter<K>) -> bool {
        let slots = &self.shared.slots;
        // SAFETY: per this function's contract.
        keys.unkeyed.contains(unsafe { slots.topic(sequence) })
            // SAFETY: as above.
            || match unsafe { slots.key(sequence) }.check(&keys.filter) {
                KeyMatch::Yes => true,
                KeyMatch::No => false,
                KeyMatch::Maybe => {
                    // SAFETY: per this function's contract; the reference ends with the call.
                    let event = unsafe { slots.get(sequence) };
                    (self.shared.confirm)(event, &keys.filter)
                }
            }
    }

    /// The first sequence in `from..end` of this reader's topics, or `end`.
    ///
    /// # Safety
    /// As for [`Reader::wanted`].
    #[inline]
    pub(crate) unsafe fn next_of_topics(&self, from: u64, end: u64) -> u64 {
        if self.all_topics {
            return from.min(end);
        }
        let slots = &self.shared.slots;
        if let Some(topic) = self.single_topic {
            // SAFETY: per this function's contract.
            return unsafe { slots.find_topic(from, end, topic) };
        }
        (from..end)
            // SAFETY: per this function's contract.
            .find(|&sequence| self.topics.contains(unsafe { slots.topic(sequence) }))
            .unwrap_or(end)
    }

    /// Forgets the cached readable end (after a tap rejoins elsewhere).
    pub(crate) fn reset_available(&mut self) {
        self.available = self.next;
    }

    /// Waits, by its strategy, until events are readable; returns their end.
    pub(crate) fn wait_available(&mut self) -> Result<u64, Idle> {
        self.wait_available_until(None)
    }

    /// [`Reader::wait_available`], giving up with [`Idle::Timeout`] at `deadline`.
    pub(crate) fn wait_available_until(&mut self, deadline: Option<Instant>) -> Result<u64, Idle> {
        if let Some(end) = self.try_available()? {
            return Ok(end);
        }
        let shared = Arc::clone(&self.shared);
        let waker = self.waker(&shared);
        // A copy, as `check` borrows the whole reader.
        let mut history = self.park_history;
        let available = wait_for_until(
            self.strategy,
            waker,
            &mut history,
            &Cell::new(deadline),
            || match self.try_available() {
                Ok(None) if deadline.is_some_and(|at| Instant::now() >= at) => {
                    Some(Err(Idle::Timeout))
                }
                other => other.transpose(),
            },
        );
        self.park_history = history;
        available
    }

    /// Where this reader waits: on the producer's signal if it has no upstream, else on the
    /// releases' (a dependent cannot move before an upstream does).
    pub(crate) fn waker<'a>(&self, shared: &'a Shared<T, K>) -> &'a Waker {
        if self.upstream.is_empty() {
            &shared.data_waker
        } else {
            &shared.upstream_waker
        }
    }

    /// How this reader waits.
    #[cfg(feature = "async")]
    pub(crate) fn strategy(&self) -> WaitStrategy {
        self.strategy
    }

    /// Releases every sequence below `end` to the producer, counting what was delivered.
    #[inline]
    pub(crate) fn release(&mut self, end: u64, handled: u64) {
        let skipped = (end - self.next) - handled;
        let cursor = &self.shared.cursors[self.index];
        // Relaxed: statistics, written by this thread only.
        cursor
            .handled
            .store(cursor.handled.load(Relaxed) + handled, Relaxed);
        if skipped != 0 {
            cursor
                .skipped
                .store(cursor.skipped.load(Relaxed) + skipped, Relaxed);
        }
        self.next = end;
        // Release: our reads of every slot below `end` happen before the producer's Acquire
        // load of this cursor (and so before it overwrites them), and before a dependent's.
        cursor.sequence.store(end, Release);
        self.signal_release();
    }

    /// Wakes a producer waiting for space and dependents waiting for us.
    #[inline]
    pub(crate) fn signal_release(&self) {
        if self.shared.config.signals {
            self.shared.config.barriers.light();
            self.shared.space_waker.notify_after_barrier();
            self.shared.upstream_waker.notify_after_barrier();
        }
    }

    /// Leaves the table (once): `Finished`, `Failed` with a failure, or `Left`.
    pub(crate) fn leave(&mut self, done: Done, failure: Option<ConsumerFailure>) {
        if self.gone.is_none() {
            self.gone = Some(done);
            self.shared.leave(self.index, done, failure);
        }
    }

    /// Leaves as failed because its thread panicked at `sequence` (which it did not finish).
    pub(crate) fn leave_panicked(&mut self, sequence: u64, message: String) {
        let failure = ConsumerFailure {
            name: self.name.clone(),
            sequence,
            cause: FailureCause::Panicked(message),
        };
        self.leave(Done::Failed, Some(failure));
    }

    /// Leaves according to how the stream ended for this reader.
    pub(crate) fn leave_after(&mut self, end: &Idle) {
        match end {
            Idle::End(PollError::Shutdown | PollError::ProducerFailed) => {
                self.leave(Done::Finished, None)
            }
            Idle::End(PollError::UpstreamGone { name, failed }) => {
                let failure = ConsumerFailure {
                    name: self.name.clone(),
                    sequence: self.next,
                    cause: FailureCause::UpstreamGone {
                        name: name.clone(),
                        failed: *failed,
                    },
                };
                self.leave(Done::Failed, Some(failure));
            }
            Idle::End(_) | Idle::Stop => self.leave(Done::Left, None),
            // Not an end.
            Idle::Timeout => {}
        }
    }
}

/// The sequences of a range a reader wants, in order ([`Reader::wanted`]).
pub(crate) struct Wanted<'r, T, K: SlotKey> {
    reader: &'r Reader<T, K>,
    /// The first sequence not looked at yet (with a key filter: not in a block yet).
    at: u64,
    end: u64,
    /// With a key filter: where the block of `bits` starts.
    block: u64,
    /// With a key filter: the block's candidates not taken yet (bit `j`: `block + j`).
    bits: u64,
}

impl<T, K: SlotKey> Iterator for Wanted<'_, T, K> {
    type Item = u64;

    #[inline(always)]
    fn next(&mut self) -> Option<u64> {
        if self.reader.filters_keys() {
            // SAFETY: `Reader::wanted`'s contract covers `at..end`, where every block is.
            return unsafe { self.next_keyed() };
        }
        // SAFETY: as above.
        let sequence = unsafe { self.reader.next_of_topics(self.at, self.end) };
        if sequence >= self.end {
            self.at = self.end;
            return None;
        }
        self.at = sequence + 1;
        Some(sequence)
    }
}

impl<T, K: SlotKey> Wanted<'_, T, K> {
    /// The next sequence that passes the reader's key filter: the next candidate of the
    /// current block that passes, else of the blocks after it. A foreign event costs its
    /// share of a block scan (its tag and key); the event itself is read only when its key
    /// cannot tell ([`KeyMatch::Maybe`]).
    ///
    /// # Safety
    /// As for [`Reader::wanted`]; the reader has a key filter.
    #[inline(never)]
    unsafe fn next_keyed(&mut self) -> Option<u64> {
        let Some(keys) = &self.reader.keys else {
            return None;
        };
        loop {
            while self.bits != 0 {
                let sequence = self.block + u64::from(self.bits.trailing_zeros());
                self.bits &= self.bits - 1;
                // SAFETY: per this function's contract; `sequence` is in a block of `at..end`.
                if unsafe { self.reader.passes(sequence, keys) } {
                    return Some(sequence);
                }
            }
            if self.at >= self.end {
                return None;
            }
            // SAFETY: per this function's contract; `at < end`; the reader has a key filter,
            // so its bus stores keys.
            let (bits, len) = unsafe { self.reader.candidates(self.at, self.end, keys) };
            self.block = self.at;
            self.bits = bits;
            self.at += len;
        }
    }
}

impl<T, K: SlotKey> Drop for Reader<T, K> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Its thread died holding it: a failure, which dependents and reports must see.
            let at = self.next;
            self.leave_panicked(at, "the consumer's thread panicked".to_owned());
        } else {
            self.leave(Done::Left, None);
        }
    }
}
