//! The async consumers inside the crate, small enough for Miri: their slot accesses across
//! threads, and their registrations with the wake-up protocol (counted while waiting, taken
//! back when woken or dropped). Driven by a minimal executor (park the thread until woken),
//! so nothing here depends on a runtime.

use crate::{PollError, RingBus, Subscription, TapPolicy, Topic, TopicSet, WaitStrategy};
use futures_core::Stream;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;

#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Pair(u64, u64);

fn pair(i: u64) -> Pair {
    Pair(i, !i)
}

const N: u64 = if cfg!(miri) { 200 } else { 20_000 };

/// Wakes a parked thread, counting wake-ups.
struct ThreadWaker {
    thread: thread::Thread,
    wakes: AtomicUsize,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::Relaxed);
        self.thread.unpark();
    }
}

fn thread_waker() -> (Arc<ThreadWaker>, Waker) {
    let state = Arc::new(ThreadWaker {
        thread: thread::current(),
        wakes: AtomicUsize::new(0),
    });
    (Arc::clone(&state), Waker::from(state))
}

/// Runs `future` on this thread, parking it while the future is pending.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let (_, waker) = thread_waker();
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

/// The next item of a stream.
fn next<S: Stream + Unpin>(stream: &mut S) -> impl Future<Output = Option<S::Item>> + '_ {
    std::future::poll_fn(move |cx| Pin::new(&mut *stream).poll_next(cx))
}

#[test]
fn async_consumers_see_their_topics_intact_across_many_wraps() {
    for strategy in [WaitStrategy::Adaptive, WaitStrategy::Blocking] {
        let (mut producer, bus) = RingBus::builder::<Pair>()
            .capacity(8)
            .wait_strategy(strategy)
            .build()
            .unwrap();
        let mut all = bus.subscribe_async(Subscription::new("all")).unwrap();
        let odd_topics = TopicSet::of(&[Topic::new(1)]);
        let mut odd = bus
            .subscribe_async(Subscription::new("odd").topics(odd_topics))
            .unwrap();
        let mut tap = bus
            .tap_async(Subscription::new("tap").lossy(TapPolicy::default().lag(4)))
            .unwrap();
        // The stream of every event, one by one.
        let all = thread::spawn(move || {
            block_on(async {
                let mut seen = Vec::new();
                while let Some(item) = next(&mut all).await {
                    let (s, e) = item.unwrap();
                    assert_eq!(e, pair(s), "torn or stale event at {s}");
                    seen.push(s);
                }
                seen
            })
        });
        // Batches borrowed from the ring.
        let odd = thread::spawn(move || {
            block_on(async {
                let mut seen = Vec::new();
                loop {
                    match odd.batch().await {
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
            })
        });
        let tap = thread::spawn(move || {
            block_on(async {
                let (mut received, mut missed) = (0, 0);
                while let Some(item) = next(&mut tap).await {
                    match item {
                        Ok((s, e)) => {
                            assert_eq!(e, pair(s), "tap saw a torn event at {s}");
                            received += 1;
                        }
                        Err(PollError::Lagged { missed: m }) => missed += m,
                        Err(other) => panic!("{other:?}"),
                    }
                }
                received + missed
            })
        });
        for i in 0..N {
            producer.publish(Topic::new((i % 3) as u8), |e| *e = pair(i));
        }
        drop(producer);
        assert_eq!(all.join().unwrap(), (0..N).collect::<Vec<_>>());
        let expected_odd: Vec<u64> = (0..N).filter(|i| i % 3 == 1).collect();
        assert_eq!(odd.join().unwrap(), expected_odd);
        assert_eq!(tap.join().unwrap(), N, "received + missed");
        bus.join().unwrap();
    }
}

#[test]
fn a_waiting_task_is_counted_until_woken_or_dropped() {
    let (mut producer, bus) = RingBus::builder::<Pair>()
        .wait_strategy(WaitStrategy::Blocking)
        .build()
        .unwrap();
    let shared = Arc::clone(&bus.shared);
    let mut poller = bus.subscribe_async(Subscription::new("p")).unwrap();
    let (wakes, waker) = thread_waker();
    let mut cx = Context::from_waker(&waker);

    // Nothing readable: registered, so the producer's notify is not free any more.
    assert!(poller.poll_batch(&mut cx).is_pending());
    assert!(shared.data_waker.has_sleepers());
    // Polled again while registered: counted once, not twice.
    assert!(poller.poll_batch(&mut cx).is_pending());
    producer.publish(Topic::new(0), |e| *e = pair(0));
    assert_eq!(
        wakes.wakes.load(Ordering::Relaxed),
        1,
        "woken by the publish"
    );
    assert!(!shared.data_waker.has_sleepers(), "the wake took the count");
    // Further publishes cost no wake-up.
    producer.publish(Topic::new(0), |e| *e = pair(1));
    assert_eq!(wakes.wakes.load(Ordering::Relaxed), 1);
    match poller.poll_batch(&mut cx) {
        Poll::Ready(Ok(batch)) => assert_eq!(batch.sequences(), 0..2),
        other => panic!("{other:?}"),
    }

    // Registered again, then cancelled: the registration goes with it, and so does the
    // consumer (it no longer gates the producer).
    assert!(poller.poll_batch(&mut cx).is_pending());
    assert!(shared.data_waker.has_sleepers());
    drop(poller);
    assert!(
        !shared.data_waker.has_sleepers(),
        "a dropped task stays counted"
    );
    assert!(bus
        .metrics()
        .consumers
        .iter()
        .all(|c| c.name != "p" || c.state == crate::ConsumerState::Left));
    for i in 0..2048 {
        producer.publish(Topic::new(0), |e| *e = pair(i));
    }
}

#[test]
fn a_spinning_strategy_yields_to_the_executor_and_never_registers() {
    let (mut producer, bus) = RingBus::builder::<Pair>()
        .wait_strategy(WaitStrategy::SpinThenYield)
        .build()
        .unwrap();
    let shared = Arc::clone(&bus.shared);
    let mut poller = bus.subscribe_async(Subscription::new("p")).unwrap();
    let (wakes, waker) = thread_waker();
    let mut cx = Context::from_waker(&waker);
    for round in 1..=3 {
        assert!(poller.poll_batch(&mut cx).is_pending());
        assert_eq!(
            wakes.wakes.load(Ordering::Relaxed),
            round,
            "woke itself to be polled again"
        );
        assert!(!shared.data_waker.has_sleepers());
    }
    producer.publish(Topic::new(0), |e| *e = pair(0));
    assert!(poller.poll_batch(&mut cx).is_ready());
}

#[test]
fn stop_wakes_a_registered_task_and_ends_its_stream() {
    let (_producer, bus) = RingBus::builder::<Pair>()
        .wait_strategy(WaitStrategy::Blocking)
        .build()
        .unwrap();
    let mut poller = bus.subscribe_async(Subscription::new("p")).unwrap();
    let id = poller.id();
    let (wakes, waker) = thread_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut poller).poll_next(&mut cx).is_pending());
    bus.stop(id).unwrap();
    assert_eq!(wakes.wakes.load(Ordering::Relaxed), 1);
    assert_eq!(
        Pin::new(&mut poller).poll_next(&mut cx),
        Poll::Ready(Some(Err(PollError::Stopped)))
    );
    assert_eq!(Pin::new(&mut poller).poll_next(&mut cx), Poll::Ready(None));
}
