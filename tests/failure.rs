//! A handler that panics or returns an error stops that consumer only: the producer keeps
//! publishing, `Bus::join` names the consumer, the sequence and the cause, dependents drain
//! what it processed and stop with `UpstreamGone`, and metrics show it failed.

mod common;

use common::*;
use ringbus::{
    ConsumerState, EventHandler, FailureCause, HandlerError, PollError, RingBus, ShutdownError,
    ShutdownReason, Subscription, WaitStrategy,
};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);
const EVENTS: u64 = scaled(20_000, 200_000);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    Panic,
    Error,
}

/// Handles events until `fail_at`, where it panics or returns an error.
struct Faulty {
    fault: Fault,
    fail_at: u64,
    checker: Checker,
    log: Arc<Log>,
}

#[derive(Default, Debug)]
struct Log {
    handled: AtomicU64,
    shutdowns: AtomicUsize,
    last_seen: Mutex<Option<u64>>,
}

impl EventHandler<Ev> for Faulty {
    fn on_event(&mut self, ev: &Ev, seq: u64, _eob: bool) -> Result<(), HandlerError> {
        if seq == self.fail_at {
            match self.fault {
                Fault::Panic => panic!("boom at {seq}"),
                Fault::Error => return Err(format!("refused {seq}").into()),
            }
        }
        self.checker.on(seq, ev);
        self.log.handled.fetch_add(1, Ordering::SeqCst);
        *self.log.last_seen.lock().unwrap() = Some(seq);
        Ok(())
    }

    fn on_shutdown(&mut self, _reason: &ShutdownReason) {
        self.log.shutdowns.fetch_add(1, Ordering::SeqCst);
    }
}

/// Counts what it gets and checks it (a healthy consumer).
struct Healthy {
    checker: Checker,
    log: Arc<Log>,
}

impl EventHandler<Ev> for Healthy {
    fn on_event(&mut self, ev: &Ev, seq: u64, _eob: bool) -> Result<(), HandlerError> {
        self.checker.on(seq, ev);
        self.log.handled.fetch_add(1, Ordering::SeqCst);
        *self.log.last_seen.lock().unwrap() = Some(seq);
        Ok(())
    }

    fn on_shutdown(&mut self, _reason: &ShutdownReason) {
        self.log.shutdowns.fetch_add(1, Ordering::SeqCst);
    }
}

fn failing_consumer_stops_only_itself(fault: Fault, strategy: WaitStrategy) {
    let fail_at = 1000;
    let boom = Arc::new(Log::default());
    let ok = Arc::new(Log::default());
    let dependent = Arc::new(Log::default());
    let (mut producer, mut bus) = RingBus::builder::<Ev>()
        .capacity(64)
        .wait_strategy(strategy)
        .handler(
            Subscription::new("boom"),
            Faulty {
                fault,
                fail_at,
                checker: Checker::new("boom", ringbus::TopicSet::all(), 0),
                log: boom.clone(),
            },
        )
        .handler(
            Subscription::new("ok"),
            Healthy {
                checker: Checker::new("ok", ringbus::TopicSet::all(), 0),
                log: ok.clone(),
            },
        )
        .handler(
            Subscription::new("after-boom").after("boom"),
            Healthy {
                checker: Checker::new("after-boom", ringbus::TopicSet::all(), 0),
                log: dependent.clone(),
            },
        )
        .poller(Subscription::new("poll-after-boom").after("boom"))
        .build()
        .unwrap();
    let mut poller = bus.take_poller("poll-after-boom").unwrap();
    let bus = Arc::new(bus);
    let label = format!("{fault:?} {strategy}");
    let polled = within(
        LIMIT,
        &label,
        || diagnose(&bus.metrics()),
        move || {
            let consumer = std::thread::spawn(move || {
                let mut checker = Checker::new("poll-after-boom", ringbus::TopicSet::all(), 0);
                let end = loop {
                    match poller.poll() {
                        Ok(batch) => {
                            for (seq, ev) in batch.iter() {
                                checker.on(seq, ev);
                            }
                        }
                        Err(e) => break e,
                    }
                };
                // Sticky.
                assert_eq!(poller.poll().unwrap_err(), end);
                (checker, end)
            });
            // The producer publishes far more than a ring past the failure: it must never
            // wait on the failed consumer (nor on its stopped dependents).
            produce(&mut producer, EVENTS, 7, 16);
            drop(producer);
            consumer.join().unwrap()
        },
    );
    let (checker, end) = polled;
    assert_eq!(
        end,
        PollError::UpstreamGone {
            name: "boom".into(),
            failed: true
        },
        "{label}"
    );
    assert_eq!(
        checker.next, fail_at,
        "{label}: poller drained exactly what boom processed"
    );
    assert_eq!(checker.received, fail_at);

    let err = join_bus(bus, LIMIT).expect_err("join must report the failure");
    let boom_failure = err
        .failures
        .iter()
        .find(|f| f.name == "boom")
        .unwrap_or_else(|| panic!("{label}: no failure for boom in {err}"));
    assert_eq!(boom_failure.sequence, fail_at, "{label}: {err}");
    match (&boom_failure.cause, fault) {
        (FailureCause::Panicked(msg), Fault::Panic) => {
            assert!(msg.contains("boom at 1000"), "{label}: {msg}")
        }
        (FailureCause::Error(e), Fault::Error) => {
            assert_eq!(e.to_string(), "refused 1000", "{label}")
        }
        (other, _) => panic!("{label}: cause {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("boom") && text.contains("1000"), "{text}");
    // Its dependents stopped with UpstreamGone, at the sequence where boom stopped.
    for name in ["after-boom", "poll-after-boom"] {
        let f = err
            .failures
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{label}: no failure for {name}: {err}"));
        assert_eq!(f.sequence, fail_at, "{label}/{name}");
        assert!(
            matches!(&f.cause, FailureCause::UpstreamGone { name, failed: true } if name == "boom"),
            "{label}/{name}: {:?}",
            f.cause
        );
    }
    assert_eq!(err.failures.len(), 3, "{label}: {err}");
    // The failed consumer handled exactly up to the failure; on_shutdown is called after an
    // error but not after a panic (documented on `EventHandler::on_shutdown`).
    assert_eq!(boom.handled.load(Ordering::SeqCst), fail_at, "{label}");
    // (After a panic, on_shutdown must not be called: pinned separately by
    // `panicking_handler_gets_no_on_shutdown`.)
    if fault == Fault::Error {
        assert_eq!(
            boom.shutdowns.load(Ordering::SeqCst),
            1,
            "{label}: on_shutdown of the failed handler"
        );
    }
    // The managed dependent drained exactly what boom processed, then got on_shutdown once.
    assert_eq!(dependent.handled.load(Ordering::SeqCst), fail_at, "{label}");
    assert_eq!(
        *dependent.last_seen.lock().unwrap(),
        Some(fail_at - 1),
        "{label}"
    );
    assert_eq!(dependent.shutdowns.load(Ordering::SeqCst), 1, "{label}");
    // The healthy consumer saw everything.
    assert_eq!(ok.handled.load(Ordering::SeqCst), EVENTS, "{label}");
    assert_eq!(ok.shutdowns.load(Ordering::SeqCst), 1, "{label}");

    let report = &err.report;
    assert_eq!(report.producer.published, EVENTS);
    let m = report.consumer("boom").unwrap();
    assert_eq!(m.state, ConsumerState::Failed, "{label}");
    assert_eq!(m.sequence, fail_at, "{label}");
    assert_eq!(m.handled, fail_at, "{label}");
    assert_eq!(m.failure.as_ref().unwrap().sequence, fail_at);
    assert_eq!(
        report.consumer("ok").unwrap().state,
        ConsumerState::Finished
    );
    assert_eq!(
        report.consumer("after-boom").unwrap().state,
        ConsumerState::Failed
    );
}

#[test]
fn panicking_handler_every_strategy() {
    let _s = serial();
    for strategy in NON_SPINNING {
        failing_consumer_stops_only_itself(Fault::Panic, strategy);
    }
}

#[test]
fn erroring_handler_every_strategy() {
    let _s = serial();
    for strategy in NON_SPINNING {
        failing_consumer_stops_only_itself(Fault::Error, strategy);
    }
}

/// The only gating consumer fails while the producer is parked on a full ring: the producer
/// must wake up and go on.
#[test]
fn producer_parked_on_the_failing_consumer_wakes_up() {
    let _s = serial();
    for strategy in [WaitStrategy::Blocking, WaitStrategy::Adaptive] {
        let release = Arc::new(std::sync::Barrier::new(2));
        let gate = release.clone();
        let (producer, bus) = RingBus::builder::<Ev>()
            .capacity(8)
            .wait_strategy(strategy)
            .handler(Subscription::new("stuck"), move |_: &Ev, seq: u64, _| {
                if seq == 0 {
                    // Hold the producer at a full ring, then fail.
                    gate.wait();
                    std::thread::sleep(Duration::from_millis(50));
                    return Err::<(), HandlerError>("give up".into());
                }
                Ok(())
            })
            .build()
            .unwrap();
        let err = publish_then_join(
            producer,
            bus,
            LIMIT,
            &format!("parked producer {strategy}"),
            move |mut producer| {
                // 8 fit; "stuck" holds the producer from the 9th on, which it publishes right
                // after the barrier (so a slow start of this thread cannot use up the hold).
                publish_n(&mut producer, 8);
                release.wait();
                publish_n(&mut producer, 992);
            },
        )
        .unwrap_err();
        assert_eq!(err.failures.len(), 1);
        assert_eq!(err.failures[0].name, "stuck");
        assert_eq!(err.failures[0].sequence, 0);
        assert!(err.report.producer.waits >= 1, "{}", diagnose(&err.report));
    }
}

/// Runs `handler` as the only consumer of a ring of 4 while `events` are published, and
/// checks that it, and only it, failed.
fn sole_failure(name: &str, handler: impl EventHandler<Ev>, events: u64) -> ShutdownError {
    let (producer, bus) = RingBus::builder::<Ev>()
        .capacity(4)
        .handler(Subscription::new(name), handler)
        .build()
        .unwrap();
    let err = publish_then_join(producer, bus, LIMIT, name, move |mut p| {
        publish_n(&mut p, events)
    })
    .unwrap_err();
    assert_eq!(err.failures.len(), 1);
    err
}

/// A panic in `on_start` fails the consumer before its first event; the producer is not
/// held back by it.
#[test]
fn panic_in_on_start() {
    struct BadStart;
    impl EventHandler<Ev> for BadStart {
        fn on_start(&mut self) {
            panic!("cannot start");
        }
        fn on_event(&mut self, _: &Ev, _: u64, _: bool) -> Result<(), HandlerError> {
            unreachable!("no event after a failed start")
        }
    }
    let err = sole_failure("bad-start", BadStart, 100);
    let f = &err.failures[0];
    assert_eq!((f.name.as_str(), f.sequence), ("bad-start", 0));
    assert!(matches!(&f.cause, FailureCause::Panicked(m) if m == "cannot start"));
}

/// A panic in `on_shutdown` at the end of the stream is a failure too.
#[test]
fn panic_in_on_shutdown() {
    struct BadEnd(u64);
    impl EventHandler<Ev> for BadEnd {
        fn on_event(&mut self, _: &Ev, _: u64, _: bool) -> Result<(), HandlerError> {
            self.0 += 1;
            Ok(())
        }
        fn on_shutdown(&mut self, _reason: &ShutdownReason) {
            panic!("cannot stop after {}", self.0);
        }
    }
    let err = sole_failure("bad-end", BadEnd(0), 10);
    let f = &err.failures[0];
    assert_eq!((f.name.as_str(), f.sequence), ("bad-end", 10));
    assert!(
        matches!(&f.cause, FailureCause::Panicked(m) if m == "cannot stop after 10"),
        "{:?}",
        f.cause
    );
    assert_eq!(
        err.report.consumer("bad-end").unwrap().state,
        ConsumerState::Failed
    );
}

/// A pipeline a -> b -> c where b fails: c drains what b processed; a is unaffected.
#[test]
fn failure_in_the_middle_of_a_pipeline() {
    let _s = serial();
    let c_log = Arc::new(Log::default());
    let (producer, bus) = RingBus::builder::<Ev>()
        .capacity(32)
        .handler(Subscription::new("a"), |_: &Ev, _, _| Ok(()))
        .handler(
            Subscription::new("b").after("a"),
            Faulty {
                fault: Fault::Error,
                fail_at: 333,
                checker: Checker::new("b", ringbus::TopicSet::all(), 0),
                log: Arc::new(Log::default()),
            },
        )
        .handler(
            Subscription::new("c").after("b"),
            Healthy {
                checker: Checker::new("c", ringbus::TopicSet::all(), 0),
                log: c_log.clone(),
            },
        )
        .build()
        .unwrap();
    let err = publish_then_join(producer, bus, LIMIT, "pipeline failure", move |mut p| {
        produce(&mut p, 10_000, 3, 8)
    })
    .unwrap_err();
    let names: Vec<_> = err.failures.iter().map(|f| f.name.as_str()).collect();
    assert!(names.contains(&"b") && names.contains(&"c"), "{err}");
    assert_eq!(err.failures.len(), 2, "{err}");
    assert_eq!(c_log.handled.load(Ordering::SeqCst), 333);
    assert_eq!(c_log.shutdowns.load(Ordering::SeqCst), 1);
    assert_eq!(
        err.report.consumer("a").unwrap().state,
        ConsumerState::Finished
    );
    assert_eq!(err.report.consumer("a").unwrap().handled, 10_000);
}

/// `EventHandler::on_shutdown` is documented as "not called after a panic (the handler's
/// state is suspect then)". A managed gating handler that panics in `on_event` gets it
/// anyway (lossy taps do not).
#[test]
fn panicking_handler_gets_no_on_shutdown() {
    let log = Arc::new(Log::default());
    let (producer, bus) = RingBus::builder::<Ev>()
        .capacity(16)
        .handler(
            Subscription::new("boom"),
            Faulty {
                fault: Fault::Panic,
                fail_at: 5,
                checker: Checker::new("boom", ringbus::TopicSet::all(), 0),
                log: log.clone(),
            },
        )
        .build()
        .unwrap();
    let err = publish_then_join(
        producer,
        bus,
        LIMIT,
        "panic then on_shutdown",
        move |mut p| publish_n(&mut p, 10),
    )
    .unwrap_err();
    assert_eq!(err.failures[0].sequence, 5);
    assert_eq!(log.handled.load(Ordering::SeqCst), 5);
    assert_eq!(
        log.shutdowns.load(Ordering::SeqCst),
        0,
        "on_shutdown was called after the handler panicked"
    );
}
