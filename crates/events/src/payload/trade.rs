//! The trade payload.

use crate::{MarketId, OrderId, PartyId, Side, TradeId};
use ringbus_events_derive::EventInterfaces;
use serde::{Deserialize, Serialize};

/// Two orders matched.
///
/// ```
/// use ringbus_events::{MarketId, OrderId, PartyId, Side, Trade, TradeId};
/// let t = Trade {
///     id: TradeId(1),
///     market: MarketId(0),
///     price: 101,
///     size: 3,
///     buyer: PartyId(1),
///     seller: PartyId(2),
///     aggressor: Side::Sell,
///     buy_order: OrderId(10),
///     sell_order: OrderId(11),
/// };
/// assert_eq!(t.notional(), 303);
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, EventInterfaces,
)]
pub struct Trade {
    /// Trade id.
    pub id: TradeId,
    /// Market.
    #[event(market)]
    pub market: MarketId,
    /// Price in ticks.
    pub price: u64,
    /// Size traded.
    pub size: u64,
    /// The buying party.
    #[event(party)]
    pub buyer: PartyId,
    /// The selling party.
    #[event(party)]
    pub seller: PartyId,
    /// Side of the incoming (aggressive) order.
    pub aggressor: Side,
    /// The buy order.
    pub buy_order: OrderId,
    /// The sell order.
    pub sell_order: OrderId,
}

impl Trade {
    /// Price times size, widened so it cannot overflow.
    ///
    /// ```
    /// use ringbus_events::Trade;
    /// assert_eq!(Trade { price: u64::MAX, size: 2, ..Trade::default() }.notional(), 2 * u64::MAX as u128);
    /// ```
    pub const fn notional(&self) -> u128 {
        self.price as u128 * self.size as u128
    }
}
