//! `ringbus run --bench`: events/s of pre-generated events through the bus, for the default
//! in-memory pipeline and for each consumer alone.

use crate::{ConsumerKind, Input, Pipeline, PipelineError, SimConfig, Simulator};
use std::sync::Arc;

/// One measured layout.
#[derive(Debug, serde::Serialize)]
pub struct BenchLine {
    /// Consumers on the bus.
    pub consumers: Vec<ConsumerKind>,
    /// Events published.
    pub events: u64,
    /// Seconds.
    pub secs: f64,
    /// Events per second through the bus (publish to last consumer done).
    pub events_per_sec: f64,
}

/// Generates the events once, then runs each layout over them.
pub fn run(base: &Pipeline, cfg: SimConfig) -> Result<Vec<BenchLine>, PipelineError> {
    let mut events = Vec::new();
    let gen = std::time::Instant::now();
    Simulator::new(cfg).run(&mut events)?;
    let gen = gen.elapsed();
    println!(
        "generated {} events ({} blocks) in {:.2} s: the simulator alone makes {:.2} M events/s",
        events.len(),
        cfg.blocks,
        gen.as_secs_f64(),
        events.len() as f64 / gen.as_secs_f64() / 1e6
    );
    let events = Arc::new(events);
    use ConsumerKind::*;
    let layouts: [&[ConsumerKind]; 7] = [
        &[Positions, Stores],
        &[Positions],
        &[Stores],
        &[Sqlite],
        &[Log],
        &[Positions, Stores, Sqlite, Log],
        &[],
    ];
    let mut out = Vec::new();
    for layout in layouts {
        let p = Pipeline {
            consumers: layout.to_vec(),
            progress: false,
            fresh_db: true,
            ..base.clone()
        };
        let r = p.run(Input::Events(events.clone()))?;
        let line = BenchLine {
            consumers: layout.to_vec(),
            events: r.events,
            secs: r.elapsed.as_secs_f64(),
            events_per_sec: r.events_per_sec(),
        };
        let names: Vec<_> = layout.iter().map(|k| k.name()).collect();
        println!(
            "  {:<32} {:>10} events {:>8.3} s {:>8.2} M events/s",
            if names.is_empty() {
                "(no consumer)".to_string()
            } else {
                names.join("+")
            },
            line.events,
            line.secs,
            line.events_per_sec / 1e6
        );
        out.push(line);
    }
    Ok(out)
}
