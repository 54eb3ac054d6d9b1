//! The order payload and its enums.

use crate::{ErrorCode, MarketId, OrderId, PartyId};
use ringbus_events_derive::EventInterfaces;
use serde::{Deserialize, Serialize};

/// An order as it stands after a change: a full copy, not a diff.
///
/// ```
/// use ringbus_events::{MarketId, Order, OrderId, OrderStatus, OrderType, PartyId, Side, TimeInForce};
/// let o = Order {
///     id: OrderId(1),
///     market: MarketId(0),
///     party: PartyId(4),
///     side: Side::Buy,
///     price: 100,
///     size: 10,
///     remaining: 4,
///     status: OrderStatus::PartiallyFilled,
///     order_type: OrderType::Limit,
///     time_in_force: TimeInForce::Gtc,
/// };
/// assert_eq!(o.filled(), 6);
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, EventInterfaces,
)]
pub struct Order {
    /// Order id.
    pub id: OrderId,
    /// Market it trades in.
    #[event(market)]
    pub market: MarketId,
    /// Party that placed it.
    #[event(party)]
    pub party: PartyId,
    /// Buy or sell.
    pub side: Side,
    /// Limit price in price ticks (0 for a market order).
    pub price: u64,
    /// Original size.
    pub size: u64,
    /// Size still unfilled.
    pub remaining: u64,
    /// Where the order is in its life.
    pub status: OrderStatus,
    /// Limit or market.
    pub order_type: OrderType,
    /// How long it may rest.
    pub time_in_force: TimeInForce,
}

impl Order {
    /// The size filled so far.
    ///
    /// ```
    /// use ringbus_events::Order;
    /// let o = Order { size: 5, remaining: 5, ..Order::default() };
    /// assert_eq!(o.filled(), 0);
    /// ```
    pub const fn filled(&self) -> u64 {
        self.size.saturating_sub(self.remaining)
    }
}

/// The side of an order or position.
///
/// ```
/// use ringbus_events::Side;
/// assert_eq!(Side::Buy.opposite(), Side::Sell);
/// assert_eq!(Side::Sell.sign(), -1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Side {
    /// Buy (long).
    #[default]
    Buy,
    /// Sell (short).
    Sell,
}

impl Side {
    /// The other side.
    ///
    /// ```
    /// use ringbus_events::Side;
    /// assert_eq!(Side::Sell.opposite(), Side::Buy);
    /// ```
    pub const fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// +1 for a buy, -1 for a sell: the sign of the volume it adds to a position.
    ///
    /// ```
    /// use ringbus_events::Side;
    /// assert_eq!(Side::Buy.sign(), 1);
    /// ```
    pub const fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }
}

/// Where an order is in its life. A rejection is a status too: workflow errors are events.
///
/// ```
/// use ringbus_events::{ErrorCode, OrderStatus};
/// let s = OrderStatus::Rejected(ErrorCode::InvalidSize);
/// assert!(!s.is_live());
/// assert!(OrderStatus::Active.is_live());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderStatus {
    /// Resting on the book, nothing filled.
    #[default]
    Active,
    /// Resting on the book, partly filled.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled by its party.
    Cancelled,
    /// Cancelled by the network (its party became distressed).
    Stopped,
    /// Its time in force ran out.
    Expired,
    /// Refused on submission, with the reason.
    Rejected(ErrorCode),
}

impl OrderStatus {
    /// Whether the order still rests on the book.
    ///
    /// ```
    /// use ringbus_events::OrderStatus;
    /// assert!(!OrderStatus::Filled.is_live());
    /// ```
    pub const fn is_live(self) -> bool {
        matches!(self, OrderStatus::Active | OrderStatus::PartiallyFilled)
    }
}

/// Limit or market order.
///
/// ```
/// use ringbus_events::OrderType;
/// assert_eq!(OrderType::default(), OrderType::Limit);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderType {
    /// Trades at its price or better, may rest.
    #[default]
    Limit,
    /// Trades at any price, never rests.
    Market,
    /// Placed by the network to close out distressed positions.
    Network,
}

/// How long an order may rest on the book.
///
/// ```
/// use ringbus_events::TimeInForce;
/// assert_eq!(TimeInForce::default(), TimeInForce::Gtc);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TimeInForce {
    /// Good till cancelled.
    #[default]
    Gtc,
    /// Good till a chain time (ns).
    Gtt,
    /// Immediate or cancel: trades what it can now, the rest is cancelled.
    Ioc,
    /// Fill or kill: trades fully now or not at all.
    Fok,
}
