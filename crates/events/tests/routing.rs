//! Events on a routed bus: for random streams and random filters (topics x markets x
//! parties), every consumer sees exactly the events a reference filter over the events
//! selects, in order, digest collisions included.

mod common;

use common::*;
use proptest::prelude::*;
use ringbus_events::*;
use ringbus_ring::{PollError, RingBus, Subscription, TopicSet};
use std::thread;

/// One consumer's subscription, and the reference it must agree with.
#[derive(Clone, Debug)]
struct Wants {
    topics: Vec<EventTopic>,
    filter: EventFilter,
}

impl Wants {
    fn selects(&self, e: &Event) -> bool {
        self.topics.contains(&e.topic())
            && self
                .filter
                .selected_market()
                .is_none_or(|m| e.market() == Some(m))
            && self
                .filter
                .selected_party()
                .is_none_or(|p| e.parties().as_slice().contains(&p))
    }

    fn subscription(&self, name: String) -> Subscription {
        let topics: TopicSet = self.topics.iter().map(|t| t.ring_topic()).collect();
        Subscription::new(name).topics(topics).keys(self.filter)
    }
}

/// A filter drawn from the stream itself, so that it selects something: a market and a party
/// some event has (or none), and a random subset of the topics.
fn wants(events: &[Event], seed: u64) -> Wants {
    let mut g = Gen(seed);
    let mut topics: Vec<EventTopic> = EventTopic::ALL
        .into_iter()
        .filter(|_| g.pick(3) != 0)
        .collect();
    if topics.is_empty() {
        topics.push(EventTopic::Trade);
    }
    let mut filter = EventFilter::new();
    let from = &events[g.pick(events.len())];
    if g.pick(2) == 0 {
        if let Some(m) = events
            .iter()
            .find_map(|e| e.market().filter(|_| g.pick(4) == 0))
        {
            filter = filter.market(m);
        } else if let Some(m) = from.market() {
            filter = filter.market(m);
        }
    }
    if g.pick(2) == 0 {
        if let Some(p) = from.parties().as_slice().first() {
            filter = filter.party(*p);
        }
    }
    Wants { topics, filter }
}

fn drain(mut poller: ringbus_ring::Poller<Event, EventKey>) -> Vec<Event> {
    let mut seen = Vec::new();
    loop {
        match poller.poll() {
            Ok(batch) => seen.extend(batch.iter().map(|(_, e)| *e)),
            Err(PollError::Shutdown) => return seen,
            Err(other) => panic!("{other}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_consumer_sees_exactly_what_the_reference_selects(
        seed in any::<u64>(),
        n in 1usize..400,
        filter_seeds in proptest::collection::vec(any::<u64>(), 1..5),
        batch in 1usize..=16,
    ) {
        let events = stream(n, 0, seed);
        let wanted: Vec<Wants> = filter_seeds.iter().map(|s| wants(&events, *s)).collect();
        let (mut producer, bus) = RingBus::routed::<Event>().capacity(16).build().unwrap();
        let readers: Vec<_> = wanted
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let poller = bus.subscribe(w.subscription(format!("c{i}"))).unwrap();
                thread::spawn(move || drain(poller))
            })
            .collect();
        for chunk in events.chunks(batch) {
            if chunk.len() == 1 {
                producer.publish_event(chunk[0]);
            } else {
                producer.publish_events(chunk.iter().copied()).unwrap();
            }
        }
        drop(producer);
        for (reader, w) in readers.into_iter().zip(&wanted) {
            let seen = reader.join().unwrap();
            let expected: Vec<Event> = events.iter().copied().filter(|e| w.selects(e)).collect();
            prop_assert_eq!(seen, expected, "{:?}", w);
        }
        bus.join().unwrap();
    }
}

#[test]
fn the_key_of_an_event_is_the_key_of_its_interfaces() {
    for e in stream(5_000, 0, 99).iter().chain(&every_topic(0, 5)) {
        assert_eq!(
            EventKey::of(e),
            EventKey::new(e.market(), e.parties().as_slice()),
            "{e:?}"
        );
    }
}

/// A party whose digest bits equal `party`'s, found by search: the key cannot tell them apart.
fn collider(party: PartyId) -> PartyId {
    let key = |p| EventKey::new(None, &[p, p]);
    (0..)
        .map(PartyId)
        .find(|p| *p != party && key(*p) == key(party))
        .unwrap()
}

#[test]
fn a_party_digest_collision_is_decided_by_the_event() {
    let p = PartyId(1234);
    let x = collider(p);
    let m = MarketId(1);
    let trade = |buyer, seller| Trade {
        market: m,
        buyer,
        seller,
        ..Trade::default()
    };
    let events = [
        Event::new(trade(x, PartyId(5))), // collides: not P's
        Event::new(trade(PartyId(5), p)), // P's
        Event::new(Order {
            party: x,
            market: m,
            ..Order::default()
        }), // one party: exact, not P's
        Event::new(Distressed {
            market: m,
            parties: PartyList::from_slice(&[x, PartyId(6), PartyId(7)]).unwrap(),
        }), // collides: not P's
        Event::new(Distressed {
            market: m,
            parties: PartyList::from_slice(&[PartyId(6), p]).unwrap(),
        }), // P's
    ];
    let filter = EventFilter::new().party(p);
    let (mut producer, bus) = RingBus::routed::<Event>().capacity(8).build().unwrap();
    let poller = bus.subscribe(Subscription::new("p").keys(filter)).unwrap();
    producer.publish_events(events).unwrap();
    drop(producer);
    assert_eq!(drain(poller), [events[1], events[4]]);
    bus.join().unwrap();
}

#[test]
fn framing_reaches_a_market_subscription_when_asked_for() {
    let m = MarketId(2);
    let events = [
        Event::new(BeginBlock::default()),
        Event::new(MarkPrice {
            market: m,
            price: 1,
        }),
        Event::new(MarkPrice {
            market: MarketId(3),
            price: 1,
        }),
        Event::new(EndBlock::default()),
    ];
    let (mut producer, bus) = RingBus::routed::<Event>().capacity(8).build().unwrap();
    let plain = bus
        .subscribe(Subscription::new("m").keys(EventFilter::new().market(m)))
        .unwrap();
    let framed = bus
        .subscribe(
            Subscription::new("m, framed")
                .keys(EventFilter::new().market(m))
                .always(topic_sets::BLOCK_FRAMING),
        )
        .unwrap();
    producer.publish_events(events).unwrap();
    drop(producer);
    assert_eq!(drain(plain), [events[1]]);
    assert_eq!(drain(framed), [events[0], events[1], events[3]]);
    bus.join().unwrap();
}
