//! No wake-up is lost when consumers and the producer really park: a bursty producer whose
//! pauses are longer than the adaptive strategy's yield phase, consumers that each choose
//! their own wait strategy on one bus (handlers, pollers, a dependent, a tap), and a ring
//! small enough that the producer parks on a full ring too. A lost wake-up is a hang, which
//! the deadline turns into a failure with a diagnosis.

mod common;

use common::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use ringbus::{
    ConfigError, PollError, RingBus, Subscription, TapPolicy, Topic, TopicSet, WaitStrategy,
};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);
const BURSTS: u64 = scaled(150, 600);

#[test]
fn bursts_with_pauses_reach_every_consumer_whatever_it_waits_with() {
    let _serial = serial();
    for capacity in [8usize, 1024] {
        let (mut producer, mut bus) = RingBus::builder::<Ev>()
            .capacity(capacity)
            .handler(
                Subscription::new("default"),
                checked("default", TopicSet::all()),
            )
            .handler(
                Subscription::new("parks")
                    .wait_strategy(WaitStrategy::Blocking)
                    .after("default"),
                checked("parks", TopicSet::all()),
            )
            .poller(
                Subscription::new("odd")
                    .topics(TopicSet::of(&[Topic::new(1), Topic::new(3)]))
                    .wait_strategy(WaitStrategy::SpinThenYield),
            )
            .build()
            .unwrap();
        let mut odd = bus.take_poller("odd").unwrap();
        let tap = bus
            .tap(Subscription::new("tap").lossy(TapPolicy::default()))
            .unwrap();
        let bus = Arc::new(bus);
        let diag_bus = Arc::clone(&bus);
        let diag = move || diagnose(&diag_bus.metrics());
        let odd_topics = TopicSet::of(&[Topic::new(1), Topic::new(3)]);
        let poller = thread::spawn(move || {
            let mut checker = Checker::new("odd", odd_topics, 0);
            loop {
                match odd.poll() {
                    Ok(batch) => {
                        for (seq, ev) in batch.iter() {
                            checker.on(seq, ev);
                        }
                    }
                    Err(PollError::Shutdown) => return checker,
                    Err(other) => panic!("odd: {other}"),
                }
            }
        });
        let tapper = thread::spawn(move || {
            let mut tap = tap;
            let (mut received, mut missed) = (0u64, 0u64);
            loop {
                match tap.poll() {
                    Ok(events) => {
                        for (seq, ev) in events {
                            check(ev, *seq);
                        }
                        received += events.len() as u64;
                    }
                    Err(PollError::Lagged { missed: m }) => missed += m,
                    Err(PollError::Shutdown) => return (received, missed),
                    Err(other) => panic!("tap: {other}"),
                }
            }
        });
        let published = within(LIMIT, "bursty producer", diag, move || {
            let mut rng = StdRng::seed_from_u64(capacity as u64);
            for _ in 0..BURSTS {
                let burst = rng.random_range(1..=40u64);
                publish_n(&mut producer, burst);
                // Pauses longer than the adaptive yield phase make consumers park.
                match rng.random_range(0..4) {
                    0 => thread::sleep(Duration::from_micros(rng.random_range(50..3_000))),
                    1 => thread::yield_now(),
                    _ => {}
                }
            }
            let published = producer.next_sequence();
            drop(producer);
            published
        });
        let mut checker = poller.join().unwrap();
        checker.finish(published);
        let (received, missed) = tapper.join().unwrap();
        assert_eq!(received + missed, published, "tap accounting");
        let bus = Arc::into_inner(bus).expect("no other handle");
        let report = bus.join().unwrap();
        for name in ["default", "parks"] {
            assert_eq!(
                report.consumer(name).unwrap().handled,
                published,
                "{name} (capacity {capacity})"
            );
        }
    }
}

fn checked(
    name: &str,
    topics: TopicSet,
) -> impl FnMut(&Ev, u64, bool) -> Result<(), ringbus::HandlerError> + Send + 'static {
    let mut checker = Checker::new(name, topics, 0);
    move |ev: &Ev, seq: u64, _eob: bool| {
        checker.on(seq, ev);
        Ok(())
    }
}

#[test]
fn a_consumer_may_park_on_a_bus_whose_strategy_spins() {
    // A busy-spinning bus still signals when the kernel offers asymmetric barriers, so a
    // consumer that parks is woken; where it does not, the subscription is refused.
    let (mut producer, bus) = RingBus::builder::<u64>()
        .wait_strategy(WaitStrategy::SpinThenYield)
        .build()
        .unwrap();
    match bus.subscribe(Subscription::new("store").wait_strategy(WaitStrategy::Blocking)) {
        Ok(mut store) => {
            let reader = thread::spawn(move || store.poll().unwrap().iter().count());
            thread::sleep(Duration::from_millis(20));
            producer.publish(Topic::new(0), |e| *e = 1);
            assert_eq!(reader.join().unwrap(), 1);
        }
        Err(ConfigError::UnsignalledPark { name, .. }) => assert_eq!(name, "store"),
        Err(other) => panic!("{other}"),
    }
}
