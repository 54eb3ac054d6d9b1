//! A snapshot of the bus: cheap enough to take every second while the producer runs.
//!
//! Taking one reads each cursor once with a Relaxed load and takes the membership lock (which
//! a publish takes only after it has waited on a full ring, to charge the wait, and a consume
//! never), so it costs the hot path nothing but the cache misses of those reads.

use crate::error::ConsumerFailure;
use crate::subscription::{ConsumerId, ConsumerKind};
use crate::topic::TopicSet;
use crate::wait::WaitStrategy;

/// Where a consumer is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConsumerState {
    /// Reading.
    Running,
    /// A lossy tap cut loose for lagging; its next read reports what it missed.
    Detached,
    /// Its handler panicked or returned an error, or a consumer it depends on stopped.
    Failed,
    /// It saw every event up to the producer's close.
    Finished,
    /// It left before the end (stopped, or its handle was dropped).
    Left,
}

impl ConsumerState {
    /// A lower-case name ("running", "detached", ...).
    pub fn name(self) -> &'static str {
        match self {
            ConsumerState::Running => "running",
            ConsumerState::Detached => "detached",
            ConsumerState::Failed => "failed",
            ConsumerState::Finished => "finished",
            ConsumerState::Left => "left",
        }
    }
}

/// One consumer's figures.
#[derive(Clone, Debug)]
pub struct ConsumerMetrics {
    /// Its id.
    pub id: ConsumerId,
    /// Its name.
    pub name: String,
    /// Gating or lossy tap.
    pub kind: ConsumerKind,
    /// Whether the bus runs it on a thread of its own (a handler) or the user polls it.
    pub managed: bool,
    /// Its topics.
    pub topics: TopicSet,
    /// The next sequence it will read.
    pub sequence: u64,
    /// How many published events it has not yet released.
    pub lag: u64,
    /// Events of its topics it was given.
    pub handled: u64,
    /// Events it stepped over because of their topic (no handler call, no payload read).
    pub skipped: u64,
    /// Its state.
    pub state: ConsumerState,
    /// Why it failed, if it did.
    pub failure: Option<ConsumerFailure>,
    /// Taps: events missed while detached, in total.
    pub missed: u64,
    /// Taps: how many times it was detached.
    pub detaches: u64,
    /// How many times the producer found the ring full with this consumer the slowest.
    pub producer_waits: u64,
    /// How long the producer waited on it in total, in nanoseconds.
    pub producer_wait_ns: u64,
}

/// How the producer fared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProducerMetrics {
    /// Events published.
    pub published: u64,
    /// Times it found the ring full and waited.
    pub waits: u64,
    /// Total time waited, in nanoseconds.
    pub wait_ns: u64,
    /// Times `try_publish` returned `Full`.
    pub full: u64,
    /// Lossy taps it detached.
    pub detached_taps: u64,
    /// Whether it has closed the bus.
    pub closed: bool,
    /// Whether it ended the stream by failing: it panicked or called `Producer::abort`.
    pub failed: bool,
}

/// A snapshot of the whole bus.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// Ring capacity.
    pub capacity: u64,
    /// The wait strategy.
    pub wait_strategy: WaitStrategy,
    /// The producer's figures.
    pub producer: ProducerMetrics,
    /// Every consumer present, in order of joining slot, then the departed ones the bus
    /// keeps ([`Builder::departed_kept`](crate::Builder::departed_kept)), in order of departure.
    pub consumers: Vec<ConsumerMetrics>,
    /// Departed consumers whose figures the bus no longer keeps (the oldest clean departures
    /// first).
    pub departed_forgotten: u64,
}

impl Metrics {
    /// The consumer with this name (the present one if several had it).
    pub fn consumer(&self, name: &str) -> Option<&ConsumerMetrics> {
        let mut found = None;
        for c in self.consumers.iter().filter(|c| c.name == name) {
            if found.is_none()
                || matches!(c.state, ConsumerState::Running | ConsumerState::Detached)
            {
                found = Some(c);
            }
        }
        found
    }

    /// Every failure recorded.
    pub fn failures(&self) -> Vec<ConsumerFailure> {
        self.consumers
            .iter()
            .filter_map(|c| c.failure.clone())
            .collect()
    }
}
