//! The event log: a compact, framed, checksummed binary file of events. The format is
//! described byte by byte in [`format`](mod@format).

pub mod format;

mod dump;
mod error;
mod reader;
mod recover;
mod sequence;
mod verify;
mod writer;

pub use dump::{dump, dump_selected, DumpError};
pub use error::LogError;
pub use reader::EventLogReader;
pub use recover::{recover, Recovery};
pub use sequence::SequencePolicy;
pub use verify::{verify, VerifySummary};
pub use writer::{EventLogWriter, ResumePoint};
