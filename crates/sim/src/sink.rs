//! Where the simulator's events go: a bus producer, a vector, an event log.

use ringbus_events::{Event, EventKey, EventLogWriter, LogError};
use ringbus_ring::{Producer, PublishError};
use std::io::Write;

/// Why a sink could not take a batch.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The bus refused the batch.
    #[error("publishing to the bus: {0}")]
    Publish(#[from] PublishError),
    /// The bus numbered the batch differently from the simulator (another producer?).
    #[error("the bus gave sequence {bus} to the event the simulator numbered {sim}")]
    SequenceMismatch {
        /// The simulator's number.
        sim: u64,
        /// The bus's number.
        bus: u64,
    },
    /// Writing the event log failed.
    #[error("event log: {0}")]
    Log(#[from] LogError),
}

/// Takes the simulator's output one batch at a time. A batch is published together: a
/// transaction with its `TxResult`, or a whole risk cascade.
pub trait EventSink {
    /// Takes one batch (never empty).
    fn publish(&mut self, batch: &[Event]) -> Result<(), SinkError>;
}

impl EventSink for Vec<Event> {
    fn publish(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        self.extend_from_slice(batch);
        Ok(())
    }
}

impl<W: Write> EventSink for EventLogWriter<W> {
    fn publish(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        self.append_all(batch)?;
        Ok(())
    }
}

impl EventSink for Producer<Event, EventKey> {
    /// Publishes the batch with one `publish_events` (visible all at once; each event's
    /// topic and key taken from it). A batch larger than the ring is split into ring-sized
    /// pieces.
    #[inline]
    fn publish(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        let cap = usize::try_from(self.capacity())
            .unwrap_or(usize::MAX)
            .max(1);
        for chunk in batch.chunks(cap) {
            let range = self.publish_events(chunk.iter().copied())?;
            if let Some(first) = chunk.first() {
                if first.sequence != range.start {
                    return Err(SinkError::SequenceMismatch {
                        sim: first.sequence,
                        bus: range.start,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Counts what goes by, then passes it on.
#[derive(Debug)]
pub struct Counting<S> {
    /// The sink passed to.
    pub inner: S,
    /// Events per topic id (index = topic id).
    pub by_topic: [u64; 17],
    /// Batches.
    pub batches: u64,
}

impl<S> Counting<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Counting {
            inner,
            by_topic: [0; 17],
            batches: 0,
        }
    }
}

impl<S: EventSink> EventSink for Counting<S> {
    #[inline]
    fn publish(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        for e in batch {
            self.by_topic[usize::from(e.topic().id())] += 1;
        }
        self.batches += 1;
        self.inner.publish(batch)
    }
}
