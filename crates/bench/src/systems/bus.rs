//! The `bus` crate 2.4: a lock-free broadcast channel; every reader sees every event and skips
//! foreign topics. A pipeline uses one bus per stage.

use std::sync::{Arc, Barrier};
use std::thread;

use bus::{Bus, BusReader};

use crate::check::{Checker, ConsumerReport};
use crate::event::{Clock, Event};
use crate::harness::{join, join_consumers, produce, Publish, RunResult, RunSpec, System};
use crate::scenario::Shape;

/// The bus crate.
#[derive(Debug, Default)]
pub struct BusCrate;

struct BusPub(Bus<Event>);

impl Publish for BusPub {
    #[inline]
    fn publish<F: FnMut(usize, &mut Event)>(&mut self, n: usize, _first_topic: u8, mut fill: F) {
        for i in 0..n {
            let mut e = Event::default();
            fill(i, &mut e);
            self.0.broadcast(e);
        }
    }
}

fn consume(
    mut rx: BusReader<Event>,
    mut checker: Checker,
    mut next: Option<Bus<Event>>,
    barrier: Arc<Barrier>,
    pin: Option<usize>,
) -> ConsumerReport {
    if let Some(slot) = pin {
        crate::pin::pin_current(slot);
    }
    barrier.wait();
    while let Ok(e) = rx.recv() {
        checker.on_event(&e);
        if let Some(b) = &mut next {
            b.broadcast(e);
        }
    }
    drop(next);
    checker.finish()
}

impl System for BusCrate {
    fn name(&self) -> &str {
        "bus"
    }

    fn run(&self, spec: &RunSpec) -> Result<RunResult, String> {
        let clock = Clock::new();
        let n = spec.layout.consumers();
        let barrier = Arc::new(Barrier::new(n + 1));
        let checkers = spec.checkers(clock, true);
        let mut first = Bus::new(spec.capacity);
        let mut handles = Vec::with_capacity(n);
        match spec.layout.shape {
            Shape::Broadcast => {
                for (i, c) in checkers.into_iter().enumerate() {
                    let rx = first.add_rx();
                    let b = barrier.clone();
                    let pin = spec.pin.then(|| crate::pin::consumer_slot(i));
                    handles.push(thread::spawn(move || consume(rx, c, None, b, pin)));
                }
            }
            Shape::Pipeline => {
                let mut rx = first.add_rx();
                let last = checkers.len().saturating_sub(1);
                for (i, c) in checkers.into_iter().enumerate() {
                    let mut next = (i < last).then(|| Bus::new(spec.capacity));
                    let next_rx = next.as_mut().map(Bus::add_rx);
                    let this_rx = match next_rx {
                        Some(r) => std::mem::replace(&mut rx, r),
                        None => {
                            let mut dummy = Bus::new(1);
                            std::mem::replace(&mut rx, dummy.add_rx())
                        }
                    };
                    let b = barrier.clone();
                    let pin = spec.pin.then(|| crate::pin::consumer_slot(i));
                    handles.push(thread::spawn(move || consume(this_rx, c, next, b, pin)));
                }
            }
        }
        let s = spec.clone();
        let b = barrier.clone();
        let producer = thread::spawn(move || {
            let mut p = BusPub(first);
            b.wait();
            let produced = produce(&mut p, &s, clock);
            drop(p); // readers drain and see the bus closed
            produced
        });
        let produced = join(producer, "producer")?;
        Ok(RunResult::finished(produced, join_consumers(handles)?))
    }
}
