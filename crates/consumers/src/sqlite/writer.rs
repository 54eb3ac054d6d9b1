//! The SQLite store writer: the block writer over a [`SqliteStore`].

use super::{SqliteOptions, SqliteStore};
use crate::{BlockWriter, StoreError};
use ringbus_events::StreamIdentity;
use std::path::Path;

/// An [`EventHandler`](ringbus_ring::EventHandler) for
/// [`topic_sets::STORE_INPUTS`](ringbus_events::topic_sets::STORE_INPUTS) that writes into
/// a [`SqliteStore`]: a [`BlockWriter`], one transaction per block with the cursor in it.
///
/// Fed the event log again from its start after a crash, it resumes exactly where the last
/// commit stopped. A block the database refuses on every attempt fails the consumer with
/// [`StoreError::Refused`], which names the last committed sequence. A database that holds
/// another stream is refused with [`StoreError::ForeignStream`].
pub type SqliteWriter = BlockWriter<SqliteStore>;

impl BlockWriter<SqliteStore> {
    /// Opens the database at `path` and makes a writer of the events of `stream` (`None`:
    /// unknown) into it: [`StoreError::ForeignStream`] if it holds another stream.
    ///
    /// ```
    /// use ringbus_consumers::{SqliteOptions, SqliteWriter, StoreError};
    /// use ringbus_events::{BeginBlock, BlockHash, EndBlock, Event, StreamIdentity};
    /// let dir = tempfile::tempdir()?;
    /// let db = dir.path().join("s.db");
    /// let a = StreamIdentity::new("sim", BlockHash(1), 42, "")?;
    /// let mut w = SqliteWriter::open(&db, SqliteOptions::default(), Some(&a))?;
    /// w.write(&Event::new(BeginBlock { height: 1, ..Default::default() }))?;
    /// w.write(&Event { sequence: 1, ..Event::new(EndBlock { height: 1, ..Default::default() }) })?;
    /// drop(w);
    /// let b = StreamIdentity::new("sim", BlockHash(2), 43, "")?;
    /// let err = SqliteWriter::open(&db, SqliteOptions::default(), Some(&b)).unwrap_err();
    /// assert!(matches!(err, StoreError::ForeignStream(_)));
    /// assert!(SqliteWriter::open(&db, SqliteOptions::default(), Some(&a)).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(
        path: impl AsRef<Path>,
        options: SqliteOptions,
        stream: Option<&StreamIdentity>,
    ) -> Result<Self, StoreError> {
        Self::new(SqliteStore::open(path, options)?, stream)
    }
}
