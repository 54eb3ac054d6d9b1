//! Failure paths of the public API, written the way an embedding team would: a poller or a
//! tap whose thread panics, an event type whose `Clone` panics, a producer that crashes or
//! gives up, stopping a poller, a stalled tap under `try_publish`, and the bounded waits.
//! Each test is named after the promise it checks.

mod common;

use common::within;
use ringbus::{
    ConsumerState, EventHandler, FailureCause, HandlerError, PollError, PublishError, RingBus,
    ShutdownReason, Subscription, TapPolicy, Topic,
};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const T0: Topic = Topic::new(0);
/// How long a call that must return may take before the test calls it a hang.
const HANG: Duration = Duration::from_secs(20);

#[test]
fn a_poller_panicking_mid_batch_releases_nothing_it_did_not_finish() {
    let seen_after = Arc::new(AtomicU64::new(0));
    let max_seen = Arc::clone(&seen_after);
    let (mut producer, mut bus) = RingBus::builder::<u64>()
        .capacity(1024)
        .poller(Subscription::new("poller"))
        .handler(
            Subscription::new("after").after("poller"),
            move |_e: &u64, seq: u64, _eob: bool| {
                max_seen.fetch_max(seq + 1, Ordering::SeqCst);
                Ok(())
            },
        )
        .build()
        .unwrap();
    let mut poller = bus.take_poller("poller").unwrap();
    let reader = thread::spawn(move || loop {
        let batch = poller.poll().unwrap();
        for (seq, _) in batch.iter() {
            assert!(seq != 3000, "boom at 3000");
        }
    });
    for i in 0..5000 {
        producer.publish(T0, |e| *e = i);
    }
    assert!(
        reader.join().is_err(),
        "the poller thread should have panicked"
    );
    drop(producer);
    let err = bus.join().unwrap_err();
    let failure = err
        .failures
        .iter()
        .find(|f| f.name == "poller")
        .expect("the poller is reported as failed");
    assert!(failure.sequence <= 3000, "{failure}");
    assert!(
        matches!(failure.cause, FailureCause::Panicked(_)),
        "{failure}"
    );
    assert!(
        seen_after.load(Ordering::SeqCst) <= failure.sequence,
        "the dependent saw up to {} although the poller failed at {}",
        seen_after.load(Ordering::SeqCst),
        failure.sequence
    );
    let poller = err.report.consumer("poller").unwrap();
    assert_eq!(poller.state, ConsumerState::Failed);
    let after = err.report.consumer("after").unwrap();
    assert!(
        matches!(&after.failure, Some(f) if matches!(f.cause, FailureCause::UpstreamGone { failed: true, .. })),
        "{:?}",
        after.failure
    );
}

#[test]
fn a_poller_that_released_part_of_a_batch_fails_after_that_part() {
    let (mut producer, mut bus) = RingBus::builder::<u64>()
        .capacity(64)
        .poller(Subscription::new("poller"))
        .poller(Subscription::new("after").after("poller"))
        .build()
        .unwrap();
    let mut poller = bus.take_poller("poller").unwrap();
    let mut after = bus.take_poller("after").unwrap();
    producer
        .publish_batch(10, |i, e| {
            *e = i as u64;
            T0
        })
        .unwrap();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        let mut batch = poller.poll().unwrap();
        assert_eq!(batch.sequences(), 0..10);
        batch.release_to(4).unwrap();
        panic!("failed while handling event 4");
    }));
    assert!(caught.is_err());
    // The panic was caught: the poller knows it failed.
    assert_eq!(poller.poll().unwrap_err(), PollError::Failed);
    let seen: Vec<u64> = after
        .poll_timeout(HANG)
        .unwrap()
        .iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(seen, [0, 1, 2, 3]);
    assert_eq!(
        after.poll_timeout(HANG).unwrap_err(),
        PollError::UpstreamGone {
            name: "poller".into(),
            failed: true
        }
    );
    let report = bus.metrics();
    let failed = report.consumer("poller").unwrap();
    assert_eq!(failed.state, ConsumerState::Failed);
    assert_eq!(failed.failure.as_ref().unwrap().sequence, 4);
}

#[test]
fn release_to_outside_the_batch_is_a_typed_error() {
    let (mut producer, bus) = RingBus::builder::<u64>().build().unwrap();
    let mut poller = bus.subscribe(Subscription::new("p")).unwrap();
    producer
        .publish_batch(3, |i, e| {
            *e = i as u64;
            T0
        })
        .unwrap();
    let mut batch = poller.poll().unwrap();
    let err = batch.release_to(7).unwrap_err();
    assert_eq!(err.sequence, 7);
    assert_eq!(err.batch, 0..3);
    assert_eq!(err.to_string(), "sequence 7 is not in the batch 0..3");
    batch.release_to(3).unwrap();
    assert!(batch.is_empty());
}

/// An event whose `Clone` is user code that can be slow and can panic.
#[derive(Debug, Default)]
struct Fragile {
    value: u64,
    /// Clone sleeps this long, then panics (0: clones normally).
    bomb_ms: u64,
}

impl Clone for Fragile {
    fn clone(&self) -> Self {
        if self.bomb_ms > 0 {
            thread::sleep(Duration::from_millis(self.bomb_ms));
            panic!("clone of {} refused", self.value);
        }
        Fragile {
            value: self.value,
            bomb_ms: 0,
        }
    }
}

#[test]
fn a_tap_whose_clone_panics_while_being_detached_does_not_hang_the_producer() {
    let (mut producer, bus) = RingBus::builder::<Fragile>().capacity(4).build().unwrap();
    let mut tap = bus
        .tap(Subscription::new("tap").lossy(TapPolicy::default().lag(1)))
        .unwrap();
    producer.publish(T0, |e| {
        e.value = 0;
        e.bomb_ms = 300;
    });
    let polling = thread::spawn(move || {
        let caught = catch_unwind(AssertUnwindSafe(|| tap.poll().map(|b| b.len())));
        (caught.is_err(), tap)
    });
    // Let the tap start its copy (it sleeps 300 ms in `clone`), then make the producer
    // detach it mid-copy.
    thread::sleep(Duration::from_millis(100));
    let producer = within(HANG, "the second publish", String::new, move || {
        producer.publish(T0, |e| {
            e.value = 1;
            e.bomb_ms = 0;
        });
        producer
    });
    let (panicked, mut tap) = polling.join().unwrap();
    assert!(panicked, "the clone's panic reaches the tap's caller");
    assert_eq!(tap.poll().unwrap_err(), PollError::Failed);
    let report = bus.metrics();
    let m = report.consumer("tap").unwrap();
    assert_eq!(m.state, ConsumerState::Failed);
    let cause = m.failure.as_ref().unwrap().cause.to_string();
    assert!(cause.contains("clone of 0 refused"), "{cause}");
    drop(producer);
    drop(tap);
    assert!(bus.join().is_err());
}

#[test]
fn a_managed_tap_whose_clone_panics_is_reported_failed() {
    let (mut producer, bus) = RingBus::builder::<Fragile>().capacity(16).build().unwrap();
    bus.spawn_tap(
        Subscription::new("tap").lossy(TapPolicy::default()),
        |_e: &Fragile, _seq: u64, _eob: bool| Ok(()),
    )
    .unwrap();
    producer.publish(T0, |e| {
        e.value = 7;
        e.bomb_ms = 1;
    });
    drop(producer);
    let err = within(HANG, "Bus::join", String::new, move || bus.join()).unwrap_err();
    assert_eq!(err.failures.len(), 1, "{err}");
    assert_eq!(err.failures[0].name, "tap");
    assert!(
        err.failures[0]
            .cause
            .to_string()
            .contains("clone of 7 refused"),
        "{err}"
    );
    assert_eq!(
        err.report.consumer("tap").unwrap().state,
        ConsumerState::Failed
    );
}

/// Records the reason it was shut down with.
struct Recorder(Arc<Mutex<Option<ShutdownReason>>>, Arc<AtomicU64>);

impl EventHandler<u64> for Recorder {
    fn on_event(&mut self, _e: &u64, _seq: u64, _eob: bool) -> Result<(), HandlerError> {
        self.1.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn on_shutdown(&mut self, reason: &ShutdownReason) {
        *self.0.lock().unwrap() = Some(reason.clone());
    }
}

#[test]
fn a_producer_that_panics_is_told_apart_from_a_clean_close() {
    let reason = Arc::new(Mutex::new(None));
    let handled = Arc::new(AtomicU64::new(0));
    let (mut producer, mut bus) = RingBus::builder::<u64>()
        .capacity(64)
        .handler(
            Subscription::new("store"),
            Recorder(Arc::clone(&reason), Arc::clone(&handled)),
        )
        .poller(Subscription::new("log"))
        .build()
        .unwrap();
    let mut log = bus.take_poller("log").unwrap();
    let crashed = thread::spawn(move || {
        for i in 0..40 {
            producer.publish(T0, |e| *e = i);
        }
        panic!("the matching engine crashed");
    })
    .join();
    assert!(crashed.is_err());
    let mut seen = 0;
    let end = loop {
        match log.poll() {
            Ok(batch) => seen += batch.iter().count(),
            Err(e) => break e,
        }
    };
    assert_eq!(seen, 40, "every published event is still delivered");
    assert_eq!(end, PollError::ProducerFailed);
    assert_eq!(log.poll().unwrap_err(), PollError::ProducerFailed);
    drop(log);
    assert!(bus.producer_failed());
    let err = bus.join().unwrap_err();
    assert!(err.producer_failed);
    assert!(err.failures.is_empty());
    assert!(err.to_string().contains("the producer failed"), "{err}");
    assert!(err.report.producer.failed);
    assert_eq!(handled.load(Ordering::SeqCst), 40);
    assert_eq!(
        reason.lock().unwrap().clone(),
        Some(ShutdownReason::ProducerFailed)
    );
}

#[test]
fn an_aborting_producer_ends_the_stream_as_failed_and_a_closing_one_does_not() {
    for abort in [true, false] {
        let reason = Arc::new(Mutex::new(None));
        let (mut producer, bus) = RingBus::builder::<u64>()
            .handler(
                Subscription::new("store"),
                Recorder(Arc::clone(&reason), Arc::new(AtomicU64::new(0))),
            )
            .build()
            .unwrap();
        producer.publish(T0, |e| *e = 1);
        if abort {
            producer.abort();
        } else {
            producer.close();
        }
        let joined = bus.join();
        let expected = if abort {
            ShutdownReason::ProducerFailed
        } else {
            ShutdownReason::Closed
        };
        assert_eq!(reason.lock().unwrap().clone(), Some(expected));
        assert_eq!(joined.is_err(), abort);
    }
}

#[test]
fn a_poller_can_be_stopped_even_while_it_waits() {
    let (mut producer, bus) = RingBus::builder::<u64>().capacity(8).build().unwrap();
    let mut idle = bus.subscribe(Subscription::new("idle")).unwrap();
    let mut waiting = bus.subscribe(Subscription::new("waiting")).unwrap();
    let (idle_id, waiting_id) = (idle.id(), waiting.id());
    let waiter = thread::spawn(move || waiting.poll().map(|b| b.sequences()).unwrap_err());
    thread::sleep(Duration::from_millis(20));
    bus.stop(waiting_id).unwrap();
    assert_eq!(waiter.join().unwrap(), PollError::Stopped);
    bus.stop(idle_id).unwrap();
    assert_eq!(idle.poll().unwrap_err(), PollError::Stopped);
    // A stopped poller has left: it no longer gates the producer.
    for i in 0..100 {
        producer
            .try_publish(T0, |e| *e = i)
            .expect("nothing gates now");
    }
    let report = bus.metrics();
    assert_eq!(report.consumer("idle").unwrap().state, ConsumerState::Left);
    // Its id is dead now.
    assert!(bus.stop(idle_id).is_err());
}

#[test]
fn a_tap_can_be_stopped() {
    let (_producer, bus) = RingBus::builder::<u64>().build().unwrap();
    let mut tap = bus
        .tap(Subscription::new("tap").lossy(TapPolicy::default()))
        .unwrap();
    bus.stop(tap.id()).unwrap();
    assert_eq!(tap.poll().unwrap_err(), PollError::Stopped);
}

#[test]
fn try_publish_detaches_a_stalled_tap_once_its_max_wait_has_passed() {
    let (mut producer, bus) = RingBus::builder::<u64>().capacity(4).build().unwrap();
    let mut tap = bus
        .tap(Subscription::new("tap").lossy(TapPolicy::default().wait(Duration::from_millis(20))))
        .unwrap();
    for i in 0..4 {
        producer.try_publish(T0, |e| *e = i).unwrap();
    }
    let started = Instant::now();
    let mut fulls = 0;
    loop {
        match producer.try_publish(T0, |e| *e = 4) {
            Ok(_) => break,
            Err(PublishError::Full) => fulls += 1,
            Err(other) => panic!("{other}"),
        }
        assert!(
            started.elapsed() < HANG,
            "try_publish stayed Full for {HANG:?}"
        );
        thread::sleep(Duration::from_millis(1));
    }
    assert!(fulls > 0, "the tap first held the producer back");
    assert!(started.elapsed() >= Duration::from_millis(20));
    assert!(matches!(tap.poll(), Err(PollError::Lagged { .. })));
}

#[test]
fn bounded_waits_time_out_with_typed_errors_and_end_nothing() {
    let (mut producer, bus) = RingBus::builder::<u64>().capacity(2).build().unwrap();
    let mut poller = bus.subscribe(Subscription::new("p")).unwrap();
    let mut tap = bus
        .tap(Subscription::new("tap").lossy(TapPolicy::default()))
        .unwrap();
    let wait = Duration::from_millis(30);
    let started = Instant::now();
    assert_eq!(poller.poll_timeout(wait).unwrap_err(), PollError::Timeout);
    assert!(started.elapsed() >= wait);
    assert_eq!(tap.poll_timeout(wait).unwrap_err(), PollError::Timeout);
    producer.publish(T0, |e| *e = 1);
    producer.publish(T0, |e| *e = 2);
    let copies: Vec<u64> = tap
        .poll_timeout(wait)
        .unwrap()
        .iter()
        .map(|(_, e)| *e)
        .collect();
    assert_eq!(copies, [1, 2]);
    let started = Instant::now();
    assert_eq!(
        producer.publish_timeout(T0, wait, |e| *e = 3),
        Err(PublishError::Timeout)
    );
    assert!(started.elapsed() >= wait);
    // Nothing ended: the poller reads on, and then the producer has room again.
    let seen: Vec<u64> = poller
        .poll_timeout(wait)
        .unwrap()
        .iter()
        .map(|(_, e)| *e)
        .collect();
    assert_eq!(seen, [1, 2]);
    assert_eq!(producer.publish_timeout(T0, wait, |e| *e = 3), Ok(2));
}

#[test]
fn a_publish_timeout_waits_for_a_slow_consumer_that_catches_up_in_time() {
    let (mut producer, bus) = RingBus::builder::<u64>().capacity(2).build().unwrap();
    let mut poller = bus.subscribe(Subscription::new("p")).unwrap();
    producer.publish(T0, |e| *e = 0);
    producer.publish(T0, |e| *e = 1);
    let reader = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        poller.poll().unwrap().iter().count()
    });
    assert_eq!(
        producer.publish_timeout(T0, HANG, |e| *e = 2),
        Ok(2),
        "the consumer freed a slot before the timeout"
    );
    assert_eq!(reader.join().unwrap(), 2);
}
