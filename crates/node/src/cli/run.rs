//! `run` and `replay`: check the invocation whole, then connect, run and put the complete
//! outputs in place.

use super::args::{BusArgs, Remotes, ReplayArgs, RunArgs};
use super::bench;
use super::error::{CliError, InvocationError};
use super::files::{self, is_std, Files};
use super::summary::Summary;
use super::{interrupt, serve};
use crate::{positions_parts, AtomicFile, ConsumerKind, Input, Pipeline, RunReport};
use ringbus_events::{EventLogReader, StreamIdentity};
use ringbus_sim::{markets_of, SimConfig};
use std::io::Write;
use std::path::Path;

/// The simulator's number of blocks for `--blocks 0`: a run until stopped.
const UNTIL_STOPPED: u64 = u64::MAX;

/// Where `replay` writes by default.
const REPLAY_DIR: &str = "target/ringbus-replay";

/// The consumers asked for, each once.
fn consumers(bus: &BusArgs) -> Vec<ConsumerKind> {
    let mut kinds = bus.consumers.clone();
    kinds.sort();
    kinds.dedup();
    kinds
}

fn pipeline(bus: &BusArgs, consumers: Vec<ConsumerKind>, quiet: bool) -> Pipeline {
    let mut p = Pipeline::new(Path::new("."));
    p.capacity = bus.capacity;
    p.wait_strategy = bus.wait_strategy;
    p.consumers = consumers;
    p.positions_per_market = bus.positions_per_market;
    p.progress = !quiet;
    p
}

pub(super) fn run(args: RunArgs, quiet: bool) -> Result<(), CliError> {
    let mut kinds = consumers(&args.bus);
    let remotes = args.remote.resolve(&mut kinds)?;
    let cfg = SimConfig {
        seed: args.seed,
        // Until stopped: the stream of the longest run, cut at a block boundary.
        blocks: if args.blocks == 0 {
            UNTIL_STOPPED
        } else {
            args.blocks
        },
        markets: args.markets,
        parties: args.parties,
        ..SimConfig::default()
    };
    if args.bench {
        if args.blocks == 0 {
            return Err(InvocationError::BenchWithoutEnd.into());
        }
        if args.bus.positions_per_market {
            return Err(InvocationError::PositionsPerMarketBench.into());
        }
        return run_bench(args, kinds, remotes, cfg);
    }
    let mut p = pipeline(&args.bus, kinds, quiet);
    p.pace = args.pace;
    p.db = args.db.unwrap_or_else(|| args.out.join("ringbus.db"));
    p.event_log = args
        .event_log
        .unwrap_or_else(|| args.out.join("events.rbl"));
    p.fresh_db = true;
    check_positions_split(&p, || {
        Some((Some(cfg.markets), format!("--markets {}", cfg.markets)))
    })?;
    let files = outputs(&p, &remotes, args.bus.summary_json.as_deref());
    files.check()?;
    // The invocation holds together: from here on files and servers are touched.
    files.create_output_dirs()?;
    if !quiet {
        let blocks = match cfg.blocks {
            UNTIL_STOPPED => "blocks until stopped (Ctrl-C)".to_string(),
            n => format!("{n} blocks"),
        };
        let pace = match p.pace {
            Some(pace) => format!(" at {} blocks/s", pace.blocks_per_sec()),
            None => String::new(),
        };
        println!(
            "ringbus run: {blocks}{pace}, {} markets, {} parties, seed {}; ring {} slots, {} wait",
            cfg.markets,
            cfg.parties,
            cfg.seed,
            p.capacity,
            p.wait_strategy.name()
        );
        print_files(&p, &remotes);
    }
    connect(remotes, args.remote.reset_remote, &mut p)?;
    let _listening = interrupt::stop_on_signal(&p.stop, quiet)?;
    let ids = (cfg.markets, cfg.parties);
    let report = serve::run(&mut p, Input::Simulate(cfg), &args.serve, ids)?;
    finish("run", report, args.bus.summary_json.as_deref(), quiet)
}

pub(super) fn replay(args: ReplayArgs, quiet: bool) -> Result<(), CliError> {
    let mut kinds = consumers(&args.bus);
    let remotes = args.remote.resolve(&mut kinds)?;
    let dir = Path::new(REPLAY_DIR);
    let mut p = pipeline(&args.bus, kinds, quiet);
    p.fresh_db = args.db.is_none();
    p.db = args.db.unwrap_or_else(|| dir.join("replay.db"));
    p.event_log = args.event_log.unwrap_or_else(|| dir.join("events.rbl"));
    let mut files = Files::default();
    files.event_log(files::REPLAYED_LOG, &args.log);
    files.extend(outputs(&p, &remotes, args.bus.summary_json.as_deref()));
    files.check()?;
    if p.positions_per_market && is_std(&args.log) && args.remote.reset_remote {
        return Err(InvocationError::PositionsPerMarketResetFromStdin.into());
    }
    check_positions_split(&p, || {
        // Standard input cannot be read ahead: the pipeline checks its identity once read,
        // before it creates an output.
        (!is_std(&args.log)).then(|| {
            let markets = log_identity(&args.log).as_ref().and_then(markets_of);
            (markets, format!("the event log {}", args.log.display()))
        })
    })?;
    files.create_output_dirs()?;
    if !quiet {
        println!("ringbus replay {}", args.log.display());
        print_files(&p, &remotes);
    }
    connect(remotes, args.remote.reset_remote, &mut p)?;
    let input = if is_std(&args.log) {
        Input::ReplayStdin
    } else {
        Input::Replay(args.log.clone())
    };
    let _listening = interrupt::stop_on_signal(&p.stop, quiet)?;
    let ids = serve::known_ids(&args.log);
    let report = serve::run(&mut p, input, &args.serve, ids)?;
    finish("replay", report, args.bus.summary_json.as_deref(), quiet)
}

/// Whether `--positions-per-market` holds together with the rest of the invocation: the
/// positions consumer runs, and the stream's markets, from `stream` (its markets, `None` if
/// unknown, and how it is named; `None`: not known before the run), are known and not too
/// many.
fn check_positions_split(
    p: &Pipeline,
    stream: impl FnOnce() -> Option<(Option<u16>, String)>,
) -> Result<(), InvocationError> {
    if !p.positions_per_market {
        return Ok(());
    }
    if !p.consumers.contains(&ConsumerKind::Positions) {
        return Err(InvocationError::PositionsPerMarketWithoutPositions);
    }
    let Some((markets, input)) = stream() else {
        return Ok(());
    };
    positions_parts(markets)
        .map(|_| ())
        .map_err(|source| InvocationError::PositionsSplit { input, source })
}

/// The identity of the event log `path` (`None`: none, or a header the replay will report).
fn log_identity(path: &Path) -> Option<StreamIdentity> {
    let file = std::fs::File::open(path).ok()?;
    let reader = EventLogReader::new(std::io::BufReader::new(file)).ok()?;
    reader.identity().cloned()
}

/// The files the pipeline `p` and the summary write, and the CA files it reads.
fn outputs(p: &Pipeline, remotes: &Remotes, summary: Option<&Path>) -> Files {
    let mut files = Files::default();
    remotes.inputs(&mut files);
    if p.consumers.contains(&ConsumerKind::Sqlite) {
        files.database(files::DB, &p.db, p.fresh_db);
    }
    if p.consumers.contains(&ConsumerKind::Log) {
        files.log_output(files::EVENT_LOG, &p.event_log);
    }
    if let Some(path) = summary {
        files.output(files::SUMMARY, path);
    }
    files
}

fn print_files(p: &Pipeline, remotes: &Remotes) {
    if p.consumers.contains(&ConsumerKind::Sqlite) {
        let how = if p.fresh_db {
            "built anew, put in place when complete"
        } else {
            "resumed after its cursor"
        };
        println!("  database:  {} ({how})", p.db.display());
    }
    if p.consumers.contains(&ConsumerKind::Log) {
        println!("  event log: {}", p.event_log.display());
    }
    if let Some((url, _)) = &remotes.postgres {
        println!("  postgres:  {url}");
    }
    if let Some((url, o)) = &remotes.nats {
        println!(
            "  nats:      {url} stream {} subjects {}.<Topic>, one message per {}",
            o.stream, o.subject_prefix, o.batching
        );
    }
    for (env, kind) in &remotes.ignored_env {
        let name = kind.name();
        eprintln!(
            "note: {env} is set but not used: --consumers does not name {name} (name it \
             there, or give --{name} URL)"
        );
    }
}

/// Announces the servers, resets them if asked, and hands them to the pipeline.
/// The announcement is shown even under `--quiet`: a connection may wait a minute.
fn connect(remotes: Remotes, reset: bool, p: &mut Pipeline) -> Result<(), CliError> {
    remotes.announce();
    if reset {
        remotes.reset()?;
    }
    remotes.apply(p);
    Ok(())
}

fn run_bench(
    args: RunArgs,
    kinds: Vec<ConsumerKind>,
    remotes: Remotes,
    cfg: SimConfig,
) -> Result<(), CliError> {
    let mut files = Files::default();
    remotes.inputs(&mut files);
    files.check()?;
    std::fs::create_dir_all(&args.out)
        .map_err(CliError::io("creating the directory", &args.out))?;
    // The layouts' database and log are scratch files: never the ones a run left in OUT.
    let scratch = tempfile::Builder::new()
        .prefix(".ringbus-bench.")
        .tempdir_in(&args.out)
        .map_err(CliError::io("creating a directory in", &args.out))?;
    let mut p = pipeline(&args.bus, kinds, true);
    p.db = scratch.path().join("ringbus.db");
    p.event_log = scratch.path().join("events.rbl");
    p.consumers.retain(|k| ConsumerKind::ALL.contains(k));
    println!(
        "ringbus run --bench: capacity {}, {} wait",
        p.capacity,
        p.wait_strategy.name()
    );
    connect(remotes, false, &mut p)?;
    bench::run(&p, cfg)?;
    Ok(())
}

fn finish(
    mode: &str,
    report: RunReport,
    summary_json: Option<&Path>,
    quiet: bool,
) -> Result<(), CliError> {
    let summary = Summary::new(mode, &report);
    if !quiet {
        summary.print();
    }
    if let Some(path) = summary_json {
        write_summary(path, &summary)?;
    }
    let mut failures: Vec<String> = report.failures.iter().map(|f| f.to_string()).collect();
    if let Some(e) = report.nats.as_ref().and_then(|n| n.error.as_ref()) {
        if report.failures.iter().all(|f| f.name != "nats") {
            failures.push(format!("consumer \"nats\" at shutdown: {e}"));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(CliError::ConsumersFailed {
            failures,
            not_written: report.not_written,
        })
    }
}

/// The summary as JSON, to standard output (`-`) or put in place whole.
fn write_summary(path: &Path, summary: &Summary) -> Result<(), CliError> {
    let mut json = serde_json::to_vec_pretty(summary).map_err(|e| CliError::Io {
        action: "encoding",
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    json.push(b'\n');
    if is_std(path) {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(&json)
            .and_then(|()| out.flush())
            .map_err(CliError::io("writing", Path::new("standard output")));
    }
    let file = AtomicFile::new(path).map_err(CliError::io("creating a file beside", path))?;
    std::fs::write(file.path(), &json).map_err(CliError::io("writing", path))?;
    file.commit()
        .map_err(CliError::io("putting in place", path))
}
