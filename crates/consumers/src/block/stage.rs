//! Block staging: the events of the open block, kept until its `EndBlock`. The framing
//! rule is the event model's ([`BlockFraming`]).

use super::FramingError;
use ringbus_events::{BlockFraming, EndBlock, Event};

/// The events of the open block, staged until its `EndBlock`.
///
/// A consumer pushes every event it reads; [`BlockStage::push`] hands back the whole
/// [`Block`] at its `EndBlock`. The consumer applies it, then calls [`BlockStage::clear`].
#[derive(Debug, Default)]
pub(crate) struct BlockStage {
    events: Vec<Event>,
    framing: BlockFraming,
}

impl BlockStage {
    /// Stages `event`; the whole block when `event` is the open block's `EndBlock`.
    pub(crate) fn push(&mut self, event: &Event) -> Result<Option<Block<'_>>, FramingError> {
        let end = self.framing.push(event)?;
        self.events.push(*event);
        Ok(end.map(|end| Block {
            events: &self.events,
            end,
        }))
    }

    /// The open block's height.
    pub(crate) fn height(&self) -> Option<u64> {
        self.framing.open()
    }

    /// Forgets the staged block (after it was applied, or refused).
    pub(crate) fn clear(&mut self) {
        self.events.clear();
        self.framing.reset();
    }
}

/// One whole block, as staged: `BeginBlock` first, its `EndBlock` last, in bus order.
#[derive(Clone, Copy, Debug)]
pub struct Block<'a> {
    events: &'a [Event],
    end: EndBlock,
}

impl<'a> Block<'a> {
    /// Every event of the block, `BeginBlock` and `EndBlock` included.
    pub fn events(&self) -> &'a [Event] {
        self.events
    }

    /// The `EndBlock` (height, time, hash, transaction count).
    pub fn end(&self) -> &EndBlock {
        &self.end
    }

    /// The block's height.
    pub fn height(&self) -> u64 {
        self.end.height
    }

    /// The sequence of its `BeginBlock`.
    pub fn first(&self) -> u64 {
        self.events[0].sequence
    }

    /// The sequence of its `EndBlock`: a store's cursor after committing it.
    pub fn last(&self) -> u64 {
        self.events[self.events.len() - 1].sequence
    }
}
