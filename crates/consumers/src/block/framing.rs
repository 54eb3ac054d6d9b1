//! The one framing error of every block consumer: the event model's own rule
//! ([`ringbus_events::BlockFraming`]), so the stores and the log checks agree.

pub use ringbus_events::FramingError;
