//! The event-log writer as a consumer: every event, framed and checksummed, into a file.

use crate::StoreError;
use ringbus_events::{Event, EventLogWriter, Payload, StreamIdentity};
use ringbus_ring::{EventHandler, HandlerError, ShutdownReason};
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// An [`EventHandler`] for [`topic_sets::ALL_EVENTS`](ringbus_events::topic_sets::ALL_EVENTS)
/// that appends every event to an [`EventLogWriter`]. It flushes at each `EndBlock` (a crash
/// loses at most the open block, which [`recover`](ringbus_events::recover) then cuts off)
/// and at shutdown.
#[derive(Debug)]
pub struct EventLogConsumer {
    writer: EventLogWriter<BufWriter<File>>,
    flush_error: Option<String>,
}

impl EventLogConsumer {
    /// Creates (truncates) the log at `path` and writes its header, with the identity of the
    /// stream it will hold (`None`: unknown, as when replaying a version 1 log).
    pub fn create(
        path: impl AsRef<Path>,
        identity: Option<&StreamIdentity>,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let file = File::create(path).map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let writer = EventLogWriter::new(BufWriter::with_capacity(1 << 16, file), identity)?;
        Ok(EventLogConsumer {
            writer,
            flush_error: None,
        })
    }

    /// Events written so far.
    pub fn records(&self) -> u64 {
        self.writer.records()
    }

    /// Appends one event (flushing at `EndBlock`).
    pub fn write(&mut self, event: &Event) -> Result<(), StoreError> {
        self.writer.append(event)?;
        if matches!(event.payload, Payload::EndBlock(_)) {
            self.writer.flush()?;
        }
        Ok(())
    }
}

impl EventHandler<Event> for EventLogConsumer {
    fn on_event(&mut self, event: &Event, _seq: u64, _eob: bool) -> Result<(), HandlerError> {
        self.write(event).map_err(Into::into)
    }

    fn on_shutdown(&mut self, _reason: &ShutdownReason) {
        if let Err(e) = self.writer.flush() {
            tracing::error!(%e, "flushing the event log failed");
            self.flush_error = Some(e.to_string());
        }
    }
}
