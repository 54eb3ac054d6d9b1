//! The trading-node event model of ringbus.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod event;
mod ids;
mod payload;
mod topic;
pub mod topic_sets;

pub use event::{Event, Source, Trigger, TriggerType};
pub use ids::{AssetId, BlockHash, BlockTime, MarketId, OrderId, PartyId, TradeId, TxHash};
pub use payload::*;
pub use topic::{EventTopic, UnknownTopic};

#[cfg(test)]
mod size_tests {
    use super::*;
    use std::mem::size_of;

    /// The ring stores events inline; keep them within two cache lines' worth of a slot.
    #[test]
    fn event_is_small_and_heap_free() {
        fn assert_copy<T: Copy + Default + Send + Sync + 'static>() {}
        assert_copy::<Event>();
        assert_eq!(size_of::<Event>(), 112);
        assert!(size_of::<Payload>() <= 56);
        assert_eq!(size_of::<Trigger>(), 16);
    }
}
