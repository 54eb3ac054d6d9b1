//! Publishes events through a bus and prints the throughput: `cargo run --release -p ringbus-ring --example throughput -- [consumers] [batch] [strategy]`.
use ringbus_ring::{RingBus, Subscription, Topic, WaitStrategy};
use std::time::Instant;

#[derive(Default, Clone, Copy)]
#[repr(align(64))]
struct Ev {
    seq: u64,
    _pad: [u64; 7],
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let consumers: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let batch: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let strategy: WaitStrategy = args.get(3).and_then(|s| s.parse().ok()).unwrap_or_default();
    let n: u64 = 20_000_000;
    let mut builder = RingBus::builder::<Ev>()
        .capacity(1024)
        .wait_strategy(strategy);
    for c in 0..consumers {
        let mut expect = 0u64;
        builder = builder.handler(
            Subscription::new(format!("c{c}")),
            move |e: &Ev, _s: u64, _eob: bool| {
                assert_eq!(e.seq, expect);
                expect += 1;
                Ok(())
            },
        );
    }
    let (mut producer, bus) = builder.build().unwrap();
    let start = Instant::now();
    let mut i = 0u64;
    while i < n {
        if batch == 1 {
            producer.publish(Topic::new(0), |e| e.seq = i);
            i += 1;
        } else {
            let base = i;
            producer
                .publish_batch(batch, |k, e| {
                    e.seq = base + k as u64;
                    Topic::new(0)
                })
                .unwrap();
            i += batch as u64;
        }
    }
    drop(producer);
    let m = bus.join().unwrap();
    let el = start.elapsed();
    println!(
        "{consumers} consumers batch {batch} {strategy}: {:.1} M events/s (producer waits {})",
        n as f64 / el.as_secs_f64() / 1e6,
        m.producer.waits
    );
}
