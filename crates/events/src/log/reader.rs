//! Reads events back from a log, checking framing, checksums and sequence numbers.

use super::format::{FORMAT_VERSION, FRAME_LEN, HEADER_LEN, MAGIC, MAX_BODY_LEN};
use super::sequence::SequenceCheck;
use super::{LogError, SequencePolicy};
use crate::Event;
use std::io::{self, Read};

/// An iterator over the events of a log: `Result<Event, LogError>`.
///
/// It stops (returns `None`) after the first error: everything after damage is suspect.
/// A log that ends exactly at a record boundary ends cleanly.
///
/// ```
/// use ringbus_events::{Event, EventLogReader, EventLogWriter};
/// let mut w = EventLogWriter::new(Vec::new())?;
/// w.append(&Event { sequence: 1, ..Event::default() })?;
/// let bytes = w.into_inner()?;
/// let events: Vec<Event> = EventLogReader::new(&bytes[..])?.collect::<Result<_, _>>()?;
/// assert_eq!(events[0].sequence, 1);
/// # Ok::<(), ringbus_events::LogError>(())
/// ```
#[derive(Debug)]
pub struct EventLogReader<R: Read> {
    inner: R,
    // Capacity MAX_BODY_LEN from the start, so reading never reallocates.
    buf: Vec<u8>,
    records: u64,
    offset: u64,
    sequence: SequenceCheck,
    done: bool,
}

impl<R: Read> EventLogReader<R> {
    /// Reads and checks the file header.
    ///
    /// ```
    /// use ringbus_events::{EventLogReader, LogError};
    /// let err = EventLogReader::new(&b"RBUSEVLG\x02\0\0\0"[..]).unwrap_err();
    /// assert!(matches!(err, LogError::UnsupportedVersion { found: 2, supported: 1 }));
    /// ```
    pub fn new(mut inner: R) -> Result<Self, LogError> {
        let mut header = [0u8; HEADER_LEN as usize];
        let got = read_full(&mut inner, &mut header)
            .map_err(|source| LogError::Io { offset: 0, source })?;
        let mut found = [0u8; 8];
        found.copy_from_slice(&header[..8]);
        // A short file that does not even start like a log is not a log, not a truncated one.
        if found[..got.min(8)] != MAGIC[..got.min(8)] {
            return Err(LogError::BadMagic { found });
        }
        if got < header.len() {
            return Err(LogError::TruncatedHeader {
                available: got as u64,
            });
        }
        let mut version = [0u8; 4];
        version.copy_from_slice(&header[8..]);
        let version = u32::from_le_bytes(version);
        if version != FORMAT_VERSION {
            return Err(LogError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        Ok(EventLogReader {
            inner,
            buf: Vec::with_capacity(MAX_BODY_LEN as usize),
            records: 0,
            offset: HEADER_LEN,
            sequence: SequenceCheck::default(),
            done: false,
        })
    }

    /// Sets how sequence numbers are checked (default [`SequencePolicy::Contiguous`]).
    ///
    /// ```
    /// use ringbus_events::{EventLogReader, EventLogWriter, SequencePolicy};
    /// let bytes = EventLogWriter::new(Vec::new())?.into_inner()?;
    /// let r = EventLogReader::new(&bytes[..])?.with_policy(SequencePolicy::Increasing);
    /// assert_eq!(r.count(), 0);
    /// # Ok::<(), ringbus_events::LogError>(())
    /// ```
    pub fn with_policy(mut self, policy: SequencePolicy) -> Self {
        self.sequence.policy = policy;
        self
    }

    /// Intact records read so far.
    ///
    /// ```
    /// use ringbus_events::{EventLogReader, EventLogWriter};
    /// let bytes = EventLogWriter::new(Vec::new())?.into_inner()?;
    /// assert_eq!(EventLogReader::new(&bytes[..])?.records(), 0);
    /// # Ok::<(), ringbus_events::LogError>(())
    /// ```
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Bytes of header and intact records read so far: the offset of the next record.
    ///
    /// ```
    /// use ringbus_events::{EventLogReader, EventLogWriter};
    /// let bytes = EventLogWriter::new(Vec::new())?.into_inner()?;
    /// assert_eq!(EventLogReader::new(&bytes[..])?.offset(), 12);
    /// # Ok::<(), ringbus_events::LogError>(())
    /// ```
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The sequence number of the last intact event read.
    ///
    /// ```
    /// use ringbus_events::{Event, EventLogReader, EventLogWriter};
    /// let mut w = EventLogWriter::new(Vec::new())?;
    /// w.append(&Event { sequence: 9, ..Event::default() })?;
    /// let bytes = w.into_inner()?;
    /// let mut r = EventLogReader::new(&bytes[..])?;
    /// r.next();
    /// assert_eq!(r.last_sequence(), Some(9));
    /// # Ok::<(), ringbus_events::LogError>(())
    /// ```
    pub fn last_sequence(&self) -> Option<u64> {
        self.sequence.last
    }

    /// Reads one record: `Ok(None)` at a clean end of the log.
    fn read_record(&mut self) -> Result<Option<Event>, LogError> {
        let (record, offset) = (self.records, self.offset);
        let io_err = |source| LogError::Io { offset, source };

        let mut frame = [0u8; FRAME_LEN];
        let got = read_full(&mut self.inner, &mut frame).map_err(io_err)?;
        if got == 0 {
            return Ok(None);
        }
        if got < FRAME_LEN {
            let (needed, available) = (FRAME_LEN as u64, got as u64);
            return Err(LogError::Truncated {
                record,
                offset,
                needed,
                available,
            });
        }
        let [l0, l1, l2, l3, c0, c1, c2, c3] = frame;
        let len = u32::from_le_bytes([l0, l1, l2, l3]);
        let stored = u32::from_le_bytes([c0, c1, c2, c3]);
        if len > MAX_BODY_LEN {
            return Err(LogError::RecordTooLarge {
                record,
                offset,
                len,
                max: MAX_BODY_LEN,
            });
        }

        let len = len as usize; // <= MAX_BODY_LEN
        self.buf.resize(len, 0);
        let got = read_full(&mut self.inner, &mut self.buf).map_err(io_err)?;
        if got < len {
            let needed = (FRAME_LEN + len) as u64;
            let available = (FRAME_LEN + got) as u64;
            return Err(LogError::Truncated {
                record,
                offset,
                needed,
                available,
            });
        }
        let computed = crc32fast::hash(&self.buf);
        if computed != stored {
            return Err(LogError::ChecksumMismatch {
                record,
                offset,
                stored,
                computed,
            });
        }
        let (event, rest) = postcard::take_from_bytes::<Event>(&self.buf).map_err(|reason| {
            LogError::Undecodable {
                record,
                offset,
                reason,
            }
        })?;
        if !rest.is_empty() {
            return Err(LogError::TrailingBytes {
                record,
                offset,
                extra: rest.len(),
            });
        }
        self.sequence.check(event.sequence, record, offset)?;

        self.sequence.last = Some(event.sequence);
        self.records += 1;
        self.offset += (FRAME_LEN + len) as u64;
        Ok(Some(event))
    }
}

impl<R: Read> Iterator for EventLogReader<R> {
    type Item = Result<Event, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.read_record().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}

impl<R: Read> std::iter::FusedIterator for EventLogReader<R> {}

/// Fills `buf` unless the input ends first; returns how many bytes it read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
