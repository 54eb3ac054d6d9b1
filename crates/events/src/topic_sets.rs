//! Named topic sets for the usual subscriptions, usable in `const` items.

use crate::EventTopic;
use ringbus_ring::TopicSet;

/// The [`TopicSet`] holding exactly `topics` (a `const fn`, for named subscriptions).
///
/// ```
/// use ringbus_events::{topic_sets, EventTopic};
/// const TRADES: ringbus_ring::TopicSet = topic_sets::of(&[EventTopic::Trade]);
/// assert!(TRADES.contains(EventTopic::Trade.ring_topic()));
/// assert_eq!(TRADES.len(), 1);
/// ```
pub const fn of(topics: &[EventTopic]) -> TopicSet {
    EventTopic::set(topics)
}

/// Block and transaction boundaries: BeginBlock, TimeUpdate, TxResult, EndBlock.
///
/// ```
/// use ringbus_events::{topic_sets, EventTopic};
/// assert!(topic_sets::BLOCK_FRAMING.contains(EventTopic::EndBlock.ring_topic()));
/// ```
pub const BLOCK_FRAMING: TopicSet = of(&[
    EventTopic::BeginBlock,
    EventTopic::TimeUpdate,
    EventTopic::TxResult,
    EventTopic::EndBlock,
]);

/// What the positions plug-in reads: trades, mark prices, settlement and position
/// resolution, plus the block framing it snapshots on.
///
/// ```
/// use ringbus_events::{topic_sets, EventTopic};
/// assert!(topic_sets::POSITIONS_INPUTS.contains(EventTopic::Closeout.ring_topic()));
/// assert!(!topic_sets::POSITIONS_INPUTS.contains(EventTopic::Account.ring_topic()));
/// ```
pub const POSITIONS_INPUTS: TopicSet = BLOCK_FRAMING.union(of(&[
    EventTopic::Trade,
    EventTopic::MarkPrice,
    EventTopic::SettlePosition,
    EventTopic::Distressed,
    EventTopic::Closeout,
    EventTopic::LossSocialisation,
]));

/// What the account/order/trade/ledger stores read, plus the block framing they commit on.
///
/// ```
/// use ringbus_events::{topic_sets, EventTopic};
/// assert!(topic_sets::STORE_INPUTS.contains(EventTopic::LedgerMovement.ring_topic()));
/// assert!(topic_sets::STORE_INPUTS.contains(EventTopic::EndBlock.ring_topic()));
/// ```
pub const STORE_INPUTS: TopicSet = BLOCK_FRAMING.union(of(&[
    EventTopic::Order,
    EventTopic::Trade,
    EventTopic::Account,
    EventTopic::LedgerMovement,
]));

/// The risk cascade that follows a mark-price move, published as one batch.
///
/// ```
/// use ringbus_events::{topic_sets, EventTopic};
/// assert!(topic_sets::RISK_CASCADE.contains(EventTopic::InsurancePool.ring_topic()));
/// ```
pub const RISK_CASCADE: TopicSet = of(&[
    EventTopic::MarkPrice,
    EventTopic::SettlePosition,
    EventTopic::Distressed,
    EventTopic::Closeout,
    EventTopic::InsurancePool,
    EventTopic::LossSocialisation,
]);

/// Every topic this crate defines (and no other tag).
///
/// ```
/// use ringbus_events::{topic_sets, EventTopic};
/// assert_eq!(topic_sets::ALL_EVENTS.len(), EventTopic::COUNT);
/// ```
pub const ALL_EVENTS: TopicSet = EventTopic::ALL_SET;

/// Every topic whose payload may belong to a market: what a market's subscription reads
/// (`#[event(market)]` fields, gathered by the derive).
///
/// ```
/// use ringbus_events::{topic_sets, EventTopic};
/// assert!(topic_sets::MARKET_EVENTS.contains(EventTopic::MarkPrice.ring_topic()));
/// assert!(!topic_sets::MARKET_EVENTS.contains(EventTopic::EndBlock.ring_topic()));
/// ```
pub const MARKET_EVENTS: TopicSet = EventTopic::WITH_MARKET;

/// Every topic whose payload may touch parties: what a party's subscription reads
/// (`#[event(party)]` fields, gathered by the derive).
///
/// ```
/// use ringbus_events::{topic_sets, EventTopic};
/// assert!(topic_sets::PARTY_EVENTS.contains(EventTopic::Trade.ring_topic()));
/// assert!(!topic_sets::PARTY_EVENTS.contains(EventTopic::MarkPrice.ring_topic()));
/// ```
pub const PARTY_EVENTS: TopicSet = EventTopic::WITH_PARTIES;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_dense_and_named_uniquely() {
        for (i, t) in EventTopic::ALL.iter().enumerate() {
            assert_eq!(usize::from(t.id()), i + 1, "{t}");
            assert_eq!(EventTopic::from_id(t.id()), Some(*t));
            assert_eq!(t.name().parse::<EventTopic>(), Ok(*t));
            assert_eq!(EventTopic::try_from(t.ring_topic()), Ok(*t));
        }
        assert_eq!(EventTopic::from_id(0), None);
        assert_eq!(EventTopic::from_id(17), None);
    }

    #[test]
    fn sets_hold_what_their_names_say() {
        assert_eq!(BLOCK_FRAMING.len(), 4);
        assert_eq!(POSITIONS_INPUTS.len(), 10);
        assert_eq!(STORE_INPUTS.len(), 8);
        assert_eq!(ALL_EVENTS.iter().count(), EventTopic::COUNT);
        // Every topic but the four of the framing carries a market; every one but the
        // framing, mark prices and insurance pools touches parties.
        let all_but = |left_out: TopicSet| -> TopicSet {
            ALL_EVENTS
                .iter()
                .filter(|t| !left_out.contains(*t))
                .collect()
        };
        assert_eq!(MARKET_EVENTS, all_but(BLOCK_FRAMING));
        let no_parties = of(&[EventTopic::MarkPrice, EventTopic::InsurancePool]);
        assert_eq!(PARTY_EVENTS, all_but(BLOCK_FRAMING.union(no_parties)));
    }
}
