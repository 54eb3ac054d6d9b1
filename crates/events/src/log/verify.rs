//! Checks a whole log without keeping its events.

use super::{EventLogReader, LogError, SequencePolicy};
use crate::{EventTopic, Payload};
use std::io::Read;

/// What [`verify`] found in an intact log.
///
/// ```
/// use ringbus_events::{verify, EventLogReader, EventLogWriter, EventTopic};
/// let bytes = EventLogWriter::new(Vec::new())?.into_inner()?;
/// let s = verify(EventLogReader::new(&bytes[..])?)?;
/// assert_eq!((s.records, s.bytes, s.count(EventTopic::Trade)), (0, 12, 0));
/// # Ok::<(), ringbus_events::LogError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifySummary {
    /// Records in the log.
    pub records: u64,
    /// Bytes in the log, header included.
    pub bytes: u64,
    /// Sequence number of the first event.
    pub first_sequence: Option<u64>,
    /// Sequence number of the last event.
    pub last_sequence: Option<u64>,
    /// Completed blocks (EndBlock events).
    pub blocks: u64,
    /// Failed transactions (TxResult events with an error).
    pub failed_txs: u64,
    /// Events per topic, indexed by `topic.id() - 1`: use [`VerifySummary::count`].
    pub by_topic: [u64; EventTopic::COUNT],
}

impl VerifySummary {
    /// Events of `topic` in the log.
    ///
    /// ```
    /// use ringbus_events::{EventTopic, VerifySummary};
    /// assert_eq!(VerifySummary::default().count(EventTopic::Order), 0);
    /// ```
    pub fn count(&self, topic: EventTopic) -> u64 {
        self.by_topic[usize::from(topic.id()) - 1]
    }
}

/// Reads a whole log and checks its framing, checksums, bodies and sequence continuity
/// (gap-free and increasing, whatever policy `reader` was given). Returns the first error,
/// with its record number and byte offset.
///
/// ```
/// use ringbus_events::{verify, Event, EventLogReader, EventLogWriter, LogError};
/// let mut w = EventLogWriter::new(Vec::new())?;
/// w.append(&Event { sequence: 5, ..Event::default() })?;
/// let mut bytes = w.into_inner()?;
/// *bytes.last_mut().unwrap() ^= 0x40; // flip a bit in the body
/// let err = verify(EventLogReader::new(&bytes[..])?).unwrap_err();
/// assert!(matches!(err, LogError::ChecksumMismatch { record: 0, offset: 12, .. }));
/// # Ok::<(), LogError>(())
/// ```
pub fn verify<R: Read>(reader: EventLogReader<R>) -> Result<VerifySummary, LogError> {
    let mut reader = reader.with_policy(SequencePolicy::Contiguous);
    let mut summary = VerifySummary::default();
    for event in reader.by_ref() {
        let event = event?;
        summary.first_sequence.get_or_insert(event.sequence);
        summary.last_sequence = Some(event.sequence);
        summary.by_topic[usize::from(event.topic().id()) - 1] += 1;
        match event.payload {
            Payload::EndBlock(_) => summary.blocks += 1,
            Payload::TxResult(r) if !r.outcome.is_success() => summary.failed_txs += 1,
            _ => {}
        }
    }
    summary.records = reader.records();
    summary.bytes = reader.offset();
    Ok(summary)
}
