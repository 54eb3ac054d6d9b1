//! The one block writer: stage a block, commit it once through a [`BlockStore`], retry.

use super::{admit, Admission, Block, BlockStage, BlockStore, CommitError, Refused};
use crate::CommittedHeight;
use ringbus_events::{Event, StreamIdentity};
use ringbus_ring::{EventHandler, HandlerError};

/// A cursor-owning consumer that commits once per block into a [`BlockStore`].
///
/// It stages each block's events as they arrive (a framing error is a
/// [`FramingError`](super::FramingError), and nothing of that block is committed) and hands
/// the whole block to [`BlockStore::commit`] at its `EndBlock`. Events at or before the
/// store's cursor are skipped, so feeding the event log again from its start after a crash
/// resumes exactly after the last commit: no block lost, none applied twice. A refused
/// commit is retried with the store's [`RetryPolicy`](crate::RetryPolicy); then the store's
/// refusal error is returned and the block is dropped from the stage.
///
/// After each successful commit it publishes the block's height through its
/// [`CommittedHeight`] handle ([`BlockWriter::committed_height`]), which starts at the
/// height the store already held.
///
/// It writes the events of one stream, named when it is made: a store that holds another
/// stream is refused up front ([`admit`]), and an empty store records the stream's identity
/// with its first commit.
#[derive(Debug)]
pub struct BlockWriter<S> {
    store: S,
    stage: BlockStage,
    resume_after: Option<u64>,
    skipped: u64,
    committed: CommittedHeight,
}

impl<S: BlockStore> BlockWriter<S> {
    /// A writer of the events of stream `stream` (`None`: a stream of unknown identity)
    /// into `store`, resuming after its cursor; the store's
    /// [`foreign`](BlockStore::foreign) error if it holds another stream ([`admit`]).
    pub fn new(mut store: S, stream: Option<&StreamIdentity>) -> Result<Self, S::Error> {
        match admit(store.held_stream(), stream) {
            Admission::Same | Admission::Unchecked => {}
            Admission::Record(identity) => store.record_stream(identity),
            Admission::Refuse => {
                let held = store.held_stream().clone();
                return Err(store.foreign(held, stream.cloned()));
            }
        }
        Ok(BlockWriter {
            resume_after: store.last_committed(),
            committed: CommittedHeight::starting_at(store.last_committed_height()),
            store,
            stage: BlockStage::default(),
            skipped: 0,
        })
    }

    /// The sequence this writer resumes after (`None`: from the start).
    pub fn resume_after(&self) -> Option<u64> {
        self.resume_after
    }

    /// A handle on the height of the last block committed (the store's height when the
    /// writer was made, until it commits one), for readers on other threads.
    pub fn committed_height(&self) -> CommittedHeight {
        self.committed.clone()
    }

    /// Events skipped because they were already committed.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, mutably (to read it back).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// The block currently staged (not yet committed), if any.
    pub fn open_block(&self) -> Option<u64> {
        self.stage.height()
    }

    /// Stages one event; commits when it closes a block.
    pub fn write(&mut self, event: &Event) -> Result<(), S::Error> {
        if matches!(self.resume_after, Some(last) if event.sequence <= last) {
            self.skipped += 1;
            return Ok(());
        }
        let Some(block) = self.stage.push(event)? else {
            return Ok(());
        };
        let result = commit(&mut self.store, &block);
        if result.is_ok() {
            self.committed.set(block.height());
        }
        self.stage.clear();
        result
    }
}

/// Commits `block`, retrying refusals as the store's policy says.
fn commit<S: BlockStore>(store: &mut S, block: &Block<'_>) -> Result<(), S::Error> {
    let policy = store.retry_policy();
    let mut backoff = policy.backoff;
    let mut refusals = 0;
    loop {
        let (failure, give_up) = match store.commit(block) {
            Ok(()) => return Ok(()),
            Err(CommitError::Fatal(e)) => return Err(e),
            Err(CommitError::GiveUp(failure)) => (failure, true),
            Err(CommitError::Retry(failure)) => {
                refusals += 1;
                (failure, refusals >= policy.max_attempts)
            }
        };
        if give_up {
            let refused = Refused {
                height: block.height(),
                first: block.first(),
                last: block.last(),
                // A give-up is not a refusal of the block (the connection failed), but the
                // report says at least one attempt.
                attempts: refusals.max(1),
                last_committed: store.last_committed(),
            };
            return Err(store.refused(refused, failure));
        }
        tracing::warn!(store = S::NAME, height = block.height(), attempt = refusals, error = %failure, "the store refused a block; retrying");
        std::thread::sleep(backoff.next_pause());
    }
}

impl<S> EventHandler<Event> for BlockWriter<S>
where
    S: BlockStore + Send + 'static,
    S::Error: std::error::Error + Send + Sync + 'static,
{
    fn on_event(&mut self, event: &Event, _seq: u64, _eob: bool) -> Result<(), HandlerError> {
        self.write(event).map_err(Into::into)
    }
}
