//! Salvages the intact prefix of a damaged log.

use super::format::V1_HEADER_LEN;
use super::{EventLogReader, LogError, ResumePoint};
use crate::Event;
use std::io::Read;

/// What [`recover`] salvaged: every intact record before the first damage, and the damage.
///
/// ```
/// use ringbus_events::{recover, Event, EventLogWriter};
/// let mut w = EventLogWriter::new(Vec::new(), None)?;
/// w.append(&Event { sequence: 0, ..Event::default() })?;
/// w.append(&Event { sequence: 1, ..Event::default() })?;
/// let mut bytes = w.into_inner()?;
/// bytes.pop(); // a crash cut the last record short
/// let r = recover(&bytes[..]);
/// assert_eq!(r.events.len(), 1);
/// assert_eq!(r.error.as_ref().and_then(|e| e.record()), Some(1));
/// # Ok::<(), ringbus_events::LogError>(())
/// ```
#[derive(Debug)]
pub struct Recovery {
    /// The intact events, in log order.
    pub events: Vec<Event>,
    /// The damage that stopped reading, if the log was not clean.
    pub error: Option<LogError>,
    /// Bytes of header and intact records (0 if even the header is damaged).
    pub intact_len: u64,
}

impl Recovery {
    /// Whether the whole log was intact.
    ///
    /// ```
    /// use ringbus_events::{recover, EventLogWriter};
    /// let bytes = EventLogWriter::new(Vec::new(), None)?.into_inner()?;
    /// assert!(recover(&bytes[..]).is_clean());
    /// # Ok::<(), ringbus_events::LogError>(())
    /// ```
    pub fn is_clean(&self) -> bool {
        self.error.is_none()
    }

    /// Where to continue writing: truncate the file to `bytes`, then
    /// [`EventLogWriter::resume`](crate::EventLogWriter::resume). If even the header was
    /// damaged, `bytes` is 0: start a new log instead.
    ///
    /// ```
    /// use ringbus_events::recover;
    /// let p = recover(&b""[..]).resume_point();
    /// assert_eq!(p.bytes, 0);
    /// ```
    pub fn resume_point(&self) -> ResumePoint {
        ResumePoint {
            records: self.events.len() as u64,
            bytes: self.intact_len,
            last_sequence: self.events.last().map(|e| e.sequence),
        }
    }
}

/// Reads a log as far as it is intact (default [`SequencePolicy`](crate::SequencePolicy)),
/// never failing: damage is reported in [`Recovery::error`].
///
/// ```
/// use ringbus_events::{recover, LogError};
/// let r = recover(&b"garbage!garbage!"[..]);
/// assert!(r.events.is_empty());
/// assert!(matches!(r.error, Some(LogError::BadMagic { .. })));
/// ```
pub fn recover<R: Read>(inner: R) -> Recovery {
    let mut reader = match EventLogReader::new(inner) {
        Ok(reader) => reader,
        Err(error) => {
            return Recovery {
                events: Vec::new(),
                error: Some(error),
                intact_len: 0,
            }
        }
    };
    let mut events = Vec::new();
    let mut error = None;
    for item in reader.by_ref() {
        match item {
            Ok(event) => events.push(event),
            Err(e) => error = Some(e),
        }
    }
    debug_assert!(reader.offset() >= V1_HEADER_LEN);
    Recovery {
        events,
        error,
        intact_len: reader.offset(),
    }
}
