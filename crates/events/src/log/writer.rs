//! Appends events to a log.

use super::format::{self, FRAME_LEN, MAX_BODY_LEN};
use super::sequence::SequenceCheck;
use super::{LogError, SequencePolicy};
use crate::{Event, StreamIdentity};
use std::io::Write;

/// Writes events as framed, checksummed records.
///
/// Each [`append`](Self::append) encodes into a buffer allocated once, then makes one
/// `write_all` call: wrap a file in a `std::io::BufWriter` to batch system calls. The writer
/// checks sequence numbers the same way the reader will ([`SequencePolicy`]), so it cannot
/// write a log its own reader rejects.
///
/// ```
/// use ringbus_events::{Event, EventLogWriter, TimeUpdate};
/// let mut w = EventLogWriter::new(Vec::new(), None)?;
/// for seq in 0..3 {
///     w.append(&Event { sequence: seq, ..Event::new(TimeUpdate::default()) })?;
/// }
/// assert_eq!(w.records(), 3);
/// let bytes = w.into_inner()?;
/// assert!(bytes.len() > 20 + 3 * 8, "a header, then three frames and their bodies");
/// # Ok::<(), ringbus_events::LogError>(())
/// ```
#[derive(Debug)]
pub struct EventLogWriter<W: Write> {
    inner: W,
    // FRAME_LEN + MAX_BODY_LEN bytes, reused for every record.
    buf: Box<[u8]>,
    records: u64,
    bytes: u64,
    sequence: SequenceCheck,
    poisoned: bool,
}

impl<W: Write> EventLogWriter<W> {
    /// Starts a new log of the stream `identity` (`None`: a stream of unknown identity):
    /// writes the file header.
    ///
    /// ```
    /// use ringbus_events::{BlockHash, EventLogWriter, StreamIdentity};
    /// let w = EventLogWriter::new(Vec::new(), None)?;
    /// assert_eq!(w.bytes(), 20);
    /// let id = StreamIdentity::new("sim", BlockHash(1), 42, "")?;
    /// let w = EventLogWriter::new(Vec::new(), Some(&id))?;
    /// assert_eq!(w.bytes(), 20 + id.to_string().len() as u64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(mut inner: W, identity: Option<&StreamIdentity>) -> Result<Self, LogError> {
        let header = format::header(identity);
        inner
            .write_all(&header)
            .map_err(|source| LogError::Io { offset: 0, source })?;
        Ok(Self::at(inner, 0, header.len() as u64, None))
    }

    /// Continues an existing log whose intact part ends where `inner` is positioned (see
    /// [`Recovery::resume_point`](crate::Recovery::resume_point)): writes no header.
    ///
    /// ```
    /// use ringbus_events::{recover, Event, EventLogWriter, TimeUpdate};
    /// let mut w = EventLogWriter::new(Vec::new(), None)?;
    /// w.append(&Event::new(TimeUpdate::default()))?;
    /// let bytes = w.into_inner()?;
    /// let point = recover(&bytes[..]).resume_point();
    /// let mut w = EventLogWriter::resume(bytes, point);
    /// w.append(&Event { sequence: 1, ..Event::default() })?;
    /// assert_eq!(w.records(), 2);
    /// # Ok::<(), ringbus_events::LogError>(())
    /// ```
    pub fn resume(inner: W, point: ResumePoint) -> Self {
        Self::at(inner, point.records, point.bytes, point.last_sequence)
    }

    fn at(inner: W, records: u64, bytes: u64, last: Option<u64>) -> Self {
        EventLogWriter {
            inner,
            buf: vec![0; FRAME_LEN + MAX_BODY_LEN as usize].into_boxed_slice(),
            records,
            bytes,
            sequence: SequenceCheck {
                policy: SequencePolicy::Contiguous,
                last,
            },
            poisoned: false,
        }
    }

    /// Sets how sequence numbers are checked (default [`SequencePolicy::Contiguous`]).
    ///
    /// ```
    /// use ringbus_events::{Event, EventLogWriter, SequencePolicy};
    /// let mut w = EventLogWriter::new(Vec::new(), None)?.with_policy(SequencePolicy::Increasing);
    /// w.append(&Event { sequence: 1, ..Event::default() })?;
    /// w.append(&Event { sequence: 5, ..Event::default() })?;
    /// assert!(w.append(&Event { sequence: 5, ..Event::default() }).is_err());
    /// # Ok::<(), ringbus_events::LogError>(())
    /// ```
    pub fn with_policy(mut self, policy: SequencePolicy) -> Self {
        self.sequence.policy = policy;
        self
    }

    /// Appends one event; returns the byte offset of its record.
    ///
    /// ```
    /// use ringbus_events::{Event, EventLogWriter, LogError};
    /// let mut w = EventLogWriter::new(Vec::new(), None)?;
    /// assert_eq!(w.append(&Event { sequence: 10, ..Event::default() })?, 20);
    /// let gap = w.append(&Event { sequence: 12, ..Event::default() }).unwrap_err();
    /// assert!(matches!(gap, LogError::MissingRecords { record: 1, expected: 11, found: 12, .. }));
    /// let again = w.append(&Event { sequence: 10, ..Event::default() }).unwrap_err();
    /// assert!(matches!(again, LogError::DuplicateRecord { record: 1, copy_of: Some(0), .. }));
    /// # Ok::<(), LogError>(())
    /// ```
    pub fn append(&mut self, event: &Event) -> Result<u64, LogError> {
        let (record, offset) = (self.records, self.bytes);
        if self.poisoned {
            return Err(LogError::Poisoned { record, offset });
        }
        self.sequence.check(event.sequence, record, offset)?;
        let frame =
            format::encode_record(event, &mut self.buf).map_err(|reason| LogError::Encode {
                record,
                offset,
                reason,
            })?;
        if let Err(source) = self.inner.write_all(frame) {
            // Part of the record may be in the file: appending more would bury the damage.
            self.poisoned = true;
            return Err(LogError::Io { offset, source });
        }
        self.bytes += frame.len() as u64;
        self.records += 1;
        self.sequence.last = Some(event.sequence);
        Ok(offset)
    }

    /// Appends every event, stopping at the first error.
    ///
    /// ```
    /// use ringbus_events::{Event, EventLogWriter};
    /// let events: Vec<Event> = (0..4).map(|s| Event { sequence: s, ..Event::default() }).collect();
    /// let mut w = EventLogWriter::new(Vec::new(), None)?;
    /// w.append_all(&events)?;
    /// assert_eq!(w.records(), 4);
    /// # Ok::<(), ringbus_events::LogError>(())
    /// ```
    pub fn append_all<'a>(
        &mut self,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<(), LogError> {
        events
            .into_iter()
            .try_for_each(|e| self.append(e).map(drop))
    }

    /// Flushes the underlying writer.
    ///
    /// ```
    /// let mut w = ringbus_events::EventLogWriter::new(Vec::new(), None)?;
    /// w.flush()?;
    /// # Ok::<(), ringbus_events::LogError>(())
    /// ```
    pub fn flush(&mut self) -> Result<(), LogError> {
        self.inner.flush().map_err(|source| LogError::Io {
            offset: self.bytes,
            source,
        })
    }

    /// Records written (including those before a [`resume`](Self::resume)).
    ///
    /// ```
    /// assert_eq!(ringbus_events::EventLogWriter::new(Vec::new(), None)?.records(), 0);
    /// # Ok::<(), ringbus_events::LogError>(())
    /// ```
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Bytes in the log, header included: the offset the next record will have.
    ///
    /// ```
    /// assert_eq!(ringbus_events::EventLogWriter::new(Vec::new(), None)?.bytes(), 20);
    /// # Ok::<(), ringbus_events::LogError>(())
    /// ```
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The sequence number of the last event written.
    ///
    /// ```
    /// use ringbus_events::{Event, EventLogWriter};
    /// let mut w = EventLogWriter::new(Vec::new(), None)?;
    /// assert_eq!(w.last_sequence(), None);
    /// w.append(&Event { sequence: 3, ..Event::default() })?;
    /// assert_eq!(w.last_sequence(), Some(3));
    /// # Ok::<(), ringbus_events::LogError>(())
    /// ```
    pub fn last_sequence(&self) -> Option<u64> {
        self.sequence.last
    }

    /// The underlying writer.
    ///
    /// ```
    /// let w = ringbus_events::EventLogWriter::new(Vec::new(), None)?;
    /// assert_eq!(w.get_ref().len(), 20);
    /// # Ok::<(), ringbus_events::LogError>(())
    /// ```
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// Flushes and returns the underlying writer.
    ///
    /// ```
    /// let bytes = ringbus_events::EventLogWriter::new(Vec::new(), None)?.into_inner()?;
    /// assert_eq!(&bytes[..8], b"RBUSEVLG");
    /// # Ok::<(), ringbus_events::LogError>(())
    /// ```
    pub fn into_inner(mut self) -> Result<W, LogError> {
        self.flush()?;
        Ok(self.inner)
    }
}

/// Where an intact log ends, to continue writing it after a crash.
///
/// ```
/// use ringbus_events::ResumePoint;
/// let fresh = ResumePoint { records: 0, bytes: 20, last_sequence: None };
/// assert_eq!(fresh.bytes, 20);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResumePoint {
    /// Intact records.
    pub records: u64,
    /// Intact bytes, header included: truncate the file to this length, then append.
    pub bytes: u64,
    /// Sequence number of the last intact event.
    pub last_sequence: Option<u64>,
}
