//! What keys cost 1P1C, paired: a bus whose consumer filters topics only, against a bus with
//! keys (`RingBus::routed`) whose consumer filters on the key too (and takes every event, so
//! both deliver the same). The producer of the keyed bus takes topic and key from each event
//! (`publish_event_with`); its consumer reads each slot's key. Runs alternate within a pair,
//! so the load other processes put on a shared machine hits both alike.

use super::checker::{Checker, Tally};
use super::event::Event;
use super::layout::{LAYOUTS, TOPICS};
use super::run::{timed_run, Setup, CAPACITY};
use ringbus::{KeyMatch, RingBus, Routed, SlotKey, Subscription, Topic, WaitStrategy};
use std::time::{Duration, Instant};

const ROUNDS: usize = 25;
const EVENTS: u64 = 1 << 20;
const DEADLINE: Duration = Duration::from_secs(60);

/// The market of an event: its id's high half (0 for every bench event), as a key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Market(u32);

impl SlotKey for Market {
    type Filter = u32;

    #[inline]
    fn check(&self, market: &u32) -> KeyMatch {
        KeyMatch::exact(self.0 == *market)
    }
}

impl Routed for Event {
    type Key = Market;

    #[inline]
    fn topic(&self) -> Topic {
        Topic::new((self.raw_id() % TOPICS) as u8)
    }

    #[inline]
    fn key(&self) -> Market {
        Market((self.raw_id() >> 32) as u32)
    }

    fn matches(&self, market: &u32) -> bool {
        self.key().0 == *market
    }
}

/// The same run as [`timed_run`] of 1P1C, on a bus with keys; with `filter`, its consumer
/// filters on them (and takes every event), else on topics only.
pub fn timed_keyed_run(strategy: WaitStrategy, filter: bool, events: u64) -> Duration {
    let layout = LAYOUTS[0];
    let tally = Tally::new(1);
    let checker = Checker::new("c0".into(), layout.ids_of(0), events, tally.clone());
    let mut sub = Subscription::new("c0").topics(layout.topics_of(0));
    if filter {
        sub = sub.keys(0u32);
    }
    let (mut producer, bus) = RingBus::routed::<Event>()
        .capacity(CAPACITY)
        .wait_strategy(strategy)
        .handler(sub, checker)
        .build()
        .expect("bench bus");
    let start = Instant::now();
    for id in 0..events {
        producer.publish_event_with(|e| e.fill(id));
    }
    tally.wait_for_all(start, DEADLINE);
    let elapsed = start.elapsed();
    drop(producer);
    bus.join().expect("a consumer failed");
    tally.assert_clean();
    elapsed
}

/// Prints, per strategy, the median of `keyed / topics only` throughput over `ROUNDS` pairs
/// of 1P1C single-publish runs (the order within a pair alternates): the producer's cost
/// (keys stored, the consumer filtering topics only) and the whole cost (the consumer
/// filtering on keys too).
pub fn print_key_cost(strategies: &[WaitStrategy]) {
    for (&strategy, filter) in strategies.iter().flat_map(|s| [(s, false), (s, true)]) {
        let plain = Setup {
            layout: LAYOUTS[0],
            strategy,
            dynamic: true,
        };
        let mut ratios = Vec::with_capacity(ROUNDS);
        let mut plain_rates = Vec::with_capacity(ROUNDS);
        for round in 0..ROUNDS {
            let (p, k) = if round % 2 == 0 {
                let p = timed_run(&plain, EVENTS);
                (p, timed_keyed_run(strategy, filter, EVENTS))
            } else {
                let k = timed_keyed_run(strategy, filter, EVENTS);
                (timed_run(&plain, EVENTS), k)
            };
            ratios.push(p.as_secs_f64() / k.as_secs_f64());
            plain_rates.push(EVENTS as f64 / p.as_secs_f64() / 1e6);
        }
        let q = |v: &mut Vec<f64>, p: f64| {
            v.sort_by(f64::total_cmp);
            v[((v.len() - 1) as f64 * p).round() as usize]
        };
        let what = if filter {
            "keys stored and filtered on"
        } else {
            "keys stored"
        };
        eprintln!(
            "keys-1p1c paired/{strategy}, {what}: keyed/topics-only throughput median {:.3} \
             (quartiles {:.3}-{:.3}) over {ROUNDS} pairs of {EVENTS} events; topics-only median {:.1} M/s",
            q(&mut ratios, 0.5),
            q(&mut ratios, 0.25),
            q(&mut ratios, 0.75),
            q(&mut plain_rates, 0.5),
        );
    }
}
