//! The SQLite store writer: a cursor-owning consumer that commits once per block.

use super::{SqliteOptions, SqliteStore};
use crate::block::BlockStage;
use crate::StoreError;
use ringbus_events::Event;
use ringbus_ring::{EventHandler, HandlerError};
use std::path::Path;

/// An [`EventHandler`] for
/// [`topic_sets::STORE_INPUTS`](ringbus_events::topic_sets::STORE_INPUTS) that writes into
/// a [`SqliteStore`].
///
/// It stages each block's events and commits them at the `EndBlock` in one transaction that
/// also moves the store's cursor. Events at or before the cursor are skipped, so feeding
/// the event log again from its start after a crash resumes exactly where the last commit
/// stopped: no block lost, none applied twice. A block the database refuses (after the
/// store's bounded retries) fails the consumer with [`StoreError::Refused`], which names
/// the last committed sequence; nothing of the refused block is applied.
#[derive(Debug)]
pub struct SqliteWriter {
    store: SqliteStore,
    stage: BlockStage,
    resume_after: Option<u64>,
    skipped: u64,
}

impl SqliteWriter {
    /// A writer into `store`, resuming after its cursor.
    pub fn new(store: SqliteStore) -> Self {
        SqliteWriter {
            resume_after: store.last_committed(),
            store,
            stage: BlockStage::default(),
            skipped: 0,
        }
    }

    /// Opens the database at `path` and makes a writer into it.
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        SqliteStore::open(path, options).map(Self::new)
    }

    /// The sequence this writer resumes after (`None`: from the start).
    pub fn resume_after(&self) -> Option<u64> {
        self.resume_after
    }

    /// Events skipped because they were already committed.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The store.
    pub fn store(&self) -> &SqliteStore {
        &self.store
    }

    /// Stages one event; commits when it closes a block.
    pub fn write(&mut self, event: &Event) -> Result<(), StoreError> {
        if matches!(self.resume_after, Some(last) if event.sequence <= last) {
            self.skipped += 1;
            return Ok(());
        }
        if self.stage.push(event)? {
            let result = self.store.commit_block(self.stage.events());
            self.stage.clear();
            result?;
        }
        Ok(())
    }

    /// The block currently staged (not yet committed), if any.
    pub fn open_block(&self) -> Option<u64> {
        self.stage.height()
    }
}

impl EventHandler<Event> for SqliteWriter {
    fn on_event(&mut self, event: &Event, _seq: u64, _eob: bool) -> Result<(), HandlerError> {
        self.write(event).map_err(Into::into)
    }
}
