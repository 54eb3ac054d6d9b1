//! Scenarios: who consumes what (the layout) and how the producer publishes (the workload).

use std::sync::Arc;
use std::time::Duration;

use crate::topics::TopicMask;
use crate::trace::Trace;

/// How consumers are arranged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Every consumer reads the producer's stream in parallel (each through its topic mask).
    Broadcast,
    /// Consumer `i + 1` reads an event only after consumer `i` handled it (P -> A -> B).
    Pipeline,
}

/// The consumers of a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Broadcast or pipeline.
    pub shape: Shape,
    /// One topic mask per consumer (all topics for a pipeline).
    pub subscriptions: Vec<TopicMask>,
    /// The market each consumer reads (`None`: every market); as long as `subscriptions`.
    pub markets: Vec<Option<u16>>,
}

impl Layout {
    /// `n` consumers, each reading every topic.
    pub fn broadcast(n: usize) -> Self {
        Layout {
            shape: Shape::Broadcast,
            subscriptions: vec![TopicMask::ALL; n],
            markets: vec![None; n],
        }
    }

    /// `n` consumers, consumer `i` reading only topic `i`.
    pub fn one_topic_each(n: usize) -> Self {
        Layout {
            shape: Shape::Broadcast,
            subscriptions: (0..n).map(|i| TopicMask::only(i as u8)).collect(),
            markets: vec![None; n],
        }
    }

    /// `n` consumers, consumer `i` reading every topic of market `i` only.
    pub fn one_market_each(n: usize) -> Self {
        Layout {
            shape: Shape::Broadcast,
            subscriptions: vec![TopicMask::ALL; n],
            markets: (0..n).map(|i| Some(i as u16)).collect(),
        }
    }

    /// A pipeline of `n` stages.
    pub fn pipeline(n: usize) -> Self {
        Layout {
            shape: Shape::Pipeline,
            subscriptions: vec![TopicMask::ALL; n],
            markets: vec![None; n],
        }
    }

    /// Whether some consumer reads one market only.
    pub fn by_market(&self) -> bool {
        self.markets.iter().any(Option::is_some)
    }

    /// Number of consumer threads.
    pub fn consumers(&self) -> usize {
        self.subscriptions.len()
    }
}

/// What the producer publishes and how fast.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// Topic of event `seq` is `topics[seq % len]`.
    pub topics: Arc<[u8]>,
    /// Market of event `seq` is `markets[seq % len]`.
    pub markets: Arc<[u16]>,
    /// Nominal size of event `seq` is `sizes[seq % len]`.
    pub sizes: Arc<[u32]>,
    /// Batch `k` has `batches[k % len]` events (clamped to the ring capacity).
    pub batches: Arc<[u32]>,
    /// Pause after each batch (bursts).
    pub pause: Duration,
    /// Paced rate in events per second (the producer spins on `Instant`), or flat out.
    pub rate: Option<f64>,
}

impl Workload {
    /// All events on topic 0, fixed batch size, flat out.
    pub fn flat(batch: u32) -> Self {
        Workload {
            topics: Arc::from(vec![0u8]),
            markets: Arc::from(vec![0u16]),
            sizes: Arc::from(vec![64u32]),
            batches: Arc::from(vec![batch.max(1)]),
            pause: Duration::ZERO,
            rate: None,
        }
    }

    /// Topic of event `seq`.
    #[inline]
    pub fn topic_of(&self, seq: u64) -> u8 {
        self.topics[(seq % self.topics.len() as u64) as usize]
    }

    /// Market of event `seq`.
    #[inline]
    pub fn market_of(&self, seq: u64) -> u16 {
        self.markets[(seq % self.markets.len() as u64) as usize]
    }

    /// Size of event `seq`.
    #[inline]
    pub fn size_of(&self, seq: u64) -> u32 {
        self.sizes[(seq % self.sizes.len() as u64) as usize]
    }

    /// Size of batch number `k`.
    #[inline]
    pub fn batch(&self, k: u64) -> u32 {
        self.batches[(k % self.batches.len() as u64) as usize]
    }

    /// Largest batch size.
    pub fn max_batch(&self) -> u32 {
        self.batches.iter().copied().max().unwrap_or(1)
    }
}

/// What a scenario measures first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// Events per second, flat out; latency not recorded.
    Throughput,
    /// Publish-to-handle latency recorded for every event.
    Latency,
}

/// A named scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Stable name (used by `--scenarios`).
    pub name: String,
    /// One line for reports.
    pub description: String,
    /// Consumers.
    pub layout: Layout,
    /// Producer.
    pub workload: Workload,
    /// Throughput or latency.
    pub focus: Focus,
}

impl Scenario {
    fn new(
        name: &str,
        description: &str,
        layout: Layout,
        workload: Workload,
        focus: Focus,
    ) -> Self {
        Scenario {
            name: name.to_string(),
            description: description.to_string(),
            layout,
            workload,
            focus,
        }
    }
}

/// Every scenario of `compare`, in report order. The trace scenario is included only when
/// `trace` is `Some`.
pub fn all(trace: Option<&Trace>) -> Vec<Scenario> {
    use Focus::*;
    let mut v = vec![
        Scenario::new(
            "unicast-single",
            "1 producer -> 1 consumer, single publish",
            Layout::broadcast(1),
            Workload::flat(1),
            Throughput,
        ),
        Scenario::new(
            "unicast-batch32",
            "1 producer -> 1 consumer, batches of 32",
            Layout::broadcast(1),
            Workload::flat(32),
            Throughput,
        ),
        Scenario::new(
            "multicast-2",
            "1 producer -> 2 consumers, single publish",
            Layout::broadcast(2),
            Workload::flat(1),
            Throughput,
        ),
        Scenario::new(
            "multicast-2-batch32",
            "1 producer -> 2 consumers, batches of 32",
            Layout::broadcast(2),
            Workload::flat(32),
            Throughput,
        ),
        Scenario::new(
            "multicast-4",
            "1 producer -> 4 consumers, single publish",
            Layout::broadcast(4),
            Workload::flat(1),
            Throughput,
        ),
        Scenario::new(
            "multicast-4-batch32",
            "1 producer -> 4 consumers, batches of 32",
            Layout::broadcast(4),
            Workload::flat(32),
            Throughput,
        ),
        Scenario::new(
            "pipeline",
            "producer -> A -> B (B reads after A)",
            Layout::pipeline(2),
            Workload::flat(1),
            Throughput,
        ),
        Scenario::new(
            "topics-8",
            "8 consumers, each subscribed to one topic of 8",
            Layout::one_topic_each(8),
            Workload {
                topics: Arc::from((0..8u8).collect::<Vec<_>>()),
                ..Workload::flat(1)
            },
            Throughput,
        ),
        Scenario::new(
            "markets-8",
            "8 consumers, each reading every event of one market of 8",
            Layout::one_market_each(8),
            Workload {
                markets: Arc::from((0..8u16).collect::<Vec<_>>()),
                ..Workload::flat(1)
            },
            Throughput,
        ),
    ];
    for batch in [1u32, 10, 100] {
        for pause_ms in [0u64, 1, 10] {
            let w = Workload {
                pause: Duration::from_millis(pause_ms),
                ..Workload::flat(batch)
            };
            v.push(Scenario::new(
                &format!("burst-{batch}-pause-{pause_ms}ms"),
                &format!("1 -> 1, bursts of {batch} then {pause_ms} ms pause, latency recorded"),
                Layout::broadcast(1),
                w,
                Latency,
            ));
        }
    }
    for (name, rate) in [("latency-100k", 100_000.0), ("latency-1m", 1_000_000.0)] {
        v.push(Scenario::new(
            name,
            &format!(
                "1 -> 1, paced at {} events/s, latency recorded",
                rate as u64
            ),
            Layout::broadcast(1),
            Workload {
                rate: Some(rate),
                ..Workload::flat(1)
            },
            Latency,
        ));
    }
    if let Some(t) = trace {
        v.push(t.scenario());
    }
    v
}

/// Keeps the scenarios whose name equals or starts with one of `filters` (all when empty).
pub fn select(all: Vec<Scenario>, filters: &[String]) -> Vec<Scenario> {
    if filters.is_empty() {
        return all;
    }
    all.into_iter()
        .filter(|s| {
            filters
                .iter()
                .any(|f| s.name == *f || s.name.starts_with(f.as_str()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_cycles() {
        let w = Workload {
            topics: Arc::from(vec![1u8, 2, 3]),
            sizes: Arc::from(vec![10u32, 20]),
            batches: Arc::from(vec![5u32, 7]),
            ..Workload::flat(1)
        };
        assert_eq!((w.topic_of(0), w.topic_of(4)), (1, 2));
        assert_eq!((w.size_of(3), w.batch(3)), (20, 7));
        assert_eq!(w.max_batch(), 7);
    }

    #[test]
    fn scenario_names_are_unique_and_selectable() {
        let all = all(None);
        let mut names: Vec<_> = all.iter().map(|s| s.name.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
        let bursts = select(all, &["burst".to_string()]);
        assert_eq!(bursts.len(), 9);
    }
}
