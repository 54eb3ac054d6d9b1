//! The end-of-run summary: printed for people, and as JSON.

use crate::RunReport;
use ringbus_events::EventTopic;
use ringbus_sim::SimStats;
use serde::Serialize;
use std::collections::BTreeMap;

/// One consumer's line of the summary.
#[derive(Debug, Serialize)]
pub struct ConsumerLine {
    /// Name.
    pub name: String,
    /// Events handled.
    pub handled: u64,
    /// Events of other topics it skipped.
    pub skipped: u64,
    /// Lag at the end (0 after a clean shutdown).
    pub lag: u64,
    /// Time spent handling batches, in seconds.
    pub busy_secs: f64,
    /// State at the end.
    pub state: String,
    /// Its failure, if any.
    pub failure: Option<String>,
}

/// The summary of a run.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// What ran (`run`, `replay`, ...).
    pub mode: String,
    /// Events published.
    pub events: u64,
    /// Seconds from first publish to the end of every consumer.
    pub elapsed_secs: f64,
    /// Events per second.
    pub events_per_sec: f64,
    /// Events by topic.
    pub by_topic: BTreeMap<String, u64>,
    /// Per consumer.
    pub consumers: Vec<ConsumerLine>,
    /// Producer waits for space (backpressure).
    pub producer_waits: u64,
    /// Top parties by total P&L (party, P&L).
    pub top_parties: Vec<(u32, i64)>,
    /// Bottom parties by total P&L.
    pub bottom_parties: Vec<(u32, i64)>,
    /// Simulation counters.
    pub sim: Option<SimStats>,
    /// Where the SQLite writer resumed.
    pub sqlite_resumed_after: Option<Option<u64>>,
    /// Seconds the producer took to publish everything.
    pub publish_secs: f64,
    /// Where the PostgreSQL writer resumed.
    pub postgres_resumed_after: Option<Option<u64>>,
    /// The JetStream forwarder's counters.
    pub nats: Option<NatsLine>,
    /// Whether a stop request (Ctrl-C, SIGTERM) ended the run at a block boundary before
    /// the end of its input.
    pub stopped: bool,
    /// The height of the last block published, if any.
    pub last_height: Option<u64>,
}

/// The JetStream forwarder's part of the summary.
#[derive(Debug, Serialize)]
pub struct NatsLine {
    /// The stream's last event when it started.
    pub resumed_after: Option<u64>,
    /// Messages sent (re-sends included).
    pub published: u64,
    /// Events acknowledged.
    pub acked: u64,
    /// Acknowledgements that said duplicate.
    pub duplicates: u64,
    /// Reconnections.
    pub reconnects: u64,
    /// Events re-sent after a reconnection.
    pub resent: u64,
    /// The last event acknowledged.
    pub acked_through: Option<u64>,
    /// Its error at shutdown, if any.
    pub error: Option<String>,
}

impl Summary {
    /// Builds the summary of `report`.
    pub fn new(mode: &str, report: &RunReport) -> Self {
        let by_topic = EventTopic::ALL
            .iter()
            .map(|t| (t.name().to_string(), report.by_topic[usize::from(t.id())]))
            .filter(|(_, n)| *n > 0)
            .collect();
        let consumers = report
            .metrics
            .consumers
            .iter()
            .map(|c| ConsumerLine {
                name: c.name.clone(),
                handled: c.handled,
                skipped: c.skipped,
                lag: c.lag,
                busy_secs: report
                    .busy
                    .iter()
                    .find(|(n, _)| *n == c.name)
                    .map_or(0.0, |(_, d)| d.as_secs_f64()),
                state: c.state.name().to_string(),
                failure: c.failure.as_ref().map(|f| f.to_string()),
            })
            .collect();
        let (top, bottom) = report.positions.as_ref().map_or((vec![], vec![]), |v| {
            v.with(|s| {
                let all = s.top_parties(usize::MAX);
                let top = all.iter().take(5).map(|(p, x)| (p.0, *x)).collect();
                let bottom = all.iter().rev().take(5).map(|(p, x)| (p.0, *x)).collect();
                (top, bottom)
            })
        });
        Summary {
            mode: mode.into(),
            events: report.events,
            elapsed_secs: report.elapsed.as_secs_f64(),
            events_per_sec: report.events_per_sec(),
            by_topic,
            consumers,
            producer_waits: report.metrics.producer.waits,
            top_parties: top,
            bottom_parties: bottom,
            sim: report.sim,
            sqlite_resumed_after: report.sqlite_resumed_after,
            publish_secs: report.publish_elapsed.as_secs_f64(),
            postgres_resumed_after: report.postgres_resumed_after,
            nats: report.nats.as_ref().map(|n| NatsLine {
                resumed_after: n.resumed_after,
                published: n.published,
                acked: n.acked,
                duplicates: n.duplicates,
                reconnects: n.reconnects,
                resent: n.resent,
                acked_through: n.acked_through,
                error: n.error.clone(),
            }),
            stopped: report.stopped,
            last_height: report.last_block.map(|b| b.height),
        }
    }

    /// Prints the summary for people.
    pub fn print(&self) {
        println!(
            "{}: {} events in {:.2} s = {:.0} events/s (producer waited {} times)",
            self.mode, self.events, self.elapsed_secs, self.events_per_sec, self.producer_waits
        );
        if self.stopped {
            match self.last_height {
                Some(h) => println!("  stopped on request after block {h}, a block boundary"),
                None => println!("  stopped on request before the first block"),
            }
        }
        if let Some(s) = &self.sim {
            println!(
                "  simulated: {} txs ({} failed), {} trades, {} mark-to-market cascades, {} shocks, {} distressed, {} closeouts, {} loss socialisations",
                s.transactions, s.failed, s.trades, s.cascades, s.shocks, s.distressed, s.closeouts, s.socialised
            );
        }
        println!(
            "  the producer published everything in {:.2} s; the consumers finished {:.2} s later",
            self.publish_secs,
            (self.elapsed_secs - self.publish_secs).max(0.0)
        );
        if let Some(r) = self.sqlite_resumed_after {
            match r {
                Some(seq) => println!("  sqlite resumed after committed sequence {seq}"),
                None => println!("  sqlite started from an empty database"),
            }
        }
        if let Some(r) = self.postgres_resumed_after {
            match r {
                Some(seq) => println!("  postgres resumed after committed sequence {seq}"),
                None => println!("  postgres started from an empty database"),
            }
        }
        if let Some(n) = &self.nats {
            println!(
                "  nats: {} acknowledged through event {}, {} published, {} duplicates, {} reconnects, {} re-sent{}{}",
                n.acked,
                n.acked_through.map_or_else(|| "none".into(), |s| s.to_string()),
                n.published,
                n.duplicates,
                n.reconnects,
                n.resent,
                n.resumed_after
                    .map(|s| format!(", resumed after event {s}"))
                    .unwrap_or_default(),
                n.error.as_deref().map(|e| format!("; ERROR: {e}")).unwrap_or_default()
            );
        }
        println!("\n  events by topic");
        for (t, n) in &self.by_topic {
            let pct = 100.0 * *n as f64 / self.events.max(1) as f64;
            println!("    {t:<18} {n:>10} {pct:>6.2} %");
        }
        println!(
            "\n  {:<10} {:>10} {:>10} {:>6} {:>9} {:>9}  state",
            "consumer", "handled", "skipped", "lag", "busy s", "M ev/s"
        );
        for c in &self.consumers {
            let rate = if c.busy_secs > 0.0 {
                c.handled as f64 / c.busy_secs / 1e6
            } else {
                0.0
            };
            println!(
                "  {:<10} {:>10} {:>10} {:>6} {:>9.3} {:>9.2}  {}{}",
                c.name,
                c.handled,
                c.skipped,
                c.lag,
                c.busy_secs,
                rate,
                c.state,
                c.failure
                    .as_deref()
                    .map(|f| format!(": {f}"))
                    .unwrap_or_default()
            );
        }
        if !self.top_parties.is_empty() {
            println!("\n  P&L (realised + unrealised at the mark), top and bottom parties");
            for (p, pnl) in &self.top_parties {
                println!("    party-{p:<6} {pnl:>14}");
            }
            println!("    ...");
            for (p, pnl) in self.bottom_parties.iter().rev() {
                println!("    party-{p:<6} {pnl:>14}");
            }
        }
    }
}
