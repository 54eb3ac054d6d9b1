//! Payloads: one self-contained, heap-free type per topic, and [`Payload`], the sum of them.

mod account;
mod block;
mod market;
mod order;
mod party_list;
mod position;
mod risk;
mod trade;

pub use account::{Account, AccountId, AccountOwner, AccountType, LedgerMovement, TransferType};
pub use block::{BeginBlock, EndBlock, ErrorCode, TimeUpdate, TxKind, TxOutcome, TxResult};
pub use market::{InsurancePool, MarkPrice};
pub use order::{Order, OrderStatus, OrderType, Side, TimeInForce};
pub use party_list::{PartyList, PartyListFull};
pub use position::{MarginLevels, Position};
pub use risk::{Closeout, Distressed, LossSocialisation, SettlePosition};
pub use trade::Trade;

use ringbus_events_derive::EventPayload;
use serde::{Deserialize, Serialize};

/// The data of an event: one variant per topic, named after it. The variant *is* the topic
/// ([`Payload::topic`]), so the two can never disagree. `#[derive(EventPayload)]` generates
/// [`EventTopic`](crate::EventTopic) from the variants (their ids and docs), the topic sets,
/// `topic()`, the interface answers by variant and `From` every payload type.
///
/// ```
/// use ringbus_events::{EventTopic, MarkPrice, MarketEvent, MarketId, Payload};
/// let p = Payload::from(MarkPrice { market: MarketId(1), price: 100 });
/// assert_eq!(p.topic(), EventTopic::MarkPrice);
/// assert_eq!(p.market(), Some(MarketId(1)));
///
/// assert_eq!(EventTopic::Trade.id(), 6);
/// assert_eq!(EventTopic::from_id(6), Some(EventTopic::Trade));
/// assert_eq!(EventTopic::from_id(0), None);
/// assert_eq!("trade".parse::<EventTopic>(), Ok(EventTopic::Trade));
/// assert_eq!(EventTopic::ALL.len(), EventTopic::COUNT);
/// assert_eq!(EventTopic::SettlePosition.name(), "SettlePosition");
/// assert_eq!(EventTopic::Order.ring_topic(), ringbus_ring::Topic::new(5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, EventPayload)]
#[event(topic = EventTopic)]
pub enum Payload {
    /// A block starts: its height, time and hash. Opens the frame of a block.
    #[event(id = 1)]
    BeginBlock(BeginBlock),
    /// A block ends: stores commit here, plug-ins publish their snapshots.
    #[event(id = 2)]
    EndBlock(EndBlock),
    /// A transaction ends: success, or the workflow error that rejected it.
    #[event(id = 3)]
    TxResult(TxResult),
    /// Chain time moved forward (once per block, after BeginBlock).
    #[event(id = 4)]
    TimeUpdate(TimeUpdate),
    /// An order was created, changed, filled, cancelled, stopped or rejected.
    #[event(id = 5)]
    Order(Order),
    /// Two orders matched.
    #[event(id = 6)]
    Trade(Trade),
    /// An account's balance changed.
    #[event(id = 7)]
    Account(Account),
    /// Money moved between two accounts.
    #[event(id = 8)]
    LedgerMovement(LedgerMovement),
    /// A party's position in a market changed.
    #[event(id = 9)]
    Position(Position),
    /// A market's mark price changed.
    #[event(id = 10)]
    MarkPrice(MarkPrice),
    /// A party's margin requirements were recomputed.
    #[event(id = 11)]
    MarginLevels(MarginLevels),
    /// Mark-to-market settlement of one party's position.
    #[event(id = 12)]
    SettlePosition(SettlePosition),
    /// Parties fell below maintenance margin.
    #[event(id = 13)]
    Distressed(Distressed),
    /// A distressed party's position was closed out (position resolution).
    #[event(id = 14)]
    Closeout(Closeout),
    /// A loss the insurance pool could not cover was spread over winning parties.
    #[event(id = 15)]
    LossSocialisation(LossSocialisation),
    /// A market's insurance pool balance changed.
    #[event(id = 16)]
    InsurancePool(InsurancePool),
}

impl Default for Payload {
    /// A zero [`TimeUpdate`]: harmless filler for pre-allocated ring slots.
    fn default() -> Self {
        Payload::TimeUpdate(TimeUpdate::default())
    }
}
