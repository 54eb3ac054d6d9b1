//! The SQLite store writer (rusqlite, bundled SQLite).

pub mod codec;
mod schema;
mod store;
mod writer;

pub use store::{SqliteOptions, SqliteStore};
pub use writer::SqliteWriter;
