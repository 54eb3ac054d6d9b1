//! The envelope: where, when, why and by whom an event was emitted, around its payload.

use crate::{BlockTime, EventTopic, MarketId, OrderId, Payload, TxHash};
use ringbus_ring::Topic;
use serde::{Deserialize, Serialize};

/// One state change of the trading core, as published on the bus.
///
/// Every field is a fixed-size value, so an `Event` is `Copy` and writing one into a ring
/// slot never allocates. The topic is not stored: it is the payload's variant
/// ([`Event::topic`]), so it can never disagree with the payload, and reading it is a read of
/// the enum tag.
///
/// ```
/// use ringbus_events::{Event, EventTopic, MarkPrice, MarketId, Source, Trigger, TriggerType, TxHash};
/// let mut e = Event::new(MarkPrice { market: MarketId(0), price: 101 });
/// e.sequence = 7;
/// e.source = Source::Matching;
/// e.trigger = Trigger::Transaction(TxHash(5));
/// assert_eq!(e.topic(), EventTopic::MarkPrice);
/// assert_eq!(e.trigger_type(), TriggerType::Transaction);
/// assert_eq!(e.ring_topic().get(), EventTopic::MarkPrice.id());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Event {
    /// Position in the bus's global stream: gap-free, assigned by the bus (or the simulator).
    pub sequence: u64,
    /// Height of the block the event belongs to.
    pub block_height: u64,
    /// Chain time of that block (never wall-clock time).
    pub block_time: BlockTime,
    /// Index of the transaction within the block; `None` for events outside transactions
    /// (block framing, time-driven work at the start or end of a block).
    pub tx_index: Option<u32>,
    /// What caused the event.
    pub trigger: Trigger,
    /// The engine that emitted it.
    pub source: Source,
    /// The data: a full, self-contained copy.
    pub payload: Payload,
}

impl Event {
    /// An event carrying `payload`, with every other field at its default (sequence 0,
    /// block 0, no transaction, triggered by the block, emitted by the block engine).
    ///
    /// ```
    /// use ringbus_events::{Event, EventTopic, Trade};
    /// assert_eq!(Event::new(Trade::default()).topic(), EventTopic::Trade);
    /// ```
    pub fn new(payload: impl Into<Payload>) -> Self {
        Event {
            payload: payload.into(),
            ..Event::default()
        }
    }

    /// The event's topic, derived from its payload.
    ///
    /// ```
    /// use ringbus_events::{Event, EventTopic};
    /// assert_eq!(Event::default().topic(), EventTopic::TimeUpdate);
    /// ```
    #[inline]
    pub const fn topic(&self) -> EventTopic {
        self.payload.topic()
    }

    /// The ring tag consumers filter on.
    ///
    /// ```
    /// use ringbus_events::{topic_sets, Event, Trade};
    /// assert!(topic_sets::STORE_INPUTS.contains(Event::new(Trade::default()).ring_topic()));
    /// ```
    #[inline]
    pub const fn ring_topic(&self) -> Topic {
        self.topic().ring_topic()
    }

    /// The kind of cause, derived from [`Event::trigger`].
    ///
    /// ```
    /// use ringbus_events::{Event, TriggerType};
    /// assert_eq!(Event::default().trigger_type(), TriggerType::Block);
    /// ```
    #[inline]
    pub const fn trigger_type(&self) -> TriggerType {
        self.trigger.kind()
    }
}

/// Why an event was emitted: the transaction, order, price update or block that caused it.
///
/// ```
/// use ringbus_events::{MarketId, Trigger, TriggerType};
/// let t = Trigger::PriceUpdate { market: MarketId(2), sequence: 41 };
/// assert_eq!(t.kind(), TriggerType::PriceUpdate);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Trigger {
    /// The block itself: framing events and time-driven work (order expiry, the per-block
    /// mark price). Carries the block height.
    Block(u64),
    /// A transaction, by hash.
    Transaction(TxHash),
    /// An order, for work an order causes beyond its own transaction (e.g. stopping it).
    Order(OrderId),
    /// A mark-price update: the market, and the sequence number of its
    /// [`MarkPrice`](crate::MarkPrice) event. Every event of the risk cascade points here.
    PriceUpdate {
        /// The market whose price moved.
        market: MarketId,
        /// Sequence number of the `MarkPrice` event that started the cascade.
        sequence: u64,
    },
}

impl Default for Trigger {
    fn default() -> Self {
        Trigger::Block(0)
    }
}

impl Trigger {
    /// The kind of cause.
    ///
    /// ```
    /// use ringbus_events::{Trigger, TriggerType, TxHash};
    /// assert_eq!(Trigger::Transaction(TxHash(1)).kind(), TriggerType::Transaction);
    /// ```
    pub const fn kind(&self) -> TriggerType {
        match self {
            Trigger::Block(_) => TriggerType::Block,
            Trigger::Transaction(_) => TriggerType::Transaction,
            Trigger::Order(_) => TriggerType::Order,
            Trigger::PriceUpdate { .. } => TriggerType::PriceUpdate,
        }
    }
}

/// The kind of an event's [`Trigger`].
///
/// ```
/// use ringbus_events::TriggerType;
/// assert_ne!(TriggerType::Order, TriggerType::Transaction);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TriggerType {
    /// A block boundary or time-driven work.
    Block,
    /// A transaction.
    Transaction,
    /// An order.
    Order,
    /// A mark-price update.
    PriceUpdate,
}

/// The engine of the trading core that emitted an event.
///
/// ```
/// use ringbus_events::Source;
/// assert_eq!(Source::default(), Source::Time);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Source {
    /// Block and time handling: BeginBlock, TimeUpdate, EndBlock.
    #[default]
    Time,
    /// Transaction execution: TxResult, rejected submissions.
    Execution,
    /// The matching engine: orders and trades.
    Matching,
    /// The risk engine: margin levels, distress.
    Risk,
    /// Settlement: mark-to-market, closeouts, loss socialisation.
    Settlement,
    /// Collateral: accounts, ledger movements, insurance pools.
    Collateral,
    /// Position tracking: positions.
    Positions,
}
