//! The PostgreSQL store writer (the sync `postgres` client).

mod schema;
mod store;
mod writer;

pub use store::{PgOptions, PgStats, PgStore};
pub use writer::{PostgresWriter, PG_INPUTS};
