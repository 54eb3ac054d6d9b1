//! `/status`: the node's figures as JSON for the live page, and what the node reports
//! besides the bus's own metrics ([`NodeStatus`]).
//!
//! The server samples the bus once a second (a [`Bus::metrics`](ringbus_ring::Bus::metrics)
//! snapshot: Relaxed loads and the membership lock, which the producer takes only after
//! waiting on a full ring) to measure events per second and notice detaches; a request
//! reads the latest sample's figures and a fresh snapshot.

use crate::state::LiveState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use ringbus_ring::{ConsumerId, ConsumerKind, ConsumerMetrics, ConsumerState, Metrics};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The node's figures the bus cannot know: implemented by the node application.
pub trait NodeStatus: Send + Sync + 'static {
    /// The figures now.
    fn snapshot(&self) -> NodeSnapshot;
}

/// The node's figures at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct NodeSnapshot {
    /// The latest blocks published, newest first.
    pub blocks: Vec<BlockLine>,
    /// Each store's committed height.
    pub stores: Vec<StoreLine>,
    /// Each forwarder's backlog.
    pub forwarders: Vec<ForwarderLine>,
}

/// A published block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BlockLine {
    /// Its height.
    pub height: u64,
    /// The sequence of its `BeginBlock`.
    pub first: u64,
    /// The sequence of its `EndBlock`.
    pub last: u64,
    /// Its events.
    pub events: u64,
    /// Its transactions.
    pub transactions: u64,
}

impl BlockLine {
    /// The block `height` from `first` to `last`, with `transactions` transactions.
    pub fn new(height: u64, first: u64, last: u64, transactions: u64) -> Self {
        BlockLine {
            height,
            first,
            last,
            events: last.saturating_sub(first) + 1,
            transactions,
        }
    }
}

/// A store that commits whole blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StoreLine {
    /// The consumer's name.
    pub name: String,
    /// The height of the last block it committed (`null`: none yet, or unknown).
    pub committed_height: Option<u64>,
}

impl StoreLine {
    /// The store `name`, committed up to `committed_height`.
    pub fn new(name: impl Into<String>, committed_height: Option<u64>) -> Self {
        StoreLine {
            name: name.into(),
            committed_height,
        }
    }
}

/// A forwarder to another system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ForwarderLine {
    /// The consumer's name.
    pub name: String,
    /// Events it has taken from the bus that the other system has not yet acknowledged.
    pub backlog: u64,
    /// Its error, if it failed.
    pub error: Option<String>,
}

impl ForwarderLine {
    /// The forwarder `name` with `backlog` events unacknowledged, and its `error` if any.
    pub fn new(name: impl Into<String>, backlog: u64, error: Option<String>) -> Self {
        ForwarderLine {
            name: name.into(),
            backlog,
            error,
        }
    }
}

/// The body of `/status`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Status {
    /// Events published (the next event's sequence).
    sequence: u64,
    /// Events published per second, over the server's last one-second sample.
    events_per_second: f64,
    /// Whether the producer has closed the bus (the run is ending).
    closed: bool,
    consumers: Vec<ConsumerLine>,
    failures: Vec<FailureLine>,
    /// Recent detaches, newest first.
    detaches: Vec<DetachLine>,
    blocks: Vec<BlockLine>,
    stores: Vec<StoreLine>,
    forwarders: Vec<ForwarderLine>,
    /// Stream clients connected.
    clients: usize,
}

/// One consumer on the bus (present, or departed and not a lossy tap).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ConsumerLine {
    name: String,
    /// `gating` or `tap`.
    kind: &'static str,
    /// `running`, `detached`, `failed`, `finished` or `left`.
    state: &'static str,
    lag: u64,
    handled: u64,
    skipped: u64,
    detaches: u64,
    missed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct FailureLine {
    consumer: String,
    error: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct DetachLine {
    consumer: String,
    /// Events it missed by that detach (as counted when it rejoined at the head; 0 until it
    /// has).
    missed: u64,
    /// The bus's sequence when the server noticed it.
    sequence: u64,
}

/// How many recent detaches `/status` shows.
const RECENT_DETACHES: usize = 20;
/// How often the server samples the bus.
pub(crate) const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// What the server learns by sampling the bus once a second.
#[derive(Debug, Default)]
pub(crate) struct Sampler(Mutex<Samples>);

#[derive(Debug, Default)]
struct Samples {
    /// The last sample: when, and events published then.
    last: Option<(Instant, u64)>,
    events_per_second: f64,
    /// Each consumer's detaches and missed events at the last sample.
    seen: HashMap<ConsumerId, (u64, u64)>,
    /// Newest last.
    detaches: VecDeque<DetachLine>,
}

impl Sampler {
    /// Takes one sample of `metrics`, taken `now`.
    pub(crate) fn sample(&self, metrics: &Metrics, now: Instant) {
        let mut s = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let published = metrics.producer.published;
        if let Some((then, before)) = s.last {
            let secs = now.saturating_duration_since(then).as_secs_f64();
            if secs > 0.0 {
                s.events_per_second = published.saturating_sub(before) as f64 / secs;
            }
        }
        s.last = Some((now, published));
        let mut seen = HashMap::with_capacity(metrics.consumers.len());
        for c in &metrics.consumers {
            let (detaches, missed) = s.seen.get(&c.id).copied().unwrap_or((0, 0));
            if c.detaches > detaches {
                s.detaches.push_back(DetachLine {
                    consumer: c.name.clone(),
                    missed: c.missed.saturating_sub(missed),
                    sequence: published,
                });
            } else if c.missed > missed {
                // The detach was noticed earlier; its count arrived when the tap rejoined.
                let gained = c.missed - missed;
                if let Some(d) = s.detaches.iter_mut().rev().find(|d| d.consumer == c.name) {
                    d.missed += gained;
                }
            }
            seen.insert(c.id, (c.detaches, c.missed));
        }
        while s.detaches.len() > RECENT_DETACHES {
            s.detaches.pop_front();
        }
        s.seen = seen;
    }

    fn read(&self) -> (f64, Vec<DetachLine>) {
        let s = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        (
            s.events_per_second,
            s.detaches.iter().rev().cloned().collect(),
        )
    }
}

/// Samples the bus each second until the server closes.
pub(crate) async fn sample_each_second(state: LiveState) {
    let mut closing = state.closing.clone();
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => state.sampler.sample(&state.bus.metrics(), Instant::now()),
            _ = closing.wait_for(|closing| *closing) => return,
        }
    }
}

/// Whether `c` is shown: every present consumer, and departed ones that are not lossy taps
/// (stream clients come and go; their figures stay in the bus-wide totals).
pub(crate) fn shown(c: &ConsumerMetrics) -> bool {
    matches!(c.kind, ConsumerKind::Gating)
        || matches!(c.state, ConsumerState::Running | ConsumerState::Detached)
}

/// `gating` or `tap`.
pub(crate) fn kind_name(kind: ConsumerKind) -> &'static str {
    match kind {
        ConsumerKind::Gating => "gating",
        ConsumerKind::Tap(_) => "tap",
    }
}

impl Status {
    pub(crate) fn of(state: &LiveState) -> Status {
        let metrics = state.bus.metrics();
        let node = state.node.snapshot();
        let (events_per_second, detaches) = state.sampler.read();
        Status {
            sequence: metrics.producer.published,
            events_per_second,
            closed: metrics.producer.closed,
            consumers: metrics
                .consumers
                .iter()
                .filter(|c| shown(c))
                .map(|c| ConsumerLine {
                    name: c.name.clone(),
                    kind: kind_name(c.kind),
                    state: c.state.name(),
                    lag: c.lag,
                    handled: c.handled,
                    skipped: c.skipped,
                    detaches: c.detaches,
                    missed: c.missed,
                })
                .collect(),
            failures: metrics
                .consumers
                .iter()
                .filter_map(|c| {
                    c.failure.as_ref().map(|f| FailureLine {
                        consumer: c.name.clone(),
                        error: f.to_string(),
                    })
                })
                .chain(node.forwarders.iter().filter_map(|f| {
                    f.error.as_ref().map(|e| FailureLine {
                        consumer: f.name.clone(),
                        error: e.clone(),
                    })
                }))
                .collect(),
            detaches,
            blocks: node.blocks,
            stores: node.stores,
            forwarders: node.forwarders,
            clients: state.clients.load(Ordering::Relaxed),
        }
    }
}

async fn status(State(state): State<LiveState>) -> Json<Status> {
    Json(Status::of(&state))
}

/// The route of `/status`.
pub(crate) fn routes() -> Router<LiveState> {
    Router::new().route("/status", get(status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringbus_events::{BlockTime, Event, TimeUpdate};
    use ringbus_ring::{RingBus, StartAt, Subscription, TapPolicy};

    #[test]
    fn a_detach_is_noticed_once_with_what_it_missed() {
        let (mut producer, bus) = RingBus::routed::<Event>().capacity(8).build().unwrap();
        let mut tap = bus
            .tap(
                Subscription::new("slow")
                    .lossy(TapPolicy::default())
                    .start_at(StartAt::Next),
            )
            .unwrap();
        let sampler = Sampler::default();
        let t0 = Instant::now();
        sampler.sample(&bus.metrics(), t0);
        // The tap reads nothing while 20 events go by: the producer detaches it.
        for _ in 0..20 {
            let time = TimeUpdate { time: BlockTime(1) };
            producer.publish_events([Event::new(time)]).unwrap();
        }
        sampler.sample(&bus.metrics(), t0 + Duration::from_secs(1));
        let (eps, detaches) = sampler.read();
        assert_eq!(eps, 20.0);
        assert_eq!(detaches.len(), 1, "{detaches:?}");
        assert_eq!(detaches[0].consumer, "slow");
        // Its next read rejoins at the head and counts what it missed.
        let _ = tap.try_poll();
        sampler.sample(&bus.metrics(), t0 + Duration::from_secs(2));
        let (eps, detaches) = sampler.read();
        assert_eq!(eps, 0.0);
        assert_eq!(detaches.len(), 1, "{detaches:?}");
        assert!(detaches[0].missed > 0, "{detaches:?}");
    }
}
