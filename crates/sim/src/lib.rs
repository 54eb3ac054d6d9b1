//! A deterministic, seeded simulated trading core that drives the ringbus event bus, the
//! pipeline that wires it to the consumers, and the `ringbus` command line.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod book;
mod cascade;
mod config;
mod core;
mod sink;
mod state;
mod tx;

pub use crate::core::{SimStats, Simulator, ASSET, GENESIS_SECS};
pub use config::SimConfig;
pub use sink::{Counting, EventSink, SinkError};
