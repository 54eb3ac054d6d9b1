//! The trading-node event model of ringbus: the [`Event`] envelope, its [`EventTopic`]s and
//! payload types, and the event log (a framed, checksummed binary file, plus JSON lines).
//!
//! # Quick start
//!
//! Write three events to a log in memory and read them back:
//!
//! ```
//! use ringbus_events::{
//!     BeginBlock, BlockHash, BlockTime, EndBlock, Event, EventLogReader, EventLogWriter,
//!     EventTopic, TimeUpdate,
//! };
//!
//! let time = BlockTime::from_secs(1);
//! let block = |sequence, payload: ringbus_events::Payload| Event {
//!     sequence,
//!     block_height: 1,
//!     block_time: time,
//!     ..Event::new(payload)
//! };
//! let events = [
//!     block(0, BeginBlock { height: 1, time, hash: BlockHash(7) }.into()),
//!     block(1, TimeUpdate { time }.into()),
//!     block(2, EndBlock { height: 1, time, hash: BlockHash(7), tx_count: 0 }.into()),
//! ];
//!
//! let mut writer = EventLogWriter::new(Vec::new(), None)?;
//! writer.append_all(&events)?;
//! let bytes = writer.into_inner()?;
//!
//! let back: Vec<Event> = EventLogReader::new(&bytes[..])?.collect::<Result<_, _>>()?;
//! assert_eq!(back, events);
//! assert_eq!(back[2].topic(), EventTopic::EndBlock);
//! # Ok::<(), ringbus_events::LogError>(())
//! ```
//!
//! # The envelope
//!
//! An [`Event`] carries a sequence number (global, gap-free, assigned by the bus), the block
//! height, block time (chain time, never wall time) and transaction index it belongs to, its
//! [`Trigger`] (the transaction, order, price update or block that caused it), its [`Source`]
//! (the engine that emitted it) and a [`Payload`]: a full copy of the data. The topic is the
//! payload's variant, so it cannot disagree with the payload. Every field is fixed-size:
//! `Event` is `Copy`, 112 bytes, and writing one into a ring slot never allocates.
//!
//! # Interfaces
//!
//! Every payload answers [`MarketEvent::market`] and [`PartyEvent::parties`], and every
//! event [`Event::tx`]: what it is about, asked the same way of every kind.
//!
//! ```
//! use ringbus_events::{Event, MarketEvent, MarketId, PartyEvent, PartyId, Trade};
//! let trade = Event::new(Trade { market: MarketId(3), buyer: PartyId(1), seller: PartyId(2), ..Trade::default() });
//! assert_eq!(trade.market(), Some(MarketId(3)));
//! assert!(trade.touches(PartyId(2)));
//! ```
//!
//! The answers are generated from the payloads' fields ([`EventInterfaces`]), and the topic
//! enum, its sets and the payload enum's dispatch from the payload enum ([`EventPayload`]):
//!
//! ```
//! use ringbus_events::{EventInterfaces, MarketEvent, MarketId, PartyEvent, PartyId};
//!
//! /// A quote of one market maker.
//! #[derive(EventInterfaces)]
//! struct Quote {
//!     #[event(market)]
//!     market: MarketId,
//!     #[event(party)]
//!     maker: PartyId,
//!     price: u64,
//! }
//! let q = Quote { market: MarketId(4), maker: PartyId(2), price: 100 };
//! assert_eq!((q.market(), q.parties().as_slice()), (Some(MarketId(4)), &[PartyId(2)][..]));
//! ```
//!
//! # Topics and subscriptions
//!
//! Each [`EventTopic`] has a stable id, which is also the ring's tag
//! ([`EventTopic::ring_topic`]); [`topic_sets`] names the usual subscriptions.
//!
//! # Framing
//!
//! A block is `BeginBlock, TimeUpdate, (the events of each transaction, then its TxResult)*,
//! EndBlock`. Stores commit at `EndBlock`; see `docs/events.md`.
//!
//! # The log
//!
//! [`EventLogWriter`] appends framed records (length, CRC-32, postcard body) after a header
//! with a magic, a format version and the stream's [`StreamIdentity`] ([`log::format`]).
//! [`EventLogReader`] reads them back (and logs of format version 1, whose identity is
//! unknown) and reports damage as a [`LogError`] with the record number and byte offset; it
//! never guesses past damage. [`recover`] keeps every intact record before the damage;
//! [`verify`] checks a whole log and [`dump`] prints one, both with the same rules
//! ([`EventLogReader::whole_stream`]: contiguous sequences, block framing, a complete last
//! block). [`to_json_line`] and [`JsonLinesWriter`] print events for people.
//!
//! # Stream identity
//!
//! A [`StreamIdentity`] says which stream events belong to (chain id, genesis block hash,
//! the generator's seed and configuration). The log's header carries it and the stores
//! record it, so a log of one stream is never applied on top of another.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

// The derives name this crate by its path, as they do in any other.
extern crate self as ringbus_events;

mod event;
mod framing;
mod identity;
mod ids;
mod interfaces;
mod json;
mod key;
pub mod log;
mod payload;
mod topic;
pub mod topic_sets;

pub use event::{Event, Source, Trigger, TriggerType};
pub use framing::{BlockFraming, FramingError};
pub use identity::{IdentityError, StreamIdentity, MAX_CHAIN_ID_LEN, MAX_CONFIG_LEN};
pub use ids::{
    AssetId, BlockHash, BlockTime, InvalidId, MarketId, OrderId, PartyId, TradeId, TxHash,
};
pub use interfaces::{MarketEvent, MarketField, PartyEvent, PartyField, PayloadInterfaces};
pub use json::{to_json_line, write_json_line, JsonLinesWriter};
pub use key::{EventFilter, EventKey};
pub use log::{
    dump, dump_selected, recover, verify, DumpError, EventLogReader, EventLogWriter, LogError,
    Recovery, ResumePoint, SequencePolicy, VerifySummary,
};
pub use payload::*;
pub use ringbus_events_derive::{EventInterfaces, EventPayload};
pub use topic::UnknownTopic;

#[cfg(test)]
mod size_tests {
    use super::*;
    use std::mem::size_of;

    /// The ring stores events inline; keep them within two cache lines' worth of a slot.
    #[test]
    fn event_is_small_and_heap_free() {
        fn assert_copy<T: Copy + Default + Send + Sync + 'static>() {}
        assert_copy::<Event>();
        assert_eq!(size_of::<Event>(), 112);
        assert!(size_of::<Payload>() <= 56);
        assert_eq!(size_of::<Trigger>(), 16);
    }
}
