//! Fan-out over channels: one bounded channel per consumer, the producer sends each event to
//! the channels whose consumer subscribed to its topic (routing at the producer, which is what
//! a user of plain channels would write). A pipeline forwards from stage to stage.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

use crate::check::{Checker, ConsumerReport};
use crate::event::{Clock, Event};
use crate::harness::{join, produce, Publish, RunResult, RunSpec};
use crate::scenario::Shape;
use crate::topics::TopicMask;

/// A bounded channel flavour.
pub trait Channel {
    /// Sending half.
    type Tx: Send + 'static;
    /// Receiving half.
    type Rx: Send + 'static;
    /// A bounded channel of `cap` events.
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx);
    /// Blocking send; `false` when the receiver is gone.
    fn send(tx: &Self::Tx, e: Event) -> bool;
    /// Blocking receive; `None` when every sender is gone and the channel is drained.
    fn recv(rx: &Self::Rx) -> Option<Event>;
}

struct FanOut<C: Channel> {
    routes: Vec<(TopicMask, C::Tx)>,
    all: bool,
}

impl<C: Channel> Publish for FanOut<C> {
    #[inline]
    fn publish<F: FnMut(usize, &mut Event)>(&mut self, n: usize, _first_topic: u8, mut fill: F) {
        for i in 0..n {
            let mut e = Event::default();
            fill(i, &mut e);
            for (mask, tx) in &self.routes {
                if self.all || mask.contains(e.topic) {
                    C::send(tx, e);
                }
            }
        }
    }
}

fn consume<C: Channel>(
    rx: C::Rx,
    mut checker: Checker,
    next: Option<C::Tx>,
    barrier: Arc<Barrier>,
) -> ConsumerReport {
    barrier.wait();
    while let Some(e) = C::recv(&rx) {
        checker.on_event(&e);
        if let Some(tx) = &next {
            C::send(tx, e);
        }
    }
    drop(next);
    checker.finish()
}

/// Runs `spec` over channels of flavour `C`.
pub fn run<C: Channel>(spec: &RunSpec) -> Result<RunResult, String> {
    let clock = Clock::new();
    let n = spec.layout.consumers();
    let barrier = Arc::new(Barrier::new(n + 1));
    let checkers = spec.checkers(clock, false);
    let mut handles = Vec::with_capacity(n);
    let routes = match spec.layout.shape {
        Shape::Broadcast => {
            let mut routes = Vec::with_capacity(n);
            for c in checkers {
                let (tx, rx) = C::bounded(spec.capacity);
                routes.push((c.mask(), tx));
                let b = barrier.clone();
                handles.push(thread::spawn(move || consume::<C>(rx, c, None, b)));
            }
            routes
        }
        Shape::Pipeline => {
            let (first_tx, mut rx) = C::bounded(spec.capacity);
            let last = checkers.len().saturating_sub(1);
            for (i, c) in checkers.into_iter().enumerate() {
                let (next_tx, next_rx) = if i < last {
                    let (t, r) = C::bounded(spec.capacity);
                    (Some(t), Some(r))
                } else {
                    (None, None)
                };
                let b = barrier.clone();
                let this_rx = std::mem::replace(
                    &mut rx,
                    match next_rx {
                        Some(r) => r,
                        None => C::bounded(1).1,
                    },
                );
                handles.push(thread::spawn(move || consume::<C>(this_rx, c, next_tx, b)));
            }
            vec![(TopicMask::ALL, first_tx)]
        }
    };
    let all = routes.iter().all(|(m, _)| m.is_all());
    let s = spec.clone();
    let b = barrier.clone();
    let producer = thread::spawn(move || {
        let mut p = FanOut::<C> { routes, all };
        b.wait();
        let produced = produce(&mut p, &s, clock);
        drop(p); // closes the channels: consumers drain and end
        produced
    });
    let produced = join(producer, "producer")?;
    let mut consumers = Vec::with_capacity(n);
    for (i, h) in handles.into_iter().enumerate() {
        consumers.push(join(h, &format!("consumer {i}"))?);
    }
    let elapsed = Instant::now() - produced.start;
    Ok(RunResult {
        elapsed,
        published: produced.events,
        timed_out: produced.timed_out,
        consumers,
    })
}
