//! Fixed-size identifiers and chain time: every id is a small integer, so an event never
//! points at heap data and copying one into a ring slot never allocates.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident($inner:ty), $prefix:literal, $example:literal) => {
        $(#[$doc])*
        ///
        /// ```
        #[doc = concat!("use ringbus_events::", stringify!($name), ";")]
        #[doc = concat!("let id = ", stringify!($name), "(", $example, ");")]
        #[doc = concat!("assert_eq!(id.to_string(), \"", $prefix, $example, "\");")]
        /// ```
        #[derive(
            Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }

        /// Parses a bare number or the id as it prints (surrounding spaces ignored).
        ///
        /// ```
        #[doc = concat!("use ringbus_events::", stringify!($name), ";")]
        #[doc = concat!("assert_eq!(\"", $example, "\".parse(), Ok(", stringify!($name), "(", $example, ")));")]
        #[doc = concat!("assert_eq!(\"", $prefix, $example, "\".parse(), Ok(", stringify!($name), "(", $example, ")));")]
        #[doc = concat!("assert!(\"x", $example, "\".parse::<", stringify!($name), ">().is_err());")]
        /// ```
        impl std::str::FromStr for $name {
            type Err = InvalidId;

            fn from_str(s: &str) -> Result<Self, InvalidId> {
                let text = s.trim();
                let digits = text.strip_prefix($prefix).unwrap_or(text);
                digits.parse().map($name).map_err(|_| InvalidId {
                    text: s.to_owned(),
                    kind: $prefix.trim_end_matches('-'),
                })
            }
        }
    };
}

/// Text that names no id of its kind: neither a number in the id's range nor the id as it
/// prints (`market-3`).
///
/// ```
/// use ringbus_events::MarketId;
/// let err = "70000".parse::<MarketId>().unwrap_err();
/// assert_eq!(err.to_string(), "`70000` is not a market id (a number, or market-N)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a {kind} id (a number, or {kind}-N)")]
pub struct InvalidId {
    /// The text given.
    pub text: String,
    /// The kind of id asked for (`market`, `party`, ...).
    pub kind: &'static str,
}

id_type!(
    /// A trading party (trader), numbered by the core.
    PartyId(u32), "party-", "7"
);
id_type!(
    /// A market.
    MarketId(u16), "market-", "3"
);
id_type!(
    /// An asset (the settlement currency of accounts).
    AssetId(u16), "asset-", "1"
);
id_type!(
    /// An order, unique for the life of the node.
    OrderId(u64), "order-", "42"
);
id_type!(
    /// A trade, unique for the life of the node.
    TradeId(u64), "trade-", "9"
);
id_type!(
    /// A transaction's hash, shortened to 64 bits (unique within a simulated chain).
    TxHash(u64), "tx-", "1234"
);
id_type!(
    /// A block's hash, shortened to 64 bits.
    BlockHash(u64), "block-", "99"
);

/// Simulated chain time in nanoseconds: the block time agreed by consensus, never wall-clock
/// time, so replaying the same blocks gives the same stream.
///
/// ```
/// use ringbus_events::BlockTime;
/// let t = BlockTime::from_secs(2);
/// assert_eq!(t.as_nanos(), 2_000_000_000);
/// assert_eq!(t.to_string(), "2000000000ns");
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct BlockTime(pub i64);

impl BlockTime {
    /// The time `secs` seconds after the chain's epoch.
    pub const fn from_secs(secs: i64) -> Self {
        BlockTime(secs.saturating_mul(1_000_000_000))
    }

    /// Nanoseconds since the chain's epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }
}

impl fmt::Display for BlockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ns", self.0)
    }
}
