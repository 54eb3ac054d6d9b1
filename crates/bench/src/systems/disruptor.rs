//! The `disruptor` crate 4.4: managed consumer threads, single producer, busy-spin or sleeping
//! wait strategy; single `publish` or `batch_publish`.

use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

use disruptor::wait_strategies::WaitStrategy;
use disruptor::{build_single_producer, BusySpin, ProcessorSettings, Producer, Sequence, Sleep};

use crate::check::Checker;
use crate::event::{Clock, Event};
use crate::harness::{
    join, produce, take_reports, Produced, Publish, ReportSlot, RunResult, RunSpec, System,
};
use crate::scenario::Shape;

/// Which wait strategy the consumers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// `BusySpin`: lowest latency, needs a core per thread.
    BusySpin,
    /// `Sleep(1 µs)`: the crate's only non-spinning strategy (it has no yielding one).
    Sleep1us,
}

/// The disruptor crate with one wait strategy.
#[derive(Debug)]
pub struct Disruptor {
    wait: Wait,
}

impl Disruptor {
    /// A disruptor system with the given wait strategy.
    pub fn new(wait: Wait) -> Self {
        Disruptor { wait }
    }
}

type Slot = ReportSlot;

/// Owns a consumer's checker inside the disruptor's handler closure and hands its report over
/// when the consumer thread ends (the closure is dropped then, before the producer's drop
/// returns from joining it).
struct ReportOnDrop {
    checker: Checker,
    slot: Slot,
}

impl Drop for ReportOnDrop {
    fn drop(&mut self) {
        let r = self.checker.finish();
        if let Ok(mut s) = self.slot.lock() {
            *s = Some(r);
        }
    }
}

fn handler(checker: Checker, slot: Slot) -> impl FnMut(&Event, Sequence, bool) + Send + 'static {
    let mut g = ReportOnDrop { checker, slot };
    move |e: &Event, _seq: Sequence, _eob: bool| g.checker.on_event(e)
}

struct Pub<P>(P);

impl<P: Producer<Event>> Publish for Pub<P> {
    #[inline]
    fn publish<F: FnMut(usize, &mut Event)>(&mut self, n: usize, _first_topic: u8, mut fill: F) {
        if n == 1 {
            self.0.publish(|e| fill(0, e));
        } else {
            self.0.batch_publish(n, |iter| {
                for (i, e) in iter.enumerate() {
                    fill(i, e);
                }
            });
        }
    }
}

/// Runs the producer on its own thread; dropping the disruptor producer joins the consumers.
fn drive<P>(
    p: P,
    spec: &RunSpec,
    clock: Clock,
    barrier: Arc<Barrier>,
) -> thread::JoinHandle<Produced>
where
    P: Producer<Event> + Send + 'static,
{
    let spec = spec.clone();
    thread::spawn(move || {
        let mut p = Pub(p);
        barrier.wait();
        let produced = produce(&mut p, &spec, clock);
        drop(p);
        produced
    })
}

/// `--pin` through the crate's own affinity setting: `pin_at_core` applies to the next handler
/// added (its thread pins itself when it starts).
fn pin_next<B: ProcessorSettings<Event, W>, W>(b: B, core: Option<usize>) -> B {
    match core {
        Some(id) => b.pin_at_core(id),
        None => b,
    }
}

fn run_with<W: WaitStrategy + 'static>(wait: W, spec: &RunSpec) -> Result<RunResult, String> {
    let clock = Clock::new();
    let barrier = Arc::new(Barrier::new(1));
    let filter = true;
    let slots: Vec<Slot> = (0..spec.layout.consumers())
        .map(|_| Arc::new(Mutex::new(None)))
        .collect();
    let mut hs = spec
        .checkers(clock, filter)
        .into_iter()
        .zip(&slots)
        .map(|(c, s)| handler(c, s.clone()));
    let cap = spec.capacity.next_power_of_two();
    // The core of consumer i under --pin (the crate takes a core id).
    let core = |i: usize| {
        spec.pin
            .then(|| crate::pin::core_for(crate::pin::consumer_slot(i)).map(|c| c.id))
            .flatten()
    };
    let first = hs.next().ok_or("no consumers")?;
    let b = pin_next(build_single_producer(cap, Event::default, wait), core(0))
        .handle_events_with(first);
    let handle = match (spec.layout.shape, spec.layout.consumers()) {
        (_, 1) => drive(b.build(), spec, clock, barrier),
        (Shape::Broadcast, _) => {
            let second = hs.next().ok_or("no second consumer")?;
            let mut b = pin_next(b, core(1)).handle_events_with(second);
            for (i, h) in hs.enumerate() {
                b = pin_next(b, core(i + 2)).handle_events_with(h);
            }
            drive(b.build(), spec, clock, barrier)
        }
        (Shape::Pipeline, _) => {
            let second = hs.next().ok_or("no second stage")?;
            let mut b = pin_next(b.and_then(), core(1)).handle_events_with(second);
            for (i, h) in hs.enumerate() {
                b = pin_next(b.and_then(), core(i + 2)).handle_events_with(h);
            }
            drive(b.build(), spec, clock, barrier)
        }
    };
    let produced = join(handle, "producer")?;
    Ok(RunResult::finished(produced, take_reports(&slots)?))
}

impl System for Disruptor {
    fn name(&self) -> &str {
        match self.wait {
            Wait::BusySpin => "disruptor-spin",
            Wait::Sleep1us => "disruptor-sleep",
        }
    }

    fn run(&self, spec: &RunSpec) -> Result<RunResult, String> {
        match self.wait {
            Wait::BusySpin => run_with(BusySpin, spec),
            Wait::Sleep1us => run_with(Sleep::new(Duration::from_micros(1)), spec),
        }
    }
}
