//! Block staging: what a store has read since the current block's `BeginBlock`.

use crate::StoreError;
use ringbus_events::{Event, Payload};

/// The events of the open block, staged until its `EndBlock`.
///
/// A store pushes every event it reads; `push` says when the block is complete, and the
/// store then applies [`BlockStage::events`] at once and calls [`BlockStage::clear`].
#[derive(Debug, Default)]
pub(crate) struct BlockStage {
    events: Vec<Event>,
    open: Option<u64>,
}

impl BlockStage {
    /// Stages `event`; returns `Ok(true)` when it is the `EndBlock` of the open block.
    pub(crate) fn push(&mut self, event: &Event) -> Result<bool, StoreError> {
        match (&event.payload, self.open) {
            (Payload::BeginBlock(b), None) => self.open = Some(b.height),
            (Payload::BeginBlock(b), Some(open)) => {
                return Err(StoreError::BadFraming {
                    sequence: event.sequence,
                    open,
                    found: b.height,
                })
            }
            (_, None) => {
                return Err(StoreError::OutsideBlock {
                    sequence: event.sequence,
                    topic: event.topic(),
                })
            }
            (Payload::EndBlock(b), Some(open)) if b.height != open => {
                return Err(StoreError::BadFraming {
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

    /// The staged events, `BeginBlock` first.
    pub(crate) fn events(&self) -> &[Event] {
        &self.events
    }

    /// The open block's height.
    pub(crate) fn height(&self) -> Option<u64> {
        self.open
    }

    /// Forgets the staged block (after it was applied).
    pub(crate) fn clear(&mut self) {
        self.events.clear();
        self.open = None;
    }
}
