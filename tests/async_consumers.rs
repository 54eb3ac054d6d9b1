//! Async consumers on a multi-threaded tokio runtime: they see exactly what blocking ones see
//! (order, topic filter, missed counts, how the stream ended), many tasks lose no wake-up
//! while consumers register and the producer parks, and a cancelled stream leaves the bus at
//! once.

mod common;

use common::*;
use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use ringbus::{
    AsyncPoller, AsyncTap, ConsumerState, PollError, Poller, PublishError, RingBus, Subscription,
    Tap, TapPolicy, Topic, TopicSet, WaitStrategy,
};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

fn runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}

/// What a consumer received, one entry per event or per lag, and how its stream ended.
#[derive(Debug, PartialEq, Eq, Clone)]
enum Item {
    Event(u64, u64),
    Lagged(u64),
}

#[derive(Debug, PartialEq, Eq, Clone)]
struct Seen {
    items: Vec<Item>,
    end: PollError,
}

fn drain_blocking(mut poller: Poller<u64>) -> Seen {
    let mut items = Vec::new();
    loop {
        match poller.poll() {
            Ok(batch) => items.extend(batch.iter().map(|(s, e)| Item::Event(s, *e))),
            Err(end) => return Seen { items, end },
        }
    }
}

/// Drains the stream; `None` is a clean shutdown, as a blocking poller's `Err(Shutdown)`.
async fn drain_stream(mut poller: AsyncPoller<u64>) -> Seen {
    let mut items = Vec::new();
    while let Some(item) = poller.next().await {
        match item {
            Ok((s, e)) => items.push(Item::Event(s, e)),
            Err(end) => {
                assert_eq!(
                    poller.next().await,
                    None,
                    "the stream goes on after its end"
                );
                return Seen { items, end };
            }
        }
    }
    Seen {
        items,
        end: PollError::Shutdown,
    }
}

async fn drain_batches(mut poller: AsyncPoller<u64>) -> Seen {
    let mut items = Vec::new();
    loop {
        match poller.batch().await {
            Ok(batch) => items.extend(batch.iter().map(|(s, e)| Item::Event(s, *e))),
            Err(end) => return Seen { items, end },
        }
    }
}

/// Reads a blocking tap until it has `n` items, or to its end if `n` is `None`.
fn read_blocking_tap(tap: &mut Tap<u64>, n: Option<usize>) -> Seen {
    let mut items = Vec::new();
    loop {
        if n.is_some_and(|n| items.len() >= n) {
            return Seen {
                items,
                end: PollError::Timeout, // not an end: the read stopped here
            };
        }
        match tap.poll() {
            Ok(events) => items.extend(events.iter().map(|(s, e)| Item::Event(*s, *e))),
            Err(PollError::Lagged { missed }) => items.push(Item::Lagged(missed)),
            Err(end) => return Seen { items, end },
        }
    }
}

/// [`read_blocking_tap`] for an async tap.
async fn read_async_tap(tap: &mut AsyncTap<u64>, n: Option<usize>) -> Seen {
    let mut items = Vec::new();
    loop {
        if n.is_some_and(|n| items.len() >= n) {
            return Seen {
                items,
                end: PollError::Timeout,
            };
        }
        match tap.next().await {
            Some(Ok((s, e))) => items.push(Item::Event(s, e)),
            Some(Err(PollError::Lagged { missed })) => items.push(Item::Lagged(missed)),
            Some(Err(end)) => {
                assert_eq!(tap.next().await, None, "the tap goes on after its end");
                return Seen { items, end };
            }
            None => {
                return Seen {
                    items,
                    end: PollError::Shutdown,
                }
            }
        }
    }
}

fn publish_range(producer: &mut ringbus::Producer<u64>, range: std::ops::Range<u64>) {
    for i in range {
        producer.publish(Topic::new((i % 3) as u8), |e| *e = i * 10);
    }
}

/// Runs one tap read in a task on the runtime's workers and hands the tap back.
fn read_async_tap_on(
    rt: &tokio::runtime::Runtime,
    tap: AsyncTap<u64>,
    n: Option<usize>,
) -> (AsyncTap<u64>, Seen) {
    rt.block_on(rt.spawn(async move {
        let mut tap = tap;
        let seen = read_async_tap(&mut tap, n).await;
        (tap, seen)
    }))
    .unwrap()
}

#[test]
fn async_consumers_see_exactly_what_blocking_ones_see_to_the_end_whatever_it_is() {
    let _serial = serial();
    for abort in [false, true] {
        let gating = TopicSet::of(&[Topic::new(0), Topic::new(2)]);
        let tapped = TopicSet::of(&[Topic::new(1), Topic::new(2)]);
        let (mut producer, bus) = RingBus::builder::<u64>().capacity(16).build().unwrap();
        let sub = |name: &str| Subscription::new(name).topics(gating);
        let tap_sub = |name: &str| {
            Subscription::new(name)
                .topics(tapped)
                .lossy(TapPolicy::default())
        };
        let blocking = bus.subscribe(sub("blocking")).unwrap();
        let stream = bus.subscribe_async(sub("stream")).unwrap();
        let batches = bus.subscribe_async(sub("batches")).unwrap();
        let mut blocking_tap = bus.tap(tap_sub("blocking-tap")).unwrap();
        let async_tap = bus.tap_async(tap_sub("async-tap")).unwrap();
        let bus = Arc::new(bus);
        let diag_bus = Arc::clone(&bus);

        let (gated, taps) = within(
            LIMIT,
            "async and blocking consumers",
            move || diagnose(&diag_bus.metrics()),
            move || {
                let rt = runtime(2);
                let blocking = thread::spawn(move || drain_blocking(blocking));
                let stream = rt.spawn(drain_stream(stream));
                let batches = rt.spawn(drain_batches(batches));

                // 8 events, which both taps read (5 are of their topics).
                publish_range(&mut producer, 0..8);
                let mut blocking_seen = read_blocking_tap(&mut blocking_tap, Some(5)).items;
                let (async_tap, seen) = read_async_tap_on(&rt, async_tap, Some(5));
                let mut async_seen = seen.items;
                // 40 more while the taps stand still: the producer detaches both at 8.
                publish_range(&mut producer, 8..48);
                blocking_seen.extend(read_blocking_tap(&mut blocking_tap, Some(1)).items);
                let (async_tap, seen) = read_async_tap_on(&rt, async_tap, Some(1));
                async_seen.extend(seen.items);
                // 5 more, which both read from the head they rejoined at; then the end.
                publish_range(&mut producer, 48..53);
                if abort {
                    producer.abort();
                } else {
                    drop(producer);
                }
                let blocking_end = read_blocking_tap(&mut blocking_tap, None);
                let (_async_tap, async_end) = read_async_tap_on(&rt, async_tap, None);
                blocking_seen.extend(blocking_end.items);
                async_seen.extend(async_end.items);

                let gated = [
                    blocking.join().unwrap(),
                    rt.block_on(stream).unwrap(),
                    rt.block_on(batches).unwrap(),
                ];
                let taps = [
                    Seen {
                        items: blocking_seen,
                        end: blocking_end.end,
                    },
                    Seen {
                        items: async_seen,
                        end: async_end.end,
                    },
                ];
                (gated, taps)
            },
        );

        let end = if abort {
            PollError::ProducerFailed
        } else {
            PollError::Shutdown
        };
        let expected_gated = Seen {
            items: (0..53)
                .filter(|i| i % 3 != 1)
                .map(|i| Item::Event(i, i * 10))
                .collect(),
            end: end.clone(),
        };
        for (name, seen) in ["blocking", "stream", "batches"].iter().zip(&gated) {
            assert_eq!(seen, &expected_gated, "{name} (abort: {abort})");
        }
        let mut expected_tap: Vec<Item> = [1, 2, 4, 5, 7]
            .into_iter()
            .map(|i| Item::Event(i, i * 10))
            .collect();
        expected_tap.push(Item::Lagged(40));
        expected_tap.extend([49, 50, 52].into_iter().map(|i| Item::Event(i, i * 10)));
        let expected_tap = Seen {
            items: expected_tap,
            end,
        };
        assert_eq!(taps[0], expected_tap, "blocking tap (abort: {abort})");
        assert_eq!(taps[1], expected_tap, "async tap (abort: {abort})");

        let bus = Arc::into_inner(bus).expect("no other handle");
        let report = match bus.join() {
            Ok(report) => {
                assert!(!abort);
                report
            }
            Err(e) => {
                assert!(abort && e.producer_failed && e.failures.is_empty(), "{e}");
                *e.report
            }
        };
        let figures = |name: &str| {
            let c = report.consumer(name).unwrap();
            assert_eq!(c.state, ConsumerState::Finished, "{name}");
            (c.handled, c.skipped, c.missed, c.detaches)
        };
        assert_eq!(figures("blocking"), (35, 18, 0, 0));
        assert_eq!(figures("stream"), figures("blocking"));
        assert_eq!(figures("batches"), figures("blocking"));
        assert_eq!(figures("blocking-tap"), (8, 5, 40, 1));
        assert_eq!(figures("async-tap"), figures("blocking-tap"));
    }
}

#[test]
fn an_async_dependent_ends_after_its_upstream_leaves() {
    let (mut producer, bus) = RingBus::builder::<u64>().capacity(8).build().unwrap();
    let mut a = bus.subscribe(Subscription::new("a")).unwrap();
    let b = bus
        .subscribe_async(Subscription::new("b").after(a.id()))
        .unwrap();
    let rt = runtime(2);
    let b = rt.spawn(drain_stream(b));
    publish_range(&mut producer, 0..3);
    assert_eq!(a.poll().unwrap().sequences(), 0..3);
    publish_range(&mut producer, 3..5);
    drop(a);
    let seen = rt.block_on(b).unwrap();
    assert_eq!(
        seen,
        Seen {
            items: (0..3).map(|i| Item::Event(i, i * 10)).collect(),
            end: PollError::UpstreamGone {
                name: "a".into(),
                failed: false
            },
        }
    );
}

/// One async consumer of the stress test: a gating stream (or batches) with a checker, or a
/// tap counting what it received and missed.
async fn stress_consumer(kind: usize, mut checker: Checker, consumer: Consumer) -> (u64, u64) {
    match consumer {
        Consumer::Stream(mut poller) => {
            while let Some(item) = poller.next().await {
                let (s, e) = item.unwrap_or_else(|e| panic!("{}: {e}", checker.name));
                checker.on(s, &e);
            }
            (checker.received, 0)
        }
        Consumer::Batches(mut poller) => loop {
            match poller.batch().await {
                Ok(batch) => {
                    for (s, e) in batch.iter() {
                        checker.on(s, e);
                    }
                }
                Err(PollError::Shutdown) => return (checker.received, 0),
                Err(e) => panic!("{} (kind {kind}): {e}", checker.name),
            }
        },
        Consumer::Tap(mut tap) => {
            let (mut received, mut missed, mut last) = (0, 0, None);
            while let Some(item) = tap.next().await {
                match item {
                    Ok((s, e)) => {
                        check(&e, s);
                        assert!(last < Some(s), "{}: {s} after {last:?}", checker.name);
                        last = Some(s);
                        received += 1;
                    }
                    Err(PollError::Lagged { missed: m }) => missed += m,
                    Err(e) => panic!("{}: {e}", checker.name),
                }
            }
            (received, missed)
        }
    }
}

enum Consumer {
    Stream(AsyncPoller<Ev>),
    Batches(AsyncPoller<Ev>),
    Tap(AsyncTap<Ev>),
}

#[test]
fn many_async_consumers_on_a_multi_threaded_runtime_lose_no_wake_up() {
    let _serial = serial();
    const TASKS: usize = 24;
    let n = scaled(20_000, 400_000);
    for capacity in [8usize, 256] {
        let (mut producer, bus) = RingBus::builder::<Ev>().capacity(capacity).build().unwrap();
        let mut rng = StdRng::seed_from_u64(capacity as u64);
        let mut consumers = Vec::new();
        for i in 0..TASKS {
            let name = format!("c{i}");
            let topics = if i % 3 == 0 {
                TopicSet::all()
            } else {
                (0..TOPICS)
                    .filter(|_| rng.random_ratio(1, 2))
                    .fold(TopicSet::of(&[Topic::new(0)]), |s, t| s.with(Topic::new(t)))
            };
            // Mostly the default (yield, then register); some register at once; one spins.
            let wait = match i % 6 {
                0 | 3 => WaitStrategy::Blocking,
                5 if i == 5 => WaitStrategy::SpinThenYield,
                _ => WaitStrategy::Adaptive,
            };
            let mut sub = Subscription::new(name.as_str())
                .topics(topics)
                .wait_strategy(wait);
            // Every fourth one runs after the previous one (chains of dependents).
            if i % 4 == 3 {
                sub = sub.after(format!("c{}", i - 1).as_str());
            }
            let checker = Checker::new(&name, topics, 0);
            let consumer = match i % 8 {
                7 => Consumer::Tap(
                    bus.tap_async(
                        Subscription::new(name.as_str())
                            .lossy(TapPolicy::default())
                            .wait_strategy(wait),
                    )
                    .unwrap(),
                ),
                k if k % 2 == 0 => Consumer::Stream(bus.subscribe_async(sub).unwrap()),
                _ => Consumer::Batches(bus.subscribe_async(sub).unwrap()),
            };
            consumers.push((i, checker, consumer));
        }
        let bus = Arc::new(bus);
        let diag_bus = Arc::clone(&bus);
        let results = within(
            LIMIT,
            "many async consumers",
            move || diagnose(&diag_bus.metrics()),
            move || {
                let rt = runtime(3);
                let tasks: Vec<_> = consumers
                    .into_iter()
                    .map(|(i, checker, consumer)| {
                        let topics = checker.topics;
                        (
                            i,
                            topics,
                            matches!(consumer, Consumer::Tap(_)),
                            rt.spawn(stress_consumer(i, checker, consumer)),
                        )
                    })
                    .collect();
                // Bursts with pauses longer than the yield phase, so tasks register and are
                // woken, and small rings, so the producer parks on them too.
                let mut rng = StdRng::seed_from_u64(7);
                while producer.next_sequence() < n {
                    let burst = rng.random_range(1..=4 * capacity as u64);
                    let end = (producer.next_sequence() + burst).min(n);
                    produce(&mut producer, end, rng.random(), 16);
                    if rng.random_ratio(1, 16) {
                        thread::sleep(Duration::from_millis(2));
                    }
                }
                drop(producer);
                tasks
                    .into_iter()
                    .map(|(i, topics, tap, task)| (i, topics, tap, rt.block_on(task).unwrap()))
                    .collect::<Vec<_>>()
            },
        );
        for (i, topics, tap, (received, missed)) in results {
            if tap {
                assert_eq!(received + missed, n, "tap c{i}: received + missed");
            } else {
                assert_eq!(received, expected_count(topics, n), "c{i}");
            }
        }
        let bus = Arc::into_inner(bus).expect("no other handle");
        bus.join().unwrap();
    }
}

#[test]
fn a_dropped_async_consumer_stops_gating_at_once() {
    let (mut producer, bus) = RingBus::builder::<u64>()
        .capacity(4)
        .wait_strategy(WaitStrategy::Blocking)
        .build()
        .unwrap();
    let rt = runtime(2);
    let short = Duration::from_millis(20);

    // A task that read one event and now waits on something else, holding the consumer.
    let mut stalled = bus.subscribe_async(Subscription::new("stalled")).unwrap();
    let (read_tx, read_rx) = std::sync::mpsc::channel();
    let task = rt.spawn(async move {
        let first = stalled.next().await;
        read_tx.send(first).unwrap();
        std::future::pending::<()>().await;
        drop(stalled);
    });
    publish_range(&mut producer, 0..1);
    assert_eq!(read_rx.recv().unwrap(), Some(Ok((0, 0))));
    // Event 0 counts as processed only when the stream is asked for the next one: the
    // consumer holds the whole ring once three more are published.
    publish_range(&mut producer, 1..4);
    assert_eq!(
        producer.publish_timeout(Topic::new(0), short, |e| *e = 40),
        Err(PublishError::Timeout),
        "the stalled consumer gates"
    );
    task.abort();
    assert!(rt.block_on(task).unwrap_err().is_cancelled());
    assert_eq!(
        producer.publish_timeout(Topic::new(0), short, |e| *e = 40),
        Ok(4),
        "a cancelled consumer still gates"
    );
    publish_range(&mut producer, 5..6);
    assert_eq!(
        bus.metrics().consumer("stalled").unwrap().state,
        ConsumerState::Left
    );

    // A task registered on an empty ring, cancelled by a timeout: the consumer stays and
    // loses nothing; then cancelled with its task: it leaves.
    let mut waiting = bus.subscribe_async(Subscription::new("waiting")).unwrap();
    let timed_out = rt.block_on(async { tokio::time::timeout(short, waiting.next()).await });
    assert!(timed_out.is_err());
    publish_range(&mut producer, 6..7);
    let next = rt.block_on(async { tokio::time::timeout(LIMIT, waiting.next()).await });
    assert_eq!(next.unwrap(), Some(Ok((6, 60))));
    let task = rt.spawn(async move { waiting.next().await });
    thread::sleep(short); // it registers
    task.abort();
    assert!(rt.block_on(task).unwrap_err().is_cancelled());
    assert_eq!(
        bus.metrics().consumer("waiting").unwrap().state,
        ConsumerState::Left
    );
    for i in 7..20 {
        assert_eq!(
            producer.publish_timeout(Topic::new(0), short, |e| *e = i),
            Ok(i)
        );
    }
}

#[test]
fn an_async_consumer_whose_task_panics_holding_a_batch_fails_there() {
    let (mut producer, bus) = RingBus::builder::<u64>().capacity(8).build().unwrap();
    let mut first = bus.subscribe_async(Subscription::new("first")).unwrap();
    let mut after = bus
        .subscribe(Subscription::new("after").after("first"))
        .unwrap();
    let rt = runtime(2);
    publish_range(&mut producer, 0..4);
    let task = rt.spawn(async move {
        let mut batch = first.batch().await.unwrap();
        batch.release_to(2).unwrap();
        panic!("the consumer's task failed at 2");
    });
    assert!(rt.block_on(task).unwrap_err().is_panic());
    let report = bus.metrics();
    let first = report.consumer("first").unwrap();
    assert_eq!(first.state, ConsumerState::Failed, "{first:?}");
    assert_eq!(first.failure.as_ref().unwrap().sequence, 2);
    // The dependent sees what `first` released, and no more.
    let seen: Vec<u64> = after.poll().unwrap().iter().map(|(s, _)| s).collect();
    assert_eq!(seen, [0, 1]);
    assert!(matches!(
        after.poll(),
        Err(PollError::UpstreamGone { failed: true, .. })
    ));
}
