//! Event topics: the channel an event is published on, with a stable one-byte id that is
//! also the ring's [`Topic`] tag, so a consumer filters without touching the payload.

use ringbus_ring::Topic;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! topics {
    ($($(#[$doc:meta])* $name:ident = $id:literal,)*) => {
        /// The category of an event. Each has a stable id (never reused or renumbered: logs and
        /// other nodes depend on it) and a name used in JSON and on the command line.
        ///
        /// ```
        /// use ringbus_events::EventTopic;
        /// assert_eq!(EventTopic::Trade.id(), 6);
        /// assert_eq!(EventTopic::from_id(6), Some(EventTopic::Trade));
        /// assert_eq!("Trade".parse::<EventTopic>(), Ok(EventTopic::Trade));
        /// assert_eq!(EventTopic::ALL.len(), EventTopic::COUNT);
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[repr(u8)]
        pub enum EventTopic {
            $($(#[$doc])* $name = $id,)*
        }

        impl EventTopic {
            /// Every topic, in id order.
            ///
            /// ```
            /// use ringbus_events::EventTopic;
            /// assert_eq!(EventTopic::ALL[0], EventTopic::BeginBlock);
            /// ```
            pub const ALL: [EventTopic; [$($id),*].len()] = [$(EventTopic::$name),*];
            /// The number of topics.
            ///
            /// ```
            /// assert_eq!(ringbus_events::EventTopic::COUNT, 16);
            /// ```
            pub const COUNT: usize = Self::ALL.len();

            /// The topic with this id, if there is one.
            ///
            /// ```
            /// use ringbus_events::EventTopic;
            /// assert_eq!(EventTopic::from_id(1), Some(EventTopic::BeginBlock));
            /// assert_eq!(EventTopic::from_id(0), None);
            /// ```
            pub const fn from_id(id: u8) -> Option<EventTopic> {
                match id {
                    $($id => Some(EventTopic::$name),)*
                    _ => None,
                }
            }

            /// The topic's name, as written in JSON lines.
            ///
            /// ```
            /// use ringbus_events::EventTopic;
            /// assert_eq!(EventTopic::SettlePosition.name(), "SettlePosition");
            /// ```
            pub const fn name(self) -> &'static str {
                match self {
                    $(EventTopic::$name => stringify!($name),)*
                }
            }
        }
    };
}

topics! {
    /// A block starts: its height, time and hash. Opens the frame of a block.
    BeginBlock = 1,
    /// A block ends: stores commit here, plug-ins publish their snapshots.
    EndBlock = 2,
    /// A transaction ends: success, or the workflow error that rejected it.
    TxResult = 3,
    /// Chain time moved forward (once per block, after BeginBlock).
    TimeUpdate = 4,
    /// An order was created, changed, filled, cancelled, stopped or rejected.
    Order = 5,
    /// Two orders matched.
    Trade = 6,
    /// An account's balance changed.
    Account = 7,
    /// Money moved between two accounts.
    LedgerMovement = 8,
    /// A party's position in a market changed.
    Position = 9,
    /// A market's mark price changed.
    MarkPrice = 10,
    /// A party's margin requirements were recomputed.
    MarginLevels = 11,
    /// Mark-to-market settlement of one party's position.
    SettlePosition = 12,
    /// Parties fell below maintenance margin.
    Distressed = 13,
    /// A distressed party's position was closed out (position resolution).
    Closeout = 14,
    /// A loss the insurance pool could not cover was spread over winning parties.
    LossSocialisation = 15,
    /// A market's insurance pool balance changed.
    InsurancePool = 16,
}

impl EventTopic {
    /// The ring tag for this topic (the same number as [`EventTopic::id`]).
    ///
    /// ```
    /// use ringbus_events::EventTopic;
    /// use ringbus_ring::Topic;
    /// assert_eq!(EventTopic::Order.ring_topic(), Topic::new(5));
    /// ```
    #[inline]
    pub const fn ring_topic(self) -> Topic {
        Topic::new(self as u8)
    }

    /// The topic's stable id.
    ///
    /// ```
    /// use ringbus_events::EventTopic;
    /// assert_eq!(EventTopic::InsurancePool.id(), 16);
    /// ```
    #[inline]
    pub const fn id(self) -> u8 {
        self as u8
    }
}

impl From<EventTopic> for Topic {
    fn from(topic: EventTopic) -> Topic {
        topic.ring_topic()
    }
}

impl TryFrom<Topic> for EventTopic {
    type Error = UnknownTopic;

    fn try_from(topic: Topic) -> Result<Self, UnknownTopic> {
        EventTopic::from_id(topic.get()).ok_or(UnknownTopic(topic.get().to_string()))
    }
}

impl fmt::Display for EventTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EventTopic {
    type Err = UnknownTopic;

    /// Parses a topic name, ignoring ASCII case (`trade`, `Trade`, `TRADE`).
    fn from_str(s: &str) -> Result<Self, UnknownTopic> {
        EventTopic::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownTopic(s.to_owned()))
    }
}

/// A topic name or id that names no [`EventTopic`].
///
/// ```
/// use ringbus_events::{EventTopic, UnknownTopic};
/// let err = "Quote".parse::<EventTopic>().unwrap_err();
/// assert_eq!(err, UnknownTopic("Quote".to_owned()));
/// assert_eq!(err.to_string(), "unknown event topic `Quote`");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown event topic `{0}`")]
pub struct UnknownTopic(pub String);
