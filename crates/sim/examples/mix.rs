//! Prints the event mix of a short simulation: `cargo run -p ringbus-sim --example mix`.
use ringbus_events::EventTopic;
use ringbus_sim::{Counting, SimConfig, Simulator};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let blocks = std::env::args().nth(1).map_or(Ok(300), |s| s.parse())?;
    let cfg = SimConfig {
        blocks,
        ..SimConfig::default()
    };
    let mut sim = Simulator::new(cfg);
    let mut sink = Counting::new(Vec::new());
    sim.run(&mut sink)?;
    let total: u64 = sink.by_topic.iter().sum();
    println!(
        "{} events, {} blocks, {:.1} events/block, {} batches",
        total,
        blocks,
        total as f64 / blocks as f64,
        sink.batches
    );
    for t in EventTopic::ALL {
        let n = sink.by_topic[usize::from(t.id())];
        println!(
            "{:<18} {:>9} {:>6.2}%",
            t.name(),
            n,
            100.0 * n as f64 / total as f64
        );
    }
    println!("{:?}", sim.stats());
    Ok(())
}
