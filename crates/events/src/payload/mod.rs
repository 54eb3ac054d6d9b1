//! Payloads: one self-contained, heap-free type per topic, and [`Payload`], the sum of them.

mod account;
mod block;
mod market;
mod order;
mod party_list;
mod position;
mod risk;
mod trade;

pub use account::{Account, AccountId, AccountOwner, AccountType, LedgerMovement, TransferType};
pub use block::{BeginBlock, EndBlock, ErrorCode, TimeUpdate, TxKind, TxOutcome, TxResult};
pub use market::{InsurancePool, MarkPrice};
pub use order::{Order, OrderStatus, OrderType, Side, TimeInForce};
pub use party_list::{PartyList, PartyListFull};
pub use position::{MarginLevels, Position};
pub use risk::{Closeout, Distressed, LossSocialisation, SettlePosition};
pub use trade::Trade;

use crate::{EventTopic, MarketEvent, MarketId, PartyEvent};
use serde::{Deserialize, Serialize};

macro_rules! payload {
    ($($name:ident,)*) => {
        /// The data of an event: one variant per [`EventTopic`], named after it. The variant
        /// *is* the topic (see [`Payload::topic`]), so the two can never disagree.
        ///
        /// ```
        /// use ringbus_events::{EventTopic, MarkPrice, MarketId, Payload};
        /// let p = Payload::from(MarkPrice { market: MarketId(1), price: 100 });
        /// assert_eq!(p.topic(), EventTopic::MarkPrice);
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Payload {
            $(
                #[doc = concat!("A [`", stringify!($name), "`] payload (topic [`EventTopic::", stringify!($name), "`]).")]
                $name($name),
            )*
        }

        impl Payload {
            /// The topic this payload is published on.
            ///
            /// ```
            /// use ringbus_events::{EventTopic, Payload, Trade};
            /// assert_eq!(Payload::Trade(Trade::default()).topic(), EventTopic::Trade);
            /// ```
            #[inline]
            pub const fn topic(&self) -> EventTopic {
                match self {
                    $(Payload::$name(_) => EventTopic::$name,)*
                }
            }

            /// Serializes the variant's data alone, without the variant name (JSON lines
            /// carry the topic in a field of their own).
            pub(crate) fn serialize_body<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Payload::$name(p) => p.serialize(s),)*
                }
            }
        }

        impl MarketEvent for Payload {
            /// The variant's market.
            #[inline]
            fn market(&self) -> Option<MarketId> {
                match self {
                    $(Payload::$name(p) => p.market(),)*
                }
            }
        }

        impl PartyEvent for Payload {
            /// The variant's parties.
            #[inline]
            fn parties(&self) -> PartyList {
                match self {
                    $(Payload::$name(p) => p.parties(),)*
                }
            }
        }

        $(
            impl From<$name> for Payload {
                fn from(p: $name) -> Payload {
                    Payload::$name(p)
                }
            }
        )*
    };
}

payload! {
    BeginBlock,
    EndBlock,
    TxResult,
    TimeUpdate,
    Order,
    Trade,
    Account,
    LedgerMovement,
    Position,
    MarkPrice,
    MarginLevels,
    SettlePosition,
    Distressed,
    Closeout,
    LossSocialisation,
    InsurancePool,
}

impl Default for Payload {
    /// A zero [`TimeUpdate`]: harmless filler for pre-allocated ring slots.
    fn default() -> Self {
        Payload::TimeUpdate(TimeUpdate::default())
    }
}
