//! A deterministic, seeded simulated trading core: it emits a trading node's events
//! (orders, trades, ledger movements, positions, mark-to-market, closeouts, block and
//! transaction boundaries) into an [`EventSink`]: a vector, an event log, or the bus's
//! producer. The same seed and configuration give a byte-identical stream.
//!
//! The application that runs it through the bus into the consumers is `ringbus-node`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod book;
mod cascade;
mod config;
mod core;
mod identity;
mod sink;
mod state;
mod tx;

pub use crate::core::{SimStats, Simulator, ASSET, GENESIS_SECS};
pub use config::SimConfig;
pub use identity::{markets_of, CHAIN_ID, MODEL_VERSION};
pub use sink::{Counting, EventSink, SinkError};
