//! ringbus itself (`ringbus-ring`): managed handlers, one per consumer; the bus as
//! `RingBus::builder()` gives it (`ringbus-default`, no wait strategy chosen) and with each
//! other wait strategy; topic filtering and pipeline dependencies done by the bus. Under
//! `--pin` each handler's thread is pinned by the bus (`Subscription::pin_to_core`).

use std::sync::{Arc, Barrier, Mutex};
use std::thread;

use ringbus_ring::{
    EventHandler, HandlerError, Producer, RingBus, ShutdownReason, Subscription, Topic, TopicSet,
    WaitStrategy,
};

use crate::check::Checker;
use crate::event::{Clock, Event};
use crate::harness::{
    join, produce, take_reports, Publish, ReportSlot, RunResult, RunSpec, System,
};
use crate::scenario::Shape;
use crate::topics::TopicMask;

/// The name of the row of the bus built the obvious way, `RingBus::builder().build()`.
pub const DEFAULT_NAME: &str = "ringbus-default";

/// ringbus as built by `RingBus::builder()`, with an explicit wait strategy or without one.
#[derive(Debug)]
pub struct Ringbus {
    /// `None`: `.wait_strategy(...)` is never called, so the row measures whatever the
    /// engine's builder defaults to.
    wait: Option<WaitStrategy>,
    name: String,
}

impl Ringbus {
    /// ringbus with `wait`, named after it (`ringbus-busy-spin`, ...).
    pub fn new(wait: WaitStrategy) -> Self {
        Ringbus {
            wait: Some(wait),
            name: format!("ringbus-{}", wait.name()),
        }
    }

    /// ringbus exactly as `RingBus::builder()` gives it: no `.wait_strategy(...)` call.
    pub fn builder_default() -> Self {
        Ringbus {
            wait: None,
            name: DEFAULT_NAME.to_string(),
        }
    }

    /// The default row first (`ringbus-default`), then one row per wait strategy of
    /// `WaitStrategy::ALL` other than `WaitStrategy::default()` (which the default row
    /// already measures), both looked up at run time.
    pub fn all() -> Vec<Ringbus> {
        let mut v = vec![Ringbus::builder_default()];
        for w in WaitStrategy::ALL {
            if w != WaitStrategy::default() {
                v.push(Ringbus::new(w));
            }
        }
        v
    }
}

type Slot = ReportSlot;

/// A checking handler; hands its report over in `on_shutdown`.
struct Handler {
    checker: Checker,
    slot: Slot,
}

impl EventHandler<Event> for Handler {
    #[inline]
    fn on_event(
        &mut self,
        event: &Event,
        _sequence: u64,
        _end_of_batch: bool,
    ) -> Result<(), HandlerError> {
        self.checker.on_event(event);
        Ok(())
    }

    fn on_shutdown(&mut self, _reason: &ShutdownReason) {
        let r = self.checker.finish();
        if let Ok(mut s) = self.slot.lock() {
            *s = Some(r);
        }
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

pub(crate) fn topic_set(mask: &TopicMask) -> TopicSet {
    if mask.is_all() {
        return TopicSet::all();
    }
    mask.iter()
        .fold(TopicSet::empty(), |s, t| s.with(Topic::new(t)))
}

impl System for Ringbus {
    fn name(&self) -> &str {
        &self.name
    }

    fn is_default(&self) -> bool {
        self.wait.is_none()
    }

    fn describe(&self) -> String {
        match self.wait {
            None => format!(
                "RingBus::builder() without .wait_strategy(...): the bus a user gets \
                 (WaitStrategy::default() is {} in this build)",
                WaitStrategy::default().name()
            ),
            Some(w) => format!("RingBus::builder().wait_strategy({})", w.name()),
        }
    }

    fn run(&self, spec: &RunSpec) -> Result<RunResult, String> {
        let clock = Clock::new();
        // The bus filters topics per slot tag: a foreign topic reaching a handler is an error.
        let checkers = spec.checkers(clock, false);
        let slots: Vec<Slot> = checkers
            .iter()
            .map(|_| Arc::new(Mutex::new(None)))
            .collect();
        let mut builder = RingBus::builder::<Event>().capacity(spec.capacity.next_power_of_two());
        if let Some(w) = self.wait {
            builder = builder.wait_strategy(w);
        }
        for (i, (c, slot)) in checkers.into_iter().zip(&slots).enumerate() {
            let mut sub = Subscription::new(format!("c{i}")).topics(topic_set(&c.mask()));
            if spec.layout.shape == Shape::Pipeline && i > 0 {
                sub = sub.after(format!("c{}", i - 1).as_str());
            }
            if let Some(core) = spec
                .pin
                .then(|| crate::pin::core_for(crate::pin::consumer_slot(i)))
                .flatten()
            {
                sub = sub.pin_to_core(core.id);
            }
            builder = builder.handler(
                sub,
                Handler {
                    checker: c,
                    slot: slot.clone(),
                },
            );
        }
        let (producer, bus) = builder.build().map_err(|e| format!("build: {e}"))?;
        let barrier = Arc::new(Barrier::new(1));
        let s = spec.clone();
        let handle = thread::spawn(move || {
            let mut p = Pub(producer);
            barrier.wait();
            let produced = produce(&mut p, &s, clock);
            drop(p); // closes the bus: handlers drain and end
            produced
        });
        let produced = join(handle, "producer")?;
        bus.join().map_err(|e| format!("consumer failed: {e}"))?;
        Ok(RunResult::finished(produced, take_reports(&slots)?))
    }
}
