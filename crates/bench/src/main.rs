//! `ringbus-bench`: compare ringbus with its peers, sweep its parameters, tune it.
//!
//! ```text
//! ringbus-bench compare [--quick] [--pin] [--idle-ms N] [--json FILE] [--markdown FILE]
//!                       [--svg-dir DIR] [--systems a,b] [--scenarios x,y] [--trace PATH]
//! ringbus-bench sweep   [--quick] [--pin] [--systems a,b] [--dimensions wait,capacity,batch,consumers]
//! ringbus-bench tune    [--quick] [--pin] [--consumers N] [--batch N] [--split-topics] [--rate EV/S]
//!                       [--objective throughput|p99] [--systems a,b]
//! ringbus-bench stalls  [--threads N] [--ms N] [--repeats N] [--pin] [--rate EV/S] [--capacity N]
//! ringbus-bench list    [--trace PATH]
//! ringbus-bench calibrate --trace PATH [--out FILE]
//! ```
//!
//! `ringbus-default` is the bus as `RingBus::builder().build()` gives it (no wait strategy
//! chosen; `"default": true` in the JSON); the other ringbus rows name their strategy. Every
//! cell also reports the process CPU seconds per million events (all threads) and the CPU
//! used while idle (% of one core per consumer, over `--idle-ms` with nothing published).
//! Paced latency scenarios also probe the machine's stalls after each round, and `stalls`
//! does only that: the p99 floor no consumer on this machine gets under.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use ringbus_bench::buffering::ChannelBuffer;
use ringbus_bench::harness::System;
use ringbus_bench::measure::{Budget, Cell};
use ringbus_bench::report::{Machine, Report, ScenarioReport, Settings};
use ringbus_bench::sweep::{self, Objective, WorkloadSpec};
use ringbus_bench::trace::{self, Calibration, Trace};
use ringbus_bench::{charts, scenario, stalls, systems};

#[derive(Parser, Debug)]
#[command(
    name = "ringbus-bench",
    version,
    about = "ringbus against its peers: throughput, latency, sweeps, tuning"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Clone)]
struct Common {
    /// Short runs (compare takes a minute or two: the latency runs and the idle windows are
    /// longer than they were).
    #[arg(long)]
    quick: bool,
    /// Systems by name or family, comma separated (default: all; see `list`).
    #[arg(long, value_delimiter = ',')]
    systems: Vec<String>,
    /// Ring / channel capacity in events (default 1024).
    #[arg(long)]
    capacity: Option<usize>,
    /// How crossbeam and std-mpsc size a channel that carries one consumer's share of the
    /// stream: `window` gives it that share of the capacity, so no consumer lags further
    /// behind than a ring of the capacity allows; `each` gives every channel the whole capacity.
    #[arg(long, value_enum, default_value_t = ChannelBuffer::Window)]
    channel_buffer: ChannelBuffer,
    /// Measured runs per system and scenario (default 3 quick, 5 full).
    #[arg(long)]
    repeats: Option<usize>,
    /// Target duration of one run in ms (default 40 quick, 250 full).
    #[arg(long)]
    run_ms: Option<u64>,
    /// Pin the producer to the first core and consumer i to core i+1, round robin over the
    /// available cores (ringbus handlers through Subscription::pin_to_core, the disruptor
    /// through its pin_at_core; recorded as "pinned" in the report).
    #[arg(long)]
    pin: bool,
    /// Idle window per system and scenario, ms: consumers started and drained, nothing
    /// published, process CPU measured (default 100; 0 skips it).
    #[arg(long)]
    idle_ms: Option<u64>,
    /// Write the results as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Every system on every scenario, side by side: throughput, latency (p99 per run too),
    /// CPU seconds per million events and idle CPU per consumer.
    Compare {
        #[command(flatten)]
        common: Common,
        /// Scenarios by name or prefix, comma separated (default: all; see `list`).
        #[arg(long, value_delimiter = ',')]
        scenarios: Vec<String>,
        /// Write the results as Markdown.
        #[arg(long)]
        markdown: Option<PathBuf>,
        /// Write SVG charts into this directory.
        #[arg(long)]
        svg_dir: Option<PathBuf>,
        /// Per-event CSV trace for the realistic mix (relative paths also tried from the
        /// repository root); default: the embedded calibration.
        #[arg(long)]
        trace: Option<PathBuf>,
    },
    /// One factor at a time: wait strategy, ring capacity, batch size, consumer count.
    Sweep {
        #[command(flatten)]
        common: Common,
        /// Dimensions to sweep, comma separated.
        #[arg(long, value_delimiter = ',', default_values_t = sweep::DIMENSIONS.iter().map(|s| s.to_string()).collect::<Vec<_>>())]
        dimensions: Vec<String>,
    },
    /// Sweep a described workload and print the best configuration for this machine.
    Tune {
        #[command(flatten)]
        common: Common,
        /// Consumer threads.
        #[arg(long, default_value_t = 1)]
        consumers: usize,
        /// Batch size; 0 tries 1, 8, 32 and 128.
        #[arg(long, default_value_t = 0)]
        batch: u32,
        /// Each consumer subscribes to its own topic (instead of all topics).
        #[arg(long)]
        split_topics: bool,
        /// Paced rate in events/s (latency is then recorded); default: flat out.
        #[arg(long)]
        rate: Option<f64>,
        /// What to optimise.
        #[arg(long, value_enum, default_value_t = Goal::Throughput)]
        objective: Goal,
    },
    /// What the machine takes from threads that never wait: threads spin on the clock and
    /// record every gap over 250 ns; prints the share of time lost and the p99 latency floor
    /// it sets for any consumer.
    Stalls {
        /// Spinning threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// How long each probe spins, ms.
        #[arg(long, default_value_t = 1000)]
        ms: u64,
        /// Probes, one after another.
        #[arg(long, default_value_t = 5)]
        repeats: usize,
        /// Pin thread i to core i.
        #[arg(long)]
        pin: bool,
        /// The paced rate the floor is for, events/s.
        #[arg(long, default_value_t = 1_000_000.0)]
        rate: f64,
        /// The ring capacity the floor is for, events (a stall delays at most this many).
        #[arg(long, default_value_t = 1024)]
        capacity: usize,
    },
    /// The systems and scenarios known to this build.
    List {
        /// Per-event CSV trace for the realistic mix; default: the embedded calibration.
        #[arg(long)]
        trace: Option<PathBuf>,
    },
    /// Derive the calibration of the realistic mix (type counts, sizes, events per block)
    /// from a per-event CSV trace.
    Calibrate {
        /// The per-event CSV trace.
        #[arg(long)]
        trace: PathBuf,
        /// Write the calibration here (default: standard output), e.g.
        /// crates/bench/data/trace-calibration.json.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum Goal {
    /// Highest median events/s.
    Throughput,
    /// Lowest p99 latency (use with --rate).
    P99,
}

fn budget(c: &Common) -> Budget {
    let mut b = if c.quick {
        Budget::quick()
    } else {
        Budget::full()
    };
    if let Some(cap) = c.capacity {
        b.capacity = cap.max(1);
    }
    if let Some(r) = c.repeats {
        b.repeats = r.max(1);
    }
    if let Some(ms) = c.run_ms {
        b.run = std::time::Duration::from_millis(ms.max(1));
        b.calibrate = b.run / 2;
    }
    if let Some(ms) = c.idle_ms {
        b.idle = std::time::Duration::from_millis(ms);
    }
    b.pin = c.pin;
    b.channel_buffer = c.channel_buffer;
    b
}

fn progress(total: u64) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}

fn pick_systems(filters: &[String]) -> Result<Vec<Arc<dyn System>>, String> {
    let all = systems::all();
    for f in filters {
        if !all
            .iter()
            .any(|s| s.name() == f || ringbus_bench::harness::family(s.name()) == f)
        {
            let names: Vec<_> = all.iter().map(|s| s.name().to_string()).collect();
            return Err(format!("unknown system {f:?}; known: {}", names.join(", ")));
        }
    }
    Ok(systems::select(all, filters))
}

/// The trace of `--trace`, or the stream of the embedded calibration.
fn load_trace(path: Option<&std::path::Path>) -> Result<Trace, String> {
    match path {
        Some(p) => Trace::load(&trace::resolve(p)),
        None => Trace::calibrated(),
    }
    .map_err(|e| e.to_string())
}

fn write(path: &std::path::Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("ringbus-bench {}", args.join(" "))
}

fn compare(
    common: &Common,
    scenarios: &[String],
    markdown: Option<&PathBuf>,
    svg_dir: Option<&PathBuf>,
    trace_path: Option<&std::path::Path>,
) -> Result<(), String> {
    let budget = budget(common);
    let systems = pick_systems(&common.systems)?;
    let trace = load_trace(trace_path)?;
    let scen = scenario::select(scenario::all(Some(&trace)), scenarios);
    if scen.is_empty() {
        return Err(format!(
            "no scenario matches {}; see `ringbus-bench list`",
            scenarios.join(", ")
        ));
    }
    let machine = Machine::detect();
    if machine.profile == "debug" {
        eprintln!("warning: debug build; use `cargo run --release -p ringbus-bench -- ...` for real figures");
    }
    let started = Instant::now();
    let rounds = budget.repeats.max(1);
    let pb = progress((scen.len() * systems.len() * (rounds + 1)) as u64);
    let mut reports = Vec::new();
    for s in &scen {
        let mut cells = Vec::new();
        for sys in &systems {
            pb.set_message(format!("{} / {} (calibrating)", s.name, sys.name()));
            cells.push(Cell::prepare(sys.clone(), s, &budget));
            pb.inc(1);
        }
        let mut probes = Vec::new();
        // One run of every system per round, so that a spell of the machine's slow or fast
        // mode falls on all of them; the order turns each round, so none always runs first.
        for round in 0..rounds {
            for k in 0..cells.len() {
                let at = (k + round) % cells.len();
                let cell = &mut cells[at];
                pb.set_message(format!(
                    "{} / {} round {}",
                    s.name,
                    cell.system(),
                    round + 1
                ));
                cell.run_once(&budget);
                pb.inc(1);
            }
            if let (Some(rate), false) = (s.workload.rate, budget.stall_probe.is_zero()) {
                pb.set_message(format!("{} / machine stalls round {}", s.name, round + 1));
                let threads = s.layout.consumers() + 1;
                probes.push(stalls::probe(
                    threads,
                    budget.stall_probe,
                    budget.pin,
                    rate,
                    budget.capacity,
                ));
            }
        }
        let ms: Vec<_> = cells.into_iter().map(|c| c.finish(s, &budget)).collect();
        reports.push(ScenarioReport::new(s, &ms).with_machine_stalls(probes));
    }
    pb.finish_and_clear();
    let mut report = Report {
        machine,
        settings: Settings::new(command_line(), &budget),
        scenarios: reports,
        targets: Vec::new(),
    };
    report.machine.loadavg_at_end = ringbus_bench::report::loadavg();
    report.mark_collapses();
    if let Some(d) = report.default_system() {
        report.evaluate_targets(&d);
    }
    print!("{}", report.to_table());
    println!(
        "\n{} scenarios x {} systems in {:.1} s",
        scen.len(),
        systems.len(),
        started.elapsed().as_secs_f64()
    );
    if let Some(p) = &common.json {
        write(p, &report.to_json())?;
        eprintln!("wrote {}", p.display());
    }
    if let Some(p) = markdown {
        write(p, &report.to_markdown())?;
        eprintln!("wrote {}", p.display());
    }
    if let Some(d) = svg_dir {
        for f in charts::write_all(&report, d)? {
            eprintln!("wrote {}", f.display());
        }
    }
    Ok(())
}

fn default_tuning_systems(filters: &[String]) -> Result<Vec<Arc<dyn System>>, String> {
    if !filters.is_empty() {
        return pick_systems(filters);
    }
    let all = systems::all();
    let has_ringbus = all
        .iter()
        .any(|s| ringbus_bench::harness::family(s.name()) == "ringbus");
    let fam = if has_ringbus { "ringbus" } else { "disruptor" };
    if !has_ringbus {
        eprintln!("note: the ringbus system is not in this build; tuning the disruptor family instead (use --systems)");
    }
    Ok(systems::select(all, &[fam.to_string()]))
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Compare {
            common,
            scenarios,
            markdown,
            svg_dir,
            trace,
        } => compare(
            &common,
            &scenarios,
            markdown.as_ref(),
            svg_dir.as_ref(),
            trace.as_deref(),
        ),
        Command::Sweep { common, dimensions } => {
            for d in &dimensions {
                if !sweep::DIMENSIONS.contains(&d.as_str()) {
                    return Err(format!(
                        "unknown dimension {d:?}; known: {}",
                        sweep::DIMENSIONS.join(", ")
                    ));
                }
            }
            let b = budget(&common);
            let systems = default_tuning_systems(&common.systems)?;
            let pb = progress((systems.len() * sweep::sweep_size(&dimensions)) as u64);
            let rows = sweep::sweep(&systems, &dimensions, &b, &pb);
            pb.finish_and_clear();
            let m = Machine::detect();
            println!(
                "machine: {} cores, {}; base: capacity {}, batch 1, 1 consumer",
                m.cores, m.cpu_model, b.capacity
            );
            print!("{}", sweep::table(&rows));
            if let Some(p) = &common.json {
                let v = serde_json::json!({"machine": m, "command": command_line(), "rows": rows});
                write(
                    p,
                    &serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?,
                )?;
            }
            Ok(())
        }
        Command::Tune {
            common,
            consumers,
            batch,
            split_topics,
            rate,
            objective,
        } => {
            let b = budget(&common);
            let systems = default_tuning_systems(&common.systems)?;
            let objective = match objective {
                Goal::Throughput => Objective::Throughput,
                Goal::P99 => Objective::P99,
            };
            let rate = match (objective, rate) {
                (Objective::P99, None) => Some(1e6),
                (_, r) => r,
            };
            let w = WorkloadSpec {
                consumers: consumers.max(1),
                batch,
                split_topics,
                rate,
            };
            let caps: &[usize] = if common.quick {
                &[256, 1024, 4096]
            } else {
                &[256, 1024, 4096, 16384]
            };
            let caps: Vec<usize> = match common.capacity {
                Some(c) => vec![c],
                None => caps.to_vec(),
            };
            let grid = sweep::tune_grid(&systems, &w, &caps);
            let pb = progress(grid.len() as u64);
            let rows = sweep::tune(&grid, objective, &b, &pb);
            pb.finish_and_clear();
            let m = Machine::detect();
            println!(
                "machine: {} cores, {}; workload: {} consumer(s), {} topics, batch {}, {}",
                m.cores,
                m.cpu_model,
                w.consumers,
                if split_topics {
                    "one per consumer"
                } else {
                    "all"
                },
                if batch == 0 {
                    "chosen".to_string()
                } else {
                    batch.to_string()
                },
                rate.map_or("flat out".to_string(), |r| format!("paced at {r} events/s"))
            );
            print!("{}", sweep::table(&rows));
            match rows.first().filter(|r| r.events_per_sec_median.is_some()) {
                Some(best) => println!(
                    "\nbest for {}: system {} (wait strategy in the name; ringbus-default: the builder's default), capacity {}, batch {}: {:.2} M events/s median ({:.2}..{:.2}){}",
                    objective,
                    best.system,
                    best.capacity,
                    best.batch,
                    best.events_per_sec_median.unwrap_or(0.0) / 1e6,
                    best.events_per_sec_min.unwrap_or(0.0) / 1e6,
                    best.events_per_sec_max.unwrap_or(0.0) / 1e6,
                    best.p99_ns.map_or(String::new(), |p| format!(", p50 {} ns, p99 {p} ns", best.p50_ns.unwrap_or(0)))
                ),
                None => println!("\nno configuration produced figures"),
            }
            if let Some(p) = &common.json {
                let v = serde_json::json!({"machine": m, "command": command_line(), "best": rows.first(), "rows": rows});
                write(
                    p,
                    &serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?,
                )?;
            }
            Ok(())
        }
        Command::Stalls {
            threads,
            ms,
            repeats,
            pin,
            rate,
            capacity,
        } => {
            if !(rate > 0.0 && rate.is_finite()) || capacity == 0 {
                return Err("--rate and --capacity must be positive".into());
            }
            let threads = threads.unwrap_or(Machine::detect().cores).max(2);
            let window = std::time::Duration::from_millis(ms.max(1));
            println!(
                "{:>9} {:>9} {:>10} {:>10} {:>10} {:>13}",
                "stalled %", "shared %", "per s/thr", "median ns", "max ns", "floor p99 ns"
            );
            for _ in 0..repeats.max(1) {
                let p = stalls::probe(threads, window, pin, rate, capacity);
                println!(
                    "{:>9.2} {:>9.0} {:>10.0} {:>10} {:>10} {:>13}",
                    p.stalled_pct,
                    p.shared_pct,
                    p.per_sec_per_thread,
                    p.median_ns,
                    p.max_ns,
                    p.floor_p99_ns
                        .map_or(format!("< {}", stalls::THRESHOLD_NS), |f| f.to_string())
                );
            }
            Ok(())
        }
        Command::List { trace } => {
            let trace = load_trace(trace.as_deref())?;
            println!("systems:");
            for s in systems::all() {
                let d = s.describe();
                if d.is_empty() {
                    println!("  {}", s.name());
                } else {
                    println!("  {:<22} {d}", s.name());
                }
            }
            println!("scenarios:");
            for s in scenario::all(Some(&trace)) {
                println!("  {:<22} {}", s.name, s.description);
            }
            Ok(())
        }
        Command::Calibrate { trace, out } => {
            let t = Trace::load(&trace::resolve(&trace)).map_err(|e| e.to_string())?;
            let name = trace.file_name().unwrap_or(trace.as_os_str());
            let json = Calibration::derive(&t, &name.to_string_lossy()).to_json();
            match out {
                Some(p) => {
                    write(&p, &json)?;
                    eprintln!("wrote {}", p.display());
                }
                None => print!("{json}"),
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn common(args: &[&str]) -> Common {
        let mut v = vec!["ringbus-bench", "compare"];
        v.extend_from_slice(args);
        match Cli::try_parse_from(v).expect("parses").command {
            Command::Compare { common, .. } => common,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pin_is_off_by_default_and_reaches_the_budget() {
        let c = common(&["--quick"]);
        assert!(!c.pin && !budget(&c).pin);
        let c = common(&[
            "--quick",
            "--pin",
            "--systems",
            "ringbus-default,disruptor-spin",
        ]);
        assert!(c.pin && budget(&c).pin);
        assert_eq!(c.systems, ["ringbus-default", "disruptor-spin"]);
        assert!(Cli::try_parse_from(["ringbus-bench", "compare", "--pin=yes"]).is_err());
        for cmd in ["sweep", "tune"] {
            let cli = Cli::try_parse_from(["ringbus-bench", cmd, "--pin"]).expect("parses");
            match cli.command {
                Command::Sweep { common, .. } | Command::Tune { common, .. } => {
                    assert!(common.pin)
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn idle_window_defaults_and_override() {
        assert_eq!(budget(&common(&[])).idle.as_millis(), 100);
        assert_eq!(budget(&common(&["--idle-ms", "0"])).idle.as_millis(), 0);
    }

    #[test]
    fn default_system_is_selectable_by_name_and_family() {
        assert_eq!(pick_systems(&["ringbus-default".into()]).unwrap().len(), 1);
        assert!(pick_systems(&["ringbus".into()])
            .unwrap()
            .iter()
            .any(|s| s.is_default()));
        assert!(pick_systems(&["ringbus-nope".into()]).is_err());
    }
}
