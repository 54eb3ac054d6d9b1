//! Prints a log as JSON lines, with the rules of [`verify`](super::verify).

use super::{EventLogReader, LogError};
use crate::JsonLinesWriter;
use std::io::{self, Read, Write};

/// Why [`dump`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// The log is damaged (the events before the damage were written).
    #[error(transparent)]
    Log(#[from] LogError),
    /// Writing the output failed.
    #[error("writing the output: {0}")]
    Write(#[source] io::Error),
}

/// Writes the events of a log to `out`, one JSON line each, reading it as a whole stream
/// ([`EventLogReader::whole_stream`]): the same rules as [`verify`](super::verify), so a log
/// `verify` refuses is refused here at the same record, after the events before it. With
/// `limit`, stops after that many events (the rest of the log is not read). Returns the
/// number of events written; flushes `out`.
///
/// ```
/// use ringbus_events::{dump, BeginBlock, DumpError, Event, EventLogReader, EventLogWriter, LogError};
/// let mut w = EventLogWriter::new(Vec::new(), None)?;
/// w.append(&Event::new(BeginBlock { height: 1, ..Default::default() }))?;
/// let bytes = w.into_inner()?;
/// let mut out = Vec::new();
/// let err = dump(EventLogReader::new(&bytes[..])?, &mut out, None).unwrap_err();
/// assert!(matches!(err, DumpError::Log(LogError::IncompleteBlock { height: 1, .. })));
/// assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn dump<R: Read, W: Write>(
    reader: EventLogReader<R>,
    out: W,
    limit: Option<u64>,
) -> Result<u64, DumpError> {
    let mut out = JsonLinesWriter::new(out);
    let mut reader = reader.whole_stream();
    let mut result = Ok(());
    while limit.is_none_or(|l| out.lines() < l) {
        match reader.next() {
            None => break,
            Some(Ok(event)) => out.write(&event).map_err(DumpError::Write)?,
            Some(Err(e)) => {
                result = Err(DumpError::Log(e));
                break;
            }
        }
    }
    // The events before the damage are output too.
    out.flush().map_err(DumpError::Write)?;
    result.map(|()| out.lines())
}
