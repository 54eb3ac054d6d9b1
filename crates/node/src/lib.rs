//! The ringbus node application: the pipeline that wires a source of events (the simulated
//! core of [`ringbus_sim`], or an event log being replayed) through the bus into the
//! consumers, local ([`ringbus_consumers`]) and remote ([`ringbus_remote`]), and the
//! `ringbus` command line on top of it.
//!
//! ```
//! use ringbus_node::{ConsumerKind, Input, Pipeline};
//! use ringbus_sim::SimConfig;
//!
//! let dir = std::env::temp_dir();
//! let mut pipeline = Pipeline::new(&dir);
//! pipeline.consumers = vec![ConsumerKind::Positions, ConsumerKind::Stores];
//! let report = pipeline.run(Input::Simulate(SimConfig { blocks: 20, ..SimConfig::default() }))?;
//! assert!(report.failures.is_empty());
//! println!("{} events", report.events);
//! # Ok::<(), ringbus_node::PipelineError>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod atomic_file;
mod blocks;
pub mod cli;
mod file_identity;
mod node_view;
mod pace;
mod pipeline;
mod positions_split;
mod stop;

pub use atomic_file::AtomicFile;
pub use blocks::PublishedBlock;
pub use file_identity::FileIdentity;
pub use node_view::{ForwarderBacklog, NodeView, StoreHeight};
pub use pace::{BadPace, Pace};
pub use pipeline::{ConsumerKind, EventBus, Input, Pipeline, PipelineError, RunReport, Service};
pub use positions_split::{
    positions_part_name, positions_parts, PositionsSplitError, MAX_POSITIONS_PARTS,
};
pub use stop::StopSignal;
