//! Checks a whole log without keeping its events.

use super::{EventLogReader, LogError};
use crate::{EventTopic, Payload, StreamIdentity};
use std::fmt;
use std::io::Read;

/// What [`verify`] found in an intact log.
///
/// ```
/// use ringbus_events::{verify, EventLogReader, EventLogWriter, EventTopic};
/// let bytes = EventLogWriter::new(Vec::new(), None)?.into_inner()?;
/// let s = verify(EventLogReader::new(&bytes[..])?)?;
/// assert_eq!((s.records, s.bytes, s.count(EventTopic::Trade)), (0, 20, 0));
/// assert_eq!(s.to_string(), "0 records, 20 bytes, no events, 0 blocks, 0 failed transactions; stream identity unknown");
/// # Ok::<(), ringbus_events::LogError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifySummary {
    /// The log's format version.
    pub format_version: u32,
    /// The identity of the stream the log holds (`None`: unknown, as in a version 1 log).
    pub identity: Option<StreamIdentity>,
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

/// One line for people: records, bytes, sequences, blocks, failed transactions, identity.
impl fmt::Display for VerifySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} records, {} bytes, ", self.records, self.bytes)?;
        match (self.first_sequence, self.last_sequence) {
            (Some(first), Some(last)) => write!(f, "sequences {first}..={last}")?,
            _ => f.write_str("no events")?,
        }
        write!(
            f,
            ", {} blocks, {} failed transactions; ",
            self.blocks, self.failed_txs
        )?;
        match &self.identity {
            Some(id) => write!(f, "stream {id}"),
            None if self.format_version == 1 => {
                f.write_str("stream identity unknown (format version 1)")
            }
            None => f.write_str("stream identity unknown"),
        }
    }
}

/// Reads a whole log as a whole bus stream ([`EventLogReader::whole_stream`]): framing,
/// checksums, bodies, contiguous sequences, block framing and a complete last block,
/// whatever policy `reader` was given. Returns the first error, with its record number and
/// byte offset.
///
/// ```
/// use ringbus_events::{verify, BeginBlock, EndBlock, Event, EventLogReader, EventLogWriter, LogError};
/// let block = [
///     Event { sequence: 0, ..Event::new(BeginBlock { height: 1, ..Default::default() }) },
///     Event { sequence: 1, ..Event::new(EndBlock { height: 1, ..Default::default() }) },
/// ];
/// let mut w = EventLogWriter::new(Vec::new(), None)?;
/// w.append_all(&block)?;
/// let mut bytes = w.into_inner()?;
/// assert_eq!(verify(EventLogReader::new(&bytes[..])?)?.blocks, 1);
/// *bytes.last_mut().unwrap() ^= 0x40; // flip a bit in the body of record 1
/// let err = verify(EventLogReader::new(&bytes[..])?).unwrap_err();
/// assert!(matches!(err, LogError::ChecksumMismatch { record: 1, .. }));
/// # Ok::<(), LogError>(())
/// ```
pub fn verify<R: Read>(reader: EventLogReader<R>) -> Result<VerifySummary, LogError> {
    let mut reader = reader.whole_stream();
    let mut summary = VerifySummary {
        format_version: reader.format_version(),
        identity: reader.identity().cloned(),
        ..VerifySummary::default()
    };
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
