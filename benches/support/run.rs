//! One timed run: build a bus and its consumers (not timed), publish `events`, and time from
//! the first publish until every consumer has seen its last event.

use super::checker::{Checker, Tally};
use super::event::Event;
use super::layout::{Layout, TOPICS};
use ringbus::{Producer, RingBus, Subscription, Topic, WaitStrategy};
use std::time::{Duration, Instant};

/// Ring capacity of every bench (as in `ringbus-bench compare`).
pub const CAPACITY: usize = 1024;

/// A collapsed or hung run fails with a diagnosis instead of hanging `cargo bench`.
const DEADLINE: Duration = Duration::from_secs(60);

/// What one benchmark measures.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    pub layout: Layout,
    pub strategy: WaitStrategy,
    /// `false`: consumers fixed at build time (`Builder::dynamic_membership(false)`).
    pub dynamic: bool,
}

/// Publishes `events` (a multiple of the layout's batch and of `TOPICS`) and returns the time
/// until every consumer has seen its last one, after checking what each consumer received.
pub fn timed_run(setup: &Setup, events: u64) -> Duration {
    let layout = setup.layout;
    let tally = Tally::new(layout.consumers);
    let mut builder = RingBus::builder::<Event>()
        .capacity(CAPACITY)
        .wait_strategy(setup.strategy)
        .dynamic_membership(setup.dynamic);
    for c in 0..layout.consumers {
        let name = format!("c{c}");
        let checker = Checker::new(name.clone(), layout.ids_of(c), events, tally.clone());
        builder = builder.handler(Subscription::new(name).topics(layout.topics_of(c)), checker);
    }
    let (mut producer, bus) = builder.build().expect("bench bus");

    let start = Instant::now();
    publish(&mut producer, events, layout.batch);
    tally.wait_for_all(start, DEADLINE);
    let elapsed = start.elapsed();

    drop(producer);
    bus.join().expect("a consumer failed");
    tally.assert_clean();
    elapsed
}

#[inline]
fn topic_of(id: u64) -> Topic {
    Topic::new((id % TOPICS) as u8)
}

fn publish(producer: &mut Producer<Event>, events: u64, batch: usize) {
    if batch == 1 {
        for id in 0..events {
            producer.publish(topic_of(id), |e| e.fill(id));
        }
        return;
    }
    for base in (0..events).step_by(batch) {
        producer
            .publish_batch(batch, |i, e| {
                let id = base + i as u64;
                e.fill(id);
                topic_of(id)
            })
            .expect("batch fits the ring");
    }
}

/// The harness's own cost per event, no bus: one thread fills an event and checks it.
pub fn base_run(events: u64) -> Duration {
    let mut slot = Event::default();
    let start = Instant::now();
    for id in 0..events {
        std::hint::black_box(&mut slot).fill(id);
        assert_eq!(std::hint::black_box(&slot).id(), Some(id));
    }
    start.elapsed()
}
