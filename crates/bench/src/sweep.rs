//! `sweep` (ring capacity, batch size, wait strategy, consumer count) and `tune` (the best
//! configuration for a described workload on this machine).

use std::sync::Arc;

use indicatif::ProgressBar;
use serde::Serialize;

use crate::harness::System;
use crate::measure::{measure, Budget, Measurement};
use crate::scenario::{Focus, Layout, Scenario, Workload};

/// Capacities a sweep tries.
pub const CAPACITIES: &[usize] = &[64, 256, 1024, 4096, 16384];
/// Batch sizes a sweep tries.
pub const BATCHES: &[u32] = &[1, 8, 32, 128];
/// Consumer counts a sweep tries.
pub const CONSUMERS: &[usize] = &[1, 2, 4];

/// A described workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkloadSpec {
    /// Consumer threads.
    pub consumers: usize,
    /// Batch size.
    pub batch: u32,
    /// Each consumer reads only its own topic (instead of every topic).
    pub split_topics: bool,
    /// Paced rate (events/s); latency is then recorded.
    pub rate: Option<f64>,
}

/// The scenario of a described workload.
pub fn custom(w: &WorkloadSpec) -> Scenario {
    let n = w.consumers.max(1);
    let (layout, topics) = if w.split_topics {
        (Layout::one_topic_each(n), (0..n as u8).collect::<Vec<_>>())
    } else {
        (Layout::broadcast(n), vec![0u8])
    };
    Scenario {
        name: format!(
            "custom-c{n}-b{}{}{}",
            w.batch,
            if w.split_topics { "-split" } else { "" },
            w.rate.map_or(String::new(), |r| format!("-r{}", r as u64))
        ),
        description: format!("{n} consumer(s), batches of {}", w.batch),
        layout,
        workload: Workload {
            topics: Arc::from(topics),
            rate: w.rate,
            ..Workload::flat(w.batch)
        },
        focus: if w.rate.is_some() {
            Focus::Latency
        } else {
            Focus::Throughput
        },
    }
}

/// One measured configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Which dimension this row varies (sweep) or "grid" (tune).
    pub dimension: String,
    /// System (its wait strategy is part of the name; `ringbus-default` is the builder's default).
    pub system: String,
    /// Whether the system is the default bus (`RingBus::builder().build()`).
    pub default: bool,
    /// Ring capacity.
    pub capacity: usize,
    /// Batch size.
    pub batch: u32,
    /// Consumers.
    pub consumers: usize,
    /// Status label.
    pub status: String,
    /// Note.
    pub note: Option<String>,
    /// Median events/s.
    pub events_per_sec_median: Option<f64>,
    /// Slowest run.
    pub events_per_sec_min: Option<f64>,
    /// Fastest run.
    pub events_per_sec_max: Option<f64>,
    /// p50 latency, ns (when paced).
    pub p50_ns: Option<u64>,
    /// p99 latency, ns (when paced).
    pub p99_ns: Option<u64>,
    /// Process CPU seconds (all threads) per million events, median over the runs.
    pub cpu_s_per_m_events_median: Option<f64>,
    /// Process CPU while idle, % of one core per consumer.
    pub idle_cpu_pct_per_consumer: Option<f64>,
}

fn row(dimension: &str, m: &Measurement, capacity: usize, w: &WorkloadSpec) -> Row {
    let t = m.throughput();
    let l = m.latency();
    Row {
        dimension: dimension.into(),
        system: m.system.clone(),
        default: m.default,
        capacity,
        batch: w.batch,
        consumers: w.consumers,
        status: m.status.label().into(),
        note: m.note.clone(),
        events_per_sec_median: t.map(|t| t.median),
        events_per_sec_min: t.map(|t| t.min),
        events_per_sec_max: t.map(|t| t.max),
        p50_ns: l.map(|l| l.p50_ns),
        p99_ns: l.map(|l| l.p99_ns),
        cpu_s_per_m_events_median: m.cpu_spread().map(|c| c.median),
        idle_cpu_pct_per_consumer: m.idle_cpu_pct,
    }
}

fn run_one(
    sys: &Arc<dyn System>,
    w: &WorkloadSpec,
    capacity: usize,
    budget: &Budget,
    dim: &str,
    pb: &ProgressBar,
) -> Row {
    pb.set_message(format!(
        "{} cap {capacity} batch {} consumers {}",
        sys.name(),
        w.batch,
        w.consumers
    ));
    let b = Budget {
        capacity,
        ..*budget
    };
    let m = measure(sys.clone(), &custom(w), &b);
    pb.inc(1);
    row(dim, &m, capacity, w)
}

/// The sweep's dimensions.
pub const DIMENSIONS: &[&str] = &["wait", "capacity", "batch", "consumers"];

/// Number of runs a sweep over `dims` makes per system.
pub fn sweep_size(dims: &[String]) -> usize {
    dims.iter()
        .map(|d| match d.as_str() {
            "wait" => 1,
            "capacity" => CAPACITIES.len(),
            "batch" => BATCHES.len(),
            "consumers" => CONSUMERS.len(),
            _ => 0,
        })
        .sum()
}

/// One factor at a time around the base (capacity from `budget`, batch 1, 1 consumer), for
/// each system (the "wait" dimension is the set of systems of one family: one per strategy).
pub fn sweep(
    systems: &[Arc<dyn System>],
    dims: &[String],
    budget: &Budget,
    pb: &ProgressBar,
) -> Vec<Row> {
    let base = WorkloadSpec {
        consumers: 1,
        batch: 1,
        split_topics: false,
        rate: None,
    };
    let mut rows = Vec::new();
    for d in dims {
        for sys in systems {
            match d.as_str() {
                "wait" => rows.push(run_one(sys, &base, budget.capacity, budget, d, pb)),
                "capacity" => {
                    for &c in CAPACITIES {
                        rows.push(run_one(sys, &base, c, budget, d, pb));
                    }
                }
                "batch" => {
                    for &b in BATCHES {
                        rows.push(run_one(
                            sys,
                            &WorkloadSpec { batch: b, ..base },
                            budget.capacity,
                            budget,
                            d,
                            pb,
                        ));
                    }
                }
                "consumers" => {
                    for &n in CONSUMERS {
                        rows.push(run_one(
                            sys,
                            &WorkloadSpec {
                                consumers: n,
                                ..base
                            },
                            budget.capacity,
                            budget,
                            d,
                            pb,
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    rows
}

/// What `tune` optimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// Highest median events/s.
    Throughput,
    /// Lowest p99 latency (at the paced rate).
    P99,
}

impl std::fmt::Display for Objective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Objective::Throughput => "throughput",
            Objective::P99 => "p99 latency",
        })
    }
}

/// The tune grid: every capacity x system x batch (when `w.batch` is 0, every sweep batch).
pub fn tune_grid(
    systems: &[Arc<dyn System>],
    w: &WorkloadSpec,
    capacities: &[usize],
) -> Vec<(Arc<dyn System>, usize, WorkloadSpec)> {
    let batches: Vec<u32> = if w.batch == 0 {
        BATCHES.to_vec()
    } else {
        vec![w.batch]
    };
    let mut grid = Vec::new();
    for s in systems {
        for &c in capacities {
            for &b in &batches {
                grid.push((s.clone(), c, WorkloadSpec { batch: b, ..*w }));
            }
        }
    }
    grid
}

/// Runs the grid and returns rows sorted best first.
pub fn tune(
    grid: &[(Arc<dyn System>, usize, WorkloadSpec)],
    objective: Objective,
    budget: &Budget,
    pb: &ProgressBar,
) -> Vec<Row> {
    let mut rows: Vec<Row> = grid
        .iter()
        .map(|(s, c, w)| run_one(s, w, *c, budget, "grid", pb))
        .collect();
    rank(&mut rows, objective);
    rows
}

/// Sorts rows best first for `objective`; rows without the figure go last.
pub fn rank(rows: &mut [Row], objective: Objective) {
    match objective {
        Objective::Throughput => rows.sort_by(|a, b| {
            let f = |r: &Row| r.events_per_sec_median.unwrap_or(-1.0);
            f(b).total_cmp(&f(a))
        }),
        Objective::P99 => rows.sort_by_key(|r| r.p99_ns.unwrap_or(u64::MAX)),
    }
}

/// Rows as a terminal table.
pub fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<10} {:<18} {:>8} {:>6} {:>5} {:>10} {:>21} {:>9} {:>9} {:>9} {:>8}  {}\n",
        "dimension",
        "system",
        "capacity",
        "batch",
        "cons",
        "Mev/s med",
        "min..max",
        "p50 ns",
        "p99 ns",
        "cpu s/Mev",
        "idle %/c",
        "status"
    );
    for r in rows {
        let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{:.2}", v / 1e6));
        let n = |x: Option<u64>| x.map_or("-".to_string(), |v| v.to_string());
        out.push_str(&format!(
            "{:<10} {:<18} {:>8} {:>6} {:>5} {:>10} {:>21} {:>9} {:>9} {:>9} {:>8}  {}{}\n",
            r.dimension,
            r.system,
            r.capacity,
            r.batch,
            r.consumers,
            f(r.events_per_sec_median),
            format!("{}..{}", f(r.events_per_sec_min), f(r.events_per_sec_max)),
            n(r.p50_ns),
            n(r.p99_ns),
            r.cpu_s_per_m_events_median
                .map_or("-".to_string(), |c| format!("{c:.4}")),
            r.idle_cpu_pct_per_consumer
                .map_or("-".to_string(), |p| format!("{p:.1}")),
            r.status,
            r.note.as_ref().map_or(String::new(), |x| format!(" ({x})"))
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::systems;
    use std::time::Duration;

    fn mk(system: &str, eps: Option<f64>, p99: Option<u64>) -> Row {
        Row {
            dimension: "grid".into(),
            system: system.into(),
            default: false,
            capacity: 1024,
            batch: 1,
            consumers: 1,
            status: "ok".into(),
            note: None,
            events_per_sec_median: eps,
            events_per_sec_min: eps,
            events_per_sec_max: eps,
            p50_ns: p99,
            p99_ns: p99,
            cpu_s_per_m_events_median: None,
            idle_cpu_pct_per_consumer: None,
        }
    }

    #[test]
    fn ranking() {
        let mut rows = vec![
            mk("a", Some(1.0), Some(5)),
            mk("b", None, None),
            mk("c", Some(3.0), Some(2)),
        ];
        rank(&mut rows, Objective::Throughput);
        assert_eq!(
            rows.iter().map(|r| r.system.as_str()).collect::<String>(),
            "cab"
        );
        rank(&mut rows, Objective::P99);
        assert_eq!(
            rows.iter().map(|r| r.system.as_str()).collect::<String>(),
            "cab"
        );
        assert!(table(&rows).contains("grid"));
    }

    #[test]
    fn custom_workloads_and_grid() {
        let w = WorkloadSpec {
            consumers: 3,
            batch: 0,
            split_topics: true,
            rate: Some(1e5),
        };
        let s = custom(&WorkloadSpec { batch: 8, ..w });
        assert_eq!(s.layout.consumers(), 3);
        assert_eq!(s.focus, Focus::Latency);
        assert_eq!(s.workload.topics.len(), 3);
        let sys = systems::select(systems::all(), &["disruptor".into()]);
        assert_eq!(
            tune_grid(&sys, &w, &[256, 1024]).len(),
            2 * 2 * BATCHES.len()
        );
        assert_eq!(
            sweep_size(&["wait".into(), "batch".into()]),
            1 + BATCHES.len()
        );
    }

    #[test]
    fn tiny_sweep_runs() {
        let b = Budget {
            calibrate: Duration::from_millis(5),
            run: Duration::from_millis(5),
            repeats: 1,
            capacity: 256,
            idle: Duration::ZERO,
            ..Budget::quick()
        };
        let sys = systems::select(systems::all(), &["crossbeam".into()]);
        let rows = sweep(
            &sys,
            &["wait".into(), "consumers".into()],
            &b,
            &ProgressBar::hidden(),
        );
        assert_eq!(rows.len(), 1 + CONSUMERS.len());
        assert!(rows.iter().all(|r| r.status == "ok"), "{rows:?}");
    }
}
