//! Block staging: the events of the open block, kept until its `EndBlock`.

use crate::RemoteError;
use ringbus_events::{Event, Payload};

/// The events of the open block (the same contract as the consumers' own stage).
#[derive(Debug, Default)]
pub(crate) struct BlockStage {
    events: Vec<Event>,
    open: Option<u64>,
}

impl BlockStage {
    /// Stages `event`; `Ok(true)` when it is the `EndBlock` of the open block.
    pub(crate) fn push(&mut self, event: &Event) -> Result<bool, RemoteError> {
        match (&event.payload, self.open) {
            (Payload::BeginBlock(b), None) => self.open = Some(b.height),
            (Payload::BeginBlock(b), Some(open)) => {
                return Err(RemoteError::BadFraming {
                    sequence: event.sequence,
                    open,
                    found: b.height,
                })
            }
            (_, None) => {
                return Err(RemoteError::OutsideBlock {
                    sequence: event.sequence,
                    topic: event.topic(),
                })
            }
            (Payload::EndBlock(b), Some(open)) if b.height != open => {
                return Err(RemoteError::BadFraming {
                    sequence: event.sequence,
                    open,
                    found: b.height,
                })
            }
            _ => {}
        }
        self.events.push(*event);
        Ok(matches!(event.payload, Payload::EndBlock(_)))
    }

    pub(crate) fn events(&self) -> &[Event] {
        &self.events
    }

    pub(crate) fn height(&self) -> Option<u64> {
        self.open
    }

    pub(crate) fn clear(&mut self) {
        self.events.clear();
        self.open = None;
    }
}
