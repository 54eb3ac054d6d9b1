//! The one framing error of every block consumer.

use ringbus_events::EventTopic;

/// An event stream that is not framed in blocks as the block consumers need
/// (`BeginBlock`, the block's events, `EndBlock` of the same height, and so on).
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
