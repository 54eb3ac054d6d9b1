//! Risk-cascade payloads: mark-to-market settlement, distress, position resolution and
//! loss socialisation.

use crate::{MarketId, PartyId, PartyList};
use ringbus_events_derive::EventInterfaces;
use serde::{Deserialize, Serialize};

/// Mark-to-market settlement of one party's position at a new mark price.
///
/// ```
/// use ringbus_events::{MarketId, PartyId, SettlePosition};
/// let s = SettlePosition { party: PartyId(1), market: MarketId(0), mark_price: 110, amount: -50, position: -5 };
/// assert!(s.amount < 0, "a short loses when the price rises");
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, EventInterfaces,
)]
pub struct SettlePosition {
    /// Party.
    #[event(party)]
    pub party: PartyId,
    /// Market.
    #[event(market)]
    pub market: MarketId,
    /// The mark price settled at.
    pub mark_price: u64,
    /// Amount transferred: positive paid to the party, negative taken from it.
    pub amount: i64,
    /// The signed open volume that was settled.
    pub position: i64,
}

/// Parties of one market fell below maintenance margin. Their orders are stopped next;
/// more than [`PartyList::CAPACITY`] parties take several events.
///
/// ```
/// use ringbus_events::{Distressed, MarketId, PartyId, PartyList};
/// let d = Distressed { market: MarketId(0), parties: PartyList::from_slice(&[PartyId(3), PartyId(4)]).unwrap() };
/// assert_eq!(d.parties.len(), 2);
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, EventInterfaces,
)]
pub struct Distressed {
    /// Market.
    #[event(market)]
    pub market: MarketId,
    /// The distressed parties.
    #[event(party)]
    pub parties: PartyList,
}

/// A distressed party's position was closed out against the network.
///
/// ```
/// use ringbus_events::{Closeout, MarketId, PartyId};
/// let c = Closeout { party: PartyId(3), market: MarketId(0), volume: 5, price: 98 };
/// assert_eq!(c.volume, 5);
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, EventInterfaces,
)]
pub struct Closeout {
    /// The closed-out party.
    #[event(party)]
    pub party: PartyId,
    /// Market.
    #[event(market)]
    pub market: MarketId,
    /// Signed volume closed (the party's open volume before; it is zero after).
    pub volume: i64,
    /// The price it was closed at.
    pub price: u64,
}

/// Part of a loss that the insurance pool could not cover, taken from a winning party.
///
/// ```
/// use ringbus_events::{LossSocialisation, MarketId, PartyId};
/// let l = LossSocialisation { party: PartyId(2), market: MarketId(0), amount: -7 };
/// assert_eq!(l.amount, -7);
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, EventInterfaces,
)]
pub struct LossSocialisation {
    /// Party whose win is reduced.
    #[event(party)]
    pub party: PartyId,
    /// Market.
    #[event(market)]
    pub market: MarketId,
    /// Signed amount applied to the party (negative: taken from it).
    pub amount: i64,
}
