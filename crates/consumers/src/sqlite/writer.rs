//! The SQLite store writer: the block writer over a [`SqliteStore`].

use super::{SqliteOptions, SqliteStore};
use crate::{BlockWriter, StoreError};
use std::path::Path;

/// An [`EventHandler`](ringbus_ring::EventHandler) for
/// [`topic_sets::STORE_INPUTS`](ringbus_events::topic_sets::STORE_INPUTS) that writes into
/// a [`SqliteStore`]: a [`BlockWriter`], one transaction per block with the cursor in it.
///
/// Fed the event log again from its start after a crash, it resumes exactly where the last
/// commit stopped. A block the database refuses on every attempt fails the consumer with
/// [`StoreError::Refused`], which names the last committed sequence.
pub type SqliteWriter = BlockWriter<SqliteStore>;

impl BlockWriter<SqliteStore> {
    /// Opens the database at `path` and makes a writer into it.
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        SqliteStore::open(path, options).map(Self::new)
    }
}
