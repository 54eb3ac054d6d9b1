//! `ringbus run --bench`: events/s of pre-generated events through the bus, for the default
//! in-memory pipeline and for each consumer alone; with `--postgres` / `--nats`, also into
//! PostgreSQL and JetStream (their tables and stream reset before each layout).

use crate::{ConsumerKind, Input, Pipeline, PipelineError};
use ringbus_sim::{SimConfig, Simulator};
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
    /// Seconds the producer took to publish everything.
    pub publish_secs: f64,
    /// Times the producer waited for ring space.
    pub producer_waits: u64,
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
    let mut layouts: Vec<&[ConsumerKind]> = vec![
        &[Positions, Stores],
        &[Positions],
        &[Stores],
        &[Sqlite],
        &[Log],
        &[Positions, Stores, Sqlite, Log],
        &[],
    ];
    if base.postgres.is_some() {
        layouts.push(&[Postgres]);
        layouts.push(&[Positions, Stores, Sqlite, Log, Postgres]);
    }
    if base.nats.is_some() {
        layouts.push(&[Nats]);
        layouts.push(&[Positions, Stores, Sqlite, Log, Nats]);
    }
    if base.postgres.is_some() && base.nats.is_some() {
        layouts.push(&[Positions, Stores, Sqlite, Log, Postgres, Nats]);
    }
    let mut out = Vec::new();
    for layout in layouts {
        if let (true, Some((url, options))) = (layout.contains(&Postgres), &base.postgres) {
            ringbus_remote::PgStore::drop_tables(url, options)?;
        }
        if let (true, Some((url, options))) = (layout.contains(&Nats), &base.nats) {
            ringbus_remote::JetStreamForwarder::delete_stream(url, options)?;
        }
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
            publish_secs: r.publish_elapsed.as_secs_f64(),
            producer_waits: r.metrics.producer.waits,
        };
        let names: Vec<_> = layout.iter().map(|k| k.name()).collect();
        let name = if names.is_empty() {
            "(no consumer)".to_string()
        } else {
            names.join("+")
        };
        if let Some(e) = r.failures.first() {
            println!("  {name}: a consumer failed: {e}");
        }
        if let Some(e) = r.nats.as_ref().and_then(|n| n.error.as_ref()) {
            println!("  {name}: the JetStream forwarder failed: {e}");
        }
        println!(
            "  {:<40} {:>10} events {:>8.3} s {:>8.3} M events/s  (producer done in {:.3} s, {} waits)",
            name,
            line.events,
            line.secs,
            line.events_per_sec / 1e6,
            line.publish_secs,
            line.producer_waits
        );
        out.push(line);
    }
    Ok(out)
}
