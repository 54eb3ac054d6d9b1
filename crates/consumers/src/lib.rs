//! Consumers of the ringbus trading-node stream: the positions plug-in and the store
//! writers (in-memory, SQLite, event log). Each is an
//! [`EventHandler<Event>`](ringbus_ring::EventHandler) with its own cursor.
//!
//! # Quick start
//!
//! ```
//! use ringbus_consumers::{MemoryStores, PositionsPlugin};
//! use ringbus_events::{topic_sets, BeginBlock, EndBlock, Event, MarketId, PartyId, Trade};
//! use ringbus_ring::{RingBus, Subscription};
//!
//! let (positions, positions_view) = PositionsPlugin::new();
//! let (stores, store_view) = MemoryStores::new();
//! let (mut producer, bus) = RingBus::builder::<Event>()
//!     .capacity(1024)
//!     .handler(Subscription::new("positions").topics(topic_sets::POSITIONS_INPUTS), positions)
//!     .handler(Subscription::new("stores").topics(topic_sets::STORE_INPUTS), stores)
//!     .build()?;
//! let block = [
//!     Event::new(BeginBlock { height: 1, ..Default::default() }),
//!     Event::new(Trade { price: 100, size: 3, buyer: PartyId(1), seller: PartyId(2), ..Default::default() }),
//!     Event::new(EndBlock { height: 1, ..Default::default() }),
//! ];
//! for (i, e) in block.iter().enumerate() {
//!     producer.publish(e.ring_topic(), |slot| *slot = Event { sequence: i as u64, ..*e });
//! }
//! drop(producer);
//! bus.join()?;
//! assert_eq!(positions_view.snapshot().position(PartyId(2), MarketId(0)).unwrap().open_volume, -3);
//! assert_eq!(store_view.snapshot().trades.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Block staging
//!
//! Stores stage what they read and apply it at the block's `EndBlock`: a reader never sees
//! half a block. The positions plug-in publishes a consistent snapshot at each `EndBlock`.
//!
//! # Store writers and resume
//!
//! [`SqliteWriter`] commits one transaction per block, with its cursor (the `EndBlock`'s
//! sequence) written in the same transaction. Fed the event log again after a crash, it
//! skips every event at or before the cursor. A refused commit is retried a bounded number
//! of times, then the consumer fails with [`StoreError::Refused`], naming the last good
//! sequence. See `docs/consumers.md`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod block;
mod error;
mod event_log;
mod memory;
mod position;
mod positions;
mod sqlite;
mod tables;
mod timed;

pub use error::StoreError;
pub use event_log::EventLogConsumer;
pub use memory::{MemoryStores, StoreView};
pub use position::PositionState;
pub use positions::{PositionsPlugin, PositionsSnapshot, PositionsView};
/// The map type of [`StoreTables`]' fields: the tables are keyed by small ids from the core,
/// hashed millions of times a second, where SipHash's resistance to chosen keys buys nothing.
pub use rustc_hash::FxHashMap;
pub use sqlite::codec;
pub use sqlite::{SqliteOptions, SqliteStore, SqliteWriter};
pub use tables::StoreTables;
pub use timed::{BusyTime, Timed};
