//! The `System` abstraction and the producer loop every system shares.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::buffering::ChannelBuffer;
use crate::check::{self, Checker, ConsumerReport};
use crate::event::{Clock, Event};
use crate::scenario::{Layout, Scenario, Shape, Workload};

/// One run: a scenario's layout and workload, a ring capacity, an event count and a deadline.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// Consumers.
    pub layout: Arc<Layout>,
    /// Producer.
    pub workload: Arc<Workload>,
    /// Ring (or channel) capacity in events.
    pub capacity: usize,
    /// How the channel systems size a routed consumer's channel ([`RunSpec::channel_capacity`]).
    pub channel_buffer: ChannelBuffer,
    /// Events to publish.
    pub events: u64,
    /// The producer stops publishing when this much time has passed since the start and
    /// the run is reported as timed out.
    pub time_limit: Duration,
    /// Record publish-to-handle latency.
    pub latency: bool,
    /// `--pin`: the producer pins itself to core 0 in [`produce`], each system pins consumer
    /// `i` to the core of [`crate::pin::consumer_slot`]`(i)` on the consumer's thread.
    pub pin: bool,
    /// An idle phase after the last event: see [`IdleProbe`]. One probe serves one run.
    pub idle: Option<Arc<IdleProbe>>,
}

impl RunSpec {
    /// A spec for `scenario` with the given capacity, count and time limit.
    pub fn new(scenario: &Scenario, capacity: usize, events: u64, time_limit: Duration) -> Self {
        RunSpec {
            layout: Arc::new(scenario.layout.clone()),
            workload: Arc::new(scenario.workload.clone()),
            capacity,
            channel_buffer: ChannelBuffer::default(),
            events,
            time_limit,
            latency: scenario.focus == crate::scenario::Focus::Latency,
            pin: false,
            idle: None,
        }
    }

    /// The same spec with channels sized by `buffer`.
    pub fn buffered(mut self, buffer: ChannelBuffer) -> Self {
        self.channel_buffer = buffer;
        self
    }

    /// The capacity of consumer `consumer`'s channel in the systems that route into channels.
    pub fn channel_capacity(&self, consumer: usize) -> usize {
        self.channel_buffer
            .capacity_for(self.capacity, &self.layout, &self.workload, consumer)
    }

    /// The same spec with pinning on or off.
    pub fn pinned(mut self, pin: bool) -> Self {
        self.pin = pin;
        self
    }

    /// The same spec with an idle phase of `window` after the last event (a fresh probe).
    pub fn with_idle(mut self, window: Duration) -> Self {
        self.idle = Some(Arc::new(IdleProbe::new(window, self.layout.consumers())));
        self
    }

    /// One checker per consumer. `filter`: the system delivers every event to every consumer
    /// (broadcast) and the consumer skips foreign topics and markets; otherwise delivery is
    /// routed.
    /// In a pipeline only the last stage records latency.
    pub fn checkers(&self, clock: Clock, filter: bool) -> Vec<Checker> {
        let n = self.layout.consumers();
        self.layout
            .subscriptions
            .iter()
            .zip(&self.layout.markets)
            .enumerate()
            .map(|(i, (m, market))| {
                let latency = self.latency && (self.layout.shape == Shape::Broadcast || i + 1 == n);
                let c = Checker::new(*m, *market, filter, clock, latency);
                match &self.idle {
                    Some(p) => c.with_progress(p.handled[i].clone()),
                    None => c,
                }
            })
            .collect()
    }
}

/// CPU used while idle: once the producer has published its events it waits until every
/// consumer has handled all of its own (the consumers' checkers count into the probe), leaves
/// the bus quiet for 10 ms, then publishes nothing for `window` while holding its producer (so the consumers stay up,
/// waiting as their wait strategy makes them wait) and measures the process's CPU time over
/// that window ([`crate::cpu::process_cpu`]: every thread, so the consumers' waiting).
/// The hook is in [`produce`], which every system's producer runs: no system needs code of
/// its own beyond [`RunSpec::checkers`].
#[derive(Debug)]
pub struct IdleProbe {
    window: Duration,
    handled: Vec<Arc<AtomicU64>>,
    result: Mutex<Option<Result<Idle, String>>>,
}

/// What an idle window measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Idle {
    /// Process CPU time over the window.
    pub cpu: Duration,
    /// The window's actual length.
    pub wall: Duration,
    /// Consumer threads that were waiting.
    pub consumers: usize,
}

impl Idle {
    /// CPU over the window as a percentage of one core, per consumer.
    pub fn pct_per_consumer(&self) -> Option<f64> {
        crate::cpu::pct_of_core_per_consumer(self.cpu, self.wall, self.consumers)
    }
}

/// How long the bus is left quiet, after the consumers drained, before the idle window opens.
const QUIET_BEFORE: Duration = Duration::from_millis(10);

/// How long the producer waits for the consumers to drain before the idle window.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

impl IdleProbe {
    /// A probe of `window` for `consumers` consumers.
    pub fn new(window: Duration, consumers: usize) -> Self {
        IdleProbe {
            window,
            handled: (0..consumers)
                .map(|_| Arc::new(AtomicU64::new(0)))
                .collect(),
            result: Mutex::new(None),
        }
    }

    /// What the window measured (`Err` if the consumers did not drain or the CPU time could
    /// not be read), or `None` if the run never got there.
    pub fn result(&self) -> Option<Result<Idle, String>> {
        self.result.lock().ok().and_then(|r| r.clone())
    }

    /// Waits for every consumer to have handled its share of `published` events, then idles
    /// for the window and records the process CPU time used meanwhile.
    fn run(&self, spec: &RunSpec, published: u64) {
        let expected: Vec<u64> = spec
            .layout
            .subscriptions
            .iter()
            .zip(&spec.layout.markets)
            .map(|(m, market)| check::expected(&spec.workload, published, m, *market).0)
            .collect();
        let give_up = Instant::now() + DRAIN_LIMIT;
        let drained = || {
            self.handled
                .iter()
                .zip(&expected)
                .all(|(h, e)| h.load(Ordering::Relaxed) >= *e)
        };
        let mut outcome = Err(format!("consumers did not drain within {DRAIN_LIMIT:?}"));
        loop {
            if drained() {
                // The figure is what a bus costs once it has been quiet a while, not the tail
                // of the last burst: a strategy may spin or yield briefly before it sleeps.
                thread::sleep(QUIET_BEFORE);
                let (c0, t0) = (crate::cpu::process_cpu(), Instant::now());
                thread::sleep(self.window);
                let (c1, t1) = (crate::cpu::process_cpu(), Instant::now());
                outcome = match (c0, c1) {
                    (Some(c0), Some(c1)) => Ok(Idle {
                        cpu: c1.saturating_sub(c0),
                        wall: t1 - t0,
                        consumers: self.handled.len(),
                    }),
                    _ => Err("getrusage failed".into()),
                };
                break;
            }
            if Instant::now() >= give_up {
                break;
            }
            thread::sleep(Duration::from_micros(100));
        }
        if let Ok(mut r) = self.result.lock() {
            *r = Some(outcome);
        }
    }
}

/// What a run returns.
#[derive(Debug)]
pub struct RunResult {
    /// From the producer's start (after the barrier) to every consumer done.
    pub elapsed: Duration,
    /// Events the producer published.
    pub published: u64,
    /// The producer hit the deadline before publishing `events`.
    pub timed_out: bool,
    /// CPU time of the producer's thread while publishing ([`Produced::cpu`]).
    pub producer_cpu: Option<Duration>,
    /// One report per consumer, in layout order.
    pub consumers: Vec<ConsumerReport>,
}

impl RunResult {
    /// What a run produced and its consumers reported, timed from the producer's start to now
    /// (call it once every consumer is done).
    pub fn finished(produced: Produced, consumers: Vec<ConsumerReport>) -> Self {
        RunResult {
            elapsed: Instant::now() - produced.start,
            published: produced.events,
            timed_out: produced.timed_out,
            producer_cpu: produced.cpu,
            consumers,
        }
    }

    /// Published events per second.
    pub fn events_per_sec(&self) -> f64 {
        self.published as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Checks every consumer against what was published.
    pub fn verify(&self, spec: &RunSpec) -> Result<(), String> {
        check::verify(
            &spec.workload,
            self.published,
            &spec.layout.subscriptions,
            &spec.layout.markets,
            &self.consumers,
        )
    }
}

/// A system under test.
pub trait System: Send + Sync {
    /// Stable name (used by `--systems`); the part before the first `-` is its family.
    fn name(&self) -> &str;

    /// Whether this is the bus as a user builds it without choosing anything
    /// (`RingBus::builder().build()`): reported as `"default": true`.
    fn is_default(&self) -> bool {
        false
    }

    /// One line for `list`.
    fn describe(&self) -> String {
        String::new()
    }

    /// `Err(reason)` when the system cannot run this layout.
    fn supports(&self, _layout: &Layout) -> Result<(), String> {
        Ok(())
    }

    /// Runs producer and consumers on real threads started together; returns after every
    /// thread has ended.
    fn run(&self, spec: &RunSpec) -> Result<RunResult, String>;
}

/// The family of a system name: `disruptor-spin` -> `disruptor`.
pub fn family(name: &str) -> &str {
    name.split('-').next().unwrap_or(name)
}

/// The producer side of a system.
pub trait Publish {
    /// Publishes `n` events (1 <= n <= capacity), `fill(i, slot)` writing event `i` of the batch;
    /// `fill` must be called exactly once per event, in order `i = 0..n`. `first_topic` is the
    /// topic `fill` will give event 0 (for systems that take the topic before the slot).
    fn publish<F: FnMut(usize, &mut Event)>(&mut self, n: usize, first_topic: u8, fill: F);
}

/// What the producer loop did.
#[derive(Debug, Clone, Copy)]
pub struct Produced {
    /// When publishing started (after the barrier).
    pub start: Instant,
    /// Events published.
    pub events: u64,
    /// Stopped by the deadline.
    pub timed_out: bool,
    /// CPU time of the thread that ran the loop, from the start to the last event (not the
    /// idle phase): the publishing side, pacing spin included (in `limit`, its readers too).
    pub cpu: Option<Duration>,
}

/// How often (in events) the producer looks at the clock for the deadline.
const DEADLINE_CHECK_EVERY: u64 = 256;

/// The producer loop shared by every system: batches as the workload says, pacing, pauses,
/// timestamps when latency is recorded, and the deadline. With `spec.pin` it first pins the
/// calling thread to the producer's core; with `spec.idle` it ends with the idle phase
/// ([`IdleProbe`]), after `Produced::start` and before the caller drops its producer.
pub fn produce<P: Publish>(p: &mut P, spec: &RunSpec, clock: Clock) -> Produced {
    if spec.pin {
        crate::pin::pin_current(0);
    }
    let cpu0 = crate::cpu::thread_cpu();
    let w = &*spec.workload;
    // Cycled tables are walked with wrapping indices, not `seq % len`: a division per event
    // would cost more than some systems' whole publish.
    let (topics, markets) = (&w.topics[..], &w.markets[..]);
    let (sizes, batches) = (&w.sizes[..], &w.batches[..]);
    let (mut ti, mut mi, mut si, mut bi) = (0usize, 0usize, 0usize, 0usize);
    let start = Instant::now();
    let deadline = start + spec.time_limit;
    let cap = spec.capacity.max(1) as u64;
    let interval_ns = w.rate.map(|r| 1e9 / r.max(1.0));
    let start_ns = clock.now_ns();
    let latency = spec.latency;
    let mut seq = 0u64;
    let mut next_check = DEADLINE_CHECK_EVERY;
    let mut timed_out = false;
    while seq < spec.events {
        let n = u64::from(batches[bi])
            .min(cap)
            .min(spec.events - seq)
            .max(1);
        bi += 1;
        if bi == batches.len() {
            bi = 0;
        }
        if let Some(iv) = interval_ns {
            let due = start_ns + (seq as f64 * iv) as u64;
            while clock.now_ns() < due {
                std::hint::spin_loop();
            }
        }
        let base = seq;
        p.publish(n as usize, topics[ti], |i, e| {
            let stamp = if latency { clock.now_ns() } else { 0 };
            e.fill(base + i as u64, topics[ti], markets[mi], sizes[si], stamp);
            ti += 1;
            if ti == topics.len() {
                ti = 0;
            }
            mi += 1;
            if mi == markets.len() {
                mi = 0;
            }
            si += 1;
            if si == sizes.len() {
                si = 0;
            }
        });
        seq += n;
        if !w.pause.is_zero() {
            thread::sleep(w.pause);
        }
        if seq >= next_check || interval_ns.is_some() || !w.pause.is_zero() {
            next_check = seq + DEADLINE_CHECK_EVERY;
            if Instant::now() >= deadline {
                timed_out = seq < spec.events;
                break;
            }
        }
    }
    let cpu = match (cpu0, crate::cpu::thread_cpu()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    if let Some(probe) = &spec.idle {
        probe.run(spec, seq);
    }
    Produced {
        start,
        events: seq,
        timed_out,
        cpu,
    }
}

/// Joins a thread, turning a panic into an error message.
pub fn join<T>(h: thread::JoinHandle<T>, who: &str) -> Result<T, String> {
    h.join().map_err(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        format!("{who} panicked: {msg}")
    })
}

/// Joins consumer threads in layout order, each returning its report.
pub fn join_consumers(
    handles: Vec<thread::JoinHandle<ConsumerReport>>,
) -> Result<Vec<ConsumerReport>, String> {
    let mut reports = Vec::with_capacity(handles.len());
    for (i, h) in handles.into_iter().enumerate() {
        reports.push(join(h, &format!("consumer {i}"))?);
    }
    Ok(reports)
}

/// Where a consumer that runs inside another library's thread (a handler) leaves its report.
pub type ReportSlot = std::sync::Arc<std::sync::Mutex<Option<ConsumerReport>>>;

/// Takes the reports the consumers left, in layout order; a missing one is an error.
pub fn take_reports(slots: &[ReportSlot]) -> Result<Vec<ConsumerReport>, String> {
    let mut reports = Vec::with_capacity(slots.len());
    for (i, s) in slots.iter().enumerate() {
        let r = s.lock().map_err(|_| "poisoned")?.take();
        reports.push(r.ok_or(format!("consumer {i} did not report"))?);
    }
    Ok(reports)
}

/// How a guarded run ended.
#[derive(Debug)]
pub enum Guarded {
    /// The system returned (checked or not: see the inner result).
    Done(Result<RunResult, String>),
    /// The system did not return within its deadline plus grace: its threads are abandoned.
    Hung,
}

/// Runs `system` on a watchdog thread; gives up after the spec's time limit plus `grace`.
pub fn run_guarded(system: Arc<dyn System>, spec: &RunSpec, grace: Duration) -> Guarded {
    let (tx, rx) = mpsc::channel();
    let s = spec.clone();
    let limit = spec.time_limit + grace;
    let spawned = thread::Builder::new()
        .name("bench-run".into())
        .spawn(move || {
            let r = system.run(&s);
            let _ = tx.send(r);
        });
    if let Err(e) = spawned {
        return Guarded::Done(Err(format!("cannot spawn: {e}")));
    }
    match rx.recv_timeout(limit) {
        Ok(r) => Guarded::Done(r),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Guarded::Done(Err("run thread panicked".into()))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Guarded::Hung,
    }
}
