//! Runs systems of the comparison on one scenario for a fixed number of events, alternating
//! between them round by round, and prints per system the median (and range) of throughput,
//! process CPU per event and context switches per thousand events: the measurement behind
//! `docs/decisions/event-keys.md` (markets-8). A fixed count makes every run do the same work,
//! so the figures can also be taken under `valgrind --tool=callgrind` (instructions per
//! event, which a busy machine does not disturb). `--ratio-to` gives each system's throughput over
//! a reference system's in the same round, the figure that survives the machine's speed modes.
//!
//! ```text
//! cargo run --release -p ringbus-bench --example fixed_runs -- \
//!     --scenario markets-8 --systems ringbus-keyed,crossbeam --events 1000000 --rounds 7
//! ```

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use ringbus_bench::buffering::ChannelBuffer;
use ringbus_bench::harness::{RunSpec, System};
use ringbus_bench::{cpu, scenario, stats, systems};

#[derive(Parser, Debug)]
struct Args {
    /// Scenario name (see `ringbus-bench list`).
    #[arg(long, default_value = "markets-8")]
    scenario: String,
    /// Systems by name or family, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "ringbus-keyed,crossbeam")]
    systems: Vec<String>,
    /// Events per run.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Runs per system, alternating between the systems.
    #[arg(long, default_value_t = 7)]
    rounds: usize,
    /// Ring / channel capacity in events.
    #[arg(long, default_value_t = 1024)]
    capacity: usize,
    /// How a routed consumer's channel is sized: its share of the capacity, or all of it.
    #[arg(long, value_enum, default_value_t = ChannelBuffer::Window)]
    channel_buffer: ChannelBuffer,
    /// Print each run's figures as it ends (to see a mode change within a process).
    #[arg(long)]
    per_run: bool,
    /// Also print, for every other system, its throughput over this system's in the same
    /// round (median and range): the machine's speed modes move both runs of a round alike.
    #[arg(long)]
    ratio_to: Option<String>,
}

/// One run's figures.
#[derive(Clone, Copy)]
struct Figures {
    mev_per_s: f64,
    cpu_ns_per_event: f64,
    switches_per_kev: f64,
}

/// Context switches of the process so far, voluntary and involuntary.
fn switches() -> i64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` points to writable memory of the size of `rusage`; getrusage only
    // writes it.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
        return 0;
    }
    // SAFETY: zeroed, then filled by a successful getrusage.
    let usage = unsafe { usage.assume_init() };
    usage.ru_nvcsw + usage.ru_nivcsw
}

fn run(system: &dyn System, spec: &RunSpec) -> Result<Figures, String> {
    let (cpu0, sw0) = (cpu::process_cpu(), switches());
    let result = system.run(spec)?;
    let (cpu1, sw1) = (cpu::process_cpu(), switches());
    result.verify(spec)?;
    let events = result.published.max(1) as f64;
    let cpu = match (cpu0, cpu1) {
        (Some(a), Some(b)) => b.saturating_sub(a).as_secs_f64(),
        _ => f64::NAN,
    };
    Ok(Figures {
        mev_per_s: result.events_per_sec() / 1e6,
        cpu_ns_per_event: cpu / events * 1e9,
        switches_per_kev: (sw1 - sw0) as f64 / events * 1e3,
    })
}

/// Median, minimum and maximum.
fn spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    )
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    let scenario = scenario::all(None)
        .into_iter()
        .find(|s| s.name == args.scenario)
        .ok_or_else(|| format!("no scenario {:?}", args.scenario))?;
    let chosen: Vec<Arc<dyn System>> = systems::select(systems::all(), &args.systems);
    if chosen.is_empty() {
        return Err(format!("no system matches {:?}", args.systems));
    }
    let spec = RunSpec::new(
        &scenario,
        args.capacity,
        args.events,
        Duration::from_secs(60),
    )
    .buffered(args.channel_buffer);
    let mut figures: Vec<Vec<Figures>> = vec![Vec::new(); chosen.len()];
    for round in 0..args.rounds.max(1) {
        for k in 0..chosen.len() {
            // Alternate the order, so neither system always runs first.
            let i = if round % 2 == 0 {
                k
            } else {
                chosen.len() - 1 - k
            };
            let figures_of_run = run(chosen[i].as_ref(), &spec)?;
            if args.per_run {
                println!(
                    "round {round} {:<16} Mev/s {:6.2}  CPU ns/event {:6.1}",
                    chosen[i].name(),
                    figures_of_run.mev_per_s,
                    figures_of_run.cpu_ns_per_event
                );
            }
            figures[i].push(figures_of_run);
        }
    }
    println!(
        "{}: {} events per run, capacity {}, {} rounds",
        scenario.name, args.events, args.capacity, args.rounds
    );
    for (system, runs) in chosen.iter().zip(&figures) {
        let column = |f: fn(&Figures) -> f64| spread(runs.iter().map(f).collect());
        let (mev, mev_lo, mev_hi) = column(|f| f.mev_per_s);
        let (cpu, cpu_lo, cpu_hi) = column(|f| f.cpu_ns_per_event);
        let (sw, sw_lo, sw_hi) = column(|f| f.switches_per_kev);
        println!(
            "{:<16} Mev/s {mev:6.2} ({mev_lo:.2}..{mev_hi:.2})  CPU ns/event {cpu:6.1} \
             ({cpu_lo:.1}..{cpu_hi:.1})  switches/kev {sw:6.2} ({sw_lo:.2}..{sw_hi:.2})",
            system.name()
        );
    }
    if let Some(reference) = &args.ratio_to {
        let r = chosen
            .iter()
            .position(|s| s.name() == reference)
            .ok_or_else(|| format!("--ratio-to {reference:?} is not one of the systems run"))?;
        let mev = |i: usize| figures[i].iter().map(|f| f.mev_per_s).collect::<Vec<_>>();
        for (i, system) in chosen.iter().enumerate().filter(|(i, _)| *i != r) {
            if let Some(by_round) = stats::ratio_by_round(&mev(i), &mev(r)) {
                println!(
                    "{:<16} / {reference}: {:.2} per round ({:.2}..{:.2})",
                    system.name(),
                    by_round.median,
                    by_round.min,
                    by_round.max
                );
            }
        }
    }
    Ok(())
}
