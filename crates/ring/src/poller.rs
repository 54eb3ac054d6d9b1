//! A consumer driven by the user's own thread.

use crate::error::{OutOfBatch, PollError};
use crate::key::SlotKey;
use crate::reader::{Idle, Reader};
use crate::subscription::ConsumerId;
use std::time::{Duration, Instant};

/// A gating consumer that the user's thread drives: each [`Poller::poll`] returns the
/// available batch, and dropping the batch releases it (advances the cursor).
///
/// ```
/// use ringbus_ring::{PollError, RingBus, Subscription, Topic, TopicSet};
/// let (mut producer, mut bus) = RingBus::builder::<u32>()
///     .capacity(16)
///     .poller(Subscription::new("odd").topics(TopicSet::of(&[Topic::new(1)])))
///     .build()
///     .unwrap();
/// let mut odd = bus.take_poller("odd").unwrap();
/// for i in 0..6u32 {
///     producer.publish(Topic::new((i % 2) as u8), |slot| *slot = i);
/// }
/// drop(producer);
/// let mut seen = Vec::new();
/// loop {
///     match odd.poll() {
///         Ok(batch) => seen.extend(batch.iter().map(|(_, e)| *e)),
///         Err(PollError::Shutdown) => break,
///         Err(other) => panic!("{other}"),
///     }
/// }
/// assert_eq!(seen, [1, 3, 5]);
/// ```
///
/// Dropping the poller leaves the bus: it stops gating the producer at once.
///
/// # Panics in the polling thread
///
/// A batch dropped while its thread panics releases nothing it had not released already
/// ([`Batch::release_to`]): the poller leaves as *failed* at the first unreleased sequence,
/// consumers declared after it never see events it did not finish, and [`Bus::join`] reports
/// the failure. A later poll returns [`PollError::Failed`].
///
/// [`Bus::join`]: crate::Bus::join
#[derive(Debug)]
pub struct Poller<T, K: SlotKey = ()> {
    reader: Reader<T, K>,
    ended: Option<PollError>,
}

impl<T, K: SlotKey> Poller<T, K> {
    pub(crate) fn new(reader: Reader<T, K>) -> Self {
        Poller {
            reader,
            ended: None,
        }
    }

    /// Waits (by the bus's wait strategy) for events, then returns them as a batch.
    ///
    /// After the producer closes, returns the remaining events and then
    /// [`PollError::Shutdown`] ([`PollError::ProducerFailed`] if it panicked or aborted); if a
    /// consumer this one depends on stops, returns what it processed and then
    /// [`PollError::UpstreamGone`]; after [`Bus::stop`](crate::Bus::stop),
    /// [`PollError::Stopped`].
    pub fn poll(&mut self) -> Result<Batch<'_, T, K>, PollError> {
        self.poll_until(None)
    }

    /// Like [`Poller::poll`], but waits at most `timeout`: then returns
    /// [`PollError::Timeout`], which ends nothing (poll again).
    ///
    /// ```
    /// use ringbus_ring::{PollError, RingBus, Subscription};
    /// use std::time::Duration;
    /// let (_producer, bus) = RingBus::builder::<u64>().build().unwrap();
    /// let mut poller = bus.subscribe(Subscription::new("quiet")).unwrap();
    /// let err = poller.poll_timeout(Duration::from_millis(1)).unwrap_err();
    /// assert_eq!(err, PollError::Timeout);
    /// ```
    pub fn poll_timeout(&mut self, timeout: Duration) -> Result<Batch<'_, T, K>, PollError> {
        self.poll_until(Instant::now().checked_add(timeout))
    }

    fn poll_until(&mut self, deadline: Option<Instant>) -> Result<Batch<'_, T, K>, PollError> {
        self.check_ended()?;
        match self.reader.wait_available_until(deadline) {
            Ok(end) => Ok(self.batch(end)),
            Err(idle) => Err(self.end(idle)),
        }
    }

    /// Returns the available batch without waiting, or `None` if there is none yet.
    pub fn try_poll(&mut self) -> Result<Option<Batch<'_, T, K>>, PollError> {
        self.check_ended()?;
        match self.reader.try_available() {
            Ok(Some(end)) => Ok(Some(self.batch(end))),
            Ok(None) => Ok(None),
            Err(idle) => Err(self.end(idle)),
        }
    }

    /// This consumer's id (to declare dependencies on it).
    pub fn id(&self) -> ConsumerId {
        self.reader.id
    }

    /// This consumer's name.
    pub fn name(&self) -> &str {
        &self.reader.name
    }

    /// The next sequence this poller will read.
    pub fn sequence(&self) -> u64 {
        self.reader.next
    }

    fn batch(&mut self, end: u64) -> Batch<'_, T, K> {
        Batch::new(&mut self.reader, end)
    }

    /// The same consumer, waited on from async code: see [`AsyncPoller`](crate::AsyncPoller).
    #[cfg(feature = "async")]
    pub fn into_async(self) -> crate::AsyncPoller<T, K> {
        crate::AsyncPoller::new(self.reader, self.ended)
    }

    /// The error that ended this poller, if it has ended (or been told to stop).
    #[inline]
    fn check_ended(&mut self) -> Result<(), PollError> {
        self.reader.check_ended(&mut self.ended)?;
        if self.reader.stop_requested() {
            return Err(self.end(Idle::Stop));
        }
        Ok(())
    }

    #[cold]
    fn end(&mut self, idle: Idle) -> PollError {
        if matches!(idle, Idle::Timeout) {
            return PollError::Timeout;
        }
        self.reader.leave_after(&idle);
        let err = idle.into_error();
        self.ended = Some(err.clone());
        err
    }
}

/// Events readable by a poller, from [`Poller::poll`]. Dropping it releases them.
///
/// The batch covers a range of sequences; [`Batch::iter`] yields the events of the poller's
/// topics in it (possibly none), with their sequences.
#[derive(Debug)]
pub struct Batch<'a, T, K: SlotKey = ()> {
    reader: &'a mut Reader<T, K>,
    start: u64,
    end: u64,
}

impl<'a, T, K: SlotKey> Batch<'a, T, K> {
    /// The batch from the reader's next sequence to `end`, an end it observed readable.
    pub(crate) fn new(reader: &'a mut Reader<T, K>, end: u64) -> Self {
        let start = reader.next;
        Batch { reader, start, end }
    }

    /// The events of the poller's topics in this batch, in sequence order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> + '_ {
        let reader = &*self.reader;
        // SAFETY: every sequence of `start..end` is below the end this reader observed
        // readable (Acquire loads in `Reader::try_available`) and at or past its cursor,
        // which it only moves when this batch is dropped or `release_to` (which takes
        // `&mut self`) runs, after every borrow of `self` ends.
        let wanted = unsafe { reader.wanted(self.start, self.end) };
        // SAFETY: as above; the reference lives no longer than `&self`.
        wanted.map(move |sequence| (sequence, unsafe { reader.shared.slots.get(sequence) }))
    }

    /// The range of sequences this batch still covers (events of every topic).
    pub fn sequences(&self) -> std::ops::Range<u64> {
        self.start..self.end
    }

    /// Whether the batch holds no event of the poller's topics.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// Releases the sequences of this batch below `sequence` now, for a consumer that has
    /// processed part of it: the producer may reuse them, and dependents see them. The rest
    /// stays held (and is released when the batch is dropped). If the thread then panics, the
    /// poller fails at `sequence`, not at the batch's start.
    ///
    /// ```
    /// use ringbus_ring::{RingBus, Subscription, Topic};
    /// let (mut producer, bus) = RingBus::builder::<u64>().build().unwrap();
    /// let mut poller = bus.subscribe(Subscription::new("p")).unwrap();
    /// producer.publish_batch(4, |i, e| { *e = i as u64; Topic::new(0) }).unwrap();
    /// let mut batch = poller.poll().unwrap();
    /// batch.release_to(2).unwrap();
    /// assert_eq!(batch.sequences(), 2..4);
    /// assert!(batch.release_to(9).is_err()); // not in the batch
    /// ```
    pub fn release_to(&mut self, sequence: u64) -> Result<(), OutOfBatch> {
        if sequence < self.start || sequence > self.end {
            return Err(OutOfBatch {
                sequence,
                batch: self.start..self.end,
            });
        }
        if sequence > self.start {
            let handled = self.handled_in(self.start..sequence);
            self.reader.release(sequence, handled);
            self.start = sequence;
        }
        Ok(())
    }

    fn handled_in(&self, range: std::ops::Range<u64>) -> u64 {
        if self.reader.takes_everything() {
            return range.end - range.start;
        }
        // SAFETY: as in `iter`: the range is in this batch, not yet released.
        unsafe { self.reader.wanted(range.start, range.end) }.count() as u64
    }
}

impl<T, K: SlotKey> Drop for Batch<'_, T, K> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The thread died somewhere in this batch: release nothing it may not have
            // finished, so consumers declared after it never see those events.
            let at = self.start;
            self.reader.leave_panicked(
                at,
                format!(
                    "the thread panicked while holding the batch {at}..{}",
                    self.end
                ),
            );
            return;
        }
        let handled = self.handled_in(self.start..self.end);
        self.reader.release(self.end, handled);
    }
}
