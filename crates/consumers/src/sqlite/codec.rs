//! Enum ↔ integer column codes, shared by every SQL store (SQLite here, PostgreSQL in
//! `ringbus-remote`). Codes are part of the database format: append, never renumber.
//!
//! ```
//! use ringbus_consumers::codec::{side_code, side_from, status_code, status_from};
//! use ringbus_events::{ErrorCode, OrderStatus, Side};
//! assert_eq!(side_from(side_code(Side::Sell))?, Side::Sell);
//! let s = OrderStatus::Rejected(ErrorCode::SelfTrade);
//! assert_eq!(status_from(status_code(s))?, s);
//! # Ok::<(), ringbus_consumers::StoreError>(())
//! ```

use crate::StoreError;
use ringbus_events::{
    AccountId, AccountOwner, AccountType, AssetId, ErrorCode, LedgerMovement, MarketId,
    OrderStatus, OrderType, PartyId, Side, TimeInForce, TransferType,
};

macro_rules! codes {
    ($to:ident, $from:ident, $ty:ty, $what:literal, [$($v:expr),* $(,)?]) => {
        #[doc = concat!("The code of a ", $what, " (its index in the append-only list; -1 never happens).")]
        pub fn $to(v: $ty) -> i64 {
            const ALL: &[$ty] = &[$($v),*];
            ALL.iter().position(|x| *x == v).map_or(-1, |i| i as i64)
        }
        #[doc = concat!("The ", $what, " with this code, or [`StoreError::Corrupt`].")]
        pub fn $from(code: i64) -> Result<$ty, StoreError> {
            const ALL: &[$ty] = &[$($v),*];
            usize::try_from(code)
                .ok()
                .and_then(|i| ALL.get(i).copied())
                .ok_or(StoreError::Corrupt { what: $what, value: code })
        }
    };
}

codes!(side_code, side_from, Side, "side", [Side::Buy, Side::Sell]);
codes!(
    order_type_code,
    order_type_from,
    OrderType,
    "order type",
    [OrderType::Limit, OrderType::Market, OrderType::Network]
);
codes!(
    tif_code,
    tif_from,
    TimeInForce,
    "time in force",
    [
        TimeInForce::Gtc,
        TimeInForce::Gtt,
        TimeInForce::Ioc,
        TimeInForce::Fok
    ]
);
codes!(
    account_type_code,
    account_type_from,
    AccountType,
    "account type",
    [
        AccountType::General,
        AccountType::Margin,
        AccountType::Insurance,
        AccountType::Settlement,
        AccountType::Fees
    ]
);
codes!(
    transfer_code,
    transfer_from,
    TransferType,
    "transfer type",
    [
        TransferType::Deposit,
        TransferType::Withdrawal,
        TransferType::MarginLow,
        TransferType::MarginHigh,
        TransferType::MtmLoss,
        TransferType::MtmWin,
        TransferType::Closeout,
        TransferType::InsuranceDrawdown,
        TransferType::Fee
    ]
);
codes!(
    error_code,
    error_from,
    ErrorCode,
    "error code",
    [
        ErrorCode::InsufficientMargin,
        ErrorCode::InsufficientFunds,
        ErrorCode::InvalidPrice,
        ErrorCode::InvalidSize,
        ErrorCode::UnknownMarket,
        ErrorCode::UnknownOrder,
        ErrorCode::UnknownParty,
        ErrorCode::MarketClosed,
        ErrorCode::PartyDistressed,
        ErrorCode::SelfTrade,
        ErrorCode::NoLiquidity
    ]
);

/// Order status: 0..=5 for the plain states, 100 + error code for a rejection.
pub fn status_code(s: OrderStatus) -> i64 {
    match s {
        OrderStatus::Active => 0,
        OrderStatus::PartiallyFilled => 1,
        OrderStatus::Filled => 2,
        OrderStatus::Cancelled => 3,
        OrderStatus::Stopped => 4,
        OrderStatus::Expired => 5,
        OrderStatus::Rejected(code) => 100 + error_code(code),
    }
}

/// The order status with this code, or [`StoreError::Corrupt`].
pub fn status_from(code: i64) -> Result<OrderStatus, StoreError> {
    Ok(match code {
        0 => OrderStatus::Active,
        1 => OrderStatus::PartiallyFilled,
        2 => OrderStatus::Filled,
        3 => OrderStatus::Cancelled,
        4 => OrderStatus::Stopped,
        5 => OrderStatus::Expired,
        c if c >= 100 => OrderStatus::Rejected(error_from(c - 100)?),
        c => {
            return Err(StoreError::Corrupt {
                what: "order status",
                value: c,
            })
        }
    })
}

/// An account id as four columns: owner (-1 network), market (-1 none), asset, type.
pub fn account_cols(id: &AccountId) -> [i64; 4] {
    [
        id.owner.party().map_or(-1, |p| i64::from(p.0)),
        id.market.map_or(-1, |m| i64::from(m.0)),
        i64::from(id.asset.0),
        account_type_code(id.kind),
    ]
}

/// A ledger movement's row: its sequence, the four columns of each account, the amount and
/// the transfer kind. Unsigned values are stored bit for bit (read back with `as u64`).
pub fn ledger_cols(sequence: u64, l: &LedgerMovement) -> [i64; 11] {
    let [fo, fm, fa, fk] = account_cols(&l.from);
    let [to, tm, ta, tk] = account_cols(&l.to);
    let bits = |v: u64| v as i64;
    [
        bits(sequence),
        fo,
        fm,
        fa,
        fk,
        to,
        tm,
        ta,
        tk,
        bits(l.amount),
        transfer_code(l.kind),
    ]
}

/// The account id of four columns written by [`account_cols`].
pub fn account_from(cols: [i64; 4]) -> Result<AccountId, StoreError> {
    let bad = |what, value| StoreError::Corrupt { what, value };
    let owner = match cols[0] {
        -1 => AccountOwner::Network,
        p => AccountOwner::Party(PartyId(u32::try_from(p).map_err(|_| bad("party", p))?)),
    };
    let market = match cols[1] {
        -1 => None,
        m => Some(MarketId(u16::try_from(m).map_err(|_| bad("market", m))?)),
    };
    let asset = AssetId(u16::try_from(cols[2]).map_err(|_| bad("asset", cols[2]))?);
    Ok(AccountId {
        owner,
        market,
        asset,
        kind: account_type_from(cols[3])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for s in [
            OrderStatus::Active,
            OrderStatus::Expired,
            OrderStatus::Rejected(ErrorCode::NoLiquidity),
        ] {
            assert_eq!(status_from(status_code(s)).unwrap(), s);
        }
        let id = AccountId::margin(PartyId(3), MarketId(2), AssetId(1));
        assert_eq!(account_from(account_cols(&id)).unwrap(), id);
        let pool = AccountId::insurance(MarketId(2), AssetId(1));
        assert_eq!(account_from(account_cols(&pool)).unwrap(), pool);
        assert!(side_from(7).is_err());
        assert!(status_from(42).is_err());
    }
}
