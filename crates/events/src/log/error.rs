//! Typed errors of the event log: each names the record and byte offset where it happened.

use crate::{FramingError, IdentityError};
use std::io;

/// What went wrong reading or writing an event log.
///
/// Record numbers count from 0; offsets are bytes from the start of the file to the start of
/// the record (its length field). [`LogError::record`] and [`LogError::offset`] give them
/// uniformly.
///
/// ```
/// use ringbus_events::{EventLogReader, LogError};
/// let err = EventLogReader::new(&b"not a log at all"[..]).unwrap_err();
/// assert!(matches!(err, LogError::BadMagic { .. }));
/// assert_eq!(err.offset(), 0);
/// assert_eq!(err.record(), None);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The underlying reader or writer failed.
    #[error("i/o error at byte {offset}: {source}")]
    Io {
        /// Offset of the record (or header) being read or written.
        offset: u64,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The file does not start with the event-log magic.
    #[error("not an event log: the first bytes are {}", hex(found))]
    BadMagic {
        /// The first eight bytes found.
        found: [u8; 8],
    },
    /// The file has a format version this build cannot read.
    #[error(
        "unsupported event-log format version {found} (this build reads versions 1 to {supported})"
    )]
    UnsupportedVersion {
        /// The version in the file.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// The file ends inside its header.
    #[error("truncated header: the file has {available} of the {needed} header bytes")]
    TruncatedHeader {
        /// Bytes present.
        available: u64,
        /// Bytes the header needs, as far as known.
        needed: u64,
    },
    /// The header declares a stream identity longer than any: its length field is corrupt.
    #[error("the header declares a {len}-byte stream identity, over the {max}-byte limit (corrupt length)")]
    IdentityTooLong {
        /// The declared length.
        len: u32,
        /// The limit.
        max: u32,
    },
    /// The header's stream identity does not match its checksum.
    #[error("the header's stream identity: checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    IdentityChecksum {
        /// The checksum in the header.
        stored: u32,
        /// The checksum of the identity read.
        computed: u32,
    },
    /// The header's stream identity passed its checksum but is not a valid identity.
    #[error("the header's stream identity is invalid: {source}")]
    BadIdentity {
        /// What is wrong with it.
        #[source]
        source: IdentityError,
    },
    /// The file ends inside a record.
    #[error("record {record} at byte {offset} is truncated: it needs {needed} bytes, {available} remain")]
    Truncated {
        /// Record number.
        record: u64,
        /// Record offset.
        offset: u64,
        /// Bytes the record needs (frame and body), as far as known.
        needed: u64,
        /// Bytes left in the file from the record's offset.
        available: u64,
    },
    /// A record declares a body longer than any event: its length field is corrupt.
    #[error("record {record} at byte {offset} declares a {len}-byte body, over the {max}-byte limit (corrupt length)")]
    RecordTooLarge {
        /// Record number.
        record: u64,
        /// Record offset.
        offset: u64,
        /// The declared length.
        len: u32,
        /// The limit.
        max: u32,
    },
    /// A record's body does not match its checksum.
    #[error("record {record} at byte {offset}: checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    ChecksumMismatch {
        /// Record number.
        record: u64,
        /// Record offset.
        offset: u64,
        /// The checksum in the frame.
        stored: u32,
        /// The checksum of the body read.
        computed: u32,
    },
    /// A record's body passed its checksum but is not an event this build understands.
    #[error("record {record} at byte {offset}: undecodable body: {reason}")]
    Undecodable {
        /// Record number.
        record: u64,
        /// Record offset.
        offset: u64,
        /// What the decoder said.
        #[source]
        reason: postcard::Error,
    },
    /// A record's body holds an event followed by unexpected bytes.
    #[error("record {record} at byte {offset}: {extra} unexpected bytes after the event")]
    TrailingBytes {
        /// Record number.
        record: u64,
        /// Record offset.
        offset: u64,
        /// How many bytes follow the event.
        extra: usize,
    },
    /// Records are missing: `expected` should come next (or first, in a whole stream, which
    /// starts at 0) but `found` does, and `expected` does not come later in the log
    /// (dropped records).
    #[error("record {record} at byte {offset} has sequence {found}: sequences {expected}..={last_missing} are missing (dropped records)", last_missing = found.wrapping_sub(1))]
    MissingRecords {
        /// Record number.
        record: u64,
        /// Record offset.
        offset: u64,
        /// The sequence number that should have come next.
        expected: u64,
        /// The sequence number found.
        found: u64,
    },
    /// A record repeats the sequence number of another record of the log (a duplicated
    /// record).
    #[error("record {record} at byte {offset} repeats sequence {sequence}{}: a duplicated record", copy_of.map_or_else(String::new, |r| format!(" of record {r}")))]
    DuplicateRecord {
        /// Record number.
        record: u64,
        /// Record offset.
        offset: u64,
        /// The repeated sequence number.
        sequence: u64,
        /// The other record with this sequence, when known.
        copy_of: Option<u64>,
    },
    /// Records are out of order: a record has a sequence number other than the next one,
    /// and the next one comes later in the log (or before the log's first).
    #[error("record {record} at byte {offset}: sequence {found} where {expected} was expected{}: records out of order", expected_at.map_or_else(String::new, |r| format!(" ({expected} is record {r})")))]
    ReorderedRecords {
        /// Record number.
        record: u64,
        /// Record offset.
        offset: u64,
        /// The sequence number that should have come next.
        expected: u64,
        /// The sequence number found.
        found: u64,
        /// The record that holds `expected`, when it was found further on.
        expected_at: Option<u64>,
    },
    /// An event's sequence number is not above the previous event's.
    #[error("record {record} at byte {offset}: sequence {found} does not follow {previous}")]
    SequenceNotIncreasing {
        /// Record number.
        record: u64,
        /// Record offset.
        offset: u64,
        /// The previous event's sequence number.
        previous: u64,
        /// The sequence number found.
        found: u64,
    },
    /// An event breaks the block framing (read as a whole stream:
    /// [`EventLogReader::whole_stream`](crate::EventLogReader::whole_stream)).
    #[error("record {record} at byte {offset}: {source}")]
    Framing {
        /// Record number.
        record: u64,
        /// Record offset.
        offset: u64,
        /// How the framing is broken.
        #[source]
        source: FramingError,
    },
    /// The log ends inside a block: its last record is not the block's `EndBlock` (read as
    /// a whole stream). The records are intact; the log was cut at a record boundary.
    #[error("the log ends inside block {height} after sequence {last_sequence}: the last block is incomplete (no EndBlock)")]
    IncompleteBlock {
        /// The number the next record would have.
        record: u64,
        /// The end of the log.
        offset: u64,
        /// The block left open.
        height: u64,
        /// The sequence of the last record.
        last_sequence: u64,
    },
    /// An event could not be encoded (it would exceed the body limit).
    #[error("record {record} at byte {offset}: cannot encode the event: {reason}")]
    Encode {
        /// Record number it would have had.
        record: u64,
        /// Offset it would have had.
        offset: u64,
        /// What the encoder said.
        #[source]
        reason: postcard::Error,
    },
    /// An earlier write failed, so the log may end in a partial record; the writer refuses
    /// to append after it (recover the log, then resume).
    #[error(
        "record {record} at byte {offset}: an earlier write failed; the writer no longer appends"
    )]
    Poisoned {
        /// Record number of the next append.
        record: u64,
        /// Offset of the record whose write failed.
        offset: u64,
    },
}

/// Bytes as people read them: `7b 22 73 65`.
fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl LogError {
    /// The number of the record at fault; `None` for header and I/O errors.
    ///
    /// ```
    /// use ringbus_events::LogError;
    /// let e = LogError::Truncated { record: 3, offset: 200, needed: 8, available: 2 };
    /// assert_eq!(e.record(), Some(3));
    /// ```
    pub fn record(&self) -> Option<u64> {
        match self {
            LogError::Io { .. }
            | LogError::BadMagic { .. }
            | LogError::UnsupportedVersion { .. }
            | LogError::TruncatedHeader { .. }
            | LogError::IdentityTooLong { .. }
            | LogError::IdentityChecksum { .. }
            | LogError::BadIdentity { .. } => None,
            LogError::Truncated { record, .. }
            | LogError::RecordTooLarge { record, .. }
            | LogError::ChecksumMismatch { record, .. }
            | LogError::Undecodable { record, .. }
            | LogError::TrailingBytes { record, .. }
            | LogError::MissingRecords { record, .. }
            | LogError::DuplicateRecord { record, .. }
            | LogError::ReorderedRecords { record, .. }
            | LogError::SequenceNotIncreasing { record, .. }
            | LogError::Framing { record, .. }
            | LogError::IncompleteBlock { record, .. }
            | LogError::Encode { record, .. }
            | LogError::Poisoned { record, .. } => Some(*record),
        }
    }

    /// The byte offset of the damage: the start of the record at fault (its length field),
    /// or the header field at fault.
    ///
    /// ```
    /// use ringbus_events::LogError;
    /// let e = LogError::UnsupportedVersion { found: 9, supported: 2 };
    /// assert_eq!(e.offset(), 8);
    /// ```
    pub fn offset(&self) -> u64 {
        match self {
            LogError::BadMagic { .. } | LogError::TruncatedHeader { .. } => 0,
            LogError::UnsupportedVersion { .. } => 8,
            LogError::IdentityTooLong { .. } | LogError::IdentityChecksum { .. } => 12,
            LogError::BadIdentity { .. } => 20,
            LogError::Io { offset, .. }
            | LogError::Truncated { offset, .. }
            | LogError::RecordTooLarge { offset, .. }
            | LogError::ChecksumMismatch { offset, .. }
            | LogError::Undecodable { offset, .. }
            | LogError::TrailingBytes { offset, .. }
            | LogError::MissingRecords { offset, .. }
            | LogError::DuplicateRecord { offset, .. }
            | LogError::ReorderedRecords { offset, .. }
            | LogError::SequenceNotIncreasing { offset, .. }
            | LogError::Framing { offset, .. }
            | LogError::IncompleteBlock { offset, .. }
            | LogError::Encode { offset, .. }
            | LogError::Poisoned { offset, .. } => *offset,
        }
    }
}
