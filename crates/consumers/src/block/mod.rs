//! Blocks: the framing rules, the block-commit contract ([`BlockStore`]) and the one
//! writer that drives it ([`BlockWriter`]).

mod framing;
mod stage;
mod store;
mod writer;

pub use framing::FramingError;
pub use stage::Block;
pub(crate) use stage::BlockStage;
pub use store::{BlockStore, CommitError, CommitResult, Refused};
pub use writer::BlockWriter;
