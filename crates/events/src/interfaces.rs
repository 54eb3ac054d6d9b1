//! Event interfaces: what an event is about, asked the same way of every payload kind.
//!
//! A consumer that wants "everything about market M" or "everything that touches party P"
//! asks [`MarketEvent::market`] and [`PartyEvent::parties`] instead of matching on every
//! payload kind; [`Event::tx`] names the transaction an event belongs to. Payload structs
//! answer from the fields they mark (`#[derive(EventInterfaces)]`, with
//! `#[event(market)]`/`#[event(party)]`), and the same answers fill the per-slot key the
//! ring filters on ([`EventKey`](crate::EventKey)).

use crate::{AccountId, AccountOwner, Event, MarketId, PartyId, PartyList, Trigger, TxHash};

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
    /// Calls `f` with each party the payload touches, in field order (a party in two fields
    /// twice): the allocation-free walk behind [`PartyEvent::parties`] and the ring key.
    fn each_party<F: FnMut(PartyId)>(&self, f: F);

    /// The parties, each once, in the payload's field order (empty when it touches none).
    fn parties(&self) -> PartyList {
        let mut list = PartyList::new();
        // The derive checks at compile time that a payload's party fields fit in a list,
        // so no push fails.
        self.each_party(|p| add_once(&mut list, p));
        list
    }

    /// Whether the payload touches `party`.
    fn touches(&self, party: PartyId) -> bool {
        self.parties().as_slice().contains(&party)
    }
}

/// Which interfaces a payload kind can answer, known at compile time: the topic sets
/// `EventTopic::WITH_MARKET` and `EventTopic::WITH_PARTIES` are made of them.
///
/// ```
/// use ringbus_events::{MarkPrice, PayloadInterfaces, TimeUpdate};
/// assert!(MarkPrice::MARKET && !MarkPrice::PARTIES);
/// assert!(!TimeUpdate::MARKET);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event payload",
    label = "a variant of the payload enum carries it",
    note = "derive `EventInterfaces` on it (marking its `#[event(market)]` and `#[event(party)]` fields)"
)]
pub trait PayloadInterfaces {
    /// Whether the payload may belong to a market.
    const MARKET: bool;
    /// Whether the payload may touch parties.
    const PARTIES: bool;
}

/// A field that carries a payload's market: `#[event(market)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot carry an event's market",
    label = "marked `#[event(market)]`",
    note = "a market field is a `MarketId`, an `Option<MarketId>` or an `AccountId`"
)]
pub trait MarketField {
    /// The market, if the field holds one.
    fn market_of(&self) -> Option<MarketId>;
}

impl MarketField for MarketId {
    #[inline]
    fn market_of(&self) -> Option<MarketId> {
        Some(*self)
    }
}

impl MarketField for Option<MarketId> {
    #[inline]
    fn market_of(&self) -> Option<MarketId> {
        *self
    }
}

impl MarketField for AccountId {
    /// The market of a market-scoped account (margin, insurance, settlement).
    #[inline]
    fn market_of(&self) -> Option<MarketId> {
        self.market
    }
}

/// A field that carries parties of a payload: `#[event(party)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot carry an event's parties",
    label = "marked `#[event(party)]`",
    note = "a party field is a `PartyId`, a `PartyList`, an `AccountOwner` or an `AccountId`"
)]
pub trait PartyField {
    /// The most parties the field can hold.
    const MAX: usize;

    /// Calls `f` with each party the field holds.
    fn each<F: FnMut(PartyId)>(&self, f: &mut F);
}

/// Adds `party` unless it is listed already (and the list has room).
#[inline]
fn add_once(list: &mut PartyList, party: PartyId) {
    if !list.as_slice().contains(&party) {
        let _ = list.push(party);
    }
}

impl PartyField for PartyId {
    const MAX: usize = 1;

    #[inline]
    fn each<F: FnMut(PartyId)>(&self, f: &mut F) {
        f(*self);
    }
}

impl PartyField for PartyList {
    const MAX: usize = PartyList::CAPACITY;

    #[inline]
    fn each<F: FnMut(PartyId)>(&self, f: &mut F) {
        self.as_slice().iter().copied().for_each(f);
    }
}

impl PartyField for AccountOwner {
    const MAX: usize = 1;

    /// The owner, if a party owns it (the network's accounts touch no party).
    #[inline]
    fn each<F: FnMut(PartyId)>(&self, f: &mut F) {
        if let Some(p) = self.party() {
            f(p);
        }
    }
}

impl PartyField for AccountId {
    const MAX: usize = 1;

    #[inline]
    fn each<F: FnMut(PartyId)>(&self, f: &mut F) {
        self.owner.each(f);
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
    fn each_party<F: FnMut(PartyId)>(&self, f: F) {
        self.payload.each_party(f);
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
