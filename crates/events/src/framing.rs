//! Block framing: the one rule every block consumer and the log checks apply. A block is
//! `BeginBlock(h)`, its events, `EndBlock(h)`; nothing comes between blocks.

use crate::{EndBlock, Event, EventTopic, Payload};

/// An event stream that is not framed in blocks (`BeginBlock`, the block's events, `EndBlock`
/// of the same height, and so on).
///
/// Nothing of a badly framed block is applied or committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// An event (an `EndBlock` included) arrived before any `BeginBlock`, or after an
    /// `EndBlock` and before the next `BeginBlock`.
    #[error("event {sequence} ({topic}) arrived outside a block")]
    OutsideBlock {
        /// Its sequence.
        sequence: u64,
        /// Its topic.
        topic: EventTopic,
    },
    /// A `BeginBlock` arrived while another block was open, or an `EndBlock` for a block
    /// other than the open one.
    #[error("event {sequence}: block {found} framing while block {open} is open")]
    WrongBlock {
        /// The framing event's sequence.
        sequence: u64,
        /// The block that is open.
        open: u64,
        /// The block the framing event names.
        found: u64,
    },
}

/// Tracks the open block of a stream and checks each event against the framing rule.
///
/// ```
/// use ringbus_events::{BeginBlock, BlockFraming, EndBlock, Event, FramingError, TimeUpdate};
/// let mut framing = BlockFraming::default();
/// assert!(matches!(
///     framing.push(&Event::new(TimeUpdate::default())),
///     Err(FramingError::OutsideBlock { .. })
/// ));
/// assert_eq!(framing.push(&Event::new(BeginBlock { height: 3, ..Default::default() })), Ok(None));
/// assert_eq!(framing.open(), Some(3));
/// let end = framing.push(&Event::new(EndBlock { height: 3, ..Default::default() }))?;
/// assert_eq!(end.map(|e| e.height), Some(3));
/// assert_eq!(framing.open(), None);
/// # Ok::<(), FramingError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockFraming {
    open: Option<u64>,
}

impl BlockFraming {
    /// Checks `event` and moves on: the block's `EndBlock` when `event` closes the open
    /// block. On an error nothing changes.
    #[inline]
    pub fn push(&mut self, event: &Event) -> Result<Option<EndBlock>, FramingError> {
        let wrong = |open, found| FramingError::WrongBlock {
            sequence: event.sequence,
            open,
            found,
        };
        match (&event.payload, self.open) {
            (Payload::BeginBlock(b), None) => {
                self.open = Some(b.height);
                Ok(None)
            }
            (Payload::BeginBlock(b), Some(open)) => Err(wrong(open, b.height)),
            (_, None) => Err(FramingError::OutsideBlock {
                sequence: event.sequence,
                topic: event.topic(),
            }),
            (Payload::EndBlock(b), Some(open)) if b.height != open => Err(wrong(open, b.height)),
            (Payload::EndBlock(b), Some(_)) => {
                self.open = None;
                Ok(Some(*b))
            }
            _ => Ok(None),
        }
    }

    /// The open block's height: `None` between blocks.
    pub fn open(&self) -> Option<u64> {
        self.open
    }

    /// Forgets the open block (its events were dropped).
    pub fn reset(&mut self) {
        self.open = None;
    }
}
