//! The single producer: claims slots, fills them in place, publishes them.

use crate::cursor::{Role, StreamEnd, COPYING, DETACHED, MAX_PUBLISHED, SEQUENCE};
use crate::error::{NotPublished, PublishError};
use crate::key::{Routed, SlotKey};
use crate::shared::Shared;
use crate::sync::{self, fence, Arc};
use crate::topic::Topic;
use crate::wait::{wait_for_until, ParkHistory};
use std::cell::Cell;
use std::ops::Range;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};
use std::time::{Duration, Instant};

/// The one writer of a bus. [`RingBus::builder`](crate::RingBus::builder) makes exactly one,
/// and it cannot be cloned, so a second producer cannot exist:
///
/// ```compile_fail
/// let (producer, _bus) = ringbus_ring::RingBus::builder::<u64>().build().unwrap();
/// let second = producer.clone(); // error: `Producer` is not `Clone`
/// ```
///
/// Events are written in place into slots allocated at build time: `publish` hands the
/// closure the slot's `&mut T`, so nothing is moved or allocated per event.
///
/// ```
/// use ringbus_ring::{RingBus, Topic};
/// let (mut producer, mut bus) = RingBus::builder::<[u64; 8]>()
///     .capacity(8)
///     .poller(ringbus_ring::Subscription::new("reader"))
///     .build()
///     .unwrap();
/// let mut reader = bus.take_poller("reader").unwrap();
/// producer.publish(Topic::new(1), |slot| slot[0] = 42);
/// let range = producer
///     .publish_batch(3, |i, slot| {
///         slot[0] = i as u64;
///         Topic::new(2)
///     })
///     .unwrap();
/// assert_eq!(range, 1..4);
/// let batch = reader.poll().unwrap();
/// assert_eq!(batch.iter().map(|(_, e)| e[0]).collect::<Vec<_>>(), [42, 0, 1, 2]);
/// ```
///
/// Dropping the producer (or [`Producer::close`]) closes the bus: consumers drain every
/// published event, then see the end of the stream ([`PollError::Shutdown`]). A producer
/// that panics, or gives up with [`Producer::abort`], ends it differently: consumers still
/// drain every published event, then see [`PollError::ProducerFailed`] (handlers get
/// [`ShutdownReason::ProducerFailed`]), and [`Bus::join`] reports it, so a store writer can
/// tell a crash from the end of the stream.
///
/// [`PollError::Shutdown`]: crate::PollError::Shutdown
/// [`PollError::ProducerFailed`]: crate::PollError::ProducerFailed
/// [`ShutdownReason::ProducerFailed`]: crate::ShutdownReason::ProducerFailed
/// [`Bus::join`]: crate::Bus::join
#[derive(Debug)]
pub struct Producer<T, K: SlotKey = ()> {
    shared: Arc<Shared<T, K>>,
    /// The next sequence to publish; equal to `shared.published` between calls.
    next: u64,
    /// Sequences below this may be written without re-reading consumer cursors: the cached
    /// position of the slowest consumer plus the capacity (rtrb and the LMAX Disruptor cache
    /// the same way: the cursors are read once per pass over the ring, not once per event).
    limit: u64,
    /// The membership generation the last scan saw (see `membership.rs`).
    generation: u64,
    /// The table index of the consumer that set `limit`, for wait statistics.
    slowest: Option<usize>,
    /// How much longer the most patient-limited lossy tap may hold the producer back before
    /// it is detached (set by `scan` while waiting; `None`: no tap with a `max_wait` does).
    tap_patience_ns: Option<u64>,
    /// Scans of the membership table so far, times two (odd while one runs): the value of
    /// `shared.scans`, which only this producer writes.
    scans: u64,
    /// When a `try_publish` first found the ring full, until one succeeds: how long the
    /// producer has been held back, for taps with a `max_wait`.
    full_since: Option<Instant>,
    /// When it last parked for space, for how long its adaptive waits yield.
    park_history: ParkHistory,
    /// Set by `abort`: the drop that follows ends the stream as failed.
    aborting: bool,
}

/// What a publish does when the ring is full.
#[derive(Clone, Copy, Debug)]
enum WhenFull {
    /// Waits by the bus's wait strategy; with a timeout, for at most that long (`Timeout`).
    Wait(Option<Duration>),
    /// Publishes nothing: `Full`.
    Refuse,
}

impl<T, K: SlotKey> Producer<T, K> {
    pub(crate) fn new(shared: Arc<Shared<T, K>>) -> Self {
        Producer {
            shared,
            next: 0,
            limit: 0,
            generation: u64::MAX,
            slowest: None,
            tap_patience_ns: None,
            park_history: ParkHistory::default(),
            scans: 0,
            full_since: None,
            aborting: false,
        }
    }

    /// Publishes one event of `topic`, written in place by `fill`; returns its sequence.
    ///
    /// Waits (by the bus's wait strategy) while a gating consumer is a whole ring behind.
    /// It never waits on a consumer that failed or left, so it cannot hang on one.
    ///
    /// On a bus with keys ([`RingBus::routed`](crate::RingBus::routed)) the event gets the
    /// default key: [`Producer::publish_event`] takes topic and key from the event instead.
    #[inline]
    pub fn publish(&mut self, topic: Topic, fill: impl FnOnce(&mut T)) -> u64 {
        let published = self.publish_one(WhenFull::Wait(None), on_topic(topic, fill));
        published.unwrap_or_else(|e| self.cannot_publish(e))
    }

    /// A waiting publish could not publish (the sequence space is exhausted): panics, as
    /// [`Producer::publish`] documents.
    #[cold]
    #[inline(never)]
    fn cannot_publish(&self, error: PublishError) -> ! {
        panic!("cannot publish sequence {}: {error}", self.next)
    }

    /// Like [`Producer::publish`], but returns [`PublishError::Full`] instead of waiting
    /// (and without calling `fill`) when the ring is full.
    #[inline]
    pub fn try_publish(
        &mut self,
        topic: Topic,
        fill: impl FnOnce(&mut T),
    ) -> Result<u64, PublishError> {
        self.publish_one(WhenFull::Refuse, on_topic(topic, fill))
    }

    /// Publishes one event, written in place by `write` (which returns its topic and key),
    /// once there is room for it, as `when_full` says; returns its sequence. `write` is not
    /// called when nothing is published.
    #[inline(always)]
    fn publish_one(
        &mut self,
        when_full: WhenFull,
        write: impl FnOnce(&mut T) -> (Topic, K),
    ) -> Result<u64, PublishError> {
        self.claim(self.next + 1, when_full)?;
        // SAFETY: `next < limit`: `claim` made room.
        Ok(unsafe { self.write_next(write) })
    }

    /// Writes the event `next` in place with `fill`, which returns its topic and key, and
    /// publishes it; returns its sequence.
    ///
    /// # Safety
    /// `next < limit`: space was made for it.
    #[inline(always)]
    unsafe fn write_next(&mut self, fill: impl FnOnce(&mut T) -> (Topic, K)) -> u64 {
        let sequence = self.next;
        // SAFETY: `sequence < limit` (this function's contract), so every gating cursor was
        // observed (Acquire, in `scan`) past `sequence - capacity`; we are the only producer
        // (`&mut self`) and `sequence` is not yet published.
        unsafe { self.shared.slots.write(sequence, fill) };
        self.commit(sequence + 1);
        sequence
    }

    /// Publishes `event`, on the topic and with the key it tells ([`Routed`]), so the two
    /// cannot disagree with it; returns its sequence. Waits as [`Producer::publish`] does.
    ///
    /// ```
    /// use ringbus_ring::{RingBus, Routed, Subscription, Topic, TopicSet};
    /// #[derive(Clone, Copy, Default)]
    /// struct Tick(u8);
    /// impl Routed for Tick {
    ///     type Key = ();
    ///     fn topic(&self) -> Topic { Topic::new(self.0 % 2) }
    ///     fn key(&self) {}
    ///     fn matches(&self, _: &()) -> bool { true }
    /// }
    /// let (mut producer, bus) = RingBus::routed::<Tick>().build().unwrap();
    /// let odd = TopicSet::of(&[Topic::new(1)]);
    /// let mut odd = bus.subscribe(Subscription::new("odd").topics(odd)).unwrap();
    /// for i in 0..4 {
    ///     producer.publish_event(Tick(i));
    /// }
    /// let seen: Vec<u8> = odd.poll().unwrap().iter().map(|(_, t)| t.0).collect();
    /// assert_eq!(seen, [1, 3]);
    /// ```
    #[inline]
    pub fn publish_event(&mut self, event: T) -> u64
    where
        T: Routed<Key = K>,
    {
        let published = self.publish_event_when(event, WhenFull::Wait(None));
        published.unwrap_or_else(|e| self.cannot_publish(e.error))
    }

    /// Publishes `event` once there is room for it, as `when_full` says; hands it back if
    /// it publishes nothing.
    #[inline(always)]
    fn publish_event_when(&mut self, event: T, when_full: WhenFull) -> Result<u64, NotPublished<T>>
    where
        T: Routed<Key = K>,
    {
        if let Err(error) = self.claim(self.next + 1, when_full) {
            return Err(NotPublished { error, event });
        }
        // SAFETY: `next < limit`: `claim` made room.
        Ok(unsafe { self.write_next(|slot| routed(slot, event)) })
    }

    /// Like [`Producer::publish_event`], but the event is written in place by `fill` (nothing
    /// is moved in); its topic and key are then taken from the slot, so they cannot disagree
    /// with what `fill` wrote.
    ///
    /// ```
    /// use ringbus_ring::{RingBus, Routed, Subscription, Topic};
    /// #[derive(Default)]
    /// struct Tick { topic: u8, px: [u64; 8] }
    /// impl Routed for Tick {
    ///     type Key = ();
    ///     fn topic(&self) -> Topic { Topic::new(self.topic) }
    ///     fn key(&self) {}
    ///     fn matches(&self, _: &()) -> bool { true }
    /// }
    /// let (mut producer, bus) = RingBus::routed::<Tick>().build().unwrap();
    /// let mut all = bus.subscribe(Subscription::new("all")).unwrap();
    /// producer.publish_event_with(|slot| { slot.topic = 4; slot.px[0] = 100 });
    /// assert_eq!(all.poll().unwrap().iter().map(|(_, t)| t.topic).collect::<Vec<_>>(), [4]);
    /// ```
    #[inline]
    pub fn publish_event_with(&mut self, fill: impl FnOnce(&mut T)) -> u64
    where
        T: Routed<Key = K>,
    {
        let published = self.publish_one(WhenFull::Wait(None), routed_in_place(fill));
        published.unwrap_or_else(|e| self.cannot_publish(e))
    }

    /// Like [`Producer::publish_batch`], but each event's topic and key are taken from the
    /// slot `fill(i, slot)` wrote: `n` events written in place and published at once.
    ///
    /// ```
    /// use ringbus_ring::{RingBus, Routed, Topic};
    /// #[derive(Default)]
    /// struct Tick(u8);
    /// impl Routed for Tick {
    ///     type Key = ();
    ///     fn topic(&self) -> Topic { Topic::new(self.0) }
    ///     fn key(&self) {}
    ///     fn matches(&self, _: &()) -> bool { true }
    /// }
    /// let (mut producer, _bus) = RingBus::routed::<Tick>().build().unwrap();
    /// assert_eq!(producer.publish_events_with(3, |i, slot| slot.0 = i as u8), Ok(0..3));
    /// ```
    #[inline]
    pub fn publish_events_with(
        &mut self,
        n: usize,
        fill: impl FnMut(usize, &mut T),
    ) -> Result<Range<u64>, PublishError>
    where
        T: Routed<Key = K>,
    {
        self.publish_run(n, WhenFull::Wait(None), routed_in_place_each(fill))
    }

    /// Publishes `events` at once (a consumer sees all of them or none), each on the topic
    /// and with the key it tells; returns their sequences. Waits as
    /// [`Producer::publish_batch`] does; more events than the ring holds are a
    /// [`PublishError::BatchTooLarge`]. If the iterator yields fewer events than its length
    /// promised, those it yielded are published.
    ///
    /// ```
    /// use ringbus_ring::{RingBus, Routed, Topic};
    /// #[derive(Clone, Copy, Default)]
    /// struct Tick(u8);
    /// impl Routed for Tick {
    ///     type Key = ();
    ///     fn topic(&self) -> Topic { Topic::new(self.0) }
    ///     fn key(&self) {}
    ///     fn matches(&self, _: &()) -> bool { true }
    /// }
    /// let (mut producer, _bus) = RingBus::routed::<Tick>().build().unwrap();
    /// assert_eq!(producer.publish_events([Tick(1), Tick(2)]), Ok(0..2));
    /// ```
    pub fn publish_events<I>(&mut self, events: I) -> Result<Range<u64>, PublishError>
    where
        T: Routed<Key = K>,
        I: IntoIterator<Item = T>,
        I::IntoIter: ExactSizeIterator,
    {
        Ok(self.publish_events_when(events.into_iter(), WhenFull::Wait(None))?)
    }

    /// Publishes the events `events` yields at once, once there is room for all of them, as
    /// `when_full` says; hands the iterator back, untouched, if it publishes nothing.
    #[inline(always)]
    fn publish_events_when<I>(
        &mut self,
        events: I,
        when_full: WhenFull,
    ) -> Result<Range<u64>, NotPublished<I>>
    where
        T: Routed<Key = K>,
        I: ExactSizeIterator<Item = T>,
    {
        let claimed = self
            .batch_end(events.len())
            .and_then(|end| self.claim(end, when_full).map(|()| end));
        match claimed {
            // SAFETY: `end <= limit`: `claim` made room.
            Ok(end) => Ok(unsafe { self.write_events(end, events) }),
            Err(error) => Err(NotPublished {
                error,
                event: events,
            }),
        }
    }

    /// Moves the events `events` yields into the slots from `next` up to `end` and publishes
    /// them at once; returns their sequences (fewer than up to `end` if it runs dry).
    ///
    /// # Safety
    /// `end <= limit`: space was made for them.
    #[inline(always)]
    unsafe fn write_events(&mut self, end: u64, mut events: impl Iterator<Item = T>) -> Range<u64>
    where
        T: Routed<Key = K>,
    {
        let start = self.next;
        let mut written = start;
        while written < end {
            let Some(event) = events.next() else { break };
            // SAFETY: `written < end <= limit` (this function's contract), so as in
            // `write_next` for each sequence of the batch; none is published before `commit`
            // below.
            unsafe { self.shared.slots.write(written, |slot| routed(slot, event)) };
            written += 1;
        }
        self.commit(written);
        start..written
    }

    /// Like [`Producer::publish_event`], but does not wait: when the ring is full (a gating
    /// consumer is a whole ring behind) it publishes nothing and hands `event` back with
    /// [`PublishError::Full`], as [`Producer::try_publish`] does for an untyped event. The
    /// other refusal is [`PublishError::SequenceExhausted`], where `publish_event` panics.
    ///
    /// ```
    /// use ringbus_ring::{PublishError, RingBus, Routed, Subscription, Topic};
    /// #[derive(Clone, Copy, Debug, Default, PartialEq)]
    /// struct Tick(u8);
    /// impl Routed for Tick {
    ///     type Key = ();
    ///     fn topic(&self) -> Topic { Topic::new(self.0 % 2) }
    ///     fn key(&self) {}
    ///     fn matches(&self, _: &()) -> bool { true }
    /// }
    /// let (mut producer, mut bus) = RingBus::routed::<Tick>()
    ///     .capacity(2)
    ///     .poller(Subscription::new("slow"))
    ///     .build()
    ///     .unwrap();
    /// let mut slow = bus.take_poller("slow").unwrap();
    /// assert_eq!(producer.try_publish_event(Tick(1)), Ok(0));
    /// assert_eq!(producer.try_publish_event(Tick(2)), Ok(1));
    /// // `slow` is a whole ring behind: the event comes back, and nothing was published.
    /// let refused = producer.try_publish_event(Tick(3)).unwrap_err();
    /// assert_eq!((refused.error, refused.event), (PublishError::Full, Tick(3)));
    /// assert_eq!(producer.next_sequence(), 2);
    /// drop(slow.poll().unwrap()); // it catches up
    /// assert_eq!(producer.try_publish_event(refused.event), Ok(2));
    /// ```
    #[inline]
    pub fn try_publish_event(&mut self, event: T) -> Result<u64, NotPublished<T>>
    where
        T: Routed<Key = K>,
    {
        self.publish_event_when(event, WhenFull::Refuse)
    }

    /// Like [`Producer::publish_event_with`], but returns [`PublishError::Full`] instead of
    /// waiting (and without calling `fill`) when the ring is full.
    ///
    /// ```
    /// use ringbus_ring::{PublishError, RingBus, Routed, Subscription, Topic};
    /// #[derive(Default)]
    /// struct Tick { topic: u8, px: u64 }
    /// impl Routed for Tick {
    ///     type Key = ();
    ///     fn topic(&self) -> Topic { Topic::new(self.topic) }
    ///     fn key(&self) {}
    ///     fn matches(&self, _: &()) -> bool { true }
    /// }
    /// let (mut producer, mut bus) = RingBus::routed::<Tick>()
    ///     .capacity(1)
    ///     .poller(Subscription::new("slow"))
    ///     .build()
    ///     .unwrap();
    /// let _slow = bus.take_poller("slow").unwrap(); // never polls
    /// assert_eq!(producer.try_publish_event_with(|e| { e.topic = 3; e.px = 100 }), Ok(0));
    /// let full = producer.try_publish_event_with(|_| unreachable!("not called when full"));
    /// assert_eq!(full, Err(PublishError::Full));
    /// ```
    #[inline]
    pub fn try_publish_event_with(&mut self, fill: impl FnOnce(&mut T)) -> Result<u64, PublishError>
    where
        T: Routed<Key = K>,
    {
        self.publish_one(WhenFull::Refuse, routed_in_place(fill))
    }

    /// Like [`Producer::publish_event`], but waits at most `timeout` for space, as
    /// [`Producer::publish_timeout`] does: if the ring is still full then, it publishes
    /// nothing and hands `event` back with [`PublishError::Timeout`] (or, past the last
    /// sequence, [`PublishError::SequenceExhausted`]).
    ///
    /// ```
    /// use ringbus_ring::{PublishError, RingBus, Routed, Subscription, Topic};
    /// use std::time::Duration;
    /// #[derive(Clone, Copy, Debug, Default, PartialEq)]
    /// struct Tick(u8);
    /// impl Routed for Tick {
    ///     type Key = ();
    ///     fn topic(&self) -> Topic { Topic::new(self.0 % 2) }
    ///     fn key(&self) {}
    ///     fn matches(&self, _: &()) -> bool { true }
    /// }
    /// let (mut producer, mut bus) = RingBus::routed::<Tick>()
    ///     .capacity(1)
    ///     .poller(Subscription::new("asleep"))
    ///     .build()
    ///     .unwrap();
    /// let _asleep = bus.take_poller("asleep").unwrap(); // never polls
    /// let short = Duration::from_millis(1);
    /// assert_eq!(producer.publish_event_timeout(Tick(1), short), Ok(0));
    /// let late = producer.publish_event_timeout(Tick(2), short).unwrap_err();
    /// assert_eq!((late.error, late.event), (PublishError::Timeout, Tick(2)));
    /// ```
    pub fn publish_event_timeout(
        &mut self,
        event: T,
        timeout: Duration,
    ) -> Result<u64, NotPublished<T>>
    where
        T: Routed<Key = K>,
    {
        self.publish_event_when(event, WhenFull::Wait(Some(timeout)))
    }

    /// Like [`Producer::publish_event_with`], but waits at most `timeout` for space: returns
    /// [`PublishError::Timeout`] (without calling `fill`) if the ring is still full then.
    ///
    /// ```
    /// use ringbus_ring::{PublishError, RingBus, Routed, Subscription, Topic};
    /// use std::time::Duration;
    /// #[derive(Default)]
    /// struct Tick { topic: u8, px: u64 }
    /// impl Routed for Tick {
    ///     type Key = ();
    ///     fn topic(&self) -> Topic { Topic::new(self.topic) }
    ///     fn key(&self) {}
    ///     fn matches(&self, _: &()) -> bool { true }
    /// }
    /// let (mut producer, mut bus) = RingBus::routed::<Tick>()
    ///     .capacity(1)
    ///     .poller(Subscription::new("asleep"))
    ///     .build()
    ///     .unwrap();
    /// let _asleep = bus.take_poller("asleep").unwrap(); // never polls
    /// let short = Duration::from_millis(1);
    /// assert_eq!(producer.publish_event_with_timeout(short, |e| e.px = 100), Ok(0));
    /// let late = producer.publish_event_with_timeout(short, |_| unreachable!("not called"));
    /// assert_eq!(late, Err(PublishError::Timeout));
    /// ```
    pub fn publish_event_with_timeout(
        &mut self,
        timeout: Duration,
        fill: impl FnOnce(&mut T),
    ) -> Result<u64, PublishError>
    where
        T: Routed<Key = K>,
    {
        self.publish_one(WhenFull::Wait(Some(timeout)), routed_in_place(fill))
    }

    /// Like [`Producer::publish_events`], but does not wait: when the events do not all fit
    /// now it publishes none of them and hands the iterator back, no event taken from it,
    /// with [`PublishError::Full`] (or [`PublishError::BatchTooLarge`], which waiting would
    /// not cure either), as [`Producer::try_publish_batch`] does for untyped events.
    ///
    /// ```
    /// use ringbus_ring::{PublishError, RingBus, Routed, Subscription, Topic};
    /// #[derive(Clone, Copy, Debug, Default, PartialEq)]
    /// struct Tick(u8);
    /// impl Routed for Tick {
    ///     type Key = ();
    ///     fn topic(&self) -> Topic { Topic::new(self.0 % 2) }
    ///     fn key(&self) {}
    ///     fn matches(&self, _: &()) -> bool { true }
    /// }
    /// let (mut producer, mut bus) = RingBus::routed::<Tick>()
    ///     .capacity(4)
    ///     .poller(Subscription::new("slow"))
    ///     .build()
    ///     .unwrap();
    /// let mut slow = bus.take_poller("slow").unwrap();
    /// let published = producer.try_publish_events([Tick(1), Tick(2), Tick(3)]);
    /// assert_eq!(published.map_err(|refused| refused.error), Ok(0..3));
    /// // Two more do not fit while `slow` has read nothing: both come back.
    /// let refused = producer.try_publish_events([Tick(4), Tick(5)]).unwrap_err();
    /// assert_eq!(refused.error, PublishError::Full);
    /// let retry: Vec<Tick> = refused.event.collect();
    /// assert_eq!(retry, [Tick(4), Tick(5)]);
    /// drop(slow.poll().unwrap()); // it catches up
    /// assert_eq!(producer.try_publish_events(retry).ok(), Some(3..5));
    /// ```
    pub fn try_publish_events<I>(
        &mut self,
        events: I,
    ) -> Result<Range<u64>, NotPublished<I::IntoIter>>
    where
        T: Routed<Key = K>,
        I: IntoIterator<Item = T>,
        I::IntoIter: ExactSizeIterator,
    {
        self.publish_events_when(events.into_iter(), WhenFull::Refuse)
    }

    /// Like [`Producer::publish_events_with`], but returns [`PublishError::Full`] instead of
    /// waiting (and without calling `fill`) when the `n` slots are not free.
    ///
    /// ```
    /// use ringbus_ring::{PublishError, RingBus, Routed, Subscription, Topic};
    /// #[derive(Default)]
    /// struct Tick(u8);
    /// impl Routed for Tick {
    ///     type Key = ();
    ///     fn topic(&self) -> Topic { Topic::new(self.0) }
    ///     fn key(&self) {}
    ///     fn matches(&self, _: &()) -> bool { true }
    /// }
    /// let (mut producer, mut bus) = RingBus::routed::<Tick>()
    ///     .capacity(4)
    ///     .poller(Subscription::new("slow"))
    ///     .build()
    ///     .unwrap();
    /// let _slow = bus.take_poller("slow").unwrap(); // never polls
    /// assert_eq!(producer.try_publish_events_with(3, |i, e| e.0 = i as u8), Ok(0..3));
    /// let full = producer.try_publish_events_with(2, |_, _| unreachable!("not called"));
    /// assert_eq!(full, Err(PublishError::Full));
    /// ```
    pub fn try_publish_events_with(
        &mut self,
        n: usize,
        fill: impl FnMut(usize, &mut T),
    ) -> Result<Range<u64>, PublishError>
    where
        T: Routed<Key = K>,
    {
        self.publish_run(n, WhenFull::Refuse, routed_in_place_each(fill))
    }

    /// Claims `n` slots, fills them with `fill(i, slot) -> topic`, and publishes all `n` at
    /// once: a consumer sees all of them or none. Returns their sequences.
    ///
    /// If `fill` panics, nothing of the batch is published.
    #[inline]
    pub fn publish_batch(
        &mut self,
        n: usize,
        fill: impl FnMut(usize, &mut T) -> Topic,
    ) -> Result<Range<u64>, PublishError> {
        self.publish_run(n, WhenFull::Wait(None), with_default_key_each(fill))
    }

    /// Like [`Producer::publish_batch`], but returns [`PublishError::Full`] instead of
    /// waiting when the `n` slots are not free.
    pub fn try_publish_batch(
        &mut self,
        n: usize,
        fill: impl FnMut(usize, &mut T) -> Topic,
    ) -> Result<Range<u64>, PublishError> {
        self.publish_run(n, WhenFull::Refuse, with_default_key_each(fill))
    }

    /// Like [`Producer::publish_batch`], but waits at most `timeout` for the `n` slots:
    /// returns [`PublishError::Timeout`] (without calling `fill`) if they are still not free
    /// then.
    ///
    /// ```
    /// use ringbus_ring::{PublishError, RingBus, Subscription, Topic};
    /// use std::time::Duration;
    /// let (mut producer, mut bus) = RingBus::builder::<u64>()
    ///     .capacity(4)
    ///     .poller(Subscription::new("asleep"))
    ///     .build()
    ///     .unwrap();
    /// let _asleep = bus.take_poller("asleep").unwrap(); // never polls
    /// let short = Duration::from_millis(1);
    /// let tick = |i: usize, e: &mut u64| {
    ///     *e = i as u64;
    ///     Topic::new(0)
    /// };
    /// assert_eq!(producer.publish_batch_timeout(3, short, tick), Ok(0..3));
    /// let late = producer.publish_batch_timeout(2, short, |_, _| unreachable!("not called"));
    /// assert_eq!(late, Err(PublishError::Timeout));
    /// ```
    pub fn publish_batch_timeout(
        &mut self,
        n: usize,
        timeout: Duration,
        fill: impl FnMut(usize, &mut T) -> Topic,
    ) -> Result<Range<u64>, PublishError> {
        self.publish_run(
            n,
            WhenFull::Wait(Some(timeout)),
            with_default_key_each(fill),
        )
    }

    /// Like [`Producer::publish_events`], but waits at most `timeout` for room for all of
    /// them: if there is none then, it publishes none of them and hands the iterator back,
    /// no event taken from it, with [`PublishError::Timeout`].
    ///
    /// ```
    /// use ringbus_ring::{PublishError, RingBus, Routed, Subscription, Topic};
    /// use std::time::Duration;
    /// #[derive(Clone, Copy, Debug, Default, PartialEq)]
    /// struct Tick(u8);
    /// impl Routed for Tick {
    ///     type Key = ();
    ///     fn topic(&self) -> Topic { Topic::new(self.0 % 2) }
    ///     fn key(&self) {}
    ///     fn matches(&self, _: &()) -> bool { true }
    /// }
    /// let (mut producer, mut bus) = RingBus::routed::<Tick>()
    ///     .capacity(4)
    ///     .poller(Subscription::new("asleep"))
    ///     .build()
    ///     .unwrap();
    /// let _asleep = bus.take_poller("asleep").unwrap(); // never polls
    /// let short = Duration::from_millis(1);
    /// let published = producer.publish_events_timeout([Tick(1), Tick(2), Tick(3)], short);
    /// assert_eq!(published.map_err(|late| late.error), Ok(0..3));
    /// let late = producer.publish_events_timeout([Tick(4), Tick(5)], short).unwrap_err();
    /// assert_eq!(late.error, PublishError::Timeout);
    /// assert_eq!(late.event.collect::<Vec<_>>(), [Tick(4), Tick(5)]);
    /// ```
    pub fn publish_events_timeout<I>(
        &mut self,
        events: I,
        timeout: Duration,
    ) -> Result<Range<u64>, NotPublished<I::IntoIter>>
    where
        T: Routed<Key = K>,
        I: IntoIterator<Item = T>,
        I::IntoIter: ExactSizeIterator,
    {
        self.publish_events_when(events.into_iter(), WhenFull::Wait(Some(timeout)))
    }

    /// Like [`Producer::publish_events_with`], but waits at most `timeout` for the `n`
    /// slots: returns [`PublishError::Timeout`] (without calling `fill`) if they are still
    /// not free then.
    pub fn publish_events_with_timeout(
        &mut self,
        n: usize,
        timeout: Duration,
        fill: impl FnMut(usize, &mut T),
    ) -> Result<Range<u64>, PublishError>
    where
        T: Routed<Key = K>,
    {
        self.publish_run(n, WhenFull::Wait(Some(timeout)), routed_in_place_each(fill))
    }

    /// Publishes `n` events at once, written in place by `fill` (which returns each one's
    /// topic and key), once there is room for all of them, as `when_full` says.
    #[inline(always)]
    fn publish_run(
        &mut self,
        n: usize,
        when_full: WhenFull,
        fill: impl FnMut(usize, &mut T) -> (Topic, K),
    ) -> Result<Range<u64>, PublishError> {
        let end = self.batch_end(n)?;
        self.claim(end, when_full)?;
        Ok(self.fill_and_commit(end, fill))
    }

    /// Like [`Producer::publish`], but waits at most `timeout` for space: returns
    /// [`PublishError::Timeout`] (without calling `fill`) if the ring is still full then.
    ///
    /// ```
    /// use ringbus_ring::{PublishError, RingBus, Subscription, Topic};
    /// use std::time::Duration;
    /// let (mut producer, mut bus) = RingBus::builder::<u64>()
    ///     .capacity(2)
    ///     .poller(Subscription::new("asleep"))
    ///     .build()
    ///     .unwrap();
    /// let _asleep = bus.take_poller("asleep").unwrap(); // never polls
    /// let short = Duration::from_millis(1);
    /// assert_eq!(producer.publish_timeout(Topic::new(0), short, |e| *e = 1), Ok(0));
    /// assert_eq!(producer.publish_timeout(Topic::new(0), short, |e| *e = 2), Ok(1));
    /// let full = producer.publish_timeout(Topic::new(0), short, |e| *e = 3);
    /// assert_eq!(full, Err(PublishError::Timeout));
    /// ```
    pub fn publish_timeout(
        &mut self,
        topic: Topic,
        timeout: Duration,
        fill: impl FnOnce(&mut T),
    ) -> Result<u64, PublishError> {
        self.publish_one(WhenFull::Wait(Some(timeout)), on_topic(topic, fill))
    }

    /// The sequence the next event will get (the number published so far).
    pub fn next_sequence(&self) -> u64 {
        self.next
    }

    /// The ring's capacity.
    pub fn capacity(&self) -> u64 {
        self.shared.capacity()
    }

    /// Closes the bus, as dropping the producer does: consumers drain what was published and
    /// then see the end of the stream.
    pub fn close(self) {}

    /// Gives up: ends the stream as failed, as a panic in the producer's thread does.
    /// Consumers drain what was published, then see [`PollError::ProducerFailed`]; handlers
    /// get [`ShutdownReason::ProducerFailed`]; [`Bus::join`] returns an error.
    ///
    /// ```
    /// use ringbus_ring::{PollError, RingBus, Subscription, Topic};
    /// let (mut producer, mut bus) = RingBus::builder::<u64>()
    ///     .poller(Subscription::new("store"))
    ///     .build()
    ///     .unwrap();
    /// let mut store = bus.take_poller("store").unwrap();
    /// producer.publish(Topic::new(0), |e| *e = 7);
    /// producer.abort();
    /// assert_eq!(store.poll().unwrap().iter().count(), 1); // what was published arrives
    /// assert_eq!(store.poll().unwrap_err(), PollError::ProducerFailed);
    /// drop(store);
    /// assert!(bus.join().unwrap_err().producer_failed);
    /// ```
    ///
    /// [`PollError::ProducerFailed`]: crate::PollError::ProducerFailed
    /// [`ShutdownReason::ProducerFailed`]: crate::ShutdownReason::ProducerFailed
    /// [`Bus::join`]: crate::Bus::join
    pub fn abort(mut self) {
        self.aborting = true;
    }

    /// Test hook: continue as if `sequence` events had been published already.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn skip_to(&mut self, sequence: u64) {
        self.next = sequence;
        self.limit = 0;
        self.shared.published.store(sequence, Release);
    }

    fn batch_end(&self, n: usize) -> Result<u64, PublishError> {
        let capacity = self.shared.capacity();
        if n as u64 > capacity {
            return Err(PublishError::BatchTooLarge {
                requested: n,
                capacity,
            });
        }
        // Past `MAX_PUBLISHED`, `end` is past `limit` too (`scan` caps it there), so the
        // slow path (`make_space`, `try_make_space`) refuses it; nothing to check here.
        Ok(self.next + n as u64)
    }

    /// Sequences stay below the cursors' flag bits: past [`MAX_PUBLISHED`] events the bus
    /// publishes nothing more (2^62 - 1: 146 years at a billion events a second).
    #[inline]
    fn check_sequence_space(&self, end: u64) -> Result<(), PublishError> {
        if end > MAX_PUBLISHED {
            return Err(PublishError::SequenceExhausted);
        }
        Ok(())
    }

    /// Makes room for the sequences below `end`, as `when_full` says. While the cached limit
    /// allows them, this is one compare: the consumer cursors are re-read only on the slow
    /// path.
    #[inline(always)]
    fn claim(&mut self, end: u64, when_full: WhenFull) -> Result<(), PublishError> {
        if end <= self.limit {
            return Ok(());
        }
        self.claim_slow(end, when_full)
    }

    /// [`Producer::claim`] once the cached limit does not allow `end`: kept out of line, so a
    /// publish inlines only the compare.
    #[cold]
    #[inline(never)]
    fn claim_slow(&mut self, end: u64, when_full: WhenFull) -> Result<(), PublishError> {
        match when_full {
            WhenFull::Wait(timeout) => {
                // The deadline is taken only once the ring is found full.
                let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
                self.make_space(end, deadline)
            }
            WhenFull::Refuse => self.try_make_space(end),
        }
    }

    /// The slow path of the waiting publishes: waits until sequences below `end` may be
    /// written, or until `deadline` (`Timeout`).
    #[cold]
    fn make_space(&mut self, end: u64, deadline: Option<Instant>) -> Result<(), PublishError> {
        self.check_sequence_space(end)?;
        if self.wait_for_space(end, deadline) {
            Ok(())
        } else {
            Err(PublishError::Timeout)
        }
    }

    /// The slow path of the `try_` publishes: one refresh, no waiting. A lossy tap with a
    /// `max_wait` is detached once `try_` calls have found the ring full for that long, so a
    /// producer that never blocks is not held back by a stalled tap either.
    #[cold]
    fn try_make_space(&mut self, end: u64) -> Result<(), PublishError> {
        self.check_sequence_space(end)?;
        let waited = self.full_since.map_or(0, |since| {
            since.elapsed().as_nanos().clamp(1, u64::MAX as u128) as u64
        });
        if self.refresh(end, waited) {
            return Ok(());
        }
        self.full_since.get_or_insert_with(Instant::now);
        self.count_full();
        Err(PublishError::Full)
    }

    #[inline]
    fn fill_and_commit(
        &mut self,
        end: u64,
        mut fill: impl FnMut(usize, &mut T) -> (Topic, K),
    ) -> Range<u64> {
        let start = self.next;
        for (i, sequence) in (start..end).enumerate() {
            // SAFETY: `end <= limit` (checked by the caller), so as in `write_next` for each
            // sequence of the batch; none is published before `commit` below.
            unsafe { self.shared.slots.write(sequence, |slot| fill(i, slot)) };
        }
        self.commit(end);
        start..end
    }

    #[inline(always)]
    fn commit(&mut self, end: u64) {
        self.next = end;
        // Release: makes the slot writes above visible to a consumer's Acquire load of
        // `published` (in `reader.rs`).
        self.shared.published.store(end, Release);
        if self.shared.config.signals {
            self.shared.data_waker.notify();
        }
    }

    fn count_full(&self) {
        let stats = &self.shared.producer_stats;
        // Relaxed: statistics; only this thread writes them.
        stats.full.store(stats.full.load(Relaxed) + 1, Relaxed);
    }

    /// Waits until sequences below `end` may be written, or until `deadline`; returns
    /// whether they may.
    #[cold]
    #[inline(never)]
    fn wait_for_space(&mut self, end: u64, deadline: Option<Instant>) -> bool {
        if self.refresh(end, 0) {
            return true;
        }
        let started = Instant::now();
        let shared = Arc::clone(&self.shared);
        let stats = &shared.producer_stats;
        let blamed = self.slowest;
        if let Some(i) = blamed {
            // Relaxed: published by the Release store below.
            stats.wait_started_ns.store(shared.clock_ns(), Relaxed);
            // Release: pairs with the Acquire load in `Shared::wait_in_progress`.
            stats.waiting_on.store(i + 1, Release);
        }
        // A lossy tap with a `max_wait` is detached once the producer has waited that long
        // for it: a parked producer must wake by then even if nothing moves.
        // The caller's own deadline bounds the park too.
        let park_deadline = Cell::new(deadline);
        // A copy, as the check borrows the whole producer.
        let mut history = self.park_history;
        let ready = wait_for_until(
            shared.config.strategy,
            &shared.space_waker,
            &mut history,
            &park_deadline,
            || {
                let waited = started.elapsed().as_nanos().min(u64::MAX as u128) as u64;
                if self.refresh(end, waited.max(1)) {
                    return Some(true);
                }
                let now = Instant::now();
                if deadline.is_some_and(|at| now >= at) {
                    return Some(false);
                }
                let patience = self
                    .tap_patience_ns
                    .and_then(|left| now.checked_add(Duration::from_nanos(left)));
                park_deadline.set(match (patience, deadline) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                });
                None
            },
        );
        self.park_history = history;
        let waited = started.elapsed().as_nanos().min(u64::MAX as u128) as u64;
        // Relaxed: statistics, written by this thread only, read by metrics snapshots.
        stats.waits.store(stats.waits.load(Relaxed) + 1, Relaxed);
        stats
            .wait_ns
            .store(stats.wait_ns.load(Relaxed) + waited, Relaxed);
        if let Some(i) = blamed {
            // Charging the consumer takes the membership lock: this is the slow path of a
            // publish that already waited, and the lock orders us against a `leave` that
            // may have charged (and reported) this wait already.
            let _members = sync::lock(&shared.members);
            // Relaxed: the lock orders it against `leave`.
            if stats.waiting_on.swap(0, Relaxed) == i + 1 {
                let c = &shared.cursors[i];
                // Relaxed: statistics, written under the membership lock only.
                c.producer_waits.fetch_add(1, Relaxed);
                c.producer_wait_ns.fetch_add(waited, Relaxed);
            }
        }
        ready
    }

    /// Re-reads the cursors, recomputes `limit`, and reports whether `end <= limit`.
    ///
    /// `waited_ns` is how long the producer has been waiting for this `end` (0: not
    /// waiting); a lossy tap that holds it back longer than its `max_wait` is detached.
    fn refresh(&mut self, end: u64, waited_ns: u64) -> bool {
        loop {
            self.scan(end, waited_ns);
            if !self.shared.config.dynamic {
                break;
            }
            // Release: pairs with a joiner's Acquire load (see `membership.rs`).
            self.shared.committed.store(self.limit, Release);
            fence(SeqCst);
            // Acquire: pairs with a joiner's Release increment, so a rescan sees its entry.
            let generation = self.shared.generation.load(Acquire);
            if generation == self.generation {
                break;
            }
            self.generation = generation;
        }
        let ready = end <= self.limit;
        if ready {
            self.full_since = None;
        }
        ready
    }

    /// One pass over the membership table: sets `limit` and `slowest`, detaching lossy taps
    /// that lag past their policy.
    fn scan(&mut self, end: u64, waited_ns: u64) {
        let dynamic = self.shared.config.dynamic;
        if dynamic {
            // Odd: a scan runs. A leaver reads this after vacating an entry (store-buffering:
            // its fence and ours), and a joiner waits for the even count before reusing an
            // entry this scan may have read as its old occupant's (`membership.rs`).
            self.scans += 1;
            // Relaxed: ordered before our reads of the table by the fence that follows.
            self.shared.scans.store(self.scans, Relaxed);
            fence(SeqCst);
        }
        self.scan_table(end, waited_ns);
        if dynamic {
            self.scans += 1;
            // Release: our reads of the table above happen before a joiner's Acquire load
            // that sees this count, and so before it writes to an entry we read.
            self.shared.scans.store(self.scans, Release);
        }
    }

    fn scan_table(&mut self, end: u64, waited_ns: u64) {
        let shared = &*self.shared;
        let capacity = shared.capacity();
        // Commit no further ahead than the replay window allows, but always as far as the
        // claim in hand needs (a batch larger than `capacity - window` shrinks the window
        // while it is written).
        let mut limit = (self.next + capacity - shared.config.replay_window).max(end);
        let mut slowest = None;
        let mut patience = None;
        // Acquire: pairs with a joiner's Release `fetch_max`, so the entries below it are set.
        let high_water = shared.high_water.load(Acquire);
        for (i, cursor) in shared.cursors[..high_water].iter().enumerate() {
            // Acquire: pairs with the Release stores of `state` in `membership.rs`: a new
            // entry's start sequence, or a leaver's last reads, happen before what we do next.
            let bound = match cursor.state.load(Acquire) {
                // Acquire: pairs with the consumer's Release store of its cursor: its reads
                // of every slot below it happen before we overwrite them. (A gating cursor
                // never carries a flag: only taps are detached, and an entry is not reused
                // while a scan that read its old occupant runs.)
                Role::Gating => cursor.sequence.load(Acquire) + capacity,
                Role::Tap => {
                    // Acquire: as for Gating.
                    let raw = cursor.sequence.load(Acquire);
                    if raw & DETACHED != 0 {
                        continue;
                    }
                    let position = raw & SEQUENCE;
                    // Relaxed: both were set before the entry's Release state store.
                    let max_lag = cursor.max_lag.load(Relaxed);
                    let max_wait = cursor.max_wait_ns.load(Relaxed);
                    let bound = position + max_lag;
                    // Past its lag bound the tap is cut loose, except at the ring's edge,
                    // where the producer may first wait `max_wait` for it.
                    if end > bound {
                        if max_lag < capacity || max_wait == 0 || waited_ns >= max_wait {
                            if self.detach(i, raw, end - position) {
                                continue;
                            }
                            // Not detached: the cursor moved since we read it (the tap
                            // advanced, began a copy, or rejoined), and that move signals
                            // `space_waker`. Hold back on what we saw, which is conservative;
                            // the next scan decides again.
                        } else {
                            let left = max_wait - waited_ns;
                            patience = Some(patience.map_or(left, |p: u64| p.min(left)));
                        }
                    }
                    bound
                }
                Role::Free | Role::Retired => continue,
            };
            if bound < limit {
                limit = bound;
                slowest = Some(i);
            }
        }
        // Never below `next`: everything below it is written already, and a joiner takes
        // `committed` (this limit) minus the capacity as the oldest event still in the ring.
        // A lossy tap whose detach failed bounds the scan at `position + max_lag`, which may
        // be below `next`; waiting is decided by `end > limit` either way, as `end > next`.
        // Never past the last sequence the cursors can carry either (`check_sequence_space`).
        self.limit = limit.max(self.next).min(MAX_PUBLISHED);
        self.slowest = slowest;
        self.tap_patience_ns = patience;
    }

    /// Cuts a lossy tap loose: it stops gating, and its next read reports what it missed.
    ///
    /// Only if its cursor still holds `seen`, the value the scan judged: a compare-exchange,
    /// not a blind `fetch_or`, so a flag never lands on a cursor that has moved on. (The
    /// entry cannot have changed hands since the scan read it: see `Shared::reusable_entry`.)
    /// Returns whether it detached.
    #[cold]
    fn detach(&self, index: usize, seen: u64, lag: u64) -> bool {
        let cursor = &self.shared.cursors[index];
        // AcqRel: Acquire pairs with the tap's Release CAS that set COPYING (so we know it
        // is copying); Release is for symmetry with the tap's Acquire CAS that fails on it.
        // Relaxed on failure: nothing is read on that path.
        if cursor
            .sequence
            .compare_exchange(seen, seen | DETACHED, AcqRel, Relaxed)
            .is_err()
        {
            return false;
        }
        if seen & COPYING != 0 {
            // The tap is copying out slots we are about to reuse: at most `TAP_BATCH` calls
            // of `T::clone`. If one panics, the tap clears the flag as it unwinds.
            // Acquire: pairs with the tap's Release store that clears COPYING: its copies
            // happen before our overwrites.
            while cursor.sequence.load(Acquire) & COPYING != 0 {
                sync::thread::yield_now();
            }
        }
        // (The tap counts its own detaches, under the membership lock, when it rejoins: a
        // count added here could land after the tap left and a newcomer took the entry
        // over with its figures reset.)
        let stats = &self.shared.producer_stats;
        stats
            .detached
            .store(stats.detached.load(Relaxed) + 1, Relaxed);
        tracing::warn!(consumer_index = index, lag, "lossy tap detached");
        true
    }
}

/// Moves `event` into `slot` and returns the topic and key it tells.
#[inline(always)]
fn routed<T: Routed>(slot: &mut T, event: T) -> (Topic, T::Key) {
    *slot = event;
    (slot.topic(), slot.key())
}

/// `fill` as a slot writer for an untyped publish: the caller's topic, the default key.
#[inline(always)]
fn on_topic<T, K: SlotKey>(
    topic: Topic,
    fill: impl FnOnce(&mut T),
) -> impl FnOnce(&mut T) -> (Topic, K) {
    move |slot| {
        fill(slot);
        (topic, K::default())
    }
}

/// `fill`, which writes each event of an untyped batch and returns its topic, with the
/// default key.
#[inline(always)]
fn with_default_key_each<T, K: SlotKey>(
    mut fill: impl FnMut(usize, &mut T) -> Topic,
) -> impl FnMut(usize, &mut T) -> (Topic, K) {
    move |i, slot| (fill(i, slot), K::default())
}

/// `fill` as a slot writer that takes topic and key from what it wrote, so the two cannot
/// disagree with the event.
#[inline(always)]
fn routed_in_place<T: Routed>(fill: impl FnOnce(&mut T)) -> impl FnOnce(&mut T) -> (Topic, T::Key) {
    move |slot| {
        fill(slot);
        (slot.topic(), slot.key())
    }
}

/// [`routed_in_place`] for the events of a batch (`fill` gets each one's index).
#[inline(always)]
fn routed_in_place_each<T: Routed>(
    mut fill: impl FnMut(usize, &mut T),
) -> impl FnMut(usize, &mut T) -> (Topic, T::Key) {
    move |i, slot| {
        fill(i, slot);
        (slot.topic(), slot.key())
    }
}

impl<T, K: SlotKey> Drop for Producer<T, K> {
    fn drop(&mut self) {
        let end = if self.aborting || std::thread::panicking() {
            StreamEnd::Aborted
        } else {
            StreamEnd::Closed
        };
        // Release: a consumer that sees the end (Acquire) sees the final `published` and
        // every slot write before it.
        self.shared.closed.store(end, Release);
        self.shared.wake_everyone();
    }
}
