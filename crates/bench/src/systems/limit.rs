//! The ceiling: one thread writes a batch into a plain ring, then reads it back once per
//! consumer. No cross-thread traffic at all.

use crate::check::Checker;
use crate::event::{Clock, Event};
use crate::harness::{produce, Publish, RunResult, RunSpec, System};

/// One thread writing then reading a ring.
#[derive(Debug, Default)]
pub struct Limit;

struct LocalRing {
    slots: Vec<Event>,
    head: usize,
    readers: Vec<Checker>,
}

impl Publish for LocalRing {
    #[inline]
    fn publish<F: FnMut(usize, &mut Event)>(&mut self, n: usize, _first_topic: u8, mut fill: F) {
        let cap = self.slots.len();
        let start = self.head;
        // n <= cap: the batch is at most two contiguous runs of slots.
        let first = n.min(cap - start);
        for (i, slot) in self.slots[start..start + first].iter_mut().enumerate() {
            fill(i, slot);
        }
        for (i, slot) in self.slots[..n - first].iter_mut().enumerate() {
            fill(first + i, slot);
        }
        for r in &mut self.readers {
            for e in &self.slots[start..start + first] {
                r.on_event(e);
            }
            for e in &self.slots[..n - first] {
                r.on_event(e);
            }
        }
        self.head = (start + n) % cap;
    }
}

impl System for Limit {
    fn name(&self) -> &str {
        "limit"
    }

    fn run(&self, spec: &RunSpec) -> Result<RunResult, String> {
        let clock = Clock::new();
        let mut ring = LocalRing {
            slots: vec![Event::default(); spec.capacity.max(1)],
            head: 0,
            readers: spec.checkers(clock, true),
        };
        let produced = produce(&mut ring, spec, clock);
        let consumers = ring.readers.iter_mut().map(Checker::finish).collect();
        Ok(RunResult::finished(produced, consumers))
    }
}
