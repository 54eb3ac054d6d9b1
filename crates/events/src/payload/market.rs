//! Market-wide payloads: the mark price and the insurance pool.

use crate::{AssetId, MarketId};
use ringbus_events_derive::EventInterfaces;
use serde::{Deserialize, Serialize};

/// A market's mark price changed: the start of a risk cascade.
///
/// ```
/// use ringbus_events::{MarketId, MarkPrice};
/// let m = MarkPrice { market: MarketId(0), price: 105 };
/// assert_eq!(m.price, 105);
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, EventInterfaces,
)]
pub struct MarkPrice {
    /// Market.
    #[event(market)]
    pub market: MarketId,
    /// New mark price in ticks.
    pub price: u64,
}

/// A market's insurance pool after a change.
///
/// ```
/// use ringbus_events::{AssetId, InsurancePool, MarketId};
/// let p = InsurancePool { market: MarketId(0), asset: AssetId(0), balance: 900, delta: -100 };
/// assert_eq!(p.previous_balance(), Some(1_000));
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, EventInterfaces,
)]
pub struct InsurancePool {
    /// Market.
    #[event(market)]
    pub market: MarketId,
    /// Asset of the pool.
    pub asset: AssetId,
    /// Balance after the change.
    pub balance: u64,
    /// Signed change: positive when closed-out margin flowed in, negative on a drawdown.
    pub delta: i64,
}

impl InsurancePool {
    /// The balance before this change (`None` if the numbers are inconsistent).
    ///
    /// ```
    /// use ringbus_events::InsurancePool;
    /// let p = InsurancePool { balance: 5, delta: 10, ..InsurancePool::default() };
    /// assert_eq!(p.previous_balance(), None);
    /// ```
    pub fn previous_balance(&self) -> Option<u64> {
        i128::from(self.balance)
            .checked_sub(i128::from(self.delta))
            .and_then(|b| u64::try_from(b).ok())
    }
}
