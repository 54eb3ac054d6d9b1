//! The SQLite store writer (rusqlite, bundled SQLite).

mod codec;
mod schema;
mod store;
mod writer;

pub use store::{SqliteOptions, SqliteStore};
pub use writer::SqliteWriter;
