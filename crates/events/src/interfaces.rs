//! Event interfaces: what an event is about, asked the same way of every payload kind.
//!
//! A consumer that wants "everything about market M" or "everything that touches party P"
//! asks [`MarketEvent::market`] and [`PartyEvent::parties`] instead of matching on every
//! payload kind; [`Event::tx`] names the transaction an event belongs to. The same answers
//! fill the per-slot key the ring filters on.

use crate::{
    Account, AccountId, BeginBlock, Closeout, Distressed, EndBlock, Event, InsurancePool,
    LedgerMovement, LossSocialisation, MarginLevels, MarkPrice, MarketId, Order, PartyId,
    PartyList, Position, SettlePosition, TimeUpdate, Trade, Trigger, TxHash, TxResult,
};

/// A payload that may belong to one market.
///
/// ```
/// use ringbus_events::{AccountId, Account, AssetId, MarketEvent, MarketId, PartyId, Trade};
/// assert_eq!(Trade { market: MarketId(2), ..Trade::default() }.market(), Some(MarketId(2)));
/// let general = Account { id: AccountId::general(PartyId(1), AssetId(0)), balance: 5 };
/// assert_eq!(general.market(), None, "a general account belongs to no market");
/// ```
pub trait MarketEvent {
    /// The market, if the payload belongs to one.
    fn market(&self) -> Option<MarketId>;
}

/// A payload that may touch parties: every party whose state or money it is about.
///
/// ```
/// use ringbus_events::{PartyEvent, PartyId, Trade};
/// let t = Trade { buyer: PartyId(1), seller: PartyId(2), ..Trade::default() };
/// assert_eq!(t.parties().as_slice(), &[PartyId(1), PartyId(2)]);
/// assert!(t.touches(PartyId(2)));
/// ```
pub trait PartyEvent {
    /// The parties, each once, in the payload's field order (empty when it touches none).
    fn parties(&self) -> PartyList;

    /// Whether the payload touches `party`.
    fn touches(&self, party: PartyId) -> bool {
        self.parties().as_slice().contains(&party)
    }
}

/// Up to two parties, each once: the list of a payload with two party fields.
fn pair(a: Option<PartyId>, b: Option<PartyId>) -> PartyList {
    let mut list = PartyList::new();
    for p in [a, b].into_iter().flatten() {
        if !list.as_slice().contains(&p) {
            // At most two pushes into a list of CAPACITY >= 2.
            let _ = list.push(p);
        }
    }
    list
}

fn one(party: PartyId) -> PartyList {
    pair(Some(party), None)
}

macro_rules! no_market {
    ($($ty:ty),*) => {$(
        impl MarketEvent for $ty {
            #[inline]
            fn market(&self) -> Option<MarketId> {
                None
            }
        }
    )*};
}

macro_rules! market_field {
    ($($ty:ty),*) => {$(
        impl MarketEvent for $ty {
            #[inline]
            fn market(&self) -> Option<MarketId> {
                Some(self.market)
            }
        }
    )*};
}

macro_rules! no_parties {
    ($($ty:ty),*) => {$(
        impl PartyEvent for $ty {
            #[inline]
            fn parties(&self) -> PartyList {
                PartyList::new()
            }
        }
    )*};
}

macro_rules! party_field {
    ($($ty:ty),*) => {$(
        impl PartyEvent for $ty {
            #[inline]
            fn parties(&self) -> PartyList {
                one(self.party)
            }
        }
    )*};
}

no_market!(BeginBlock, EndBlock, TxResult, TimeUpdate);
market_field!(
    Order,
    Trade,
    Position,
    MarkPrice,
    MarginLevels,
    SettlePosition,
    Distressed,
    Closeout,
    LossSocialisation,
    InsurancePool
);
no_parties!(
    BeginBlock,
    EndBlock,
    TxResult,
    TimeUpdate,
    MarkPrice,
    InsurancePool
);
party_field!(
    Order,
    Position,
    MarginLevels,
    SettlePosition,
    Closeout,
    LossSocialisation
);

impl MarketEvent for AccountId {
    /// The market of a market-scoped account (margin, insurance, settlement).
    #[inline]
    fn market(&self) -> Option<MarketId> {
        self.market
    }
}

impl PartyEvent for AccountId {
    /// The owner, if a party owns it (the network's accounts touch no party).
    #[inline]
    fn parties(&self) -> PartyList {
        pair(self.owner.party(), None)
    }
}

impl MarketEvent for Account {
    #[inline]
    fn market(&self) -> Option<MarketId> {
        self.id.market()
    }
}

impl PartyEvent for Account {
    #[inline]
    fn parties(&self) -> PartyList {
        self.id.parties()
    }
}

impl MarketEvent for LedgerMovement {
    /// The debited account's market, else the credited one's: money moves within one
    /// market (margin, settlement, insurance) or between a market and a general account.
    #[inline]
    fn market(&self) -> Option<MarketId> {
        self.from.market.or(self.to.market)
    }
}

impl PartyEvent for LedgerMovement {
    /// The owners of both accounts, each once: a margin top-up touches one party, a
    /// mark-to-market win paid from the settlement account touches its receiver only.
    #[inline]
    fn parties(&self) -> PartyList {
        pair(self.from.owner.party(), self.to.owner.party())
    }
}

impl PartyEvent for Trade {
    /// The buyer and the seller.
    #[inline]
    fn parties(&self) -> PartyList {
        pair(Some(self.buyer), Some(self.seller))
    }
}

impl PartyEvent for Distressed {
    /// Every party of the report.
    #[inline]
    fn parties(&self) -> PartyList {
        self.parties
    }
}

impl MarketEvent for Event {
    /// The payload's market.
    #[inline]
    fn market(&self) -> Option<MarketId> {
        self.payload.market()
    }
}

impl PartyEvent for Event {
    /// The payload's parties.
    #[inline]
    fn parties(&self) -> PartyList {
        self.payload.parties()
    }
}

impl Event {
    /// The transaction the event belongs to: the hash its trigger names, or the one its
    /// `TxResult` reports. `None` for events outside transactions (block framing, the
    /// time-driven work of a block, risk cascades).
    ///
    /// ```
    /// use ringbus_events::{Event, Order, Trigger, TxHash, TxResult};
    /// let in_tx = Event { trigger: Trigger::Transaction(TxHash(9)), ..Event::new(Order::default()) };
    /// assert_eq!(in_tx.tx(), Some(TxHash(9)));
    /// assert_eq!(Event::new(TxResult { tx_hash: TxHash(4), ..TxResult::default() }).tx(), Some(TxHash(4)));
    /// assert_eq!(Event::new(Order::default()).tx(), None);
    /// ```
    #[inline]
    pub fn tx(&self) -> Option<TxHash> {
        match (self.trigger, &self.payload) {
            (Trigger::Transaction(hash), _) => Some(hash),
            (_, crate::Payload::TxResult(r)) => Some(r.tx_hash),
            _ => None,
        }
    }
}
