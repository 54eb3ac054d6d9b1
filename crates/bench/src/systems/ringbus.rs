//! ringbus itself (`ringbus-ring`): managed handlers, one per consumer; the bus as
//! `RingBus::builder()` gives it (`ringbus-default`, no wait strategy chosen) and with each
//! other wait strategy; topic filtering and pipeline dependencies done by the bus. These rows
//! filter markets in the handler; `ringbus-keyed` is the bus with keys
//! (`RingBus::routed()`, the event's market as its key), which filters markets by key. Under
//! `--pin` each handler's thread is pinned by the bus (`Subscription::pin_to_core`).

use std::sync::{Arc, Barrier, Mutex};
use std::thread;

use ringbus_ring::{
    Builder, EventHandler, HandlerError, KeyMatch, Producer, RingBus, Routed, ShutdownReason,
    SlotKey, Subscription, Topic, TopicSet, WaitStrategy,
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

/// The name of the row of the bus with keys, `RingBus::routed().build()`.
pub const KEYED_NAME: &str = "ringbus-keyed";

/// ringbus as built by `RingBus::builder()`, with an explicit wait strategy or without one;
/// or as built by `RingBus::routed()`, with keys.
#[derive(Debug)]
pub struct Ringbus {
    /// `None`: `.wait_strategy(...)` is never called, so the row measures whatever the
    /// engine's builder defaults to.
    wait: Option<WaitStrategy>,
    /// Whether each slot stores the event's market as its key (`RingBus::routed`), and a
    /// consumer of one market filters on it.
    keyed: bool,
    name: String,
}

/// The bench event's key on the bus with keys: its market.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MarketKey(u16);

impl SlotKey for MarketKey {
    type Filter = u16;

    #[inline]
    fn check(&self, market: &u16) -> KeyMatch {
        KeyMatch::exact(self.0 == *market)
    }
}

impl Routed for Event {
    type Key = MarketKey;

    #[inline]
    fn topic(&self) -> Topic {
        Topic::new(self.topic as u8)
    }

    #[inline]
    fn key(&self) -> MarketKey {
        MarketKey(self.market)
    }

    fn matches(&self, market: &u16) -> bool {
        self.market == *market
    }
}

impl Ringbus {
    /// ringbus with `wait`, named after it (`ringbus-busy-spin`, ...).
    pub fn new(wait: WaitStrategy) -> Self {
        Ringbus {
            wait: Some(wait),
            keyed: false,
            name: format!("ringbus-{}", wait.name()),
        }
    }

    /// ringbus with keys, as `RingBus::routed()` gives it (the default wait strategy).
    pub fn keyed() -> Self {
        Ringbus {
            wait: None,
            keyed: true,
            name: KEYED_NAME.to_string(),
        }
    }

    /// ringbus exactly as `RingBus::builder()` gives it: no `.wait_strategy(...)` call.
    pub fn builder_default() -> Self {
        Ringbus {
            wait: None,
            keyed: false,
            name: DEFAULT_NAME.to_string(),
        }
    }

    /// The default row first (`ringbus-default`), the bus with keys (`ringbus-keyed`), then
    /// one row per wait strategy of `WaitStrategy::ALL` other than `WaitStrategy::default()`
    /// (which the default row already measures), both looked up at run time.
    pub fn all() -> Vec<Ringbus> {
        let mut v = vec![Ringbus::builder_default(), Ringbus::keyed()];
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

/// Publishes on the bus with keys: each event's topic and key come from the slot it fills.
struct PubKeyed(Producer<Event, MarketKey>);

impl Publish for PubKeyed {
    #[inline]
    fn publish<F: FnMut(usize, &mut Event)>(&mut self, n: usize, _first_topic: u8, mut fill: F) {
        if n == 1 {
            self.0.publish_event_with(|e| fill(0, e));
        } else {
            // n <= capacity, as for `Pub`.
            let _ = self.0.publish_events_with(n, fill);
        }
    }
}

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
        self.wait.is_none() && !self.keyed
    }

    fn describe(&self) -> String {
        if self.keyed {
            return "RingBus::routed(): each slot keyed by the event's market; consumers of \
                    one market filter on the key"
                .to_string();
        }
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
        let capacity = spec.capacity.next_power_of_two();
        if self.keyed {
            let builder = RingBus::routed::<Event>().capacity(capacity);
            return run_bus(builder, spec, Some(|market| market), PubKeyed);
        }
        let mut builder = RingBus::builder::<Event>().capacity(capacity);
        if let Some(w) = self.wait {
            builder = builder.wait_strategy(w);
        }
        run_bus(builder, spec, None, Pub)
    }
}

/// Runs `spec` on the bus `builder` builds: one handler per consumer, the producer publishing
/// through `publisher`. With `market_filter`, a consumer of one market filters on the slot
/// keys with the filter it makes; without, the bus filters topics only and the handlers skip
/// other markets.
fn run_bus<K: SlotKey, P: Publish + Send + 'static>(
    mut builder: Builder<Event, K>,
    spec: &RunSpec,
    market_filter: Option<fn(u16) -> K::Filter>,
    publisher: fn(Producer<Event, K>) -> P,
) -> Result<RunResult, String> {
    let clock = Clock::new();
    // The bus filters topics per slot tag (and markets per key when keyed): a foreign event
    // reaching a handler is an error, unless the handler is to skip other markets itself.
    let checkers = spec.checkers(clock, market_filter.is_none() && spec.layout.by_market());
    let slots: Vec<Slot> = checkers
        .iter()
        .map(|_| Arc::new(Mutex::new(None)))
        .collect();
    for (i, (c, slot)) in checkers.into_iter().zip(&slots).enumerate() {
        let mut sub = Subscription::new(format!("c{i}")).topics(topic_set(&c.mask()));
        if let (Some(market), Some(filter)) = (c.market(), market_filter) {
            sub = sub.keys(filter(market));
        }
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
        let mut p = publisher(producer);
        barrier.wait();
        let produced = produce(&mut p, &s, clock);
        drop(p); // closes the bus: handlers drain and end
        produced
    });
    let produced = join(handle, "producer")?;
    bus.join().map_err(|e| format!("consumer failed: {e}"))?;
    Ok(RunResult::finished(produced, take_reports(&slots)?))
}
