//! Blocks: the framing rules, the block-commit contract ([`BlockStore`]), the stream a
//! store holds ([`HeldStream`], [`admit`]) and the one writer that drives them
//! ([`BlockWriter`]).

mod framing;
mod identity;
mod stage;
mod store;
mod writer;

pub use framing::FramingError;
pub use identity::{admit, Admission, ForeignStream, HeldStream};
pub use stage::Block;
pub(crate) use stage::BlockStage;
pub use store::{BlockStore, CommitError, CommitResult, Refused};
pub use writer::BlockWriter;
