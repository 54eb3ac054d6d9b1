//! The derives in a crate of one's own: a payload enum of two kinds, its topics and sets.
use ringbus_events::{
    EventInterfaces, EventPayload, MarketEvent, MarketId, PartyEvent, PartyId,
};

#[derive(Clone, Copy, Debug, serde::Serialize, EventInterfaces)]
struct Quote {
    #[event(market)]
    market: MarketId,
    #[event(party)]
    maker: PartyId,
    price: u64,
}

#[derive(Clone, Copy, Debug, serde::Serialize, EventInterfaces)]
struct Heartbeat;

#[derive(Clone, Copy, Debug, EventPayload)]
#[event(topic = FeedTopic)]
enum Feed {
    /// A market maker's quote.
    #[event(id = 7)]
    Quote(Quote),
    /// Nothing happened.
    #[event(id = 3)]
    Heartbeat(Heartbeat),
}

fn main() {
    let q = Feed::from(Quote { market: MarketId(2), maker: PartyId(9), price: 5 });
    assert_eq!(q.topic(), FeedTopic::Quote);
    assert_eq!(q.market(), Some(MarketId(2)));
    assert_eq!(q.parties().as_slice(), &[PartyId(9)]);
    assert_eq!(Feed::from(Heartbeat).market(), None);
    assert_eq!(FeedTopic::ALL, [FeedTopic::Heartbeat, FeedTopic::Quote]);
    assert_eq!("quote".parse::<FeedTopic>().unwrap().id(), 7);
    assert!(FeedTopic::WITH_MARKET.contains(FeedTopic::Quote.ring_topic()));
    assert!(!FeedTopic::WITH_PARTIES.contains(FeedTopic::Heartbeat.ring_topic()));
    assert_eq!(FeedTopic::ALL_SET.len(), 2);
}
