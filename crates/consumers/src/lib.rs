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
//! # Block stores
//!
//! A store writer is a [`BlockWriter`] over a [`BlockStore`]: the writer stages each block
//! (the framing rules, [`FramingError`]), skips what the store already holds, and commits
//! once per block through the store, retrying a refused commit with the store's
//! [`RetryPolicy`], and publishes each committed block's height ([`CommittedHeight`]). The
//! store only commits a whole block, its cursor (the `EndBlock`'s
//! sequence) in the same transaction. It also records the identity of the stream it holds
//! ([`HeldStream`]) with its first commit, and the writer refuses events of another stream
//! ([`admit`], [`ForeignStream`]). [`SqliteWriter`] is the writer over [`SqliteStore`];
//! `ringbus-remote`'s PostgreSQL writer is another. Fed the event log again after a crash, a
//! writer skips every event at or before the cursor. See `docs/consumers.md`.
//!
//! A store of one's own, here a vector of committed blocks:
//!
//! ```
//! use ringbus_consumers::{
//!     Backoff, Block, BlockStore, BlockWriter, CommitResult, ForeignStream, FramingError,
//!     HeldStream, Refused, RetryPolicy,
//! };
//! use ringbus_events::{BeginBlock, BlockHash, EndBlock, Event, StreamIdentity};
//! use std::time::Duration;
//!
//! struct Blocks {
//!     blocks: Vec<Vec<Event>>,
//!     height: Option<u64>,
//!     held: HeldStream,
//! }
//!
//! #[derive(Debug, thiserror::Error)]
//! enum Error {
//!     #[error(transparent)]
//!     Framing(#[from] FramingError),
//!     #[error("refused {0}: {1}")]
//!     Refused(Refused, String),
//!     #[error(transparent)]
//!     Foreign(#[from] ForeignStream),
//! }
//!
//! impl BlockStore for Blocks {
//!     type Error = Error;
//!     type Failure = String;
//!     const NAME: &'static str = "blocks";
//!     fn last_committed(&self) -> Option<u64> {
//!         self.blocks.last().and_then(|b| b.last()).map(|e| e.sequence)
//!     }
//!     fn last_committed_height(&self) -> Option<u64> {
//!         self.height
//!     }
//!     fn retry_policy(&self) -> RetryPolicy {
//!         let pause = Duration::from_millis(10);
//!         RetryPolicy { max_attempts: 3, backoff: Backoff::new(pause, 8 * pause) }
//!     }
//!     fn commit(&mut self, block: &Block<'_>) -> CommitResult<Self> {
//!         self.blocks.push(block.events().to_vec()); // all or nothing
//!         self.height = Some(block.height());
//!         Ok(())
//!     }
//!     fn refused(&self, refused: Refused, failure: String) -> Error {
//!         Error::Refused(refused, failure)
//!     }
//!     fn held_stream(&self) -> &HeldStream {
//!         &self.held
//!     }
//!     fn record_stream(&mut self, identity: StreamIdentity) {
//!         self.held = HeldStream::Stream(identity); // in memory: no transaction to join
//!     }
//!     fn foreign(&self, held: HeldStream, incoming: Option<StreamIdentity>) -> Error {
//!         ForeignStream { store: "the blocks".into(), held, incoming }.into()
//!     }
//! }
//!
//! let stream = StreamIdentity::new("example", BlockHash(1), 0, "")?;
//! let store = Blocks { blocks: Vec::new(), height: None, held: HeldStream::Empty };
//! let mut writer = BlockWriter::new(store, Some(&stream))?;
//! for (sequence, event) in [
//!     Event::new(BeginBlock { height: 1, ..Default::default() }),
//!     Event::new(EndBlock { height: 1, ..Default::default() }),
//! ]
//! .into_iter()
//! .enumerate()
//! {
//!     writer.write(&Event { sequence: sequence as u64, ..event })?;
//! }
//! assert_eq!(writer.store().last_committed(), Some(1));
//! assert_eq!(writer.committed_height().get(), Some(1));
//! // An event after the block's end and before the next `BeginBlock`:
//! let stray = Event { sequence: 2, ..Event::new(EndBlock { height: 1, ..Default::default() }) };
//! assert!(matches!(writer.write(&stray), Err(Error::Framing(FramingError::OutsideBlock { .. }))));
//! // The store now holds `stream`: a writer of another stream is refused.
//! let other = StreamIdentity::new("example", BlockHash(2), 1, "")?;
//! let store = Blocks { blocks: Vec::new(), height: None, held: writer.store().held_stream().clone() };
//! assert!(matches!(BlockWriter::new(store, Some(&other)), Err(Error::Foreign(_))));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod block;
mod committed_height;
mod error;
mod event_log;
mod memory;
mod position;
mod positions;
mod retry;
mod sqlite;
mod tables;
mod timed;

pub use block::{
    admit, Admission, Block, BlockStore, BlockWriter, CommitError, CommitResult, ForeignStream,
    FramingError, HeldStream, Refused,
};
pub use committed_height::CommittedHeight;
pub use error::StoreError;
pub use event_log::EventLogConsumer;
pub use memory::{MemoryStores, StoreView};
pub use position::PositionState;
pub use positions::{PositionsPlugin, PositionsSnapshot, PositionsView};
pub use retry::{Backoff, RetryPolicy};
/// The map type of [`StoreTables`]' fields: the tables are keyed by small ids from the core,
/// hashed millions of times a second, where SipHash's resistance to chosen keys buys nothing.
pub use rustc_hash::FxHashMap;
pub use sqlite::codec;
pub use sqlite::{SqliteOptions, SqliteStore, SqliteWriter};
pub use tables::StoreTables;
pub use timed::{BusyTime, Timed};
