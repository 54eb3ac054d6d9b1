//! Closing the bus: every consumer drains every published event; pollers and taps see
//! `Shutdown` after the last one; handlers get `on_shutdown` exactly once; parked consumers
//! are woken.

mod common;

use common::*;
use ringbus::{
    ConsumerState, EventHandler, HandlerError, PollError, RingBus, ShutdownReason, Subscription,
    TapPolicy, Topic, TopicSet, WaitStrategy,
};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Counts {
    events: AtomicU64,
    starts: AtomicUsize,
    shutdowns: AtomicUsize,
    /// Events seen after on_shutdown (must stay 0).
    late: AtomicU64,
}

struct Counting(Arc<Counts>, Checker);

impl EventHandler<Ev> for Counting {
    fn on_start(&mut self) {
        self.0.starts.fetch_add(1, Ordering::SeqCst);
    }
    fn on_event(&mut self, ev: &Ev, seq: u64, _: bool) -> Result<(), HandlerError> {
        self.1.on(seq, ev);
        if self.0.shutdowns.load(Ordering::SeqCst) > 0 {
            self.0.late.fetch_add(1, Ordering::SeqCst);
        }
        self.0.events.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn on_shutdown(&mut self, _reason: &ShutdownReason) {
        self.0.shutdowns.fetch_add(1, Ordering::SeqCst);
    }
}

fn drain_poller(mut p: ringbus::Poller<Ev>, mut checker: Checker) -> Checker {
    loop {
        match p.poll() {
            Ok(batch) => {
                for (seq, ev) in batch.iter() {
                    checker.on(seq, ev);
                }
            }
            Err(PollError::Shutdown) => break,
            Err(e) => panic!("{e:?}"),
        }
    }
    for _ in 0..3 {
        assert_eq!(p.poll().unwrap_err(), PollError::Shutdown);
        assert_eq!(p.try_poll().unwrap_err(), PollError::Shutdown);
    }
    checker
}

fn drop_producer_drains_everything(strategy: WaitStrategy, explicit_close: bool) {
    let n = scaled(20_000, 500_000);
    let odd = TopicSet::of(&[Topic::new(1), Topic::new(3), Topic::new(5), Topic::new(7)]);
    let h = Arc::new(Counts::default());
    let dep = Arc::new(Counts::default());
    let (mut producer, mut bus) = RingBus::builder::<Ev>()
        .capacity(128)
        .wait_strategy(strategy)
        .handler(
            Subscription::new("h"),
            Counting(h.clone(), Checker::new("h", TopicSet::all(), 0)),
        )
        .handler(
            Subscription::new("dep").after("h").topics(odd),
            Counting(dep.clone(), Checker::new("dep", odd, 0)),
        )
        .poller(Subscription::new("p"))
        .poller(Subscription::new("p-odd").topics(odd))
        .build()
        .unwrap();
    let p = bus.take_poller("p").unwrap();
    let p_odd = bus.take_poller("p-odd").unwrap();
    let tap = bus
        .tap(Subscription::new("tap").lossy(TapPolicy::default()))
        .unwrap();
    let bus = Arc::new(bus);
    let label = format!("shutdown {strategy} close={explicit_close}");
    let (pc, oc, (tap_received, tap_missed, tap_next)) = within(
        LIMIT,
        &label,
        || diagnose(&bus.metrics()),
        move || {
            let t1 =
                std::thread::spawn(move || drain_poller(p, Checker::new("p", TopicSet::all(), 0)));
            let t2 = std::thread::spawn(move || drain_poller(p_odd, Checker::new("p-odd", odd, 0)));
            let t3 = std::thread::spawn(move || {
                let mut tap = tap;
                let (mut received, mut missed, mut expected) = (0u64, 0u64, 0u64);
                loop {
                    match tap.poll() {
                        Ok(events) => {
                            for (seq, ev) in events {
                                assert_eq!(*seq, expected, "tap: gap without a Lagged report");
                                check(ev, *seq);
                                expected += 1;
                                received += 1;
                            }
                        }
                        Err(PollError::Lagged { missed: m }) => {
                            missed += m;
                            expected += m;
                        }
                        Err(PollError::Shutdown) => break,
                        Err(e) => panic!("tap: {e:?}"),
                    }
                }
                assert_eq!(tap.poll().unwrap_err(), PollError::Shutdown);
                (received, missed, expected)
            });
            produce(&mut producer, n, 11, 32);
            if explicit_close {
                producer.close();
            } else {
                drop(producer);
            }
            (t1.join().unwrap(), t2.join().unwrap(), t3.join().unwrap())
        },
    );
    let report = join_bus(bus, LIMIT).unwrap_or_else(|e| panic!("{label}: {e}"));
    let mut pc = pc;
    let mut oc = oc;
    pc.finish(n);
    oc.finish(n);
    assert_eq!(pc.received, n, "{label}");
    assert_eq!(oc.received, expected_count(odd, n), "{label}");
    // A tap drains to the end too; whatever it did not get it was told about.
    assert_eq!(tap_next, n, "{label}: tap position at shutdown");
    assert_eq!(
        tap_received + tap_missed,
        n,
        "{label}: tap received + missed"
    );
    assert_eq!(h.events.load(Ordering::SeqCst), n, "{label}");
    assert_eq!(
        dep.events.load(Ordering::SeqCst),
        expected_count(odd, n),
        "{label}"
    );
    for (name, c) in [("h", &h), ("dep", &dep)] {
        assert_eq!(
            c.starts.load(Ordering::SeqCst),
            1,
            "{label}/{name} on_start"
        );
        assert_eq!(
            c.shutdowns.load(Ordering::SeqCst),
            1,
            "{label}/{name} on_shutdown"
        );
        assert_eq!(
            c.late.load(Ordering::SeqCst),
            0,
            "{label}/{name} events after on_shutdown"
        );
    }
    for c in &report.consumers {
        assert_eq!(c.state, ConsumerState::Finished, "{label}: {}", c.name);
        assert_eq!(c.sequence, n, "{label}: {}", c.name);
    }
}

#[test]
fn dropping_the_producer_drains_every_event() {
    let _s = serial();
    for strategy in NON_SPINNING {
        drop_producer_drains_everything(strategy, false);
    }
    drop_producer_drains_everything(WaitStrategy::Adaptive, true);
}

/// Consumers parked (Blocking) on an idle bus wake up for the last events and the close.
#[test]
fn parked_consumers_wake_for_the_close() {
    let _s = serial();
    for strategy in [WaitStrategy::Blocking, WaitStrategy::Adaptive] {
        let counts = Arc::new(Counts::default());
        let dep = Arc::new(Counts::default());
        let (mut producer, mut bus) = RingBus::builder::<Ev>()
            .capacity(16)
            .wait_strategy(strategy)
            .handler(
                Subscription::new("h"),
                Counting(counts.clone(), Checker::new("h", TopicSet::all(), 0)),
            )
            .handler(
                Subscription::new("dep").after("h"),
                Counting(dep.clone(), Checker::new("dep", TopicSet::all(), 0)),
            )
            .poller(Subscription::new("p"))
            .build()
            .unwrap();
        let p = bus.take_poller("p").unwrap();
        let bus = Arc::new(bus);
        let label = format!("parked {strategy}");
        let checker = within(
            LIMIT,
            &label,
            || diagnose(&bus.metrics()),
            move || {
                let t = std::thread::spawn(move || {
                    drain_poller(p, Checker::new("p", TopicSet::all(), 0))
                });
                // Let every consumer park on the empty ring.
                std::thread::sleep(Duration::from_millis(100));
                publish_n(&mut producer, 3);
                std::thread::sleep(Duration::from_millis(100));
                publish_n(&mut producer, 2);
                drop(producer);
                t.join().unwrap()
            },
        );
        assert_eq!(checker.received, 5, "{label}");
        join_bus(bus, LIMIT).unwrap();
        for c in [&counts, &dep] {
            assert_eq!(c.events.load(Ordering::SeqCst), 5, "{label}");
            assert_eq!(c.shutdowns.load(Ordering::SeqCst), 1, "{label}");
        }
    }
}

/// Closing with nothing published: every consumer ends at once, with on_shutdown.
#[test]
fn close_of_an_empty_bus() {
    let counts = Arc::new(Counts::default());
    let (producer, mut bus) = RingBus::builder::<Ev>()
        .wait_strategy(WaitStrategy::Blocking)
        .handler(
            Subscription::new("h"),
            Counting(counts.clone(), Checker::new("h", TopicSet::all(), 0)),
        )
        .poller(Subscription::new("p"))
        .build()
        .unwrap();
    let mut p = bus.take_poller("p").unwrap();
    let report = publish_then_join(producer, bus, LIMIT, "empty close", move |producer| {
        producer.close();
        assert_eq!(p.poll().unwrap_err(), PollError::Shutdown);
    })
    .unwrap();
    assert_eq!(counts.shutdowns.load(Ordering::SeqCst), 1);
    assert_eq!(counts.events.load(Ordering::SeqCst), 0);
    assert!(report.producer.closed);
    assert_eq!(report.producer.published, 0);
}

/// A poller whose batch is still borrowed when the producer closes sees the rest after it.
#[test]
fn close_while_a_batch_is_held() {
    let (mut producer, mut bus) = RingBus::builder::<Ev>()
        .capacity(8)
        .poller(Subscription::new("p"))
        .build()
        .unwrap();
    let mut p = bus.take_poller("p").unwrap();
    publish_n(&mut producer, 4);
    {
        let batch = p.poll().unwrap();
        assert_eq!(batch.sequences(), 0..4);
        publish_n(&mut producer, 4);
        drop(producer);
        assert_eq!(batch.iter().count(), 4);
    }
    let batch = p.poll().unwrap();
    assert_eq!(batch.sequences(), 4..8);
    for (seq, ev) in batch.iter() {
        check(ev, seq);
    }
    drop(batch);
    assert_eq!(p.poll().unwrap_err(), PollError::Shutdown);
    drop(p);
    let report = bus.join().unwrap();
    assert_eq!(report.consumer("p").unwrap().state, ConsumerState::Finished);
}
