//! The live node: the bus served to clients while it runs.
//!
//! A [`LiveServer`] runs beside a running [`EventBus`] on a small tokio runtime of its own, so
//! the producer's thread never runs server code. It serves:
//!
//! * `/stream`: the bus's events as JSON, filtered by topic, market and party, to WebSocket
//!   and Server-Sent Events clients. Each client is a lossy tap joined at runtime: a client
//!   that falls behind is detached, told how many events it missed, and goes on from the head;
//!   it never slows the producer.
//! * `/metrics`: the bus's and the node's figures in the Prometheus text format.
//! * `/status`: the same figures as JSON, for the live page.
//! * `/`: the live operations page (plain HTML and JavaScript served from the binary).
//!
//! The node (crate `ringbus-node`) starts it for `ringbus run --serve ADDR`; see docs/live.md.

mod error;
mod metrics;
mod page;
mod server;
mod state;
mod status;
mod stream;

pub use error::LiveError;
pub use server::{LiveConfig, LiveServer};
pub use status::{BlockLine, ForwarderLine, NodeSnapshot, NodeStatus, StoreLine};

/// The bus a live node serves: the node's events, with their market and party keys.
pub type EventBus = ringbus_ring::Bus<ringbus_events::Event, ringbus_events::EventKey>;
