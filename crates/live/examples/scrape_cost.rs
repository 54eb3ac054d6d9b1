//! What scraping `/metrics` costs the producer, in one process: a producer publishes into a
//! bus with two gating consumers while an HTTP client scrapes the live server's `/metrics`
//! at a given rate, or not at all; the modes alternate trial by trial and each scraped
//! trial is compared with the unscraped trial just before it (a shared machine drifts more
//! between minutes than between neighbouring trials).
//!
//! ```sh
//! cargo run --release -p ringbus-live --example scrape_cost -- [TRIALS] [EVENTS_PER_TRIAL]
//! ```
//!
//! Scrapes far more often than once a second (100/s and 1000/s): if those cost nothing
//! measurable, a scrape a second costs a hundredth of that. It also times one scrape.

use ringbus_events::{BlockTime, Event, TimeUpdate};
use ringbus_live::{LiveConfig, LiveServer, NodeSnapshot, NodeStatus};
use ringbus_ring::{RingBus, Subscription};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct NoNode;
impl NodeStatus for NoNode {
    fn snapshot(&self) -> NodeSnapshot {
        NodeSnapshot::default()
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn quartiles(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 4], v[v.len() * 3 / 4])
}

fn main() {
    let mut args = std::env::args().skip(1);
    let trials: usize = args.next().map_or(21, |a| a.parse().unwrap());
    let events: u64 = args.next().map_or(5_000_000, |a| a.parse().unwrap());

    let (mut producer, bus) = RingBus::routed::<Event>().capacity(4096).build().unwrap();
    for name in ["a", "b"] {
        let seen = AtomicU64::new(0);
        bus.spawn(
            Subscription::new(name),
            move |e: &Event, _: u64, _: bool| {
                seen.fetch_add(e.sequence, Ordering::Relaxed);
                Ok(())
            },
        )
        .unwrap();
    }
    let bus = Arc::new(bus);
    let config = LiveConfig::new("127.0.0.1:0".parse().unwrap(), 1, 1);
    let server = LiveServer::start(config, Arc::clone(&bus), Arc::new(NoNode)).unwrap();
    let url = format!("http://{}/metrics", server.local_addr());

    // One scrape, timed from the client (HTTP round trip on loopback included).
    let mut one = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        scrape(&url);
        one.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let scrape_us = median(&mut one);
    // The snapshot alone: how long the membership lock is held for it (the only thing a
    // scrape and the producer share, and the producer takes it only after waiting on a
    // full ring).
    let mut snapshot_ns = Vec::new();
    for _ in 0..2_000 {
        let t = Instant::now();
        std::hint::black_box(bus.metrics());
        snapshot_ns.push(t.elapsed().as_secs_f64() * 1e9);
    }
    let snapshot_ns = median(&mut snapshot_ns);

    // The scraper: `rate` scrapes a second (0: none) until told to stop.
    let rate = Arc::new(AtomicU64::new(0));
    let scrapes = Arc::new(AtomicU64::new(0));
    let scraper = {
        let (rate, scrapes, url) = (Arc::clone(&rate), Arc::clone(&scrapes), url.clone());
        std::thread::spawn(move || loop {
            match rate.load(Ordering::Relaxed) {
                u64::MAX => return,
                0 => std::thread::sleep(Duration::from_millis(1)),
                r => {
                    scrape(&url);
                    scrapes.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_secs_f64(1.0 / r as f64));
                }
            }
        })
    };

    let batch: Vec<Event> = (0..64)
        .map(|_| Event::new(TimeUpdate { time: BlockTime(1) }))
        .collect();
    let mut trial = |r: u64| {
        rate.store(r, Ordering::Relaxed);
        let before = scrapes.load(Ordering::Relaxed);
        let start = Instant::now();
        let mut published = 0;
        while published < events {
            producer.publish_events(batch.iter().copied()).unwrap();
            published += batch.len() as u64;
        }
        let secs = start.elapsed().as_secs_f64();
        rate.store(0, Ordering::Relaxed);
        (
            published as f64 / secs,
            scrapes.load(Ordering::Relaxed) - before,
        )
    };
    trial(0); // warm up
    let rates = [100u64, 1000];
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); rates.len()];
    let mut base = Vec::new();
    let mut done = vec![0u64; rates.len()];
    for _ in 0..trials {
        for (i, &r) in rates.iter().enumerate() {
            let (none, _) = trial(0);
            let (scraped, n) = trial(r);
            base.push(none);
            ratios[i].push(scraped / none);
            done[i] += n;
        }
    }
    rate.store(u64::MAX, Ordering::Relaxed);
    scraper.join().unwrap();
    drop(producer);
    server.shutdown().unwrap();
    Arc::try_unwrap(bus).unwrap().join().unwrap();

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "{cores} cores; {trials} pairs per rate of {events} events; one scrape takes {scrape_us:.0} µs \
         (median, client side)"
    );
    println!("one Bus::metrics() snapshot takes {snapshot_ns:.0} ns (median)");
    println!(
        "unscraped: median {:.1} M events/s",
        median(&mut base) / 1e6
    );
    for (i, r) in rates.iter().enumerate() {
        let m = median(&mut ratios[i]);
        let (q1, q3) = quartiles(&mut ratios[i]);
        println!(
            "scraped {r}/s: {} scrapes; throughput vs the unscraped trial before it: median {m:.3} \
             (quartiles {q1:.3}-{q3:.3})",
            done[i]
        );
    }
}

/// One scrape of `url`, its body read to the end.
fn scrape(url: &str) -> String {
    ureq::get(url)
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap()
}
