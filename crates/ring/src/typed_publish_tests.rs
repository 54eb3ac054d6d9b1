//! The non-blocking and bounded publishes (`try_publish_event`, `publish_event_timeout` and
//! their in-place and batch forms, and the untyped `publish_batch_timeout`): what a full ring
//! refuses is handed back and nothing of it is published, space that frees lets them on, a
//! consumer that failed or left never holds them back, and key filtering sees exactly what
//! they publish. Small enough for Miri.

use crate::{
    ConsumerState, HandlerError, KeyMatch, NotPublished, Poller, PublishError, RingBus, Routed,
    SlotKey, Subscription, Topic, TopicSet,
};
use std::thread;
use std::time::{Duration, Instant};

/// An event of one desk, numbered so a consumer can tell which it saw.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Quote {
    n: u64,
    topic: u8,
    desk: u16,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Desk(u16);

impl SlotKey for Desk {
    type Filter = Desk;

    fn check(&self, wanted: &Desk) -> KeyMatch {
        KeyMatch::exact(self == wanted)
    }
}

impl Routed for Quote {
    type Key = Desk;

    fn topic(&self) -> Topic {
        Topic::new(self.topic)
    }

    fn key(&self) -> Desk {
        Desk(self.desk)
    }

    fn matches(&self, wanted: &Desk) -> bool {
        self.desk == wanted.0
    }
}

/// Quote `n`: topic 0 or 1, desk 0, 1 or 2.
fn quote(n: u64) -> Quote {
    Quote {
        n,
        topic: (n % 2) as u8,
        desk: (n % 3) as u16,
    }
}

/// Longer than any test waits for a thread that is running.
const HANG: Duration = Duration::from_secs(20);

/// Every event `poller` can read now, released.
fn read_now(poller: &mut Poller<Quote, Desk>) -> Vec<Quote> {
    match poller.try_poll().unwrap() {
        Some(batch) => batch.iter().map(|(_, e)| *e).collect(),
        None => Vec::new(),
    }
}

#[test]
fn a_full_ring_hands_the_event_back_and_publishes_nothing() {
    let (mut producer, bus) = RingBus::routed::<Quote>().capacity(4).build().unwrap();
    let mut slow = bus.subscribe(Subscription::new("slow")).unwrap();
    for n in 0..4 {
        assert_eq!(producer.try_publish_event(quote(n)), Ok(n));
    }
    // `slow` is a whole ring behind: every non-blocking form refuses, the by-value ones
    // hand their events back, the in-place ones never call their closure.
    let refused = producer.try_publish_event(quote(4)).unwrap_err();
    assert_eq!(
        refused,
        NotPublished {
            error: PublishError::Full,
            event: quote(4)
        }
    );
    assert_eq!(
        producer.try_publish_event_with(|_| panic!("filled a full ring")),
        Err(PublishError::Full)
    );
    let refused_batch = producer
        .try_publish_events([quote(5), quote(6)])
        .unwrap_err();
    assert_eq!(refused_batch.error, PublishError::Full);
    assert_eq!(
        refused_batch.event.len(),
        2,
        "no event taken from the batch"
    );
    assert_eq!(
        producer.try_publish_events_with(1, |_, _| panic!("filled a full ring")),
        Err(PublishError::Full)
    );
    assert_eq!(producer.next_sequence(), 4);
    assert_eq!(bus.metrics().producer.full, 4);
    // Nothing was written either: slot 0, the one sequence 4 would take, still holds quote 0.
    assert_eq!(read_now(&mut slow), (0..4).map(quote).collect::<Vec<_>>());
    assert_eq!(read_now(&mut slow), []);
    // Space freed: what was handed back goes on as it was, and only it arrives.
    assert_eq!(producer.try_publish_event(refused.event), Ok(4));
    let rest = producer.try_publish_events(refused_batch.event);
    assert_eq!(rest.map_err(|r| r.error), Ok(5..7));
    assert_eq!(read_now(&mut slow), [quote(4), quote(5), quote(6)]);
}

#[test]
fn a_batch_larger_than_the_ring_is_handed_back_untouched() {
    let (mut producer, _bus) = RingBus::routed::<Quote>().capacity(4).build().unwrap();
    let batch: Vec<Quote> = (0..5).map(quote).collect();
    let refused = producer.try_publish_events(batch.clone()).unwrap_err();
    assert_eq!(
        refused.error,
        PublishError::BatchTooLarge {
            requested: 5,
            capacity: 4
        }
    );
    assert_eq!(refused.event.collect::<Vec<_>>(), batch);
    assert_eq!(
        producer.try_publish_events_with(5, |_, _| panic!("filled an impossible batch")),
        Err(PublishError::BatchTooLarge {
            requested: 5,
            capacity: 4
        })
    );
    assert_eq!(producer.next_sequence(), 0);
}

#[test]
fn past_the_last_sequence_the_event_is_handed_back() {
    use crate::cursor::MAX_PUBLISHED;
    let (mut producer, bus) = RingBus::routed::<Quote>().capacity(4).build().unwrap();
    producer.skip_to(MAX_PUBLISHED - 1);
    let mut poller = bus.subscribe(Subscription::new("p")).unwrap();
    assert_eq!(producer.try_publish_event(quote(0)), Ok(MAX_PUBLISHED - 1));
    let exhausted = |event| NotPublished {
        error: PublishError::SequenceExhausted,
        event,
    };
    assert_eq!(
        producer.try_publish_event(quote(1)),
        Err(exhausted(quote(1)))
    );
    assert_eq!(
        producer.publish_event_timeout(quote(1), HANG),
        Err(exhausted(quote(1)))
    );
    let refused = producer.try_publish_events([quote(1)]).unwrap_err();
    assert_eq!(refused.error, PublishError::SequenceExhausted);
    assert_eq!(refused.event.collect::<Vec<_>>(), [quote(1)]);
    let refused = producer
        .publish_events_timeout([quote(1)], HANG)
        .unwrap_err();
    assert_eq!(refused.error, PublishError::SequenceExhausted);
    assert_eq!(refused.event.collect::<Vec<_>>(), [quote(1)]);
    assert_eq!(
        producer.publish_events_with_timeout(1, HANG, |_, _| panic!("filled past the end")),
        Err(PublishError::SequenceExhausted)
    );
    assert_eq!(
        producer.try_publish_event_with(|_| panic!("filled past the end")),
        Err(PublishError::SequenceExhausted)
    );
    assert_eq!(read_now(&mut poller), [quote(0)]);
}

#[test]
fn a_bounded_publish_times_out_handing_the_event_back_and_ending_nothing() {
    let (mut producer, bus) = RingBus::routed::<Quote>().capacity(2).build().unwrap();
    let mut slow = bus.subscribe(Subscription::new("slow")).unwrap();
    let wait = Duration::from_millis(20);
    assert_eq!(producer.publish_event_timeout(quote(0), wait), Ok(0));
    assert_eq!(
        producer.publish_event_with_timeout(wait, |e| *e = quote(1)),
        Ok(1)
    );
    let started = Instant::now();
    let late = producer.publish_event_timeout(quote(2), wait).unwrap_err();
    assert!(started.elapsed() >= wait);
    assert_eq!((late.error, late.event), (PublishError::Timeout, quote(2)));
    let started = Instant::now();
    assert_eq!(
        producer.publish_event_with_timeout(wait, |_| panic!("filled a full ring")),
        Err(PublishError::Timeout)
    );
    assert!(started.elapsed() >= wait);
    assert_eq!(producer.next_sequence(), 2);
    // Nothing ended: the consumer reads on (no extra event), and the event goes on.
    assert_eq!(read_now(&mut slow), [quote(0), quote(1)]);
    assert_eq!(producer.publish_event_timeout(late.event, wait), Ok(2));
    assert_eq!(read_now(&mut slow), [quote(2)]);
}

#[test]
fn a_bounded_publish_goes_on_once_a_slow_consumer_frees_space() {
    let (mut producer, bus) = RingBus::routed::<Quote>().capacity(2).build().unwrap();
    let mut slow = bus.subscribe(Subscription::new("slow")).unwrap();
    producer.publish_events([quote(0), quote(1)]).unwrap();
    let reader = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        let first = read_now(&mut slow);
        (first, slow)
    });
    assert_eq!(
        producer.publish_event_timeout(quote(2), HANG),
        Ok(2),
        "the consumer freed a slot before the timeout"
    );
    let (first, mut slow) = reader.join().unwrap();
    assert_eq!(first, [quote(0), quote(1)]);
    assert_eq!(
        producer.publish_event_with_timeout(HANG, |e| *e = quote(3)),
        Ok(3)
    );
    assert_eq!(read_now(&mut slow), [quote(2), quote(3)]);
}

#[test]
fn a_bounded_batch_times_out_whole_and_goes_on_once_space_frees() {
    let (mut producer, bus) = RingBus::routed::<Quote>().capacity(4).build().unwrap();
    let mut slow = bus.subscribe(Subscription::new("slow")).unwrap();
    let wait = Duration::from_millis(20);
    let first = producer.publish_events_timeout([quote(0), quote(1), quote(2)], wait);
    assert_eq!(first.map_err(|late| late.error), Ok(0..3));
    // Two do not fit while `slow` reads nothing: the whole batch waits, then comes back.
    let started = Instant::now();
    let late = producer
        .publish_events_timeout([quote(3), quote(4)], wait)
        .unwrap_err();
    assert!(started.elapsed() >= wait);
    assert_eq!(late.error, PublishError::Timeout);
    assert_eq!(late.event.collect::<Vec<_>>(), [quote(3), quote(4)]);
    let started = Instant::now();
    assert_eq!(
        producer.publish_events_with_timeout(2, wait, |_, _| panic!("filled a full ring")),
        Err(PublishError::Timeout)
    );
    assert!(started.elapsed() >= wait);
    assert_eq!(
        producer.publish_events_with_timeout(5, HANG, |_, _| panic!("filled a huge batch")),
        Err(PublishError::BatchTooLarge {
            requested: 5,
            capacity: 4
        })
    );
    assert_eq!(producer.next_sequence(), 3);
    let reader = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        let first = read_now(&mut slow);
        (first, slow)
    });
    let on = producer.publish_events_timeout([quote(3), quote(4)], HANG);
    assert_eq!(
        on.map_err(|late| late.error),
        Ok(3..5),
        "space freed in time"
    );
    let (first, mut slow) = reader.join().unwrap();
    assert_eq!(first, [quote(0), quote(1), quote(2)]);
    assert_eq!(
        producer.publish_events_with_timeout(2, HANG, |i, e| *e = quote(5 + i as u64)),
        Ok(5..7)
    );
    assert_eq!(
        read_now(&mut slow),
        [quote(3), quote(4), quote(5), quote(6)]
    );
}

#[test]
fn an_untyped_bounded_batch_times_out_without_filling() {
    let (mut producer, bus) = RingBus::builder::<u64>().capacity(2).build().unwrap();
    let mut slow = bus.subscribe(Subscription::new("slow")).unwrap();
    let wait = Duration::from_millis(20);
    let tick = |i: usize, e: &mut u64| {
        *e = 10 + i as u64;
        Topic::new(0)
    };
    assert_eq!(producer.publish_batch_timeout(2, wait, tick), Ok(0..2));
    let started = Instant::now();
    assert_eq!(
        producer.publish_batch_timeout(1, wait, |_, _| panic!("filled a full ring")),
        Err(PublishError::Timeout)
    );
    assert!(started.elapsed() >= wait);
    let seen: Vec<u64> = slow.poll().unwrap().iter().map(|(_, e)| *e).collect();
    assert_eq!(seen, [10, 11]);
    assert_eq!(producer.publish_batch_timeout(2, wait, tick), Ok(2..4));
}

#[test]
fn a_consumer_that_failed_or_left_never_holds_the_typed_forms_back() {
    let (mut producer, mut bus) = RingBus::routed::<Quote>()
        .capacity(4)
        .handler(
            Subscription::new("fails"),
            |_: &Quote, n: u64, _: bool| -> Result<(), HandlerError> {
                Err(format!("refused {n}").into())
            },
        )
        .poller(Subscription::new("leaves"))
        .build()
        .unwrap();
    let leaves = bus.take_poller("leaves").unwrap();
    let batch: Vec<Quote> = (0..4).map(quote).collect();
    assert_eq!(
        producer.try_publish_events(batch).map_err(|r| r.error),
        Ok(0..4)
    );
    // Neither consumer ever releases an event: "leaves" leaves, "fails" fails at event 0.
    drop(leaves);
    // Two rings more: each of these would time out if either still gated.
    for n in 4..12 {
        assert_eq!(producer.publish_event_timeout(quote(n), HANG), Ok(n));
    }
    let batch = producer.publish_events_timeout([quote(12), quote(13)], HANG);
    assert_eq!(batch.map_err(|late| late.error), Ok(12..14));
    assert_eq!(
        producer.publish_events_with_timeout(2, HANG, |i, e| *e = quote(14 + i as u64)),
        Ok(14..16)
    );
    let report = bus.metrics();
    assert_eq!(
        report.consumer("fails").unwrap().state,
        ConsumerState::Failed
    );
    assert_eq!(
        report.consumer("leaves").unwrap().state,
        ConsumerState::Left
    );
    // Nothing gates now: the non-blocking forms never find the ring full.
    for n in (16..32).step_by(4) {
        assert_eq!(producer.try_publish_event(quote(n)), Ok(n));
        assert_eq!(
            producer.try_publish_event_with(|e| *e = quote(n + 1)),
            Ok(n + 1)
        );
        assert_eq!(
            producer
                .try_publish_events([quote(n + 2)])
                .map_err(|r| r.error),
            Ok(n + 2..n + 3)
        );
        assert_eq!(
            producer.try_publish_events_with(1, |_, e| *e = quote(n + 3)),
            Ok(n + 3..n + 4)
        );
    }
    assert_eq!(bus.metrics().producer.full, 0);
    drop(producer);
    assert_eq!(bus.join().unwrap_err().failures[0].name, "fails");
}

#[test]
fn key_filtering_sees_exactly_what_the_typed_forms_publish() {
    const N: u64 = if cfg!(miri) { 140 } else { 2_000 };
    // 17 events per round of the eight forms against 16 slots: the form that finds the ring
    // full moves on by one each round, so each of them does within 120 events.
    let (mut producer, bus) = RingBus::routed::<Quote>().capacity(16).build().unwrap();
    let mut all = bus.subscribe(Subscription::new("all")).unwrap();
    let mut desk_1 = bus
        .subscribe(Subscription::new("desk 1").keys(Desk(1)))
        .unwrap();
    let odd = TopicSet::of(&[Topic::new(1)]);
    let mut odd_desk_2 = bus
        .subscribe(Subscription::new("odd, desk 2").topics(odd).keys(Desk(2)))
        .unwrap();
    let mut seen = [Vec::new(), Vec::new(), Vec::new()];
    let mut read = |seen: &mut [Vec<Quote>; 3]| {
        seen[0].extend(read_now(&mut all));
        seen[1].extend(read_now(&mut desk_1));
        seen[2].extend(read_now(&mut odd_desk_2));
    };
    // Each form in turn, in place forms writing a whole `Quote`, so topic and key can come
    // only from what was written. Nothing is read until a form finds the ring full.
    let (mut n, mut round, mut refused) = (0, 0, [0; 8]);
    while n < N {
        let published = match round % 8 {
            0 => producer
                .try_publish_event(quote(n))
                .map(|s| s..s + 1)
                .map_err(|r| r.error),
            1 => producer
                .try_publish_event_with(|e| *e = quote(n))
                .map(|s| s..s + 1),
            2 => producer
                .publish_event_timeout(quote(n), Duration::ZERO)
                .map(|s| s..s + 1)
                .map_err(|r| r.error),
            3 => producer
                .publish_event_with_timeout(Duration::ZERO, |e| *e = quote(n))
                .map(|s| s..s + 1),
            4 => producer
                .try_publish_events([quote(n), quote(n + 1)])
                .map_err(|r| r.error),
            5 => producer.try_publish_events_with(3, |i, e| *e = quote(n + i as u64)),
            6 => producer
                .publish_events_timeout([quote(n), quote(n + 1), quote(n + 2)], Duration::ZERO)
                .map_err(|r| r.error),
            _ => producer
                .publish_events_with_timeout(5, Duration::ZERO, |i, e| *e = quote(n + i as u64)),
        };
        match published {
            Ok(range) => {
                assert_eq!(range.start, n);
                n = range.end;
                round += 1;
            }
            Err(PublishError::Full | PublishError::Timeout) => {
                refused[round % 8] += 1;
                read(&mut seen);
            }
            Err(other) => panic!("{other}"),
        }
    }
    read(&mut seen);
    assert!(
        refused.iter().all(|&r| r > 0),
        "every form found the ring full: {refused:?}"
    );
    let reference = |pass: &dyn Fn(&Quote) -> bool| -> Vec<Quote> {
        (0..n).map(quote).filter(|q| pass(q)).collect()
    };
    assert_eq!(seen[0], reference(&|_| true));
    assert_eq!(seen[1], reference(&|q| q.desk == 1));
    assert_eq!(seen[2], reference(&|q| q.topic == 1 && q.desk == 2));
}
