//! End-to-end tests of the engine inside the crate, small enough for Miri
//! (`cargo +nightly miri test -p ringbus-ring --features async --lib`), which checks every
//! slot access of `slots.rs` against the threads that race on it: the producer writing in
//! place, pollers and handlers borrowing, taps copying out while the producer may detach them.

use crate::{
    PollError, Poller, RingBus, StartAt, Subscription, TapPolicy, Topic, TopicSet, WaitStrategy,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

/// Two words written separately, so a torn or stale read shows as a mismatch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Pair(u64, u64);

fn pair(i: u64) -> Pair {
    Pair(i, !i)
}

fn topic_of(i: u64) -> Topic {
    Topic::new((i % 3) as u8)
}

/// Events per test: enough to lap a ring of 8 many times, few enough for Miri.
const N: u64 = if cfg!(miri) { 200 } else { 20_000 };

fn drain(poller: &mut Poller<Pair>) -> Vec<u64> {
    let mut seen = Vec::new();
    loop {
        match poller.poll() {
            Ok(batch) => {
                for (s, e) in batch.iter() {
                    assert_eq!(*e, pair(s), "torn or stale event at {s}");
                    seen.push(s);
                }
            }
            Err(PollError::Shutdown) => return seen,
            Err(other) => panic!("{other:?}"),
        }
    }
}

#[test]
fn every_consumer_kind_sees_its_topics_across_many_wraps() {
    for strategy in [WaitStrategy::Adaptive, WaitStrategy::SpinThenYield] {
        let handled = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&handled);
        let (mut producer, mut bus) = RingBus::builder::<Pair>()
            .capacity(8)
            .wait_strategy(strategy)
            .poller(Subscription::new("all"))
            .poller(Subscription::new("odd").topics(TopicSet::of(&[Topic::new(1)])))
            .handler(
                Subscription::new("after-all").after("all"),
                move |e: &Pair, s: u64, _end: bool| {
                    assert_eq!(*e, pair(s));
                    counter.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                },
            )
            .build()
            .unwrap();
        let mut all = bus.take_poller("all").unwrap();
        let mut odd = bus.take_poller("odd").unwrap();
        let mut tap = bus
            .tap(Subscription::new("tap").lossy(TapPolicy::default().lag(4)))
            .unwrap();
        let readers = [
            thread::spawn(move || drain(&mut all)),
            thread::spawn(move || drain(&mut odd)),
        ];
        let tap_reader = thread::spawn(move || {
            let (mut received, mut missed) = (0, 0);
            loop {
                match tap.poll() {
                    Ok(events) => {
                        for (s, e) in events {
                            assert_eq!(*e, pair(*s), "tap saw a torn event at {s}");
                        }
                        received += events.len() as u64;
                    }
                    Err(PollError::Lagged { missed: m }) => missed += m,
                    Err(PollError::Shutdown) => return received + missed,
                    Err(other) => panic!("{other:?}"),
                }
            }
        });
        let mut i = 0;
        while i < N {
            if i % 5 == 0 {
                let n = 3.min(N - i) as usize;
                producer
                    .publish_batch(n, |k, e| {
                        *e = pair(i + k as u64);
                        topic_of(i + k as u64)
                    })
                    .unwrap();
                i += n as u64;
            } else {
                producer.publish(topic_of(i), |e| *e = pair(i));
                i += 1;
            }
        }
        drop(producer);
        let [all, odd] = readers.map(|r| r.join().unwrap());
        assert_eq!(all, (0..N).collect::<Vec<_>>());
        assert_eq!(odd, (0..N).filter(|i| i % 3 == 1).collect::<Vec<_>>());
        assert_eq!(tap_reader.join().unwrap(), N, "received + missed");
        bus.join().unwrap();
        assert_eq!(handled.load(Ordering::Relaxed), N);
    }
}

#[test]
fn consumers_join_and_leave_while_the_producer_publishes() {
    let (mut producer, bus) = RingBus::builder::<Pair>().capacity(8).build().unwrap();
    let bus = Arc::new(bus);
    let joiner_bus = Arc::clone(&bus);
    let joiner = thread::spawn(move || {
        let mut ranges = Vec::new();
        for round in 0..4 {
            let start = if round % 2 == 0 {
                StartAt::Next
            } else {
                // Somewhere behind the head, possibly no longer in the ring.
                StartAt::Sequence(joiner_bus.metrics().producer.published.saturating_sub(3))
            };
            let mut poller = match joiner_bus.subscribe(Subscription::new("j").start_at(start)) {
                Ok(p) => p,
                Err(crate::ConfigError::StartNotInRing { .. }) => continue,
                Err(crate::ConfigError::Closed) => break,
                Err(other) => panic!("{other:?}"),
            };
            let first = poller.sequence();
            let mut next = first;
            // Read a few batches, checking each event, then leave by dropping the poller.
            for _ in 0..3 {
                match poller.poll() {
                    Ok(batch) => {
                        for (s, e) in batch.iter() {
                            assert_eq!((s, *e), (next, pair(next)), "gap or torn event");
                            next += 1;
                        }
                    }
                    Err(PollError::Shutdown) => break,
                    Err(other) => panic!("{other:?}"),
                }
            }
            ranges.push(first..next);
        }
        ranges
    });
    for i in 0..N {
        producer.publish(Topic::new(0), |e| *e = pair(i));
    }
    drop(producer);
    // The producer finished, so it never waited forever on a consumer that left.
    joiner.join().unwrap();
    let bus = Arc::into_inner(bus).expect("joiner gone");
    let report = bus.join().unwrap();
    assert_eq!(report.producer.published, N);
}

#[test]
fn the_sequence_space_ends_with_a_typed_error_below_the_flag_bits() {
    use crate::cursor::{COPYING, MAX_PUBLISHED};
    use crate::PublishError;
    let (mut producer, bus) = RingBus::builder::<Pair>().capacity(8).build().unwrap();
    producer.skip_to(MAX_PUBLISHED - 3);
    let mut poller = bus.subscribe(Subscription::new("p")).unwrap();
    let mut tap = bus
        .tap(Subscription::new("tap").lossy(TapPolicy::default()))
        .unwrap();
    for i in MAX_PUBLISHED - 3..MAX_PUBLISHED {
        assert_eq!(producer.try_publish(Topic::new(0), |e| *e = pair(i)), Ok(i));
    }
    assert_eq!(
        producer.try_publish(Topic::new(0), |e| *e = pair(0)),
        Err(PublishError::SequenceExhausted)
    );
    assert_eq!(
        producer.publish_batch(1, |_, _| Topic::new(0)),
        Err(PublishError::SequenceExhausted)
    );
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        producer.publish(Topic::new(0), |e| *e = pair(0))
    }));
    assert!(panicked.is_err(), "publish past the last sequence panics");
    let seen: Vec<u64> = poller.poll().unwrap().iter().map(|(s, _)| s).collect();
    assert_eq!(
        seen,
        [MAX_PUBLISHED - 3, MAX_PUBLISHED - 2, MAX_PUBLISHED - 1]
    );
    assert_eq!(tap.poll().unwrap().len(), 3);
    // The last cursor value still leaves the flag bits clear.
    assert_eq!(poller.sequence() & !(COPYING - 1), 0);
    drop(producer);
    assert_eq!(poller.poll().unwrap_err(), PollError::Shutdown);
}
