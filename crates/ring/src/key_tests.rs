//! Key filtering end to end: pollers, handlers and taps of a routed bus see exactly the events
//! a reference filter over the events selects, digest collisions included, and read an event
//! only when its key cannot tell. Small enough for Miri.

use crate::{
    ConfigError, KeyMatch, PollError, Poller, RingBus, Routed, SlotKey, Subscription, TapPolicy,
    Topic, TopicSet,
};
use std::sync::{Arc, Mutex};
use std::thread;

/// An event of one desk that touches two traders.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Fill {
    sequence: u64,
    topic: u8,
    desk: u16,
    traders: [u16; 2],
}

/// The desk exactly, the traders as an 8-bit digest (trader `t` sets bit `t % 8`), so
/// traders 1 and 9 collide on purpose.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct FillKey {
    desk: u16,
    traders: u8,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct FillFilter {
    desk: Option<u16>,
    trader: Option<u16>,
}

fn bit(trader: u16) -> u8 {
    1 << (trader % 8)
}

thread_local! {
    /// Events this thread asked whether they pass (only ever for a `Maybe` key).
    static CONFIRMS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

impl SlotKey for FillKey {
    type Filter = FillFilter;

    fn check(&self, filter: &FillFilter) -> KeyMatch {
        if filter.desk.is_some_and(|d| d != self.desk) {
            return KeyMatch::No;
        }
        match filter.trader {
            None => KeyMatch::Yes,
            Some(t) if self.traders & bit(t) == 0 => KeyMatch::No,
            Some(_) => KeyMatch::Maybe,
        }
    }
}

impl Routed for Fill {
    type Key = FillKey;

    fn topic(&self) -> Topic {
        Topic::new(self.topic)
    }

    fn key(&self) -> FillKey {
        FillKey {
            desk: self.desk,
            traders: bit(self.traders[0]) | bit(self.traders[1]),
        }
    }

    fn matches(&self, filter: &FillFilter) -> bool {
        CONFIRMS.set(CONFIRMS.get() + 1);
        filter.desk.is_none_or(|d| d == self.desk)
            && filter.trader.is_none_or(|t| self.traders.contains(&t))
    }
}

impl FillFilter {
    /// The reference: the filter applied to the event's own fields.
    fn selects(&self, e: &Fill) -> bool {
        self.desk.is_none_or(|d| d == e.desk) && self.trader.is_none_or(|t| e.traders.contains(&t))
    }
}

const FRAMING: Topic = Topic::new(0);
const N: u64 = if cfg!(miri) { 120 } else { 5_000 };

/// Event `i`: framing every 16th, otherwise topic 1 or 2, desk 0..3, traders from 0..16
/// (so many pairs collide in the digest).
fn fill(i: u64) -> Fill {
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20;
    Fill {
        sequence: i,
        topic: if i.is_multiple_of(16) {
            0
        } else {
            1 + (h % 2) as u8
        },
        desk: (h >> 3) as u16 % 3,
        traders: [(h >> 7) as u16 % 16, (h >> 11) as u16 % 16],
    }
}

fn drain(poller: &mut Poller<Fill, FillKey>) -> Vec<u64> {
    let mut seen = Vec::new();
    loop {
        match poller.poll() {
            Ok(batch) => {
                for (s, e) in batch.iter() {
                    assert_eq!(*e, fill(s), "torn or stale event at {s}");
                    seen.push(s);
                }
            }
            Err(PollError::Shutdown) => return seen,
            Err(other) => panic!("{other:?}"),
        }
    }
}

#[test]
fn every_consumer_kind_sees_exactly_what_its_key_filter_selects() {
    // Rings of 8 slots: every range is shorter than a block of the key scan.
    sees_exactly_what_its_key_filter_selects(8);
}

#[test]
fn every_consumer_kind_sees_exactly_what_its_key_filter_selects_in_whole_blocks() {
    // Rings of 256: consumers that fall behind scan whole blocks of 64 slots, cut where a
    // range wraps around the ring.
    sees_exactly_what_its_key_filter_selects(256);
}

fn sees_exactly_what_its_key_filter_selects(capacity: usize) {
    let trader_1 = FillFilter {
        desk: None,
        trader: Some(1),
    };
    let desk_2_trader_9 = FillFilter {
        desk: Some(2),
        trader: Some(9),
    };
    let desk_1 = FillFilter {
        desk: Some(1),
        trader: None,
    };
    let handled = Arc::new(Mutex::new(Vec::new()));
    let into = Arc::clone(&handled);
    let (mut producer, mut bus) = RingBus::routed::<Fill>()
        .capacity(capacity)
        .poller(Subscription::new("trader 1").keys(trader_1))
        .poller(
            Subscription::new("desk 2, trader 9, topic 2, framing")
                .topics(TopicSet::of(&[Topic::new(2)]))
                .keys(desk_2_trader_9)
                .always(TopicSet::of(&[FRAMING])),
        )
        .handler(
            Subscription::new("desk 1").keys(desk_1),
            move |e: &Fill, s: u64, _end: bool| {
                assert_eq!(*e, fill(s));
                into.lock().unwrap().push(s);
                Ok(())
            },
        )
        .build()
        .unwrap();
    let mut trader = bus.take_poller("trader 1").unwrap();
    let mut framed = bus
        .take_poller("desk 2, trader 9, topic 2, framing")
        .unwrap();
    let mut tap = bus
        .tap(
            Subscription::new("tap, trader 9")
                .lossy(TapPolicy::default())
                .keys(FillFilter {
                    desk: None,
                    trader: Some(9),
                }),
        )
        .unwrap();
    let readers = [
        thread::spawn(move || drain(&mut trader)),
        thread::spawn(move || drain(&mut framed)),
    ];
    let tapped = thread::spawn(move || {
        let mut seen = Vec::new();
        loop {
            match tap.poll() {
                Ok(events) => seen.extend(events.iter().map(|(s, e)| {
                    assert_eq!(*e, fill(*s));
                    *s
                })),
                Err(PollError::Lagged { .. }) => return None,
                Err(PollError::Shutdown) => return Some(seen),
                Err(other) => panic!("{other:?}"),
            }
        }
    });
    for i in 0..N {
        if i % 2 == 0 {
            assert_eq!(producer.publish_event(fill(i)), i);
        } else {
            assert_eq!(producer.publish_events([fill(i)]), Ok(i..i + 1));
        }
    }
    drop(producer);
    let [trader, framed] = readers.map(|r| r.join().unwrap());
    bus.join().unwrap();

    let expect =
        |f: &dyn Fn(&Fill) -> bool| -> Vec<u64> { (0..N).filter(|&i| f(&fill(i))).collect() };
    assert_eq!(trader, expect(&|e| trader_1.selects(e)));
    assert_eq!(
        framed,
        expect(&|e| e.topic == 0 || (e.topic == 2 && desk_2_trader_9.selects(e)))
    );
    assert_eq!(*handled.lock().unwrap(), expect(&|e| desk_1.selects(e)));
    // The tap may be detached (then it reports the gap instead); if not, it is exact too.
    if let Some(tapped) = tapped.join().unwrap() {
        assert_eq!(tapped, expect(&|e| e.traders.contains(&9)));
    }
    // Collisions happened and were decided by the event, so the test means something.
    let collided = expect(&|e| {
        let digest = bit(e.traders[0]) | bit(e.traders[1]);
        digest & bit(1) != 0 && !e.traders.contains(&1)
    });
    assert!(!collided.is_empty());
    assert!(collided.iter().all(|s| !trader.contains(s)));
}

#[test]
fn an_event_is_read_only_when_its_key_cannot_tell() {
    let (mut producer, bus) = RingBus::routed::<Fill>().capacity(64).build().unwrap();
    let filter = FillFilter {
        desk: Some(1),
        trader: Some(3),
    };
    let mut poller = bus
        .subscribe(Subscription::new("desk 1, trader 3").keys(filter))
        .unwrap();
    let base = Fill {
        topic: 1,
        desk: 1,
        traders: [3, 4],
        ..Fill::default()
    };
    let events = [
        base,                     // passes: the key says maybe, the event yes
        Fill { desk: 2, ..base }, // other desk: the key says no
        Fill {
            traders: [5, 6],
            ..base
        }, // no trader 3 in the digest: the key says no
        Fill {
            traders: [11, 4],
            ..base
        }, // 11 % 8 == 3: collides, the event says no
        Fill {
            traders: [11, 3],
            ..base
        }, // collides and passes
        Fill {
            desk: 0,
            traders: [3, 3],
            ..base
        }, // trader matches, desk does not: no
    ];
    CONFIRMS.set(0);
    producer.publish_events(events).unwrap();
    let seen: Vec<u64> = poller.poll().unwrap().iter().map(|(s, _)| s).collect();
    assert_eq!(seen, [0, 4]);
    // Asked: 0, 3, 4 while scanning; and again by the batch's release count (which walks
    // the same filter). Never 1, 2 or 5.
    let asked = CONFIRMS.get();
    assert!(asked == 3 || asked == 6, "asked {asked} times");
}

#[test]
fn untyped_publishes_on_a_routed_bus_get_the_default_key() {
    let (mut producer, bus) = RingBus::routed::<Fill>().capacity(8).build().unwrap();
    let desk_0 = FillFilter {
        desk: Some(0),
        trader: None,
    };
    let mut poller = bus
        .subscribe(Subscription::new("desk 0").keys(desk_0))
        .unwrap();
    // Overwrite the slot of a desk-1 event with an untyped publish: its key is the default
    // (desk 0), not the stale one.
    producer.publish_event(Fill { desk: 1, ..fill(1) });
    producer.publish(Topic::new(1), |e| *e = Fill { desk: 5, ..fill(2) });
    let seen: Vec<u64> = poller.poll().unwrap().iter().map(|(s, _)| s).collect();
    assert_eq!(seen, [1]);
}

#[test]
fn a_filter_of_the_wrong_type_is_refused() {
    let (_producer, bus) = RingBus::routed::<Fill>().build().unwrap();
    let err = bus
        .subscribe(Subscription::new("desks").keys(3u16))
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::KeyFilterType {
            consumer: "desks".into(),
            expected: std::any::type_name::<FillFilter>(),
            found: "u16",
        }
    );
    assert!(err.to_string().contains("filters keys with a u16"), "{err}");
    let err = RingBus::routed::<Fill>()
        .poller(Subscription::new("declared").keys("desk 1"))
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::KeyFilterType { found: "&str", .. }
    ));
    // A bus without keys takes no filter but `()`.
    let (_producer, plain) = RingBus::builder::<u64>().build().unwrap();
    let err = plain
        .subscribe(Subscription::new("p").keys(1u8))
        .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::KeyFilterType { expected: "()", .. }
    ));
    assert!(plain.subscribe(Subscription::new("q").keys(())).is_ok());
}

#[test]
fn publish_events_publishes_what_a_short_iterator_yields() {
    /// Promises three events, yields two.
    struct Short(u64);
    impl Iterator for Short {
        type Item = Fill;
        fn next(&mut self) -> Option<Fill> {
            self.0 += 1;
            (self.0 <= 2).then(|| fill(self.0))
        }
    }
    impl ExactSizeIterator for Short {
        fn len(&self) -> usize {
            3
        }
    }
    let (mut producer, bus) = RingBus::routed::<Fill>().capacity(8).build().unwrap();
    let mut poller = bus.subscribe(Subscription::new("all")).unwrap();
    assert_eq!(producer.publish_events(Short(0)), Ok(0..2));
    assert_eq!(producer.next_sequence(), 2);
    let seen: Vec<Fill> = poller.poll().unwrap().iter().map(|(_, e)| *e).collect();
    assert_eq!(seen, [fill(1), fill(2)]);
    assert_eq!(
        producer.publish_events((0..9u32).map(|i| fill(u64::from(i)))),
        Err(crate::PublishError::BatchTooLarge {
            requested: 9,
            capacity: 8
        })
    );
}

#[test]
fn events_written_in_place_are_keyed_from_the_slot() {
    let (mut producer, bus) = RingBus::routed::<Fill>().capacity(8).build().unwrap();
    let desk_1 = FillFilter {
        desk: Some(1),
        trader: None,
    };
    let mut poller = bus
        .subscribe(Subscription::new("desk 1").keys(desk_1))
        .unwrap();
    producer.publish_event_with(|slot| *slot = Fill { desk: 1, ..fill(0) });
    producer
        .publish_events_with(3, |i, slot| {
            *slot = Fill {
                desk: i as u16,
                ..fill(1 + i as u64)
            }
        })
        .unwrap();
    let seen: Vec<u64> = poller.poll().unwrap().iter().map(|(s, _)| s).collect();
    assert_eq!(seen, [0, 2]);
}
