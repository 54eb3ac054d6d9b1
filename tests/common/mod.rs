//! Shared helpers of the integration tests: a 64-byte event whose words derive from its
//! sequence, a checker for what a consumer receives, a mixed producer, and a deadline that
//! turns a hang into a failure with a diagnosis.
#![allow(dead_code)]

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use ringbus::{
    Bus, ConsumerState, Metrics, Producer, PublishError, ShutdownError, Topic, TopicSet,
    WaitStrategy,
};
use std::fmt::Write as _;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A 64-byte event: `[seq, batch_end, mix(seq, 2..7).., checksum]`.
pub type Ev = [u64; 8];

/// Topics used by the tests: `topic_of(seq)` is in `0..TOPICS`.
pub const TOPICS: u8 = 8;

/// splitmix64's finaliser: a cheap, well-spread hash.
#[inline]
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The topic of the event with this sequence (pseudo-random, deterministic).
#[inline]
pub fn topic_of(seq: u64) -> Topic {
    Topic::new((mix(seq ^ 0x5151) % TOPICS as u64) as u8)
}

#[inline]
fn word(seq: u64, i: usize) -> u64 {
    mix(seq.wrapping_mul(31).wrapping_add(i as u64))
}

#[inline]
fn checksum(words: &[u64]) -> u64 {
    words
        .iter()
        .fold(0xC0FF_EE00_u64, |acc, w| acc.rotate_left(7) ^ w)
}

/// Writes the event of `seq`, published in a batch that ends (exclusive) at `batch_end`.
#[inline]
pub fn fill(ev: &mut Ev, seq: u64, batch_end: u64) {
    ev[0] = seq;
    ev[1] = batch_end;
    for (i, w) in ev.iter_mut().enumerate().take(7).skip(2) {
        *w = word(seq, i);
    }
    ev[7] = checksum(&ev[..7]);
}

/// Checks every word of the event received as `seq`; returns the end of its publish batch.
#[inline]
pub fn check(ev: &Ev, seq: u64) -> u64 {
    assert_eq!(
        ev[0], seq,
        "event {seq}: wrong sequence word (event {ev:?})"
    );
    for (i, w) in ev.iter().enumerate().take(7).skip(2) {
        assert_eq!(
            *w,
            word(seq, i),
            "event {seq}: word {i} torn (event {ev:?})"
        );
    }
    assert_eq!(ev[7], checksum(&ev[..7]), "event {seq}: bad checksum");
    assert!(ev[1] > seq, "event {seq}: batch end {} not past it", ev[1]);
    ev[1]
}

/// How many of the first `n` sequences have a topic in `topics`.
pub fn expected_count(topics: TopicSet, n: u64) -> u64 {
    (0..n).filter(|&s| topics.contains(topic_of(s))).count() as u64
}

/// Follows what one consumer receives: exactly the events of its topics, in order, from its
/// start, each intact.
#[derive(Debug, Clone)]
pub struct Checker {
    pub name: String,
    pub topics: TopicSet,
    all: bool,
    /// Every sequence below this has been accounted for.
    pub next: u64,
    pub start: u64,
    pub received: u64,
}

impl Checker {
    pub fn new(name: &str, topics: TopicSet, start: u64) -> Self {
        Checker {
            name: name.to_owned(),
            topics,
            all: topics.is_all(),
            next: start,
            start,
            received: 0,
        }
    }

    /// One event received; returns its publish batch's end.
    #[inline]
    pub fn on(&mut self, seq: u64, ev: &Ev) -> u64 {
        let name = &self.name;
        if self.all {
            assert_eq!(
                seq, self.next,
                "{name}: expected sequence {}, got {seq}",
                self.next
            );
        } else {
            assert!(
                seq >= self.next,
                "{name}: sequence {seq} after {}",
                self.next
            );
            assert!(
                self.topics.contains(topic_of(seq)),
                "{name}: got {seq} of {:?}, not one of its topics",
                topic_of(seq)
            );
            for s in self.next..seq {
                assert!(
                    !self.topics.contains(topic_of(s)),
                    "{name}: missed {s} ({:?}) before {seq}",
                    topic_of(s)
                );
            }
        }
        self.next = seq + 1;
        self.received += 1;
        check(ev, seq)
    }

    /// The stream ended at `end`: nothing of its topics may be missing at the tail.
    pub fn finish(&mut self, end: u64) {
        for s in self.next..end {
            assert!(
                !self.topics.contains(topic_of(s)),
                "{}: missed {s} at the tail (ended at {end})",
                self.name
            );
        }
        self.next = self.next.max(end);
    }
}

/// A deterministic mix of single publishes, `try_publish`, and (try-)batches of random
/// sizes up to `max_batch`, until `n` events are published. Every event is `fill`ed.
pub fn produce(producer: &mut Producer<Ev>, n: u64, seed: u64, max_batch: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let cap = producer.capacity() as usize;
    let max_batch = max_batch.min(cap).max(1);
    while producer.next_sequence() < n {
        let start = producer.next_sequence();
        let left = (n - start) as usize;
        match rng.random_range(0..8u32) {
            0..=1 => {
                producer.publish(topic_of(start), |e| fill(e, start, start + 1));
            }
            2 => loop {
                match producer.try_publish(topic_of(start), |e| fill(e, start, start + 1)) {
                    Ok(s) => {
                        assert_eq!(s, start);
                        break;
                    }
                    Err(PublishError::Full) => std::thread::yield_now(),
                    Err(e) => panic!("try_publish: {e}"),
                }
            },
            3 => {
                let k = rng.random_range(1..=max_batch.min(left));
                let end = start + k as u64;
                loop {
                    let r = producer.try_publish_batch(k, |i, e| {
                        let s = start + i as u64;
                        fill(e, s, end);
                        topic_of(s)
                    });
                    match r {
                        Ok(range) => {
                            assert_eq!(range, start..end);
                            break;
                        }
                        Err(PublishError::Full) => std::thread::yield_now(),
                        Err(e) => panic!("try_publish_batch: {e}"),
                    }
                }
            }
            _ => {
                // Occasionally an empty batch: it must publish nothing.
                let k = if rng.random_ratio(1, 64) {
                    0
                } else {
                    rng.random_range(1..=max_batch.min(left))
                };
                let end = start + k as u64;
                let range = producer
                    .publish_batch(k, |i, e| {
                        let s = start + i as u64;
                        fill(e, s, end);
                        topic_of(s)
                    })
                    .expect("publish_batch");
                assert_eq!(range, start..end);
            }
        }
    }
    assert_eq!(producer.next_sequence(), n);
}

/// Publishes `k` events one by one (each its own batch).
pub fn publish_n(producer: &mut Producer<Ev>, k: u64) {
    for _ in 0..k {
        let s = producer.next_sequence();
        producer.publish(topic_of(s), |e| fill(e, s, s + 1));
    }
}

/// A one-line-per-consumer account of a snapshot, for deadline failures.
pub fn diagnose(m: &Metrics) -> String {
    let mut out = format!(
        "capacity {} strategy {} | producer: published {} waits {} wait_ns {} full {} detached_taps {} closed {}\n",
        m.capacity,
        m.wait_strategy,
        m.producer.published,
        m.producer.waits,
        m.producer.wait_ns,
        m.producer.full,
        m.producer.detached_taps,
        m.producer.closed
    );
    for c in &m.consumers {
        let _ = writeln!(
            out,
            "  {:<12} {:?} managed={} seq {} lag {} handled {} skipped {} state {} missed {} detaches {} producer_waits {} failure {:?}",
            c.name,
            c.kind,
            c.managed,
            c.sequence,
            c.lag,
            c.handled,
            c.skipped,
            c.state.name(),
            c.missed,
            c.detaches,
            c.producer_waits,
            c.failure.as_ref().map(|f| f.to_string())
        );
    }
    out
}

/// Runs `body` on a thread of its own and waits at most `limit` for it; on timeout panics
/// with `diag()` (a metrics snapshot) instead of hanging. A panic in `body` is re-raised.
pub fn within<R: Send + 'static>(
    limit: Duration,
    what: &str,
    diag: impl Fn() -> String,
    body: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name(format!("test:{what}"))
        .spawn(move || {
            let r = body();
            let _ = tx.send(r);
        })
        .expect("spawn test body");
    match rx.recv_timeout(limit) {
        Ok(r) => {
            handle.join().expect("test body thread");
            r
        }
        Err(RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("body ended without a result"),
        },
        Err(RecvTimeoutError::Timeout) => {
            panic!(
                "DEADLINE: {what} did not finish within {limit:?}\n{}",
                diag()
            )
        }
    }
}

/// Waits (at most `limit`) until `cond` holds on a metrics snapshot; panics with a diagnosis
/// otherwise.
pub fn wait_metrics<T: Send + Sync + 'static>(
    bus: &Bus<T>,
    limit: Duration,
    what: &str,
    cond: impl Fn(&Metrics) -> bool,
) -> Metrics {
    let deadline = Instant::now() + limit;
    loop {
        let m = bus.metrics();
        if cond(&m) {
            return m;
        }
        if Instant::now() > deadline {
            panic!(
                "DEADLINE: {what} not reached within {limit:?}\n{}",
                diagnose(&m)
            );
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether every managed consumer has stopped (finished, failed or left).
pub fn managed_done(m: &Metrics) -> bool {
    m.consumers.iter().filter(|c| c.managed).all(|c| {
        matches!(
            c.state,
            ConsumerState::Finished | ConsumerState::Failed | ConsumerState::Left
        )
    })
}

/// Joins the bus without risking a hang: waits for the other handles of `bus` to go, then
/// for every managed consumer to stop (with a diagnosis on timeout), then `Bus::join`.
pub fn join_bus<T: Send + Sync + 'static>(
    bus: Arc<Bus<T>>,
    limit: Duration,
) -> Result<Metrics, ShutdownError> {
    let deadline = Instant::now() + limit;
    let mut bus = bus;
    let bus = loop {
        match Arc::try_unwrap(bus) {
            Ok(b) => break b,
            Err(b) => {
                if Instant::now() > deadline {
                    panic!(
                        "DEADLINE: other handles of the bus still alive\n{}",
                        diagnose(&b.metrics())
                    );
                }
                std::thread::sleep(Duration::from_millis(1));
                bus = b;
            }
        }
    };
    wait_metrics(
        &bus,
        deadline.saturating_duration_since(Instant::now()),
        "managed consumers to stop",
        managed_done,
    );
    bus.join()
}

/// Drives the bus with `body` (given the producer, which it may drop or close) under `limit`,
/// diagnosed by the bus's metrics on timeout; then joins the bus under `limit` too.
pub fn publish_then_join<T: Send + Sync + 'static>(
    producer: Producer<T>,
    bus: Bus<T>,
    limit: Duration,
    what: &str,
    body: impl FnOnce(Producer<T>) + Send + 'static,
) -> Result<Metrics, ShutdownError> {
    let bus = Arc::new(bus);
    within(
        limit,
        what,
        || diagnose(&bus.metrics()),
        move || body(producer),
    );
    join_bus(bus, limit)
}

/// The strategies that do not busy-spin: with more threads than this machine's 2 cores,
/// busy-spin crawls, so tests with several consumers leave it out.
pub const NON_SPINNING: [WaitStrategy; 3] = [
    WaitStrategy::SpinThenYield,
    WaitStrategy::Blocking,
    WaitStrategy::Adaptive,
];

/// Tests that count threads against 2 cores run one at a time within a test binary.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// `cfg!(debug_assertions)`-scaled count.
pub const fn scaled(debug: u64, release: u64) -> u64 {
    if cfg!(debug_assertions) {
        debug
    } else {
        release
    }
}
