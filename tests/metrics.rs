//! Live metrics while the producer runs, wait attribution, and the `tracing` events emitted
//! when a tap is detached or a consumer fails.

mod common;

use common::*;
use ringbus::{
    ConsumerKind, ConsumerState, PollError, PublishError, RingBus, Subscription, TapPolicy, Topic,
    TopicSet, WaitStrategy,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

const LIMIT: Duration = Duration::from_secs(30);

/// A snapshot taken while the producer runs flat out is consistent: sequences never pass
/// the producer, lag and counts add up, states are Running; at the end the counts are exact.
#[test]
fn snapshot_while_the_producer_runs() {
    let n = scaled(200_000, 5_000_000);
    let evens = TopicSet::of(&[Topic::new(0), Topic::new(2), Topic::new(4), Topic::new(6)]);
    let (mut producer, mut bus) = RingBus::builder::<Ev>()
        .capacity(512)
        .handler(
            Subscription::new("evens").topics(evens),
            |ev: &Ev, seq: u64, _: bool| {
                check(ev, seq);
                Ok(())
            },
        )
        .poller(Subscription::new("all"))
        .build()
        .unwrap();
    let mut all = bus.take_poller("all").unwrap();
    let bus = Arc::new(bus);
    let done = Arc::new(AtomicBool::new(false));
    let producing = done.clone();
    let snapshots = {
        let bus = bus.clone();
        let diag_bus = bus.clone();
        within(
            LIMIT,
            "snapshots",
            move || diagnose(&diag_bus.metrics()),
            move || {
                let poller = std::thread::spawn(move || loop {
                    match all.poll() {
                        Ok(batch) => {
                            for (seq, ev) in batch.iter() {
                                check(ev, seq);
                            }
                        }
                        Err(PollError::Shutdown) => break,
                        Err(e) => panic!("{e:?}"),
                    }
                });
                let producer = std::thread::spawn(move || {
                    produce(&mut producer, n, 5, 32);
                    producing.store(true, Ordering::Release);
                });
                let mut snapshots = 0;
                let mut last_published = 0;
                while !done.load(Ordering::Acquire) {
                    let m = bus.metrics();
                    snapshots += 1;
                    assert_eq!(m.capacity, 512);
                    assert_eq!(m.wait_strategy, WaitStrategy::Adaptive);
                    assert!(m.producer.published >= last_published);
                    last_published = m.producer.published;
                    for c in &m.consumers {
                        assert_eq!(c.state, ConsumerState::Running, "{}", c.name);
                        assert_eq!(c.kind, ConsumerKind::Gating);
                        assert!(c.failure.is_none());
                        // Consumer figures are read after the producer's.
                        assert!(
                            c.sequence + c.lag >= m.producer.published,
                            "{}",
                            diagnose(&m)
                        );
                        assert!(c.lag <= 512, "a gating consumer more than a ring behind");
                        assert!(c.handled + c.skipped >= c.sequence, "{}", diagnose(&m));
                    }
                    let e = m.consumer("evens").unwrap();
                    assert_eq!(e.topics, evens);
                    assert!(e.managed);
                    let a = m.consumer("all").unwrap();
                    assert!(!a.managed);
                    assert_eq!(a.skipped, 0, "an all-topics poller skips nothing");
                    std::thread::sleep(Duration::from_millis(2));
                }
                producer.join().unwrap();
                poller.join().unwrap();
                snapshots
            },
        )
    };
    assert!(snapshots >= 1);
    let report = join_bus(bus, LIMIT).unwrap();
    let e = report.consumer("evens").unwrap();
    assert_eq!(e.handled, expected_count(evens, n));
    assert_eq!(e.handled + e.skipped, n);
    assert_eq!(
        (e.sequence, e.lag, e.state),
        (n, 0, ConsumerState::Finished)
    );
    let a = report.consumer("all").unwrap();
    assert_eq!(
        (a.handled, a.skipped, a.state),
        (n, 0, ConsumerState::Finished)
    );
    assert_eq!(report.producer.published, n);
    assert!(report.producer.closed);
}

/// Waits on a full ring are counted, timed and attributed to the slowest consumer; a
/// refused `try_publish` is counted as `full`.
#[test]
fn producer_waits_are_attributed_to_the_slow_consumer() {
    let (mut producer, bus) = RingBus::builder::<Ev>().capacity(8).build().unwrap();
    let mut slow = bus.subscribe(Subscription::new("slow")).unwrap();
    let mut fast = bus.subscribe(Subscription::new("fast")).unwrap();
    publish_n(&mut producer, 8);
    drop(fast.poll().unwrap());
    let s = producer.next_sequence();
    assert_eq!(
        producer.try_publish(topic_of(s), |e| fill(e, s, s + 1)),
        Err(PublishError::Full)
    );
    let bus = Arc::new(bus);
    let m = bus.metrics();
    assert_eq!((m.producer.full, m.producer.waits), (1, 0));
    let body_bus = bus.clone();
    within(
        LIMIT,
        "attributed wait",
        || diagnose(&bus.metrics()),
        move || {
            let watcher = body_bus.clone();
            let releaser = std::thread::spawn(move || {
                // Once the producer is seen waiting on "slow" (not merely after a sleep: on
                // a loaded machine it may not have reached its publish yet), let it wait
                // 50 ms more, then release.
                wait_metrics(&watcher, LIMIT, "producer waiting on slow", |m| {
                    m.consumer("slow").is_some_and(|c| c.producer_waits >= 1)
                });
                std::thread::sleep(Duration::from_millis(50));
                drop(slow.poll().unwrap());
                slow
            });
            publish_n(&mut producer, 1);
            let slow = releaser.join().unwrap();
            let m = body_bus.metrics();
            assert_eq!(m.producer.waits, 1, "{}", diagnose(&m));
            assert!(m.producer.wait_ns >= 30_000_000, "{}", diagnose(&m));
            let s = m.consumer("slow").unwrap();
            assert_eq!(s.producer_waits, 1, "{}", diagnose(&m));
            assert!(s.producer_wait_ns >= 30_000_000);
            assert_eq!(m.consumer("fast").unwrap().producer_waits, 0);
            drop((slow, fast, producer));
        },
    );
}

// ---- tracing ---------------------------------------------------------------------------

/// One captured event: its level and its fields rendered as `name=value`.
#[derive(Debug, Clone)]
struct Captured {
    level: Level,
    fields: Vec<(String, String)>,
}

impl Captured {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

static EVENTS: Mutex<Vec<Captured>> = Mutex::new(Vec::new());

/// A minimal `tracing` subscriber that keeps every event.
struct Capture;

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        EVENTS.lock().unwrap().push(Captured {
            level: *event.metadata().level(),
            fields,
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn capture() {
    static INIT: Once = Once::new();
    INIT.call_once(|| tracing::subscriber::set_global_default(Capture).expect("subscriber"));
}

fn captured(pred: impl Fn(&Captured) -> bool) -> Vec<Captured> {
    EVENTS
        .lock()
        .unwrap()
        .iter()
        .filter(|e| pred(e))
        .cloned()
        .collect()
}

/// Detaching a tap emits a warning from the producer and one from the tap when it learns of
/// it (with how much it missed and where it rejoined).
#[test]
fn tracing_event_when_a_tap_is_detached() {
    capture();
    let (mut producer, bus) = RingBus::builder::<Ev>().capacity(8).build().unwrap();
    let mut tap = bus
        .tap(Subscription::new("traced-tap").lossy(TapPolicy::default()))
        .unwrap();
    publish_n(&mut producer, 20);
    let missed = match tap.poll() {
        Err(PollError::Lagged { missed }) => missed,
        other => panic!("{other:?}"),
    };
    assert_eq!(missed, 20);
    let tap_side = captured(|e| e.field("tap") == Some("traced-tap"));
    assert_eq!(tap_side.len(), 1, "{tap_side:?}");
    assert_eq!(tap_side[0].level, Level::WARN);
    assert_eq!(tap_side[0].field("missed"), Some("20"));
    assert_eq!(tap_side[0].field("rejoined_at"), Some("20"));
    let producer_side = captured(|e| {
        e.field("message")
            .is_some_and(|m| m.contains("lossy tap detached"))
    });
    assert!(!producer_side.is_empty(), "no producer-side detach event");
    assert!(producer_side.iter().all(|e| e.level == Level::WARN));
    let m = bus.metrics();
    assert_eq!(m.producer.detached_taps, 1);
    let t = m.consumer("traced-tap").unwrap();
    assert_eq!((t.detaches, t.missed), (1, 20));
}

/// A consumer failing emits an error event naming it, its sequence and the cause.
#[test]
fn tracing_event_when_a_consumer_fails() {
    capture();
    let (producer, bus) = RingBus::builder::<Ev>()
        .capacity(8)
        .handler(
            Subscription::new("traced-fail"),
            |_: &Ev, seq: u64, _: bool| {
                if seq == 3 {
                    Err("bad event".into())
                } else {
                    Ok(())
                }
            },
        )
        .build()
        .unwrap();
    let err = publish_then_join(producer, bus, LIMIT, "failure event", move |mut p| {
        publish_n(&mut p, 10)
    })
    .unwrap_err();
    assert_eq!(err.failures[0].sequence, 3);
    let events = captured(|e| e.field("consumer") == Some("traced-fail"));
    let failed: Vec<_> = events.iter().filter(|e| e.level == Level::ERROR).collect();
    assert_eq!(failed.len(), 1, "{events:?}");
    assert_eq!(failed[0].field("sequence"), Some("3"));
    assert!(
        failed[0]
            .field("cause")
            .is_some_and(|c| c.contains("bad event")),
        "{failed:?}"
    );
    let report = err.report;
    let c = report.consumer("traced-fail").unwrap();
    assert_eq!(c.state, ConsumerState::Failed);
    assert_eq!(c.failure.as_ref().unwrap().sequence, 3);
}

/// Consumers that come and go for as long as the bus runs leave bounded figures behind: the
/// most recent departures, a failure before any clean departure, and a count of the rest.
#[test]
fn departed_figures_are_bounded_and_failures_outlast_clean_departures() {
    let (mut producer, bus) = RingBus::builder::<Ev>()
        .capacity(8)
        .departed_kept(3)
        .build()
        .unwrap();
    bus.spawn(Subscription::new("fails"), |_: &Ev, _: u64, _: bool| {
        Err("bad event".into())
    })
    .unwrap();
    publish_n(&mut producer, 1);
    wait_metrics(&bus, LIMIT, "the failed handler leaves", |m| {
        m.consumer("fails")
            .is_some_and(|c| c.state == ConsumerState::Failed)
    });
    for i in 0..10 {
        drop(
            bus.subscribe(Subscription::new(format!("client-{i}")))
                .unwrap(),
        );
    }
    let m = bus.metrics();
    let names: Vec<&str> = m.consumers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["fails", "client-8", "client-9"]);
    assert_eq!(m.departed_forgotten, 8);
    drop(producer);
    let err = bus.join().unwrap_err();
    assert_eq!(err.failures.len(), 1);
    assert_eq!(err.failures[0].name, "fails");
}
