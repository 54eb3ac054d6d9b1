//! Position and margin payloads: per party and market.

use crate::{MarketId, PartyId};
use ringbus_events_derive::EventInterfaces;
use serde::{Deserialize, Serialize};

/// A party's position in a market after a change.
///
/// ```
/// use ringbus_events::{MarketId, PartyId, Position};
/// let p = Position { party: PartyId(1), market: MarketId(0), open_volume: -5, average_entry_price: 100, realised_pnl: 0, unrealised_pnl: 25 };
/// assert!(p.is_short());
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, EventInterfaces,
)]
pub struct Position {
    /// Party.
    #[event(party)]
    pub party: PartyId,
    /// Market.
    #[event(market)]
    pub market: MarketId,
    /// Signed volume: positive long, negative short.
    pub open_volume: i64,
    /// Volume-weighted entry price of the open volume, in ticks.
    pub average_entry_price: u64,
    /// P&L locked in by closing volume.
    pub realised_pnl: i64,
    /// P&L of the open volume at the current mark price.
    pub unrealised_pnl: i64,
}

impl Position {
    /// Whether the position is short.
    ///
    /// ```
    /// use ringbus_events::Position;
    /// assert!(!Position::default().is_short());
    /// ```
    pub const fn is_short(&self) -> bool {
        self.open_volume < 0
    }
}

/// A party's margin requirements in a market, recomputed by the risk engine.
/// Ordered: `maintenance <= search <= initial <= release`.
///
/// ```
/// use ringbus_events::{MarginLevels, MarketId, PartyId};
/// let m = MarginLevels { party: PartyId(1), market: MarketId(0), maintenance: 100, search: 120, initial: 150, release: 200 };
/// assert!(m.is_ordered());
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, EventInterfaces,
)]
pub struct MarginLevels {
    /// Party.
    #[event(party)]
    pub party: PartyId,
    /// Market.
    #[event(market)]
    pub market: MarketId,
    /// Below this the party is distressed.
    pub maintenance: u64,
    /// Below this margin is topped up from the general account.
    pub search: u64,
    /// What a top-up brings the margin account to.
    pub initial: u64,
    /// Above this the excess goes back to the general account.
    pub release: u64,
}

impl MarginLevels {
    /// Whether the levels are in their documented order.
    ///
    /// ```
    /// use ringbus_events::MarginLevels;
    /// assert!(MarginLevels::default().is_ordered());
    /// ```
    pub const fn is_ordered(&self) -> bool {
        self.maintenance <= self.search
            && self.search <= self.initial
            && self.initial <= self.release
    }
}
