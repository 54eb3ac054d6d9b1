//! The block-commit contract: what a store implements for [`BlockWriter`](super::BlockWriter).

use super::{Block, FramingError, HeldStream};
use crate::RetryPolicy;
use ringbus_events::StreamIdentity;
use std::fmt;

/// A store that commits a whole block at once, its cursor (the `EndBlock`'s sequence) in
/// the same transaction. [`BlockWriter`](super::BlockWriter) stages the blocks, skips what
/// is already committed and retries refused commits; the store only commits.
///
/// A store must make [`BlockStore::commit`] all or nothing: a failed attempt leaves nothing
/// of the block behind, so a retry (or a replay of the event log after a crash) can neither
/// lose it nor apply it twice. It records the identity of the stream it holds with its
/// first commit ([`BlockStore::record_stream`]) and reports it when opened
/// ([`BlockStore::held_stream`]), so the writer refuses another stream's events. See the
/// [crate docs](crate#block-stores) for an example.
pub trait BlockStore {
    /// What the store's writer fails with; framing errors convert into it.
    type Error: From<FramingError>;
    /// What one refused attempt says (the database client's error).
    type Failure: fmt::Display;
    /// The store's name in log lines ("SQLite", "PostgreSQL").
    const NAME: &'static str;

    /// One attempt to commit `block` with the cursor moved to [`Block::last`].
    fn commit(&mut self, block: &Block<'_>) -> CommitResult<Self>;

    /// The store's error for a block refused for good (`refused`: which block, how many
    /// attempts, the last committed sequence), from the last attempt's `failure`.
    fn refused(&self, refused: Refused, failure: Self::Failure) -> Self::Error;

    /// The sequence of the last committed `EndBlock`: the writer skips every event up to it.
    fn last_committed(&self) -> Option<u64>;

    /// The height of the last committed block (`None`: none yet), read when the store was
    /// opened and moved by each commit: where the writer's [`CommittedHeight`] starts.
    ///
    /// [`CommittedHeight`]: crate::CommittedHeight
    fn last_committed_height(&self) -> Option<u64>;

    /// How often, and with which pauses, a refused commit is tried again.
    fn retry_policy(&self) -> RetryPolicy;

    /// The stream the store holds, as recorded (read when the store was opened).
    fn held_stream(&self) -> &HeldStream;

    /// Records `identity` as the stream the store holds, in the transaction of the next
    /// commit (the store's first). If by then the store holds another stream, that commit
    /// fails with [`CommitError::Fatal`] and [`BlockStore::foreign`]'s error, and writes
    /// nothing.
    fn record_stream(&mut self, identity: StreamIdentity);

    /// The store's error for events of `incoming` (`None`: unknown) when it holds `held`
    /// (a [`ForeignStream`](super::ForeignStream) naming the store and both streams).
    fn foreign(&self, held: HeldStream, incoming: Option<StreamIdentity>) -> Self::Error;
}

/// What [`BlockStore::commit`] returns.
pub type CommitResult<S> =
    Result<(), CommitError<<S as BlockStore>::Failure, <S as BlockStore>::Error>>;

/// Why one commit attempt failed, and so what the writer does next.
#[derive(Debug)]
pub enum CommitError<F, E> {
    /// Refused (locked, read-only, a constraint, disk full): rolled back; try again after
    /// a pause, up to [`RetryPolicy::max_attempts`].
    Retry(F),
    /// Refused, and trying again will not help (the connection could not be restored in
    /// time): report the refusal now.
    GiveUp(F),
    /// Not a refusal of the block (another writer moved the cursor, lost commits): stop.
    Fatal(E),
}

/// A block a store refused on every attempt: nothing of it was applied, everything up to
/// `last_committed` was (resume after it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The block.
    pub height: u64,
    /// Its first sequence (the `BeginBlock`).
    pub first: u64,
    /// Its last sequence (the `EndBlock`).
    pub last: u64,
    /// How many times the commit was tried.
    pub attempts: u32,
    /// The last sequence safely in the store.
    pub last_committed: Option<u64>,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "block {} (sequences {}..={}) after {} attempt(s); last committed sequence: ",
            self.height, self.first, self.last, self.attempts
        )?;
        match self.last_committed {
            Some(s) => write!(f, "{s}"),
            None => f.write_str("none"),
        }
    }
}
