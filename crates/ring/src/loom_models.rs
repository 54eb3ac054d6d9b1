//! Loom models of the cursor protocols, run with
//! `RUSTFLAGS="--cfg loom" cargo test -p ringbus-ring --features async --release --lib loom_models`
//! (without `--features async` the models of the async consumers are left out).
//!
//! Each model drives the real `Producer`, `Poller` and `Tap` code (the `sync` shim swaps in
//! loom's atomics, cells, lock and condition variable), so loom explores every interleaving
//! and memory-order outcome of the code that ships, and reports any data race on a slot, a
//! lost wake-up (as a deadlock) or a failed assertion.

use crate::sync::{Arc, AtomicU64};
use crate::{PollError, RingBus, StartAt, Subscription, TapPolicy, Topic, WaitStrategy};
use loom::thread;
use std::sync::atomic::Ordering::{Acquire, Release};

/// Two words written separately: a torn or stale read shows as a mismatch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Pair(u64, u64);

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

/// Drains a poller to the end of the stream and returns the sequences and values it saw.
fn drain(poller: &mut crate::Poller<Pair>) -> Vec<(u64, Pair)> {
    let mut seen = Vec::new();
    loop {
        match poller.poll() {
            Ok(batch) => seen.extend(batch.iter().map(|(s, e)| (s, *e))),
            Err(PollError::Shutdown) => return seen,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
}

/// A bus for the join models: no replay window (the producer commits to the whole ring, so
/// joins race with overwrites as closely as they can), parking waits.
fn joinable_bus(capacity: usize) -> (crate::Producer<Pair>, crate::Bus<Pair>) {
    RingBus::builder::<Pair>()
        .capacity(capacity)
        .replay_window(0)
        .wait_strategy(WaitStrategy::Blocking)
        .build()
        .unwrap()
}

/// What a consumer that joined at an earlier sequence saw, drained to the end; `None` if
/// the join was refused because that sequence was no longer in the ring (or the bus closed).
fn drain_if_joined(
    joined: Result<crate::Poller<Pair>, crate::ConfigError>,
) -> Option<Vec<(u64, Pair)>> {
    match joined {
        Ok(mut poller) => Some(drain(&mut poller)),
        Err(crate::ConfigError::StartNotInRing { .. } | crate::ConfigError::Closed) => None,
        Err(other) => panic!("{other:?}"),
    }
}

fn pair(i: u64) -> Pair {
    Pair(i, i * 10)
}

#[test]
fn loom_models_publish_and_consume_across_a_wrap() {
    for strategy in [WaitStrategy::BusySpin, WaitStrategy::Blocking] {
        model(move || {
            let (mut producer, mut bus) = RingBus::builder::<Pair>()
                .capacity(2)
                .wait_strategy(strategy)
                .poller(Subscription::new("c"))
                .build()
                .unwrap();
            let mut poller = bus.take_poller("c").unwrap();
            let consumer = thread::spawn(move || drain(&mut poller));
            for i in 0..4 {
                producer.publish(Topic::new(0), |e| *e = pair(i));
            }
            drop(producer);
            let seen = consumer.join().unwrap();
            assert_eq!(seen, (0..4).map(|i| (i, pair(i))).collect::<Vec<_>>());
        });
    }
}

/// A `Pair` routed by its second word's parity: topic 0, key `odd`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Parity(bool);

impl crate::SlotKey for Parity {
    type Filter = bool;
    fn check(&self, odd: &bool) -> crate::KeyMatch {
        crate::KeyMatch::exact(self.0 == *odd)
    }
}

impl crate::Routed for Pair {
    type Key = Parity;
    fn topic(&self) -> Topic {
        Topic::new(0)
    }
    fn key(&self) -> Parity {
        Parity(self.1 % 20 != 0)
    }
    fn matches(&self, odd: &bool) -> bool {
        (self.1 % 20 != 0) == *odd
    }
}

#[test]
fn loom_models_a_key_is_published_with_its_slot() {
    // The key is written beside the tag before the publish's Release and read after the
    // consumer's Acquire: a filtering consumer across a wrap never sees a stale key (it would
    // skip or take the wrong event) nor races the producer on the key array.
    model(|| {
        let (mut producer, bus) = RingBus::routed::<Pair>()
            .capacity(2)
            .wait_strategy(WaitStrategy::Blocking)
            .build()
            .unwrap();
        let mut odd = bus.subscribe(Subscription::new("odd").keys(true)).unwrap();
        let consumer = thread::spawn(move || {
            let mut seen = Vec::new();
            while let Ok(batch) = odd.poll() {
                seen.extend(batch.iter().map(|(s, e)| (s, *e)));
            }
            seen
        });
        for i in 0..4 {
            producer.publish_event(pair(i));
        }
        drop(producer);
        let expected: Vec<_> = [1, 3].into_iter().map(|i| (i, pair(i))).collect();
        assert_eq!(consumer.join().unwrap(), expected);
    });
}

#[test]
fn loom_models_a_batch_is_visible_all_or_nothing() {
    model(|| {
        let (mut producer, mut bus) = RingBus::builder::<Pair>()
            .capacity(4)
            .poller(Subscription::new("c"))
            .build()
            .unwrap();
        let mut poller = bus.take_poller("c").unwrap();
        let consumer = thread::spawn(move || {
            let mut sizes = Vec::new();
            while let Ok(batch) = poller.poll() {
                sizes.push(batch.sequences());
                for (s, e) in batch.iter() {
                    assert_eq!(e, &pair(s));
                }
            }
            sizes
        });
        producer
            .publish_batch(3, |i, e| {
                *e = pair(i as u64);
                Topic::new(0)
            })
            .unwrap();
        drop(producer);
        let batches = consumer.join().unwrap();
        assert_eq!(batches, vec![0..3], "the batch of 3 was seen in parts");
    });
}

#[test]
fn loom_models_blocking_never_loses_a_wake_up() {
    // Both directions park: the consumer on an empty ring, the producer on a full one
    // (capacity 1, two events). A lost wake-up is a deadlock, which loom reports.
    model(|| {
        let (mut producer, mut bus) = RingBus::builder::<Pair>()
            .capacity(1)
            .wait_strategy(WaitStrategy::Blocking)
            .poller(Subscription::new("c"))
            .build()
            .unwrap();
        let mut poller = bus.take_poller("c").unwrap();
        let consumer = thread::spawn(move || drain(&mut poller).len());
        producer.publish(Topic::new(0), |e| *e = pair(0));
        producer.publish(Topic::new(0), |e| *e = pair(1));
        drop(producer);
        assert_eq!(consumer.join().unwrap(), 2);
    });
}

#[test]
fn loom_models_shutdown_drains_every_published_event() {
    // The adaptive strategy spins, yields, then parks; the producer closes while the filtered
    // consumer may be anywhere in that sequence. It must still see every event of its topic.
    model(|| {
        let (mut producer, mut bus) = RingBus::builder::<Pair>()
            .capacity(2)
            .wait_strategy(WaitStrategy::Adaptive)
            .poller(Subscription::new("b").topics(crate::TopicSet::of(&[Topic::new(1)])))
            .build()
            .unwrap();
        let mut b = bus.take_poller("b").unwrap();
        let consumer = thread::spawn(move || drain(&mut b));
        producer.publish(Topic::new(1), |e| *e = pair(0));
        producer.publish(Topic::new(0), |e| *e = pair(1));
        producer.publish(Topic::new(1), |e| *e = pair(2));
        drop(producer);
        assert_eq!(consumer.join().unwrap(), vec![(0, pair(0)), (2, pair(2))]);
    });
}

#[test]
fn loom_models_a_dependent_never_overtakes_its_upstream() {
    // B runs after A. The producer fills the ring and closes, then this thread plays A and
    // releases while B races it: B must never see an event A has not finished.
    // (Publishing concurrently as a third thread is covered by the other models; with it,
    // this model takes minutes.)
    model(|| {
        let (mut producer, mut bus) = RingBus::builder::<Pair>()
            .capacity(2)
            .wait_strategy(WaitStrategy::Blocking)
            .poller(Subscription::new("a"))
            .poller(Subscription::new("b").after("a"))
            .build()
            .unwrap();
        let mut a = bus.take_poller("a").unwrap();
        let mut b = bus.take_poller("b").unwrap();
        // What A has finished processing, written by A before it releases the batch.
        let processed = Arc::new(AtomicU64::new(0));
        let seen_by_b = Arc::clone(&processed);
        let tb = thread::spawn(move || {
            let mut n = 0;
            while let Ok(batch) = b.poll() {
                for (s, _) in batch.iter() {
                    // Acquire: pairs with A's Release store.
                    assert!(
                        seen_by_b.load(Acquire) > s,
                        "B saw {s} before A processed it"
                    );
                    n += 1;
                }
            }
            n
        });
        producer.publish(Topic::new(0), |e| *e = pair(0));
        producer.publish(Topic::new(0), |e| *e = pair(1));
        drop(producer);
        while let Ok(batch) = a.poll() {
            // Release: pairs with B's Acquire load.
            processed.store(batch.sequences().end, Release);
        }
        assert_eq!(tb.join().unwrap(), 2);
    });
}

#[test]
fn loom_models_a_join_racing_with_publish_across_a_wrap() {
    // A consumer joins while the producer laps a ring of 2 (no replay window: the producer
    // commits to the whole ring). Whatever its start, it must see every event from there on,
    // intact, and the producer must not overwrite what it has not read.
    model(|| {
        let (mut producer, bus) = joinable_bus(2);
        let bus = Arc::new(bus);
        let joiner_bus = Arc::clone(&bus);
        let joiner = thread::spawn(move || {
            match joiner_bus.subscribe(Subscription::new("late")) {
                Ok(mut poller) => {
                    let start = poller.sequence();
                    Some((start, drain(&mut poller)))
                }
                // The producer may have finished and closed the bus before the join.
                Err(crate::ConfigError::Closed) => None,
                Err(other) => panic!("{other:?}"),
            }
        });
        for i in 0..3 {
            producer.publish(Topic::new(0), |e| *e = pair(i));
        }
        drop(producer);
        if let Some((start, seen)) = joiner.join().unwrap() {
            assert_eq!(seen, (start..3).map(|i| (i, pair(i))).collect::<Vec<_>>());
        }
    });
}

#[test]
fn loom_models_a_join_at_an_earlier_sequence_is_safe_or_refused() {
    model(|| {
        let (mut producer, bus) = RingBus::builder::<Pair>()
            .capacity(2)
            .replay_window(1)
            .wait_strategy(WaitStrategy::Blocking)
            .build()
            .unwrap();
        producer.publish(Topic::new(0), |e| *e = pair(0));
        let bus = Arc::new(bus);
        let joiner_bus = Arc::clone(&bus);
        let joiner = thread::spawn(move || {
            let sub = Subscription::new("replay").start_at(StartAt::Sequence(0));
            drain_if_joined(joiner_bus.subscribe(sub))
        });
        producer.publish(Topic::new(0), |e| *e = pair(1));
        producer.publish(Topic::new(0), |e| *e = pair(2));
        drop(producer);
        if let Some(seen) = joiner.join().unwrap() {
            assert_eq!(seen, (0..3).map(|i| (i, pair(i))).collect::<Vec<_>>());
        }
    });
}

#[test]
fn loom_models_a_leave_racing_with_publish() {
    // The producer is blocked on a full ring by a consumer that then leaves: it must be
    // released (never waits on a consumer that has left).
    model(|| {
        let (mut producer, mut bus) = RingBus::builder::<Pair>()
            .capacity(1)
            .wait_strategy(WaitStrategy::Blocking)
            .poller(Subscription::new("leaver"))
            .build()
            .unwrap();
        let poller = bus.take_poller("leaver").unwrap();
        let leaver = thread::spawn(move || drop(poller));
        for i in 0..3 {
            producer.publish(Topic::new(0), |e| *e = pair(i));
        }
        leaver.join().unwrap();
    });
}

#[test]
fn loom_models_a_detached_tap_never_sees_a_torn_event() {
    model(|| {
        let (mut producer, bus) = RingBus::builder::<Pair>()
            .capacity(2)
            .wait_strategy(WaitStrategy::Blocking)
            .build()
            .unwrap();
        let mut tap = bus
            .tap(Subscription::new("tap").lossy(TapPolicy::default()))
            .unwrap();
        let reader = thread::spawn(move || {
            let (mut received, mut missed) = (0, 0);
            loop {
                match tap.poll() {
                    Ok(events) => {
                        for (s, e) in events {
                            assert_eq!(*e, pair(*s), "torn or stale event");
                        }
                        received += events.len() as u64;
                    }
                    Err(PollError::Lagged { missed: m }) => missed += m,
                    Err(PollError::Shutdown) => return (received, missed),
                    Err(other) => panic!("{other:?}"),
                }
            }
        });
        for i in 0..4 {
            producer.publish(Topic::new(0), |e| *e = pair(i));
        }
        drop(producer);
        let (received, missed) = reader.join().unwrap();
        assert_eq!(received + missed, 4);
    });
}

#[test]
fn loom_models_a_gating_joiner_reusing_a_detached_taps_entry() {
    // The producer decides to detach a tap (lag 1) while the tap leaves and a gating consumer
    // takes over its entry at the tap's very position. The detach may then land on the
    // gating cursor; the producer must still never overwrite what that consumer has not read.
    model(|| {
        let (mut producer, bus) = joinable_bus(2);
        let tap = bus
            .tap(Subscription::new("tap").lossy(TapPolicy::default().lag(1)))
            .unwrap();
        let bus = Arc::new(bus);
        let joiner_bus = Arc::clone(&bus);
        let joiner = thread::spawn(move || {
            drop(tap);
            let sub = Subscription::new("late").start_at(StartAt::Sequence(0));
            drain_if_joined(joiner_bus.subscribe(sub))
        });
        for i in 0..3 {
            producer.publish(Topic::new(0), |e| *e = pair(i));
        }
        drop(producer);
        if let Some(seen) = joiner.join().unwrap() {
            assert_eq!(seen, (0..3).map(|i| (i, pair(i))).collect::<Vec<_>>());
            // The tap's detach is never charged to the poller that took its entry over.
            let metrics = bus.metrics();
            let late = metrics.consumer("late").unwrap();
            assert_eq!(late.detaches, 0, "the poller was charged the tap's detach");
            assert!(metrics.producer.detached_taps <= 1);
        }
    });
}

/// A bus whose table has one entry, so a joiner must take over the entry a leaver vacated.
fn one_entry_bus(capacity: usize) -> (crate::Producer<Pair>, crate::Bus<Pair>) {
    RingBus::builder::<Pair>()
        .capacity(capacity)
        .replay_window(0)
        .max_consumers(1)
        .wait_strategy(WaitStrategy::Blocking)
        .build()
        .unwrap()
}

#[test]
fn loom_models_a_joiner_reusing_a_leavers_entry_never_races_its_reads() {
    // One thread reads event 0 and leaves; another then joins at the head and takes over the
    // same (only) entry, while the producer laps the ring of 2. If the producer's scan read
    // the entry's state as the leaver's and its cursor as the joiner's, it would write slot 0
    // with nothing ordering the leaver's read of it first: loom reports that as a data race.
    model(|| {
        let (mut producer, bus) = one_entry_bus(2);
        let mut leaver = bus.subscribe(Subscription::new("leaver")).unwrap();
        let bus = Arc::new(bus);
        let joiner_bus = Arc::clone(&bus);
        producer.publish(Topic::new(0), |e| *e = pair(0));
        let leaving = thread::spawn(move || {
            let batch = leaver.poll().unwrap();
            for (s, e) in batch.iter() {
                assert_eq!(*e, pair(s), "the leaver read a torn event");
            }
        });
        let joiner = thread::spawn(move || {
            leaving.join().unwrap();
            let joined = joiner_bus.subscribe(Subscription::new("joiner"));
            match joined {
                Ok(mut poller) => {
                    let seen = drain(&mut poller);
                    for (s, e) in seen {
                        assert_eq!(e, pair(s), "the joiner read a torn event");
                    }
                }
                Err(crate::ConfigError::Closed) => {}
                Err(other) => panic!("{other:?}"),
            }
        });
        for i in 1..3 {
            producer.publish(Topic::new(0), |e| *e = pair(i));
        }
        drop(producer);
        joiner.join().unwrap();
    });
}

#[test]
fn loom_models_a_tap_taking_over_a_taps_entry_is_never_cut_loose_by_a_stale_detach() {
    // Tap A (lag 1) never reads, so publishing event 1 makes the producer detach it. Meanwhile
    // A leaves and tap B takes over the only entry at A's very position, with a lag of the
    // whole ring: B then never lags (the producer publishes 2 events into a ring of 2), so it
    // must receive both and never be told it lagged. A detach judged on A and landing on B
    // would cut B loose.
    model(|| {
        let (mut producer, bus) = one_entry_bus(2);
        let a = bus
            .tap(Subscription::new("a").lossy(TapPolicy::default().lag(1)))
            .unwrap();
        let bus = Arc::new(bus);
        let side_bus = Arc::clone(&bus);
        let side = thread::spawn(move || {
            drop(a);
            let sub = Subscription::new("b")
                .lossy(TapPolicy::default())
                .start_at(StartAt::Sequence(0));
            let mut b = match side_bus.tap(sub) {
                Ok(b) => b,
                // Refused: the producer had moved on (B would start behind the ring).
                Err(crate::ConfigError::StartNotInRing { .. } | crate::ConfigError::Closed) => {
                    return None
                }
                Err(other) => panic!("{other:?}"),
            };
            let mut received = Vec::new();
            loop {
                match b.poll() {
                    Ok(events) => received.extend(events.iter().map(|(s, e)| (*s, *e))),
                    Err(PollError::Shutdown) => return Some(received),
                    Err(other) => panic!("tap b: {other:?} (received {received:?})"),
                }
            }
        });
        for i in 0..2 {
            producer.publish(Topic::new(0), |e| *e = pair(i));
        }
        drop(producer);
        if let Some(received) = side.join().unwrap() {
            assert_eq!(received, (0..2).map(|i| (i, pair(i))).collect::<Vec<_>>());
        }
    });
}

#[test]
fn loom_models_a_join_behind_a_tap_held_limit_is_safe_or_refused() {
    // A tap (lag 1) joined a ring of 4 behind the head, so the producer, which had already
    // written up to 7 under an earlier limit, finds it past its lag bound. If the tap moves
    // between the producer's read and its detach, the detach fails and the tap's bound (5)
    // holds the producer back below what it has already written. A consumer joining at 1
    // then must be refused: slot 1 holds event 5.
    model(|| {
        let (mut producer, bus) = joinable_bus(4);
        for i in 0..5 {
            producer.publish(Topic::new(0), |e| *e = pair(i));
        }
        let policy = TapPolicy::default().lag(1);
        let sub = Subscription::new("tap")
            .lossy(policy)
            .start_at(StartAt::Sequence(4));
        let mut tap = bus.tap(sub).unwrap();
        for i in 5..8 {
            producer.publish(Topic::new(0), |e| *e = pair(i));
        }
        let bus = Arc::new(bus);
        let joiner_bus = Arc::clone(&bus);
        let reader = thread::spawn(move || {
            if let Ok(Some(events)) = tap.try_poll() {
                for (s, e) in events {
                    assert_eq!(*e, pair(*s), "tap read a stale event");
                }
            }
        });
        let joiner = thread::spawn(move || {
            let sub = Subscription::new("late").start_at(StartAt::Sequence(1));
            drain_if_joined(joiner_bus.subscribe(sub))
        });
        let _ = producer.try_publish(Topic::new(0), |e| *e = pair(8));
        reader.join().unwrap();
        drop(producer);
        if let Some(seen) = joiner.join().unwrap() {
            let end = seen.last().map_or(1, |(s, _)| s + 1);
            assert_eq!(seen, (1..end).map(|i| (i, pair(i))).collect::<Vec<_>>());
        }
    });
}

#[test]
fn loom_models_a_waker_with_two_sleepers_loses_no_wake_up() {
    // The first notify clears the sleeper count and wakes both; the waiter whose condition
    // does not hold yet must count itself in again before it re-parks, or the second
    // notify would skip the lock and leave it parked forever (a deadlock loom reports).
    use crate::wait::{wait_for_until, ParkHistory, Waker};
    use std::cell::Cell;
    model(|| {
        let waker = Arc::new(Waker::new(crate::barrier::Barriers::available()));
        let level = Arc::new(AtomicU64::new(0));
        let waiters: Vec<_> = [1, 2]
            .into_iter()
            .map(|wanted| {
                let (waker, level) = (Arc::clone(&waker), Arc::clone(&level));
                thread::spawn(move || {
                    // Acquire: pairs with the Release stores below.
                    wait_for_until(
                        WaitStrategy::Blocking,
                        &waker,
                        &mut ParkHistory::default(),
                        &Cell::new(None),
                        || (level.load(Acquire) >= wanted).then_some(()),
                    )
                })
            })
            .collect();
        for l in 1..=2 {
            // Release: pairs with the waiters' Acquire loads.
            level.store(l, Release);
            waker.notify();
        }
        for w in waiters {
            w.join().unwrap();
        }
    });
}

/// Drains an async poller's stream to its end on loom's executor, which parks the thread
/// until the task's waker is woken: a lost wake-up is a deadlock, which loom reports.
#[cfg(feature = "async")]
fn drain_async(poller: crate::AsyncPoller<Pair>) -> Vec<(u64, Pair)> {
    use futures_core::Stream;
    let mut poller = poller;
    loom::future::block_on(async move {
        let mut seen = Vec::new();
        while let Some(item) =
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut poller).poll_next(cx)).await
        {
            seen.push(item.unwrap());
        }
        seen
    })
}

#[test]
#[cfg(feature = "async")]
fn loom_models_an_async_poller_never_loses_a_wake_up() {
    // The async twin of `blocking_never_loses_a_wake_up`: capacity 1, so the task registers
    // on an empty ring while the producer parks on a full one; with Adaptive, after one yield.
    for strategy in [WaitStrategy::Blocking, WaitStrategy::Adaptive] {
        model(move || {
            let (mut producer, bus) = RingBus::builder::<Pair>()
                .capacity(1)
                .wait_strategy(strategy)
                .build()
                .unwrap();
            let poller = bus.subscribe_async(Subscription::new("c")).unwrap();
            let consumer = thread::spawn(move || drain_async(poller));
            producer.publish(Topic::new(0), |e| *e = pair(0));
            producer.publish(Topic::new(0), |e| *e = pair(1));
            drop(producer);
            assert_eq!(consumer.join().unwrap(), vec![(0, pair(0)), (1, pair(1))]);
        });
    }
}

#[test]
#[cfg(feature = "async")]
fn loom_models_an_async_dependent_is_woken_by_its_upstream() {
    // B (async) runs after A (a thread): B registers with the releases' waker and must be
    // woken by A's release, never by the producer alone, and never overtake A.
    model(|| {
        let (mut producer, mut bus) = RingBus::builder::<Pair>()
            .capacity(2)
            .wait_strategy(WaitStrategy::Blocking)
            .poller(Subscription::new("a"))
            .poller(Subscription::new("b").after("a"))
            .build()
            .unwrap();
        let mut a = bus.take_poller("a").unwrap();
        let b = bus.take_poller("b").unwrap().into_async();
        let processed = Arc::new(AtomicU64::new(0));
        let seen_by_b = Arc::clone(&processed);
        let tb = thread::spawn(move || {
            let seen = drain_async(b);
            for (s, _) in &seen {
                // Acquire: pairs with A's Release store.
                assert!(
                    seen_by_b.load(Acquire) > *s,
                    "B saw {s} before A processed it"
                );
            }
            seen.len()
        });
        producer.publish(Topic::new(0), |e| *e = pair(0));
        producer.publish(Topic::new(0), |e| *e = pair(1));
        drop(producer);
        while let Ok(batch) = a.poll() {
            // Release: pairs with B's Acquire load.
            processed.store(batch.sequences().end, Release);
        }
        drop(a);
        assert_eq!(tb.join().unwrap(), 2);
    });
}

#[test]
#[cfg(feature = "async")]
fn loom_models_an_async_tap_never_sees_a_torn_event() {
    model(|| {
        let (mut producer, bus) = RingBus::builder::<Pair>()
            .capacity(2)
            .wait_strategy(WaitStrategy::Blocking)
            .build()
            .unwrap();
        let mut tap = bus
            .tap_async(Subscription::new("tap").lossy(TapPolicy::default()))
            .unwrap();
        let reader = thread::spawn(move || {
            use futures_core::Stream;
            loom::future::block_on(async move {
                let (mut received, mut missed) = (0, 0);
                while let Some(item) =
                    std::future::poll_fn(|cx| std::pin::Pin::new(&mut tap).poll_next(cx)).await
                {
                    match item {
                        Ok((s, e)) => {
                            assert_eq!(e, pair(s), "torn or stale event");
                            received += 1;
                        }
                        Err(PollError::Lagged { missed: m }) => missed += m,
                        Err(other) => panic!("{other:?}"),
                    }
                }
                (received, missed)
            })
        });
        for i in 0..3 {
            producer.publish(Topic::new(0), |e| *e = pair(i));
        }
        drop(producer);
        let (received, missed) = reader.join().unwrap();
        assert_eq!(received + missed, 3);
    });
}

#[test]
#[cfg(feature = "async")]
fn loom_models_a_cancelled_async_waiter_leaves_nothing_behind() {
    // A task registers, then is cancelled (its poller dropped) while the producer publishes
    // into a ring of 1 and notifies: the producer must never wait on it (it left), and the
    // registration must be taken back exactly once (by the drop or by the producer's wake),
    // so no count is left over.
    model(|| {
        let (mut producer, bus) = RingBus::builder::<Pair>()
            .capacity(1)
            .wait_strategy(WaitStrategy::Blocking)
            .build()
            .unwrap();
        let shared = Arc::clone(&bus.shared);
        let mut poller = bus.subscribe_async(Subscription::new("c")).unwrap();
        let canceller = thread::spawn(move || {
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            let _ = poller.poll_batch(&mut cx).is_pending();
            drop(poller);
        });
        for i in 0..2 {
            producer.publish(Topic::new(0), |e| *e = pair(i));
        }
        canceller.join().unwrap();
        assert!(
            !shared.data_waker.has_sleepers(),
            "a registration outlived its task"
        );
        drop(producer);
    });
}
