//! Stress tests of the engine through its public API (run them with `--release` for the full
//! event counts; in debug they run the same scenarios with fewer events).
//!
//! Every consumer checks every sequence it gets and every word of every payload; topic
//! filtered consumers check they got exactly their topics; dependents check that their
//! upstream had processed each event before they saw it; pollers and handlers check that a
//! published batch becomes visible all at once.

mod common;

use common::*;
use ringbus::{
    EventHandler, HandlerError, PollError, Poller, RingBus, ShutdownReason, Subscription, Topic,
    TopicSet, WaitStrategy,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Events per scenario (scaled down in debug builds).
const N: u64 = if cfg!(debug_assertions) {
    200_000
} else {
    20_000_000
};
/// Events per scenario on rings of capacity 1 and 2, where every event is a hand-off.
const TINY: u64 = scaled(5_000, 200_000);

const LIMIT: Duration = Duration::from_secs(if cfg!(debug_assertions) { 60 } else { 120 });

#[derive(Clone, Debug)]
struct Spec {
    name: &'static str,
    topics: TopicSet,
    poller: bool,
    after: Vec<&'static str>,
}

fn spec(name: &'static str, poller: bool) -> Spec {
    Spec {
        name,
        topics: TopicSet::all(),
        poller,
        after: Vec::new(),
    }
}

/// What a handler leaves behind at each `on_shutdown`.
#[derive(Debug, Clone)]
struct Outcome {
    checker: Checker,
    started: u32,
}

struct CheckHandler {
    checker: Checker,
    all: bool,
    upstream: Vec<(&'static str, Arc<AtomicU64>)>,
    done: Arc<AtomicU64>,
    started: u32,
    out: Arc<Mutex<Vec<Outcome>>>,
}

impl EventHandler<Ev> for CheckHandler {
    fn on_start(&mut self) {
        self.started += 1;
    }

    fn on_event(&mut self, ev: &Ev, seq: u64, end_of_batch: bool) -> Result<(), HandlerError> {
        let batch_end = self.checker.on(seq, ev);
        for (name, up) in &self.upstream {
            let up = up.load(Ordering::Acquire);
            assert!(
                up > seq,
                "{}: got {seq} before upstream {name} processed it (it is at {up})",
                self.checker.name
            );
        }
        if self.all && end_of_batch {
            // The batch this handler works through ends at a publish boundary: a batch is
            // visible all at once or not at all.
            assert_eq!(
                batch_end,
                seq + 1,
                "{}: batch ended at {seq} inside a published batch ending at {batch_end}",
                self.checker.name
            );
        }
        self.done.store(seq + 1, Ordering::Release);
        Ok(())
    }

    fn on_shutdown(&mut self, _reason: &ShutdownReason) {
        self.out.lock().unwrap().push(Outcome {
            checker: self.checker.clone(),
            started: self.started,
        });
    }
}

fn run_poller(
    mut poller: Poller<Ev>,
    mut checker: Checker,
    upstream: Vec<(&'static str, Arc<AtomicU64>)>,
    done: Arc<AtomicU64>,
) -> Checker {
    loop {
        match poller.poll() {
            Ok(batch) => {
                let end = batch.sequences().end;
                for (seq, ev) in batch.iter() {
                    let batch_end = checker.on(seq, ev);
                    assert!(
                        batch_end <= end,
                        "{}: poll ended at {end} inside a published batch ending at {batch_end}",
                        checker.name
                    );
                    for (name, up) in &upstream {
                        let up = up.load(Ordering::Acquire);
                        assert!(
                            up > seq,
                            "{}: got {seq} before upstream {name} processed it (it is at {up})",
                            checker.name
                        );
                    }
                    done.store(seq + 1, Ordering::Release);
                }
            }
            Err(PollError::Shutdown) => break,
            Err(e) => panic!("{}: unexpected {e:?}", checker.name),
        }
    }
    // The end of the stream is sticky.
    assert_eq!(poller.poll().unwrap_err(), PollError::Shutdown);
    assert_eq!(poller.try_poll().unwrap_err(), PollError::Shutdown);
    checker
}

/// Builds a bus with `specs`, publishes `n` events with the mixed producer, closes, and
/// checks every consumer's stream and final figures.
fn run(
    label: &str,
    capacity: usize,
    strategy: WaitStrategy,
    specs: &[Spec],
    n: u64,
    max_batch: usize,
) {
    let started = Instant::now();
    let done: HashMap<&'static str, Arc<AtomicU64>> = specs
        .iter()
        .map(|s| (s.name, Arc::new(AtomicU64::new(0))))
        .collect();
    let upstream_of = |s: &Spec| -> Vec<(&'static str, Arc<AtomicU64>)> {
        s.after.iter().map(|a| (*a, done[a].clone())).collect()
    };
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let mut builder = RingBus::builder::<Ev>()
        .capacity(capacity)
        .wait_strategy(strategy);
    for s in specs {
        let mut sub = Subscription::new(s.name).topics(s.topics);
        for a in &s.after {
            sub = sub.after(*a);
        }
        builder = if s.poller {
            builder.poller(sub)
        } else {
            builder.handler(
                sub,
                CheckHandler {
                    checker: Checker::new(s.name, s.topics, 0),
                    all: s.topics.is_all(),
                    upstream: upstream_of(s),
                    done: done[s.name].clone(),
                    started: 0,
                    out: outcomes.clone(),
                },
            )
        };
    }
    let (mut producer, mut bus) = builder.build().expect("build");
    let pollers: Vec<_> = specs
        .iter()
        .filter(|s| s.poller)
        .map(|s| {
            let p = bus.take_poller(s.name).expect("declared poller");
            (
                p,
                Checker::new(s.name, s.topics, 0),
                upstream_of(s),
                done[s.name].clone(),
            )
        })
        .collect();
    let bus = Arc::new(bus);
    let seed = 0xB0B5 ^ capacity as u64 ^ (specs.len() as u64) << 8;
    let checkers = within(
        LIMIT,
        label,
        || diagnose(&bus.metrics()),
        move || {
            let threads: Vec<_> = pollers
                .into_iter()
                .map(|(p, c, up, d)| {
                    std::thread::Builder::new()
                        .name(format!("poller:{}", c.name))
                        .spawn(move || run_poller(p, c, up, d))
                        .unwrap()
                })
                .collect();
            produce(&mut producer, n, seed, max_batch);
            drop(producer);
            threads
                .into_iter()
                .map(|t| t.join().expect("poller thread"))
                .collect::<Vec<_>>()
        },
    );
    let report = join_bus(bus, LIMIT).unwrap_or_else(|e| panic!("{label}: {e}"));
    let outcomes = outcomes.lock().unwrap().clone();
    for s in specs {
        let mut checker = if s.poller {
            checkers.iter().find(|c| c.name == s.name).unwrap().clone()
        } else {
            let mine: Vec<_> = outcomes
                .iter()
                .filter(|o| o.checker.name == s.name)
                .collect();
            assert_eq!(mine.len(), 1, "{label}/{}: on_shutdown calls", s.name);
            assert_eq!(mine[0].started, 1, "{label}/{}: on_start calls", s.name);
            mine[0].checker.clone()
        };
        checker.finish(n);
        let expected = expected_count(s.topics, n);
        assert_eq!(
            checker.received, expected,
            "{label}/{}: events received",
            s.name
        );
        let m = report.consumer(s.name).expect("consumer in report");
        assert_eq!(m.handled, expected, "{label}/{}: handled", s.name);
        assert_eq!(
            m.handled + m.skipped,
            n,
            "{label}/{}: handled + skipped",
            s.name
        );
        assert_eq!(m.sequence, n, "{label}/{}: final sequence", s.name);
        assert_eq!(
            m.state,
            ringbus::ConsumerState::Finished,
            "{label}/{}",
            s.name
        );
    }
    assert_eq!(report.producer.published, n);
    assert!(report.producer.closed);
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{label}: {n} events, {:.2} s, {:.1} M events/s, producer waits {}",
        secs,
        n as f64 / secs / 1e6,
        report.producer.waits
    );
}

#[test]
fn one_consumer_every_strategy_handler_and_poller() {
    let _serial = serial();
    for strategy in WaitStrategy::ALL {
        for poller in [false, true] {
            let label = format!("1P1C {strategy} poller={poller}");
            // Busy-spin on 2 cores shared with other builds does ~1-2 M events/s: fewer.
            let n = if strategy == WaitStrategy::BusySpin {
                N / 4
            } else {
                N
            };
            run(&label, 1024, strategy, &[spec("c0", poller)], n, 64);
        }
    }
}

#[test]
fn two_and_four_consumers() {
    let _serial = serial();
    for strategy in NON_SPINNING {
        let two = [spec("h0", false), spec("p1", true)];
        run(&format!("1P2C {strategy}"), 1024, strategy, &two, N, 64);
        let four = [
            spec("h0", false),
            spec("p1", true),
            spec("h2", false),
            spec("p3", true),
        ];
        run(
            &format!("1P4C {strategy}"),
            1024,
            strategy,
            &four,
            N / 2,
            64,
        );
    }
}

#[test]
fn topic_filtered_consumers_get_exactly_their_topics() {
    let _serial = serial();
    const NAMES: [&str; 8] = ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"];
    let mut specs: Vec<Spec> = (0..TOPICS)
        .map(|t| Spec {
            name: NAMES[t as usize],
            topics: TopicSet::of(&[Topic::new(t)]),
            poller: t % 2 == 1,
            after: Vec::new(),
        })
        .collect();
    specs.push(Spec {
        name: "three",
        topics: TopicSet::of(&[Topic::new(1), Topic::new(4), Topic::new(6)]),
        poller: false,
        after: Vec::new(),
    });
    specs.push(Spec {
        name: "three-p",
        topics: TopicSet::of(&[Topic::new(0), Topic::new(3), Topic::new(7)]),
        poller: true,
        after: Vec::new(),
    });
    for strategy in [WaitStrategy::Adaptive, WaitStrategy::Blocking] {
        run(
            &format!("8x1 topic + 2x3 topics {strategy}"),
            1024,
            strategy,
            &specs,
            N / 4,
            32,
        );
    }
}

#[test]
fn rings_of_capacity_one_and_two() {
    let _serial = serial();
    for capacity in [1, 2] {
        for strategy in WaitStrategy::ALL {
            run(
                &format!("cap {capacity} 1C {strategy}"),
                capacity,
                strategy,
                &[spec("only", strategy == WaitStrategy::Blocking)],
                TINY,
                2,
            );
            if strategy == WaitStrategy::BusySpin {
                continue;
            }
            let two = [
                spec("h", false),
                Spec {
                    name: "odd-topics",
                    topics: TopicSet::of(&[Topic::new(1), Topic::new(3), Topic::new(5)]),
                    poller: true,
                    after: Vec::new(),
                },
            ];
            run(
                &format!("cap {capacity} 2C {strategy}"),
                capacity,
                strategy,
                &two,
                TINY,
                2,
            );
        }
    }
}

fn after(mut s: Spec, ups: &[&'static str]) -> Spec {
    s.after = ups.to_vec();
    s
}

/// Runs a dependency graph (each consumer with those it reads after) under every
/// non-spinning strategy on a ring of `capacity`, then on a ring of `tiny` slots where every
/// event crosses the whole graph before the producer can reuse its slot. `pollers` marks the
/// consumers that are pollers in the first runs; the tiny run swaps pollers and handlers.
fn graph_keeps_order(
    name: &str,
    graph: &[(&'static str, &[&'static str])],
    pollers: &[bool],
    capacity: usize,
    tiny: usize,
) {
    let specs = |swap: bool| -> Vec<Spec> {
        graph
            .iter()
            .zip(pollers)
            .map(|(&(consumer, ups), &poller)| after(spec(consumer, poller != swap), ups))
            .collect()
    };
    for strategy in NON_SPINNING {
        let label = format!("{name} {strategy}");
        run(&label, capacity, strategy, &specs(false), N / 4, 64);
    }
    let label = format!("{name} cap {tiny}");
    run(
        &label,
        tiny,
        WaitStrategy::Adaptive,
        &specs(true),
        TINY / 4,
        tiny,
    );
}

#[test]
fn pipeline_a_b_c_keeps_order() {
    let _serial = serial();
    let graph: [(&str, &[&str]); 3] = [("a", &[]), ("b", &["a"]), ("c", &["b"])];
    graph_keeps_order("pipeline", &graph, &[false, true, false], 256, 2);
}

#[test]
fn diamond_a_bc_d_keeps_order() {
    let _serial = serial();
    let graph: [(&str, &[&str]); 4] =
        [("a", &[]), ("b", &["a"]), ("c", &["a"]), ("d", &["b", "c"])];
    graph_keeps_order("diamond", &graph, &[false, false, true, true], 512, 4);
}
