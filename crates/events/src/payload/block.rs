//! Block and transaction framing payloads, and the workflow error codes a transaction ends with.

use crate::{BlockHash, BlockTime, TxHash};
use ringbus_events_derive::EventInterfaces;
use serde::{Deserialize, Serialize};

/// A block starts. Everything until the matching [`EndBlock`] belongs to this block.
///
/// ```
/// use ringbus_events::{BeginBlock, BlockHash, BlockTime};
/// let b = BeginBlock { height: 10, time: BlockTime::from_secs(10), hash: BlockHash(0xabc) };
/// assert_eq!(b.height, 10);
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, EventInterfaces,
)]
pub struct BeginBlock {
    /// Block height.
    pub height: u64,
    /// Block time (chain time, not wall time).
    pub time: BlockTime,
    /// Block hash.
    pub hash: BlockHash,
}

/// A block ends: the point where stores commit and plug-ins publish consistent snapshots.
///
/// ```
/// use ringbus_events::{BlockHash, BlockTime, EndBlock};
/// let e = EndBlock { height: 10, time: BlockTime::from_secs(10), hash: BlockHash(0xabc), tx_count: 3 };
/// assert_eq!(e.tx_count, 3);
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, EventInterfaces,
)]
pub struct EndBlock {
    /// Block height (the same as the block's [`BeginBlock`]).
    pub height: u64,
    /// Block time.
    pub time: BlockTime,
    /// Block hash.
    pub hash: BlockHash,
    /// How many transactions the block held (how many [`TxResult`]s preceded this).
    pub tx_count: u32,
}

/// Chain time moved forward; published once per block, right after [`BeginBlock`].
///
/// ```
/// use ringbus_events::{BlockTime, TimeUpdate};
/// let t = TimeUpdate { time: BlockTime::from_secs(3) };
/// assert_eq!(t.time.as_nanos(), 3_000_000_000);
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, EventInterfaces,
)]
pub struct TimeUpdate {
    /// The new chain time.
    pub time: BlockTime,
}

/// The end of one transaction: the last event the transaction caused.
///
/// ```
/// use ringbus_events::{ErrorCode, TxHash, TxKind, TxOutcome, TxResult};
/// let r = TxResult {
///     tx_index: 2,
///     tx_hash: TxHash(77),
///     kind: TxKind::SubmitOrder,
///     outcome: TxOutcome::Failed(ErrorCode::InsufficientMargin),
/// };
/// assert!(!r.outcome.is_success());
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, EventInterfaces,
)]
pub struct TxResult {
    /// Index of the transaction within its block.
    pub tx_index: u32,
    /// The transaction's hash.
    pub tx_hash: TxHash,
    /// What the transaction asked for.
    pub kind: TxKind,
    /// Whether it succeeded.
    pub outcome: TxOutcome,
}

/// What a transaction asked the core to do.
///
/// ```
/// use ringbus_events::TxKind;
/// assert_eq!(TxKind::default(), TxKind::SubmitOrder);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TxKind {
    /// Submit a new order.
    #[default]
    SubmitOrder,
    /// Amend a resting order.
    AmendOrder,
    /// Cancel a resting order.
    CancelOrder,
    /// Deposit funds into a general account.
    Deposit,
    /// Withdraw funds from a general account.
    Withdraw,
    /// An oracle or validator price update.
    PriceUpdate,
}

/// How a transaction ended.
///
/// ```
/// use ringbus_events::{ErrorCode, TxOutcome};
/// assert!(TxOutcome::Success.is_success());
/// assert_eq!(TxOutcome::Failed(ErrorCode::UnknownMarket).error(), Some(ErrorCode::UnknownMarket));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TxOutcome {
    /// The transaction was applied.
    #[default]
    Success,
    /// The transaction was refused with this workflow error (it is still an event).
    Failed(ErrorCode),
}

impl TxOutcome {
    /// Whether the transaction was applied.
    ///
    /// ```
    /// use ringbus_events::TxOutcome;
    /// assert!(TxOutcome::default().is_success());
    /// ```
    pub const fn is_success(self) -> bool {
        matches!(self, TxOutcome::Success)
    }

    /// The error, if it failed.
    ///
    /// ```
    /// use ringbus_events::TxOutcome;
    /// assert_eq!(TxOutcome::Success.error(), None);
    /// ```
    pub const fn error(self) -> Option<ErrorCode> {
        match self {
            TxOutcome::Success => None,
            TxOutcome::Failed(code) => Some(code),
        }
    }
}

/// A workflow error: why the core refused a transaction or an order.
///
/// ```
/// use ringbus_events::ErrorCode;
/// let e = ErrorCode::InvalidPrice;
/// assert_eq!(format!("{e:?}"), "InvalidPrice");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// The party cannot post the margin the order needs.
    InsufficientMargin,
    /// The party's general account cannot cover a withdrawal or transfer.
    InsufficientFunds,
    /// Price is zero, off the tick, or otherwise invalid.
    InvalidPrice,
    /// Size is zero or too large.
    InvalidSize,
    /// The market does not exist.
    UnknownMarket,
    /// The order to amend or cancel does not exist (or is no longer live).
    UnknownOrder,
    /// The party does not exist.
    UnknownParty,
    /// The market is not trading.
    MarketClosed,
    /// The party is distressed and may not trade.
    PartyDistressed,
    /// The order would trade with another order of the same party.
    SelfTrade,
    /// A fill-or-kill or immediate-or-cancel order found nothing to trade with.
    NoLiquidity,
}
