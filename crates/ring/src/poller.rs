//! A consumer driven by the user's own thread.

use crate::error::PollError;
use crate::reader::{Idle, Reader};
use crate::subscription::ConsumerId;

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
#[derive(Debug)]
pub struct Poller<T> {
    reader: Reader<T>,
    ended: Option<PollError>,
}

impl<T> Poller<T> {
    pub(crate) fn new(reader: Reader<T>) -> Self {
        Poller {
            reader,
            ended: None,
        }
    }

    /// Waits (by the bus's wait strategy) for events, then returns them as a batch.
    ///
    /// After the producer closes, returns the remaining events and then
    /// [`PollError::Shutdown`]; if a consumer this one depends on stops, returns what it
    /// processed and then [`PollError::UpstreamGone`].
    pub fn poll(&mut self) -> Result<Batch<'_, T>, PollError> {
        if let Some(end) = &self.ended {
            return Err(end.clone());
        }
        match self.reader.wait_available() {
            Ok(end) => Ok(self.batch(end)),
            Err(idle) => Err(self.end(idle)),
        }
    }

    /// Returns the available batch without waiting, or `None` if there is none yet.
    pub fn try_poll(&mut self) -> Result<Option<Batch<'_, T>>, PollError> {
        if let Some(end) = &self.ended {
            return Err(end.clone());
        }
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

    fn batch(&mut self, end: u64) -> Batch<'_, T> {
        let start = self.reader.next;
        Batch {
            reader: &mut self.reader,
            start,
            end,
        }
    }

    #[cold]
    fn end(&mut self, idle: Idle) -> PollError {
        self.reader.leave_after(&idle);
        let err = match idle {
            Idle::End(e) => e,
            Idle::Stop => PollError::Shutdown,
        };
        self.ended = Some(err.clone());
        err
    }
}

/// Events readable by a poller, from [`Poller::poll`]. Dropping it releases them.
///
/// The batch covers a range of sequences; [`Batch::iter`] yields the events of the poller's
/// topics in it (possibly none), with their sequences.
#[derive(Debug)]
pub struct Batch<'a, T> {
    reader: &'a mut Reader<T>,
    start: u64,
    end: u64,
}

impl<'a, T> Batch<'a, T> {
    /// The events of the poller's topics in this batch, in sequence order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> + '_ {
        let reader = &*self.reader;
        (self.start..self.end).filter_map(move |sequence| {
            // SAFETY: `sequence` is below the end this reader observed readable (Acquire
            // loads in `Reader::try_available`) and at or past its cursor, which it only
            // moves when this batch is dropped, after every borrow of `self` ends.
            let wanted = reader.all_topics
                || reader
                    .topics
                    .contains(unsafe { reader.shared.slots.topic(sequence) });
            // SAFETY: as above; the reference lives no longer than `&self`.
            wanted.then(|| (sequence, unsafe { reader.shared.slots.get(sequence) }))
        })
    }

    /// The range of sequences this batch covers (events of every topic).
    pub fn sequences(&self) -> std::ops::Range<u64> {
        self.start..self.end
    }

    /// Whether the batch holds no event of the poller's topics.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    fn handled(&self) -> u64 {
        if self.reader.all_topics {
            self.end - self.start
        } else {
            self.iter().count() as u64
        }
    }
}

impl<T> Drop for Batch<'_, T> {
    fn drop(&mut self) {
        let handled = self.handled();
        self.reader.release(self.end, handled);
    }
}
