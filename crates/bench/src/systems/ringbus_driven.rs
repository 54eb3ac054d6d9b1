//! ringbus consumers the caller drives instead of managed handlers, on the bus
//! `RingBus::builder()` gives (the default wait strategy): blocking [`Poller`]s, one thread
//! each (`ringbus-poller`), and [`AsyncPoller`]s as tasks of a multi-threaded tokio runtime
//! with one worker per consumer, reading zero-copy batches (`ringbus-async`) or the `Stream`
//! of copied events (`ringbus-async-stream`). Beside `ringbus-default` (managed handlers) the
//! rows isolate what driving a consumer from async code costs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use futures_util::StreamExt;
use ringbus_ring::{AsyncPoller, PollError, Poller, Producer, RingBus, Subscription, Topic};

use crate::check::{Checker, ConsumerReport};
use crate::event::{Clock, Event};
use crate::harness::{join, produce, Publish, RunResult, RunSpec, System};
use crate::scenario::Shape;
use crate::systems::ringbus::topic_set;

/// Who drives the consumers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    /// `Poller::poll` on a thread per consumer.
    Poller,
    /// `AsyncPoller::batch().await` in a task per consumer.
    AsyncBatches,
    /// `AsyncPoller` as a `Stream` (`next().await`, one copied event per item).
    AsyncStream,
}

/// ringbus with caller-driven consumers.
#[derive(Debug)]
pub struct RingbusDriven {
    driver: Driver,
}

impl RingbusDriven {
    /// The system for `driver`.
    pub fn new(driver: Driver) -> Self {
        RingbusDriven { driver }
    }

    /// One row per driver, in report order.
    pub fn all() -> Vec<RingbusDriven> {
        [Driver::Poller, Driver::AsyncBatches, Driver::AsyncStream]
            .into_iter()
            .map(RingbusDriven::new)
            .collect()
    }
}

struct Pub(Producer<Event>);

impl Publish for Pub {
    #[inline]
    fn publish<F: FnMut(usize, &mut Event)>(&mut self, n: usize, first_topic: u8, mut fill: F) {
        if n == 1 {
            self.0.publish(Topic::new(first_topic), |e| fill(0, e));
        } else {
            // n <= capacity (the harness clamps batches), so this cannot fail; if it did,
            // the consumers' count check would fail the run.
            let _ = self.0.publish_batch(n, |i, e| {
                fill(i, e);
                Topic::new(e.topic as u8)
            });
        }
    }
}

fn drive_blocking(
    mut poller: Poller<Event>,
    mut checker: Checker,
) -> Result<ConsumerReport, String> {
    let name = poller.name().to_owned();
    loop {
        match poller.poll() {
            Ok(batch) => {
                for (_, e) in batch.iter() {
                    checker.on_event(e);
                }
            }
            Err(PollError::Shutdown) => return Ok(checker.finish()),
            Err(e) => return Err(format!("{name}: {e}")),
        }
    }
}

async fn drive_batches(
    mut poller: AsyncPoller<Event>,
    mut checker: Checker,
) -> Result<ConsumerReport, String> {
    let name = poller.name().to_owned();
    loop {
        match poller.batch().await {
            Ok(batch) => {
                for (_, e) in batch.iter() {
                    checker.on_event(e);
                }
            }
            Err(PollError::Shutdown) => return Ok(checker.finish()),
            Err(e) => return Err(format!("{name}: {e}")),
        }
    }
}

async fn drive_stream(
    mut poller: AsyncPoller<Event>,
    mut checker: Checker,
) -> Result<ConsumerReport, String> {
    while let Some(item) = poller.next().await {
        match item {
            Ok((_, e)) => checker.on_event(&e),
            Err(e) => return Err(format!("{}: {e}", poller.name())),
        }
    }
    Ok(checker.finish())
}

impl System for RingbusDriven {
    fn name(&self) -> &str {
        match self.driver {
            Driver::Poller => "ringbus-poller",
            Driver::AsyncBatches => "ringbus-async",
            Driver::AsyncStream => "ringbus-async-stream",
        }
    }

    fn describe(&self) -> String {
        match self.driver {
            Driver::Poller => "RingBus::builder(); Bus::subscribe pollers, one thread each",
            Driver::AsyncBatches => {
                "RingBus::builder(); Bus::subscribe_async, batch().await in a task each \
                 (tokio multi-thread, a worker per consumer)"
            }
            Driver::AsyncStream => {
                "RingBus::builder(); Bus::subscribe_async as a Stream of copied events, \
                 next().await in a task each (tokio multi-thread, a worker per consumer)"
            }
        }
        .to_string()
    }

    fn run(&self, spec: &RunSpec) -> Result<RunResult, String> {
        let clock = Clock::new();
        // The bus filters topics per slot tag: a foreign topic reaching a consumer is an error.
        // Markets (markets-8) are filtered by the consumer.
        let checkers = spec.checkers(clock, spec.layout.by_market());
        let (producer, bus) = RingBus::builder::<Event>()
            .capacity(spec.capacity.next_power_of_two())
            .build()
            .map_err(|e| format!("build: {e}"))?;
        let mut pollers = Vec::with_capacity(checkers.len());
        for (i, c) in checkers.iter().enumerate() {
            let mut sub = Subscription::new(format!("c{i}")).topics(topic_set(&c.mask()));
            if spec.layout.shape == Shape::Pipeline && i > 0 {
                sub = sub.after(format!("c{}", i - 1).as_str());
            }
            pollers.push(bus.subscribe(sub).map_err(|e| format!("subscribe: {e}"))?);
        }
        let consumers: Vec<_> = pollers.into_iter().zip(checkers).collect();
        let n = consumers.len();
        let pin = spec.pin;
        let (runtime, collect): (Option<tokio::runtime::Runtime>, Collect) = match self.driver {
            Driver::Poller => {
                let handles: Vec<_> = consumers
                    .into_iter()
                    .enumerate()
                    .map(|(i, (poller, checker))| {
                        thread::spawn(move || {
                            if pin {
                                crate::pin::pin_current(crate::pin::consumer_slot(i));
                            }
                            drive_blocking(poller, checker)
                        })
                    })
                    .collect();
                (None, Collect::Threads(handles))
            }
            Driver::AsyncBatches | Driver::AsyncStream => {
                let worker = Arc::new(AtomicUsize::new(0));
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(n.max(1))
                    .on_thread_start(move || {
                        if pin {
                            let i = worker.fetch_add(1, Ordering::Relaxed);
                            crate::pin::pin_current(crate::pin::consumer_slot(i));
                        }
                    })
                    .build()
                    .map_err(|e| format!("runtime: {e}"))?;
                let driver = self.driver;
                let tasks: Vec<_> = consumers
                    .into_iter()
                    .map(|(poller, checker)| {
                        let poller = poller.into_async();
                        if driver == Driver::AsyncBatches {
                            rt.spawn(drive_batches(poller, checker))
                        } else {
                            rt.spawn(drive_stream(poller, checker))
                        }
                    })
                    .collect();
                (Some(rt), Collect::Tasks(tasks))
            }
        };
        let s = spec.clone();
        let handle = thread::spawn(move || {
            let mut p = Pub(producer);
            let produced = produce(&mut p, &s, clock);
            drop(p); // closes the bus: the consumers drain and end
            produced
        });
        let produced = join(handle, "producer")?;
        let mut reports = Vec::with_capacity(n);
        match collect {
            Collect::Threads(handles) => {
                for h in handles {
                    reports.push(join(h, "consumer")??);
                }
            }
            Collect::Tasks(tasks) => {
                let rt = runtime.as_ref().ok_or("no runtime")?;
                for t in tasks {
                    let report = rt.block_on(t).map_err(|e| format!("consumer task: {e}"))?;
                    reports.push(report?);
                }
            }
        }
        let elapsed = Instant::now() - produced.start;
        bus.join().map_err(|e| format!("consumer failed: {e}"))?;
        Ok(RunResult {
            elapsed,
            published: produced.events,
            timed_out: produced.timed_out,
            producer_cpu: produced.cpu,
            consumers: reports,
        })
    }
}

/// Where the consumers' reports come from.
enum Collect {
    Threads(Vec<thread::JoinHandle<Result<ConsumerReport, String>>>),
    Tasks(Vec<tokio::task::JoinHandle<Result<ConsumerReport, String>>>),
}
