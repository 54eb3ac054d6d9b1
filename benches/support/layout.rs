//! The consumer layouts of issue 2, and which wait strategies each one is measured with.

use ringbus::{Topic, TopicSet, WaitStrategy};

/// Events are published round-robin over this many topics (`id % TOPICS`).
pub const TOPICS: u64 = 8;

/// One producer and `consumers` handler threads.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// Criterion group name.
    pub name: &'static str,
    pub consumers: usize,
    /// Events per publish call (1: `publish`, more: `publish_batch`).
    pub batch: usize,
    /// Consumer `c` subscribes to topic `c` only; otherwise every consumer takes every topic.
    pub one_topic_each: bool,
}

pub const LAYOUTS: [Layout; 5] = [
    Layout::broadcast("1p1c-single", 1, 1),
    Layout::broadcast("1p1c-batch32", 1, 32),
    Layout::broadcast("1p2c", 2, 1),
    Layout::broadcast("1p4c", 4, 1),
    Layout {
        name: "topics-8",
        consumers: TOPICS as usize,
        batch: 1,
        one_topic_each: true,
    },
];

impl Layout {
    const fn broadcast(name: &'static str, consumers: usize, batch: usize) -> Self {
        Layout {
            name,
            consumers,
            batch,
            one_topic_each: false,
        }
    }

    /// Producer plus consumers.
    pub fn threads(&self) -> usize {
        self.consumers + 1
    }

    pub fn topics_of(&self, consumer: usize) -> TopicSet {
        if self.one_topic_each {
            TopicSet::of(&[Topic::new(consumer as u8)])
        } else {
            TopicSet::all()
        }
    }

    /// The ids consumer `c` must see, as `first, first + stride, ...`.
    pub fn ids_of(&self, consumer: usize) -> (u64, u64) {
        if self.one_topic_each {
            (consumer as u64, TOPICS)
        } else {
            (0, 1)
        }
    }

    /// The strategies this layout is measured with. Busy-spin is left out when threads
    /// outnumber cores: a spinning thread then burns the time slice the thread it waits for
    /// needs, and throughput falls by two to three orders of magnitude (docs/benchmarks.md),
    /// which would only stretch the run.
    pub fn strategies(&self, cores: usize) -> Vec<WaitStrategy> {
        WaitStrategy::ALL
            .into_iter()
            .filter(|&w| {
                let keep = w != WaitStrategy::BusySpin || self.threads() <= cores;
                if !keep {
                    eprintln!(
                        "{}: skipping busy-spin ({} threads > {cores} cores: it collapses)",
                        self.name,
                        self.threads()
                    );
                }
                keep
            })
            .collect()
    }
}

/// Cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
