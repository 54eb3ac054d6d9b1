//! The comparison report: machine description, JSON, Markdown and the terminal table.

use serde::Serialize;

use crate::buffering::ChannelBuffer;
use crate::harness::family;
use crate::measure::{Budget, Measurement, COLLAPSE_RATIO};
use crate::scenario::{Focus, Scenario, Shape};
use crate::stalls::Stalls;
use crate::stats::{self, Spread};
use crate::systems::ringbus;

/// The machine the figures come from.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Logical cores available to this process.
    pub cores: usize,
    /// CPU model from /proc/cpuinfo.
    pub cpu_model: String,
    /// Kernel release.
    pub kernel: String,
    /// 1-minute load average when the run started (other work on the machine shows here).
    pub loadavg_at_start: Option<f64>,
    /// 1-minute load average when the run ended (set by the caller).
    pub loadavg_at_end: Option<f64>,
    /// Build profile of the harness.
    pub profile: &'static str,
    /// Seconds since the Unix epoch.
    pub timestamp: u64,
}

impl Machine {
    /// Describes this machine.
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| std::env::consts::OS.to_string());
        let loadavg_at_start = loadavg();
        Machine {
            cores: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            cpu_model,
            kernel,
            loadavg_at_start,
            loadavg_at_end: None,
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            timestamp: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        }
    }
}

/// The 1-minute load average, from /proc/loadavg.
pub fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
}

/// Settings of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// The command line.
    pub command: String,
    /// Ring / channel capacity.
    pub capacity: usize,
    /// How the channel systems size a routed consumer's channel: `window` (its share of the
    /// capacity) or `each` (the whole capacity).
    pub channel_buffer: ChannelBuffer,
    /// Measured runs per system and scenario.
    pub repeats: usize,
    /// Target duration of one run, ms.
    pub run_ms: u64,
    /// Deadline of one run, ms.
    pub deadline_ms: u64,
    /// Event size, bytes.
    pub event_bytes: usize,
    /// `--pin`: producer on the first core, consumers round robin on the next ones.
    pub pinned: bool,
    /// Idle window after each system x scenario's runs, ms (0: not measured).
    pub idle_ms: u64,
    /// Latency scenarios: samples a run aims at (within the run caps below).
    pub latency_samples_per_run: u64,
    /// Latency scenarios: longest run, ms (paced or flat out).
    pub latency_run_cap_ms: u64,
    /// Bursts with pauses: longest run, ms.
    pub burst_run_cap_ms: u64,
}

impl Settings {
    /// Settings for `budget`.
    pub fn new(command: String, budget: &Budget) -> Self {
        Settings {
            command,
            capacity: budget.capacity,
            channel_buffer: budget.channel_buffer,
            repeats: budget.repeats,
            run_ms: budget.run.as_millis() as u64,
            deadline_ms: budget.time_limit().as_millis() as u64,
            event_bytes: std::mem::size_of::<crate::event::Event>(),
            pinned: budget.pin,
            idle_ms: budget.idle.as_millis() as u64,
            latency_samples_per_run: budget.latency_samples,
            latency_run_cap_ms: budget.latency_run_cap.as_millis() as u64,
            burst_run_cap_ms: budget.burst_run_cap.as_millis() as u64,
        }
    }
}

/// One system's row in a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ResultRow {
    /// System name.
    pub system: String,
    /// The bus a user gets without choosing anything (`RingBus::builder().build()`, the row
    /// `ringbus-default`); false for every other system.
    pub default: bool,
    /// ok, timeout/collapsed, failed, hung, skipped.
    pub status: String,
    /// Why, when not ok; "collapsed" when far below its own unicast figure.
    pub note: Option<String>,
    /// Median events per second over the runs.
    pub events_per_sec_median: Option<f64>,
    /// Slowest run.
    pub events_per_sec_min: Option<f64>,
    /// Fastest run.
    pub events_per_sec_max: Option<f64>,
    /// Median divided by the best peer's median in this scenario (peers: not `limit`, not `ringbus`).
    pub vs_best_peer: Option<f64>,
    /// Latency scenarios: p99 divided by the best (lowest) peer p99 in this scenario (below 1 is better).
    pub p99_vs_best_peer: Option<f64>,
    /// Measured runs.
    pub runs: usize,
    /// Events per second of each run, in run order.
    pub runs_events_per_sec: Vec<f64>,
    /// Events per run.
    pub events_per_run: u64,
    /// Latency samples.
    pub latency_samples: Option<u64>,
    /// Latency percentiles, ns.
    pub p50_ns: Option<u64>,
    /// 90th percentile, ns.
    pub p90_ns: Option<u64>,
    /// 99th percentile, ns.
    pub p99_ns: Option<u64>,
    /// 99.9th percentile, ns.
    pub p999_ns: Option<u64>,
    /// Largest, ns.
    pub max_ns: Option<u64>,
    /// The p99 of each run on its own, ns, in run order (latency scenarios).
    pub p99_ns_runs: Vec<u64>,
    /// Min / median / max of `p99_ns_runs`.
    pub p99_ns_per_run: Option<Spread>,
    /// Latency samples of each run, in run order.
    pub latency_samples_runs: Vec<u64>,
    /// Process CPU seconds (every thread: producer, consumers, the harness's idle threads)
    /// per million published events: min / median / max over the runs.
    pub cpu_s_per_m_events: Option<Spread>,
    /// The same, each run in run order.
    pub cpu_s_per_m_events_runs: Vec<f64>,
    /// The producer's thread alone (its share of `cpu_s_per_m_events`: publishing, and in
    /// paced scenarios the harness's spin on the clock between events), min / median / max.
    pub producer_cpu_s_per_m_events: Option<Spread>,
    /// Process CPU over an idle window (consumers started and drained, nothing published),
    /// as % of one core per consumer.
    pub idle_cpu_pct_per_consumer: Option<f64>,
}

/// One scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    /// Name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Consumer threads.
    pub consumers: usize,
    /// Producer + consumer threads.
    pub threads: usize,
    /// broadcast or pipeline.
    pub shape: &'static str,
    /// throughput or latency.
    pub focus: &'static str,
    /// One row per system.
    pub results: Vec<ResultRow>,
    /// Latency scenarios: a stall probe after each round ([`crate::stalls`]), one thread per
    /// thread of the scenario; what the machine took from threads that never wait.
    pub machine_stalls: Vec<Stalls>,
    /// Min / median / max over the rounds of `machine_stalls`' `floor_p99_ns`: the p99 of a
    /// consumer that costs nothing but its thread's stalls (a round whose stalls are too few
    /// for a floor counts as 0).
    pub floor_p99_ns_per_round: Option<Spread>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Machine.
    pub machine: Machine,
    /// Settings.
    pub settings: Settings,
    /// Scenarios, in run order.
    pub scenarios: Vec<ScenarioReport>,
    /// The targets, as measured in this run (filled by [`Report::evaluate_targets`]).
    pub targets: Vec<Target>,
}

/// (target, scenario, goal ratio, which rows are the reference).
/// A target: its text, its scenario, the ratio to reach, the reference rows, and the row
/// measured (`None`: the system the targets are evaluated for).
type TargetSpec<'a> = (
    String,
    &'a str,
    f64,
    &'a dyn Fn(&str) -> bool,
    Option<&'a str>,
);

/// One target of the issue, checked against this run.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// What is promised.
    pub target: String,
    /// Scenario it is measured in.
    pub scenario: String,
    /// The ringbus row compared (the default bus, `ringbus-default`).
    pub system: String,
    /// Its figure (events/s median, or p99 ns).
    pub value: f64,
    /// The reference row (best of the family or of all peers).
    pub reference: String,
    /// Its figure.
    pub reference_value: f64,
    /// value / reference_value (for p99: reference / value, so above 1 is better everywhere).
    pub ratio: f64,
    /// Throughput targets: the row's run over the reference's run of the same round
    /// (`compare` runs every system once per round), min/median/max over the rounds. The
    /// machine's speed modes move both runs of a round alike, so this is the figure a target
    /// is judged by when there is one.
    pub ratio_by_round: Option<Spread>,
    /// The ratio promised.
    pub goal: f64,
    /// Whether it was met in this run: by the median of `ratio_by_round` if there is one,
    /// else by `ratio`.
    pub met: bool,
    /// The p99 target: the machine's floor over the scenario's rounds, ns
    /// ([`ScenarioReport::floor_p99_ns_per_round`]); no consumer on these threads does better.
    pub machine_floor_ns: Option<Spread>,
}

/// "1.50x" (throughput vs the best peer) or "0.80x p99" (p99 vs the best peer's) or "-".
fn ratio(r: &ResultRow) -> String {
    match (r.vs_best_peer, r.p99_vs_best_peer) {
        (Some(v), _) => format!("{v:.2}x"),
        (None, Some(v)) => format!("{v:.2}x p99"),
        _ => "-".to_string(),
    }
}

/// Peers are what a user would pick instead: not the ceiling, not ringbus itself.
pub fn is_peer(system: &str) -> bool {
    !matches!(family(system), "limit" | "ringbus")
}

impl ScenarioReport {
    /// Builds the rows of a scenario from its measurements.
    pub fn new(scenario: &Scenario, ms: &[Measurement]) -> Self {
        let best_peer = ms
            .iter()
            .filter(|m| is_peer(&m.system))
            .filter_map(|m| m.throughput().map(|s| s.median))
            .fold(None, |acc: Option<f64>, x| {
                Some(acc.map_or(x, |a| a.max(x)))
            });
        let latency_focus = scenario.focus == Focus::Latency;
        let best_peer_p99 = ms
            .iter()
            .filter(|m| is_peer(&m.system) && m.status.has_figures())
            .filter_map(|m| m.latency().map(|l| l.p99_ns))
            .min();
        let results = ms
            .iter()
            .map(|m| {
                let t = m.throughput();
                let l = m.latency().filter(|_| m.status.has_figures());
                ResultRow {
                    system: m.system.clone(),
                    default: m.default,
                    status: m.status.label().to_string(),
                    note: m.note.clone(),
                    events_per_sec_median: t.map(|t| t.median),
                    events_per_sec_min: t.map(|t| t.min),
                    events_per_sec_max: t.map(|t| t.max),
                    vs_best_peer: match (t, best_peer) {
                        (Some(t), Some(b)) if b > 0.0 && !latency_focus => Some(t.median / b),
                        _ => None,
                    },
                    p99_vs_best_peer: match (l, best_peer_p99) {
                        (Some(l), Some(b)) if b > 0 && latency_focus => {
                            Some(l.p99_ns as f64 / b as f64)
                        }
                        _ => None,
                    },
                    runs: m.runs.len(),
                    runs_events_per_sec: m.runs.clone(),
                    events_per_run: m.events_per_run,
                    latency_samples: l.map(|l| l.samples),
                    p50_ns: l.map(|l| l.p50_ns),
                    p90_ns: l.map(|l| l.p90_ns),
                    p99_ns: l.map(|l| l.p99_ns),
                    p999_ns: l.map(|l| l.p999_ns),
                    max_ns: l.map(|l| l.max_ns),
                    p99_ns_runs: if l.is_some() {
                        m.p99_runs.clone()
                    } else {
                        Vec::new()
                    },
                    p99_ns_per_run: l.and(m.p99_spread()),
                    latency_samples_runs: if l.is_some() {
                        m.samples_runs.clone()
                    } else {
                        Vec::new()
                    },
                    cpu_s_per_m_events: m.cpu_spread(),
                    cpu_s_per_m_events_runs: if m.status.has_figures() {
                        m.cpu_runs.clone()
                    } else {
                        Vec::new()
                    },
                    producer_cpu_s_per_m_events: stats::spread(&m.producer_cpu_runs)
                        .filter(|_| m.status.has_figures()),
                    idle_cpu_pct_per_consumer: m.idle_cpu_pct,
                }
            })
            .collect();
        ScenarioReport {
            name: scenario.name.clone(),
            description: scenario.description.clone(),
            consumers: scenario.layout.consumers(),
            threads: if ms.len() == 1 && ms[0].system == "limit" {
                1
            } else {
                scenario.layout.consumers() + 1
            },
            shape: match scenario.layout.shape {
                Shape::Broadcast => "broadcast",
                Shape::Pipeline => "pipeline",
            },
            focus: match scenario.focus {
                Focus::Throughput => "throughput",
                Focus::Latency => "latency",
            },
            results,
            machine_stalls: Vec::new(),
            floor_p99_ns_per_round: None,
        }
    }

    /// One sentence on `machine_stalls`, or `None` when there are none.
    pub fn stalls_text(&self) -> Option<String> {
        let p = &self.machine_stalls;
        let first = p.first()?;
        let range = |f: &dyn Fn(&Stalls) -> f64, digits: usize| {
            let v: Vec<f64> = p.iter().map(f).collect();
            let s = stats::spread(&v).expect("at least one probe");
            format!("{:.*} – {:.*}", digits, s.min, digits, s.max)
        };
        let floor = self.floor_p99_ns_per_round.expect("set with the probes");
        Some(format!(
            "{} threads spinning on the clock for {:.0} ms after each round lost {} % of their \
             time to stalls over {} ns ({} per second per thread, median {} ns, longest {} ns), \
             {} % of the consumer's stall time with the producer's thread stalled too; the p99 \
             of a consumer that costs nothing but these stalls, at {:.0} events/s into a ring of \
             {}, min / median / max over the rounds (0: under {} ns): {:.0} / {:.0} / {:.0} ns.",
            first.threads,
            first.window_ms,
            range(&|s| s.stalled_pct, 2),
            crate::stalls::THRESHOLD_NS,
            range(&|s| s.per_sec_per_thread, 0),
            range(&|s| s.median_ns as f64, 0),
            range(&|s| s.max_ns as f64, 0),
            range(&|s| s.shared_pct, 0),
            first.rate,
            first.capacity,
            crate::stalls::THRESHOLD_NS,
            floor.min,
            floor.median,
            floor.max
        ))
    }

    /// Adds the stall probes of the rounds (latency scenarios).
    pub fn with_machine_stalls(mut self, probes: Vec<Stalls>) -> Self {
        let floors: Vec<f64> = probes
            .iter()
            .map(|p| p.floor_p99_ns.unwrap_or(0) as f64)
            .collect();
        self.floor_p99_ns_per_round = stats::spread(&floors);
        self.machine_stalls = probes;
        self
    }
}

impl Report {
    /// The name of the default row (`"default": true`) of this run, if it has one.
    pub fn default_system(&self) -> Option<String> {
        self.scenarios
            .iter()
            .flat_map(|s| s.results.iter())
            .find(|r| r.default)
            .map(|r| r.system.clone())
    }

    /// Checks the targets for `system` (e.g. `ringbus-default`) against the peers of
    /// this run; targets whose scenarios or rows are missing are left out.
    pub fn evaluate_targets(&mut self, system: &str) {
        /// The row of `s` with the highest median among those `f` picks, and that median.
        fn med<'s>(
            s: &'s ScenarioReport,
            f: &dyn Fn(&str) -> bool,
        ) -> Option<(&'s ResultRow, f64)> {
            s.results
                .iter()
                .filter(|r| f(&r.system))
                .filter_map(|r| r.events_per_sec_median.map(|m| (r, m)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
        }
        let mut out = Vec::new();
        let disruptor_spin = |n: &str| n == "disruptor-spin";
        let peer = |n: &str| is_peer(n);
        // The bus with keys is another API, not another strategy of the same bus.
        let other_ringbus =
            |n: &str| family(n) == "ringbus" && n != system && n != ringbus::KEYED_NAME;
        let the_default = |n: &str| n == ringbus::DEFAULT_NAME;
        let mut specs: Vec<TargetSpec<'_>> = vec![
            (
                "unicast, single publish: >= 1.1x disruptor-spin".into(),
                "unicast-single",
                1.1,
                &disruptor_spin,
                None,
            ),
            (
                "unicast, batches of 32: >= 1.0x disruptor-spin (stretch 1.3x)".into(),
                "unicast-batch32",
                1.0,
                &disruptor_spin,
                None,
            ),
        ];
        for scenario in [
            "multicast-2",
            "multicast-2-batch32",
            "multicast-4",
            "multicast-4-batch32",
        ] {
            specs.push((
                format!("{scenario}: >= 2.5x the best peer, no collapse"),
                scenario,
                2.5,
                &peer,
                None,
            ));
        }
        specs.push((
            "topics-8: >= 1.0x the best peer".into(),
            "topics-8",
            1.0,
            &peer,
            None,
        ));
        specs.push((
            "markets-8: the bus with keys >= 1.0x the best peer".into(),
            "markets-8",
            1.0,
            &peer,
            Some(ringbus::KEYED_NAME),
        ));
        specs.push((
            "unicast-single: keys cost the producer at most 5% (>= 0.95x the default bus)".into(),
            "unicast-single",
            0.95,
            &the_default,
            Some(ringbus::KEYED_NAME),
        ));
        for s in &self.scenarios {
            if s.results.iter().any(|r| r.p99_ns.is_some()) || s.name.starts_with("burst-") {
                continue;
            }
            let name: &str = &s.name;
            specs.push((
                format!("{name}: within 10% of the best other ringbus strategy"),
                name,
                0.9,
                &other_ringbus,
                None,
            ));
        }
        for (target, scenario, goal, f, measured) in specs {
            let Some(s) = self.scenarios.iter().find(|s| s.name == scenario) else {
                continue;
            };
            let measured = measured.unwrap_or(system);
            let Some((row, v)) = med(s, &|n: &str| n == measured) else {
                continue;
            };
            let Some((reference, rv)) = med(s, f) else {
                continue;
            };
            let ratio = v / rv.max(1e-9);
            let ratio_by_round =
                stats::ratio_by_round(&row.runs_events_per_sec, &reference.runs_events_per_sec);
            let judged = ratio_by_round.map_or(ratio, |r| r.median);
            out.push(Target {
                target,
                scenario: scenario.into(),
                system: measured.into(),
                value: v,
                reference: reference.system.clone(),
                reference_value: rv,
                ratio,
                ratio_by_round,
                goal,
                met: judged >= goal,
                machine_floor_ns: None,
            });
        }
        if let Some(s) = self.scenarios.iter().find(|s| s.name == "latency-1m") {
            // The worst p99 of the runs: the target holds in each repeat.
            let worst = s
                .results
                .iter()
                .find(|r| r.system == system)
                .and_then(|r| r.p99_ns_runs.iter().max().copied().or(r.p99_ns));
            if let Some(v) = worst {
                let ratio = 1000.0 / (v as f64).max(1.0);
                out.push(Target {
                    target: "p99 at 1 M events/s: <= 1 us in every run (worst run)".into(),
                    scenario: "latency-1m".into(),
                    system: system.into(),
                    value: v as f64,
                    reference: "1 us".into(),
                    reference_value: 1000.0,
                    ratio,
                    ratio_by_round: None,
                    goal: 1.0,
                    met: ratio >= 1.0,
                    machine_floor_ns: s.floor_p99_ns_per_round,
                });
            }
        }
        let idle = self
            .scenarios
            .iter()
            .flat_map(|s| s.results.iter())
            .filter(|r| r.system == system)
            .filter_map(|r| r.idle_cpu_pct_per_consumer)
            .max_by(f64::total_cmp);
        if let Some(pct) = idle {
            out.push(Target {
                target: "idle: < 1% of a core per consumer after 10 ms quiet (worst cell)".into(),
                scenario: "all".into(),
                system: system.into(),
                value: pct,
                reference: "1%".into(),
                reference_value: 1.0,
                ratio: 1.0 / pct.max(1e-3),
                ratio_by_round: None,
                goal: 1.0,
                met: pct < 1.0,
                machine_floor_ns: None,
            });
        }
        self.targets = out;
    }

    fn targets_text(&self, markdown: bool) -> String {
        let mut out = String::new();
        if self.targets.is_empty() {
            return out;
        }
        if markdown {
            out.push_str("\n### Targets\n\n| target | ringbus | reference | ratio of medians | by round: median (range) | goal | |\n| --- | ---: | ---: | ---: | ---: | ---: | --- |\n");
        } else {
            out.push_str("\n== targets\n");
        }
        for t in &self.targets {
            let fmt = |v: f64| {
                if t.scenario.starts_with("latency") {
                    format!("p99 {v:.0} ns")
                } else if t.scenario == "all" {
                    format!("{v:.2}% of a core")
                } else {
                    format!("{:.2} M/s", v / 1e6)
                }
            };
            let verdict = match t.machine_floor_ns {
                Some(f) => format!(
                    "{} (machine floor {:.0} – {:.0} ns)",
                    if t.met { "met" } else { "missed" },
                    f.min,
                    f.max
                ),
                None => (if t.met { "met" } else { "missed" }).to_string(),
            };
            let rounds = t.ratio_by_round.map(|r| {
                if markdown {
                    format!("{:.2}× ({:.2}–{:.2})", r.median, r.min, r.max)
                } else {
                    format!(", by round {:.2}x ({:.2}..{:.2})", r.median, r.min, r.max)
                }
            });
            if markdown {
                out.push_str(&format!(
                    "| {} | {} {} | {} {} | {:.2}× | {} | {}× | {} |\n",
                    t.target,
                    t.system,
                    fmt(t.value),
                    t.reference,
                    fmt(t.reference_value),
                    t.ratio,
                    rounds.as_deref().unwrap_or("-"),
                    t.goal,
                    verdict
                ));
            } else {
                out.push_str(&format!(
                    "{:<62} {} {} vs {} {}: {:.2}x{} (goal {}x) {}\n",
                    t.target,
                    t.system,
                    fmt(t.value),
                    t.reference,
                    fmt(t.reference_value),
                    t.ratio,
                    rounds.as_deref().unwrap_or(""),
                    t.goal,
                    verdict
                ));
            }
        }
        out
    }

    /// Marks rows whose median is below 1/[`COLLAPSE_RATIO`] of the same system's
    /// `unicast-single` median as collapsed (busy-spinning with more threads than cores does
    /// this).
    pub fn mark_collapses(&mut self) {
        let base: Vec<(String, f64)> = self
            .scenarios
            .iter()
            .filter(|s| s.name == "unicast-single")
            .flat_map(|s| s.results.iter())
            .filter_map(|r| r.events_per_sec_median.map(|m| (r.system.clone(), m)))
            .collect();
        for s in &mut self.scenarios {
            if s.focus != "throughput" {
                continue;
            }
            for r in &mut s.results {
                let b = base.iter().find(|(n, _)| *n == r.system).map(|(_, m)| *m);
                if let (Some(m), Some(b)) = (r.events_per_sec_median, b) {
                    if m < b / COLLAPSE_RATIO {
                        r.note = Some(format!(
                            "collapsed: {:.2} M/s vs {:.2} M/s unicast ({} threads on {} cores)",
                            m / 1e6,
                            b / 1e6,
                            s.threads,
                            self.machine.cores
                        ));
                    }
                }
            }
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The report as a terminal table.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "machine: {} cores, {}, load {}, {} build; capacity {} (channels: {}), {} runs of ~{} ms; threads {}; idle window {} ms\n",
            self.machine.cores,
            self.machine.cpu_model,
            self.machine
                .loadavg_at_start
                .map_or("?".into(), |l| format!("{l:.2}")),
            self.machine.profile,
            self.settings.capacity,
            self.settings.channel_buffer.name(),
            self.settings.repeats,
            self.settings.run_ms,
            if self.settings.pinned { "pinned (--pin)" } else { "not pinned" },
            self.settings.idle_ms
        ));
        out.push_str(
            "cpu s/Mev: process CPU seconds (all threads) per million events, median; \
             idle %/c: CPU while idle, % of one core per consumer; p99 runs: min..max of the per-run p99\n",
        );
        for s in &self.scenarios {
            out.push_str(&format!(
                "\n== {} ({} consumers) — {}\n",
                s.name, s.consumers, s.description
            ));
            out.push_str(&format!(
                "{:<18} {:>10} {:>21} {:>10} {:>9} {:>9} {:>17} {:>9} {:>10} {:>9} {:>8}  {}\n",
                "system",
                "Mev/s med",
                "min..max",
                "vs peer",
                "p50 ns",
                "p99 ns",
                "p99 runs",
                "p99.9 ns",
                "max ns",
                "cpu s/Mev",
                "idle %/c",
                "status"
            ));
            for r in &s.results {
                let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{:.2}", v / 1e6));
                let n = |x: Option<u64>| x.map_or("-".to_string(), |v| v.to_string());
                out.push_str(&format!(
                    "{:<18} {:>10} {:>21} {:>10} {:>9} {:>9} {:>17} {:>9} {:>10} {:>9} {:>8}  {}{}\n",
                    r.system,
                    f(r.events_per_sec_median),
                    format!("{}..{}", f(r.events_per_sec_min), f(r.events_per_sec_max)),
                    ratio(r),
                    n(r.p50_ns),
                    n(r.p99_ns),
                    r.p99_ns_per_run
                        .map_or("-".to_string(), |p| format!("{:.0}..{:.0}", p.min, p.max)),
                    n(r.p999_ns),
                    n(r.max_ns),
                    cpu_cell(r.cpu_s_per_m_events.map(|c| c.median)),
                    r.idle_cpu_pct_per_consumer
                        .map_or("-".to_string(), |p| format!("{p:.1}")),
                    r.status,
                    r.note.as_ref().map_or(String::new(), |x| format!(" ({x})"))
                ));
            }
            if let Some(line) = s.stalls_text() {
                out.push_str(&format!("machine stalls: {line}\n"));
            }
        }
        out.push_str(&self.targets_text(false));
        out
    }

    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let m = &self.machine;
        let st = &self.settings;
        let mut out = format!(
            "Machine: {} cores, {}, kernel {}, load average {} at start and {} at the end, {} build.  \n\
             Settings: 64-byte events, capacity {} (routed channels: {}), {} runs of ~{} ms each (deadline {} ms), threads {}, \
             idle window {} ms, latency runs aim at {} samples (at most {} ms; {} ms for bursts with pauses), command `{}`.\n\n\
             CPU s / M events: process CPU seconds (user + system, every thread) per million published events, \
             median (min – max over the runs). Idle CPU: process CPU over the idle window (consumers started and \
             drained, nothing published) as % of one core, per consumer. p99 per run: min / median / max of each \
             run's own p99.\n",
            m.cores,
            m.cpu_model,
            m.kernel,
            m.loadavg_at_start.map_or("?".into(), |l| format!("{l:.2}")),
            m.loadavg_at_end.map_or("?".into(), |l| format!("{l:.2}")),
            m.profile,
            st.capacity,
            match st.channel_buffer {
                ChannelBuffer::Window => "each its consumer's share of it",
                ChannelBuffer::Each => "each the whole capacity",
            },
            st.repeats,
            st.run_ms,
            st.deadline_ms,
            if st.pinned { "pinned to cores (`--pin`)" } else { "not pinned" },
            st.idle_ms,
            st.latency_samples_per_run,
            st.latency_run_cap_ms,
            st.burst_run_cap_ms,
            st.command
        );
        for s in &self.scenarios {
            out.push_str(&format!(
                "\n### {}\n\n{} ({} consumer thread{}, {} threads in all).\n\n",
                s.name,
                s.description,
                s.consumers,
                if s.consumers == 1 { "" } else { "s" },
                s.threads
            ));
            out.push_str("| system | M events/s median | min – max | vs best peer (throughput, or p99 in latency scenarios) | p50 ns | p90 ns | p99 ns | p99 per run ns (min / median / max) | p99.9 ns | max ns | CPU s / M events | idle CPU % per consumer | status |\n");
            out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
            for r in &s.results {
                let f = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{:.2}", v / 1e6));
                let n = |x: Option<u64>| x.map_or("–".to_string(), |v| v.to_string());
                out.push_str(&format!(
                    "| {} | {} | {} – {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}{} |\n",
                    r.system,
                    f(r.events_per_sec_median),
                    f(r.events_per_sec_min),
                    f(r.events_per_sec_max),
                    ratio(r).replace('-', "–").replace('x', "×"),
                    n(r.p50_ns),
                    n(r.p90_ns),
                    n(r.p99_ns),
                    r.p99_ns_per_run.map_or("–".to_string(), |p| format!(
                        "{:.0} / {:.0} / {:.0}",
                        p.min, p.median, p.max
                    )),
                    n(r.p999_ns),
                    n(r.max_ns),
                    r.cpu_s_per_m_events.map_or("–".to_string(), |c| format!(
                        "{} ({} – {})",
                        cpu_cell(Some(c.median)),
                        cpu_cell(Some(c.min)),
                        cpu_cell(Some(c.max))
                    )),
                    r.idle_cpu_pct_per_consumer
                        .map_or("–".to_string(), |p| format!("{p:.1}")),
                    r.status,
                    r.note.as_ref().map_or(String::new(), |x| format!(": {x}"))
                ));
            }
            if let Some(line) = s.stalls_text() {
                out.push_str(&format!("\nMachine stalls: {line}\n"));
            }
        }
        out.push_str(&self.targets_text(true));
        out
    }
}

/// CPU seconds per million events with three significant digits (0.0412, 1.23, 12.3).
fn cpu_cell(x: Option<f64>) -> String {
    match x {
        None => "-".to_string(),
        Some(v) if v >= 10.0 => format!("{v:.1}"),
        Some(v) if v >= 1.0 => format!("{v:.2}"),
        Some(v) if v >= 0.1 => format!("{v:.3}"),
        Some(v) => format!("{v:.4}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::new_histogram;
    use crate::measure::Status;
    use crate::scenario;

    fn meas(system: &str, runs: &[f64], lat: bool) -> Measurement {
        let mut hist = None;
        if lat {
            let mut h = new_histogram();
            for v in [100u64, 200, 300] {
                h.record(v).unwrap();
            }
            hist = Some(h);
        }
        Measurement {
            system: system.into(),
            default: system == crate::systems::ringbus::DEFAULT_NAME,
            status: Status::Ok,
            note: None,
            runs: runs.to_vec(),
            events_per_run: 10,
            p99_runs: if lat { vec![280, 300, 310] } else { Vec::new() },
            samples_runs: if lat { vec![1, 1, 1] } else { Vec::new() },
            hist,
            cpu_runs: vec![0.05, 0.04, 0.06],
            producer_cpu_runs: vec![0.02, 0.02, 0.03],
            idle_cpu_pct: Some(12.5),
        }
    }

    fn report() -> Report {
        let sc = scenario::all(None);
        let uni = &sc[0];
        let mc4 = sc.iter().find(|s| s.name == "multicast-4").unwrap();
        Report {
            targets: Vec::new(),
            machine: Machine::detect(),
            settings: Settings::new("test".into(), &Budget::quick()),
            scenarios: vec![
                ScenarioReport::new(
                    uni,
                    &[
                        meas("limit", &[400e6], false),
                        meas("disruptor-spin", &[10e6, 20e6, 30e6], true),
                        meas("bus", &[10e6], false),
                    ],
                ),
                ScenarioReport::new(
                    mc4,
                    &[
                        meas("disruptor-spin", &[0.2e6], false),
                        meas("bus", &[7e6], false),
                    ],
                ),
            ],
        }
    }

    #[test]
    fn json_has_the_promised_shape() {
        let mut r = report();
        r.mark_collapses();
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert!(v["machine"]["cores"].as_u64().unwrap() >= 1);
        assert!(v["machine"]["cpu_model"].is_string());
        let s0 = &v["scenarios"][0];
        assert_eq!(s0["name"], "unicast-single");
        assert_eq!(s0["consumers"], 1);
        let row = &s0["results"][1];
        assert_eq!(row["system"], "disruptor-spin");
        assert_eq!(row["events_per_sec_median"].as_f64().unwrap(), 20e6);
        assert_eq!(row["p50_ns"].as_u64().unwrap(), 200);
        assert!(row["p99_ns"].as_u64().unwrap() >= 300);
        assert!(s0["results"][2]["p50_ns"].is_null());
        // vs best peer ignores the limit row
        assert_eq!(row["vs_best_peer"].as_f64().unwrap(), 1.0);
        // the CPU and idle figures, and the p99 spread over the runs
        assert_eq!(row["default"], false);
        let cpu = &row["cpu_s_per_m_events"];
        assert_eq!(cpu["median"].as_f64().unwrap(), 0.05);
        assert_eq!(cpu["min"].as_f64().unwrap(), 0.04);
        assert_eq!(cpu["max"].as_f64().unwrap(), 0.06);
        assert_eq!(row["cpu_s_per_m_events_runs"].as_array().unwrap().len(), 3);
        assert_eq!(
            row["producer_cpu_s_per_m_events"]["median"].as_f64(),
            Some(0.02)
        );
        assert_eq!(row["idle_cpu_pct_per_consumer"].as_f64().unwrap(), 12.5);
        let p99 = &row["p99_ns_per_run"];
        assert_eq!(
            (
                p99["min"].as_f64(),
                p99["median"].as_f64(),
                p99["max"].as_f64()
            ),
            (Some(280.0), Some(300.0), Some(310.0))
        );
        assert_eq!(row["p99_ns_runs"].as_array().unwrap().len(), 3);
        assert_eq!(row["latency_samples_runs"].as_array().unwrap().len(), 3);
        // no latency recorded: no p99 spread
        assert!(s0["results"][2]["p99_ns_per_run"].is_null());
        assert_eq!(v["settings"]["pinned"], false);
        assert!(v["settings"]["idle_ms"].as_u64().is_some());
        let collapsed = &v["scenarios"][1]["results"][0];
        assert!(collapsed["note"].as_str().unwrap().starts_with("collapsed"));
        assert!(v["scenarios"][1]["results"][1]["note"].is_null());
    }

    #[test]
    fn targets_compare_with_the_right_reference() {
        let sc = scenario::all(None);
        let uni = &sc[0];
        let mut r = report();
        r.scenarios[0] = ScenarioReport::new(
            uni,
            &[
                meas("limit", &[400e6], false),
                meas("ringbus-default", &[45e6], false),
                meas("disruptor-spin", &[30e6], false),
                meas("bus", &[50e6], false),
            ],
        );
        assert_eq!(r.default_system().as_deref(), Some("ringbus-default"));
        r.evaluate_targets("ringbus-default");
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        let rows = v["scenarios"][0]["results"].as_array().unwrap();
        for row in rows {
            let is_default = row["system"] == "ringbus-default";
            assert_eq!(row["default"].as_bool(), Some(is_default), "{row}");
        }
        let t = &r.targets[0];
        assert_eq!(
            (t.scenario.as_str(), t.reference.as_str()),
            ("unicast-single", "disruptor-spin")
        );
        assert!((t.ratio - 1.5).abs() < 1e-9 && t.met);
        assert!(r.to_table().contains("== targets"));
        assert!(r.to_markdown().contains("### Targets"));
    }

    #[test]
    fn a_target_is_judged_round_by_round() {
        let sc = scenario::all(None);
        let mut r = report();
        // The disruptor's last run fell into a slow spell: the medians say 2.5x, the rounds
        // (each pairing runs made side by side) say the default was behind in two of three.
        r.scenarios[0] = ScenarioReport::new(
            &sc[0],
            &[
                meas("ringbus-default", &[10e6, 30e6, 31e6], false),
                meas("disruptor-spin", &[12e6, 36e6, 9e6], false),
            ],
        );
        r.evaluate_targets("ringbus-default");
        let t = &r.targets[0];
        assert_eq!(t.reference, "disruptor-spin");
        assert!((t.ratio - 30.0 / 12.0).abs() < 1e-9, "{}", t.ratio);
        let rounds = t.ratio_by_round.unwrap();
        assert!((rounds.median - 10.0 / 12.0).abs() < 1e-9, "{rounds:?}");
        assert!((rounds.max - 31.0 / 9.0).abs() < 1e-9, "{rounds:?}");
        assert!(!t.met, "judged by the rounds' median, 0.83 < 1.1");
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        let by_round = &v["targets"][0]["ratio_by_round"];
        assert!((by_round["median"].as_f64().unwrap() - 10.0 / 12.0).abs() < 1e-9);
        assert!(r.to_markdown().contains("0.83× (0.83–3.44)"));
        // The idle target has no rounds.
        assert!(r
            .targets
            .iter()
            .all(|t| t.scenario != "all" || t.ratio_by_round.is_none()));
    }

    #[test]
    fn the_bus_with_keys_is_measured_against_peers_and_the_default_bus() {
        let sc = scenario::all(None);
        let by_name = |n: &str| sc.iter().find(|s| s.name == n).unwrap();
        let mut r = report();
        r.scenarios = vec![
            ScenarioReport::new(
                by_name("markets-8"),
                &[
                    meas("ringbus-default", &[3e6], false),
                    meas("ringbus-keyed", &[10e6], false),
                    meas("crossbeam", &[8e6], false),
                ],
            ),
            ScenarioReport::new(
                by_name("unicast-single"),
                &[
                    meas("ringbus-default", &[40e6], false),
                    meas("ringbus-keyed", &[39e6], false),
                ],
            ),
        ];
        r.evaluate_targets("ringbus-default");
        let find = |scenario: &str, system: &str| {
            r.targets
                .iter()
                .find(|t| t.scenario == scenario && t.system == system)
                .unwrap_or_else(|| panic!("no target for {system} on {scenario}"))
        };
        let markets = find("markets-8", "ringbus-keyed");
        assert_eq!(markets.reference, "crossbeam");
        assert!((markets.ratio - 1.25).abs() < 1e-9 && markets.met);
        let cost = find("unicast-single", "ringbus-keyed");
        assert_eq!(cost.reference, "ringbus-default");
        assert!(cost.met, "39 of 40 is within 5%");
        // The keyed bus is not one of the default bus's strategies to be within 10% of.
        assert!(!r
            .targets
            .iter()
            .any(|t| t.system == "ringbus-default" && t.reference == "ringbus-keyed"));
    }

    #[test]
    fn the_p99_target_carries_the_machine_floor_of_its_rounds() {
        let sc = scenario::all(None);
        let lat = sc.iter().find(|s| s.name == "latency-1m").unwrap();
        let probe = |floor: Option<u64>| Stalls {
            threads: 2,
            window_ms: 200.0,
            stalled_pct: 2.0,
            shared_pct: 50.0,
            per_sec_per_thread: 3000.0,
            median_ns: 400,
            max_ns: 90_000,
            rate: 1e6,
            capacity: 1024,
            floor_p99_ns: floor,
        };
        let mut r = report();
        r.scenarios.push(
            ScenarioReport::new(lat, &[meas("ringbus-default", &[1e6, 1e6, 1e6], true)])
                .with_machine_stalls(vec![probe(Some(4_000)), probe(None), probe(Some(1_500))]),
        );
        r.evaluate_targets("ringbus-default");
        let s = r.scenarios.last().unwrap();
        let floor = s.floor_p99_ns_per_round.unwrap();
        // A round under the probe's threshold counts as 0.
        assert_eq!(
            (floor.min, floor.median, floor.max),
            (0.0, 1_500.0, 4_000.0)
        );
        let t = r
            .targets
            .iter()
            .find(|t| t.scenario == "latency-1m")
            .unwrap();
        assert_eq!(t.machine_floor_ns, Some(floor));
        // The rows of `meas` have a worst p99 of 310 ns.
        let md = r.to_markdown();
        assert!(md.contains("met (machine floor 0 – 4000 ns)"), "{md}");
        assert!(r.to_table().contains("machine stalls: 2 threads"));
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        let js = v["scenarios"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(js["machine_stalls"].as_array().unwrap().len(), 3);
        assert!(js["machine_stalls"][1]["floor_p99_ns"].is_null());
        // Throughput scenarios have no probes.
        assert!(v["scenarios"][0]["machine_stalls"]
            .as_array()
            .unwrap()
            .is_empty());
        assert!(r.scenarios[0].stalls_text().is_none());
    }

    #[test]
    fn markdown_and_table_list_every_row() {
        let r = report();
        let md = r.to_markdown();
        assert!(md.contains("### multicast-4") && md.contains("| disruptor-spin | 20.00 |"));
        assert!(md.contains("| 280 / 300 / 310 |") && md.contains("| 0.0500 (0.0400 – 0.0600) |"));
        assert!(md.contains("| 12.5 |") && md.contains("not pinned"));
        let t = r.to_table();
        assert!(t.contains("== unicast-single") && t.contains("bus"));
    }
}
