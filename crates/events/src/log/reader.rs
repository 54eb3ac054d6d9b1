//! Reads events back from a log, checking framing, checksums and sequence numbers.

use super::format::{
    FORMAT_VERSION, FRAME_LEN, MAGIC, MAX_BODY_LEN, MAX_IDENTITY_LEN, V1_HEADER_LEN, V2_FIXED_LEN,
};
use super::sequence::SequenceCheck;
use super::{LogError, SequencePolicy};
use crate::{BlockFraming, Event, StreamIdentity};
use std::io::{self, Read};

/// An iterator over the events of a log: `Result<Event, LogError>`.
///
/// It stops (returns `None`) after the first error: everything after damage is suspect.
/// A log that ends exactly at a record boundary ends cleanly, unless it is read as a whole
/// stream ([`EventLogReader::whole_stream`]) and ends inside a block.
///
/// ```
/// use ringbus_events::{Event, EventLogReader, EventLogWriter};
/// let mut w = EventLogWriter::new(Vec::new(), None)?;
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
    // Some when read as a whole stream: the block framing is checked too.
    framing: Option<BlockFraming>,
    version: u32,
    identity: Option<StreamIdentity>,
    done: bool,
}

impl<R: Read> EventLogReader<R> {
    /// Reads and checks the file header: version 2 (with the stream's identity) or 1
    /// (written before identities: [`identity`](Self::identity) is `None`).
    ///
    /// ```
    /// use ringbus_events::{EventLogReader, LogError};
    /// let err = EventLogReader::new(&b"RBUSEVLG\x03\0\0\0"[..]).unwrap_err();
    /// assert!(matches!(err, LogError::UnsupportedVersion { found: 3, supported: 2 }));
    /// let v1 = EventLogReader::new(&b"RBUSEVLG\x01\0\0\0"[..])?;
    /// assert_eq!((v1.format_version(), v1.identity(), v1.offset()), (1, None, 12));
    /// # Ok::<(), LogError>(())
    /// ```
    pub fn new(mut inner: R) -> Result<Self, LogError> {
        let io_err = |source| LogError::Io { offset: 0, source };
        let mut fixed = [0u8; V2_FIXED_LEN as usize];
        let got = read_full(&mut inner, &mut fixed[..V1_HEADER_LEN as usize]).map_err(io_err)?;
        let mut found = [0u8; 8];
        found.copy_from_slice(&fixed[..8]);
        // A short file that does not even start like a log is not a log, not a truncated one.
        if found[..got.min(8)] != MAGIC[..got.min(8)] {
            return Err(LogError::BadMagic { found });
        }
        if got < V1_HEADER_LEN as usize {
            return Err(LogError::TruncatedHeader {
                available: got as u64,
                needed: V1_HEADER_LEN,
            });
        }
        let version = u32::from_le_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]);
        let (identity, header_len) = match version {
            1 => (None, V1_HEADER_LEN),
            2 => {
                let more =
                    read_full(&mut inner, &mut fixed[V1_HEADER_LEN as usize..]).map_err(io_err)?;
                if more < (V2_FIXED_LEN - V1_HEADER_LEN) as usize {
                    return Err(LogError::TruncatedHeader {
                        available: V1_HEADER_LEN + more as u64,
                        needed: V2_FIXED_LEN,
                    });
                }
                let len = u32::from_le_bytes([fixed[12], fixed[13], fixed[14], fixed[15]]);
                let stored = u32::from_le_bytes([fixed[16], fixed[17], fixed[18], fixed[19]]);
                if len > MAX_IDENTITY_LEN {
                    return Err(LogError::IdentityTooLong {
                        len,
                        max: MAX_IDENTITY_LEN,
                    });
                }
                let mut text = vec![0u8; len as usize];
                let got = read_full(&mut inner, &mut text).map_err(io_err)?;
                let needed = V2_FIXED_LEN + u64::from(len);
                if got < text.len() {
                    return Err(LogError::TruncatedHeader {
                        available: V2_FIXED_LEN + got as u64,
                        needed,
                    });
                }
                let computed = crc32fast::hash(&text);
                if computed != stored {
                    return Err(LogError::IdentityChecksum { stored, computed });
                }
                let identity = if text.is_empty() {
                    None
                } else {
                    // Not UTF-8 becomes U+FFFD, which no identity holds: refused below.
                    let parsed = String::from_utf8_lossy(&text).parse::<StreamIdentity>();
                    Some(parsed.map_err(|source| LogError::BadIdentity { source })?)
                };
                (identity, needed)
            }
            found => {
                return Err(LogError::UnsupportedVersion {
                    found,
                    supported: FORMAT_VERSION,
                })
            }
        };
        Ok(EventLogReader {
            inner,
            buf: Vec::with_capacity(MAX_BODY_LEN as usize),
            records: 0,
            offset: header_len,
            sequence: SequenceCheck::default(),
            framing: None,
            version,
            identity,
            done: false,
        })
    }

    /// Sets how sequence numbers are checked (default [`SequencePolicy::Contiguous`]).
    ///
    /// ```
    /// use ringbus_events::{EventLogReader, EventLogWriter, SequencePolicy};
    /// let bytes = EventLogWriter::new(Vec::new(), None)?.into_inner()?;
    /// let r = EventLogReader::new(&bytes[..])?.with_policy(SequencePolicy::Increasing);
    /// assert_eq!(r.count(), 0);
    /// # Ok::<(), ringbus_events::LogError>(())
    /// ```
    pub fn with_policy(mut self, policy: SequencePolicy) -> Self {
        self.sequence.policy = policy;
        self
    }

    /// Reads the log as a whole bus stream, with every rule [`verify`](crate::verify),
    /// `ringbus dump` and `ringbus replay` apply: contiguous sequences from 0, the bus's
    /// first ([`SequencePolicy::Contiguous`]), block framing ([`LogError::Framing`]) and a
    /// last block that ends ([`LogError::IncompleteBlock`]).
    ///
    /// ```
    /// use ringbus_events::{BeginBlock, Event, EventLogReader, EventLogWriter, LogError};
    /// let mut w = EventLogWriter::new(Vec::new(), None)?;
    /// w.append(&Event::new(BeginBlock { height: 1, ..Default::default() }))?;
    /// let bytes = w.into_inner()?;
    /// assert_eq!(EventLogReader::new(&bytes[..])?.count(), 1);
    /// let mut whole = EventLogReader::new(&bytes[..])?.whole_stream();
    /// assert!(whole.next().unwrap().is_ok());
    /// let err = whole.next().unwrap().unwrap_err();
    /// assert!(matches!(err, LogError::IncompleteBlock { record: 1, height: 1, last_sequence: 0, .. }));
    /// # Ok::<(), LogError>(())
    /// ```
    pub fn whole_stream(mut self) -> Self {
        self.sequence.policy = SequencePolicy::Contiguous;
        self.framing = Some(BlockFraming::default());
        self
    }

    /// The identity of the stream the log holds, from its header: `None` for a version 1
    /// log, or a version 2 log written without one.
    ///
    /// ```
    /// use ringbus_events::{BlockHash, EventLogReader, EventLogWriter, StreamIdentity};
    /// let id = StreamIdentity::new("sim", BlockHash(9), 42, "blocks=3")?;
    /// let bytes = EventLogWriter::new(Vec::new(), Some(&id))?.into_inner()?;
    /// assert_eq!(EventLogReader::new(&bytes[..])?.identity(), Some(&id));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn identity(&self) -> Option<&StreamIdentity> {
        self.identity.as_ref()
    }

    /// The file's format version (1 or 2).
    pub fn format_version(&self) -> u32 {
        self.version
    }

    /// Intact records read so far.
    ///
    /// ```
    /// use ringbus_events::{EventLogReader, EventLogWriter};
    /// let bytes = EventLogWriter::new(Vec::new(), None)?.into_inner()?;
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
    /// let bytes = EventLogWriter::new(Vec::new(), None)?.into_inner()?;
    /// assert_eq!(EventLogReader::new(&bytes[..])?.offset(), 20);
    /// # Ok::<(), ringbus_events::LogError>(())
    /// ```
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The sequence number of the last intact event read.
    ///
    /// ```
    /// use ringbus_events::{Event, EventLogReader, EventLogWriter};
    /// let mut w = EventLogWriter::new(Vec::new(), None)?;
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

    /// Reads one record and checks it against the previous ones: `Ok(None)` at a clean end
    /// of the log.
    fn read_record(&mut self) -> Result<Option<Event>, LogError> {
        let (record, offset) = (self.records, self.offset);
        if !self.read_body(record, offset)? {
            return self.at_end(record, offset);
        }
        let event = self.decode(record, offset)?;
        let len = self.record_len();
        // A whole stream starts at the bus's first sequence.
        let first_missing = record == 0 && self.framing.is_some() && event.sequence != 0;
        if !self.sequence.accepts(event.sequence) || first_missing {
            return Err(self.out_of_sequence(event.sequence, record, offset, len));
        }
        if let Some(framing) = &mut self.framing {
            if let Err(source) = framing.push(&event) {
                return Err(LogError::Framing {
                    record,
                    offset,
                    source,
                });
            }
        }
        self.sequence.last = Some(event.sequence);
        self.records += 1;
        self.offset += len;
        Ok(Some(event))
    }

    /// The end of the input, at record `record` and `offset`: clean, or (read as a whole
    /// stream) inside a block.
    #[cold]
    fn at_end(&self, record: u64, offset: u64) -> Result<Option<Event>, LogError> {
        let open = self.framing.as_ref().and_then(BlockFraming::open);
        match (open, self.sequence.last) {
            (Some(height), Some(last_sequence)) => Err(LogError::IncompleteBlock {
                record,
                offset,
                height,
                last_sequence,
            }),
            _ => Ok(None),
        }
    }

    /// Record `record` (`len` bytes at `offset`) has the sequence `found`, which does not
    /// follow: names the damage.
    #[cold]
    #[inline(never)]
    fn out_of_sequence(&mut self, found: u64, record: u64, offset: u64, len: u64) -> LogError {
        match self.sequence.check(found, record, offset) {
            Err(LogError::MissingRecords { expected, .. }) => {
                self.look_ahead(record, offset, offset + len, expected, found)
            }
            Err(e) => e,
            // The first record of a whole stream, past sequence 0.
            Ok(()) => self.look_ahead(record, offset, offset + len, 0, found),
        }
    }

    /// Record `record` at `offset` jumped from `expected - 1` to `found`: reads on (the log
    /// is damaged, so reading stops here anyway) to tell a moved record (`expected` comes
    /// later), a duplicated one (`found` comes again) and dropped ones (neither).
    fn look_ahead(
        &mut self,
        record: u64,
        offset: u64,
        mut next: u64,
        expected: u64,
        found: u64,
    ) -> LogError {
        let mut expected_at = None;
        let mut r = record + 1;
        // Only the sequences of the records whose checksum holds: a body starts with its
        // event's sequence (a varint), and decoding only that keeps the hot path's event
        // decoder, with its one call site, inlined there.
        while let Ok(true) = self.read_body(r, next) {
            let Ok((sequence, _)) = postcard::take_from_bytes::<u64>(&self.buf) else {
                break;
            };
            let len = self.record_len();
            if sequence == found {
                return LogError::DuplicateRecord {
                    record,
                    offset,
                    sequence: found,
                    copy_of: Some(r),
                };
            }
            if sequence == expected && expected_at.is_none() {
                expected_at = Some(r);
            }
            r += 1;
            next += len;
        }
        match expected_at {
            Some(_) => LogError::ReorderedRecords {
                record,
                offset,
                expected,
                found,
                expected_at,
            },
            None => LogError::MissingRecords {
                record,
                offset,
                expected,
                found,
            },
        }
    }

    /// Bytes of the record [`read_body`](Self::read_body) read last: its frame and body.
    #[inline]
    fn record_len(&self) -> u64 {
        (FRAME_LEN + self.buf.len()) as u64
    }

    /// Reads record `record` at `offset` into `buf` and checks its checksum: `Ok(false)` at
    /// the end of the input.
    #[inline(always)]
    fn read_body(&mut self, record: u64, offset: u64) -> Result<bool, LogError> {
        let io_err = |source| LogError::Io { offset, source };

        let mut frame = [0u8; FRAME_LEN];
        let got = read_full(&mut self.inner, &mut frame).map_err(io_err)?;
        if got == 0 {
            return Ok(false);
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
        Ok(true)
    }

    /// Decodes the body in `buf` (record `record` at `offset`). Inlined into the one caller,
    /// the hot path: an event returned through a call is copied once more (measured).
    #[inline(always)]
    fn decode(&self, record: u64, offset: u64) -> Result<Event, LogError> {
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
        Ok(event)
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
