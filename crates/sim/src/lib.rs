//! A deterministic, seeded simulated trading core that drives the ringbus event bus, the
//! pipeline that wires it to the consumers, and the `ringbus` command line.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod book;
mod cascade;
pub mod cli;
mod config;
mod core;
mod pipeline;
mod sink;
mod state;
mod tx;

pub use crate::core::{SimStats, Simulator, ASSET, GENESIS_SECS};
pub use config::SimConfig;
pub use pipeline::{ConsumerKind, Input, Pipeline, PipelineError, RunReport};
pub use sink::{Counting, EventSink, SinkError};
