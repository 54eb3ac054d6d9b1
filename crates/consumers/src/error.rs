//! Typed errors of the consumers.

use crate::{ForeignStream, FramingError};
use ringbus_events::{IdentityError, LogError};
use std::path::PathBuf;

/// What can go wrong in a store writer or a plug-in.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The SQLite database could not be opened or prepared.
    #[error("cannot open SQLite store {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The database refused to commit a block (locked, read-only, disk full, ...) on every
    /// attempt. Nothing of the block was applied; everything up to `last_committed` was.
    #[error(
        "SQLite refused block {height} (sequences {first}..={last}) after {attempts} attempt(s); \
         last committed sequence: {}: {source}",
        last_committed.map_or_else(|| "none".to_string(), |s| s.to_string())
    )]
    Refused {
        /// The block that could not be committed.
        height: u64,
        /// Its first staged sequence.
        first: u64,
        /// Its last sequence (the `EndBlock`).
        last: u64,
        /// How many times the commit was tried.
        attempts: u32,
        /// The last sequence safely in the database: resume after it.
        last_committed: Option<u64>,
        /// What SQLite said on the last attempt.
        #[source]
        source: rusqlite::Error,
    },
    /// The stream is not framed in blocks as the stores need.
    #[error(transparent)]
    Framing(#[from] FramingError),
    /// A SQLite statement failed outside a block commit (reading the store back).
    #[error("SQLite: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A value read back from the database does not fit the event model.
    #[error("SQLite store holds an invalid {what}: {value}")]
    Corrupt {
        /// What was being decoded.
        what: &'static str,
        /// The stored value.
        value: i64,
    },
    /// The store holds another stream than the events offered (or cannot tell): nothing
    /// of them was written.
    #[error(transparent)]
    ForeignStream(Box<ForeignStream>),
    /// The stream identity recorded in the store does not parse.
    #[error("the store records an invalid stream identity {text:?}: {source}")]
    CorruptIdentity {
        /// The recorded text.
        text: String,
        /// What is wrong with it.
        #[source]
        source: IdentityError,
    },
    /// Writing the event log failed.
    #[error("event log: {0}")]
    Log(#[from] LogError),
    /// An I/O error (opening the event log file).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl From<ForeignStream> for StoreError {
    fn from(e: ForeignStream) -> Self {
        StoreError::ForeignStream(Box::new(e))
    }
}
