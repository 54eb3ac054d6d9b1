//! Prints a log as JSON lines, with the rules of [`verify`](super::verify).

use super::{EventLogReader, LogError};
use crate::{Event, JsonLinesWriter};
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
    dump_selected(reader, out, limit, |_| true)
}

/// [`dump`], writing only the events `wanted` selects (the whole log is still read with
/// `verify`'s rules, so damage among the events left out is reported too); `limit` counts
/// the events written.
///
/// ```
/// use ringbus_events::{dump_selected, BeginBlock, EndBlock, Event, EventLogReader, EventLogWriter, EventTopic};
/// let mut w = EventLogWriter::new(Vec::new(), None)?;
/// w.append(&Event::new(BeginBlock { height: 1, ..Default::default() }))?;
/// w.append(&Event { sequence: 1, ..Event::new(EndBlock { height: 1, ..Default::default() }) })?;
/// let bytes = w.into_inner()?;
/// let mut out = Vec::new();
/// let ends = |e: &Event| e.topic() == EventTopic::EndBlock;
/// assert_eq!(dump_selected(EventLogReader::new(&bytes[..])?, &mut out, None, ends)?, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn dump_selected<R: Read, W: Write>(
    reader: EventLogReader<R>,
    out: W,
    limit: Option<u64>,
    mut wanted: impl FnMut(&Event) -> bool,
) -> Result<u64, DumpError> {
    let mut out = JsonLinesWriter::new(out);
    let mut reader = reader.whole_stream();
    let mut result = Ok(());
    while limit.is_none_or(|l| out.lines() < l) {
        match reader.next() {
            None => break,
            Some(Ok(event)) if !wanted(&event) => {}
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
