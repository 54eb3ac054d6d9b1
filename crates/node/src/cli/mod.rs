//! The `ringbus` command line: `run` (the default), `replay`, `dump`, `verify`, `tail`.

mod bench;
mod summary;

pub use bench::BenchLine;
pub use summary::Summary;

use crate::{ConsumerKind, Input, Pipeline, PipelineError};
use clap::{Args, Parser, Subcommand};
use ringbus_consumers::StoreError;
use ringbus_events::{topic_sets, verify, DumpError, EventLogReader, EventTopic, LogError};
use ringbus_remote::{
    Batching, ForwarderOptions, JetStreamForwarder, PgOptions, PgStore, RemoteError, ServiceUrl,
    TailOptions,
};
use ringbus_ring::WaitStrategy;
use ringbus_sim::SimConfig;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The event bus of a trading node: simulate a node and watch its events reach the consumers.
#[derive(Debug, Parser)]
#[command(name = "ringbus", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate a trading node and run its events through the bus into the consumers (default).
    Run(RunArgs),
    /// Feed an event log back through the bus into the consumers.
    Replay(ReplayArgs),
    /// Print an event log as JSON lines (checked as `verify` checks it: the events before
    /// any damage are printed, then the damage is reported).
    Dump {
        /// The log.
        log: PathBuf,
        /// Print at most this many events.
        #[arg(long)]
        limit: Option<u64>,
    },
    /// Check an event log: framing, checksums, sequence continuity (dropped, duplicated and
    /// reordered records), block framing and a complete last block; print its stream
    /// identity.
    Verify {
        /// The log.
        log: PathBuf,
    },
    /// Read the JetStream stream written by `run --nats` (from another process or machine)
    /// and print its events as JSON lines.
    Tail(TailArgs),
}

#[derive(Debug, Clone, Args)]
struct TailArgs {
    /// The NATS server, e.g. nats://host:4222 (or RINGBUS_NATS_URL).
    #[arg(long = "nats", env = "RINGBUS_NATS_URL", hide_env_values = true, value_parser = parse_url)]
    nats: ServiceUrl,
    /// PEM CA file the NATS server's certificate must chain to; requires TLS (or
    /// RINGBUS_NATS_CA). A tls:// URL without it trusts the system's roots.
    #[arg(long = "nats-ca", env = "RINGBUS_NATS_CA", value_name = "FILE")]
    nats_ca: Option<PathBuf>,
    /// Only this topic (e.g. Trade); default every topic.
    #[arg(long)]
    topic: Option<EventTopic>,
    /// The stream.
    #[arg(long, default_value = "RINGBUS")]
    stream: String,
    /// The subject prefix the forwarder used.
    #[arg(long, default_value = "ringbus")]
    prefix: String,
    /// Only events stored from now on (default: from the stream's start).
    #[arg(long)]
    new: bool,
    /// Stop after this many events.
    #[arg(long)]
    limit: Option<u64>,
    /// Stop when nothing arrived for this many seconds (default: follow forever).
    #[arg(long)]
    idle_exit: Option<f64>,
}

/// The remote consumers of `run` and `replay`.
#[derive(Debug, Clone, Args)]
struct RemoteArgs {
    /// Also write the stores into PostgreSQL, e.g. postgres://user:password@host:5432/db (or
    /// RINGBUS_POSTGRES_URL). It resumes after the database's cursor.
    #[arg(long = "postgres", env = "RINGBUS_POSTGRES_URL", hide_env_values = true, value_parser = parse_url)]
    postgres: Option<ServiceUrl>,
    /// Also forward the events to NATS JetStream, e.g. nats://host:4222 (or RINGBUS_NATS_URL).
    /// It resumes after the stream's last event.
    #[arg(long = "nats", env = "RINGBUS_NATS_URL", hide_env_values = true, value_parser = parse_url)]
    nats: Option<ServiceUrl>,
    /// PEM CA file the PostgreSQL server's certificate must chain to (or RINGBUS_POSTGRES_CA;
    /// default: the system's roots). Whether TLS is used follows the URL's sslmode
    /// (disable, prefer, require); when it is, the certificate is always verified.
    #[arg(long = "postgres-ca", env = "RINGBUS_POSTGRES_CA", value_name = "FILE")]
    postgres_ca: Option<PathBuf>,
    /// PEM CA file the NATS server's certificate must chain to; requires TLS (or
    /// RINGBUS_NATS_CA). A tls:// URL without it trusts the system's roots.
    #[arg(long = "nats-ca", env = "RINGBUS_NATS_CA", value_name = "FILE")]
    nats_ca: Option<PathBuf>,
    /// PostgreSQL commits without waiting for the WAL flush (`synchronous_commit = off`):
    /// still exactly once (a block and its cursor commit together), but a server crash can
    /// lose the last commits; the writer then stops and a replay of the event log resumes.
    #[arg(long)]
    postgres_async_commit: bool,
    /// The JetStream stream (created if missing).
    #[arg(long, default_value = "RINGBUS")]
    nats_stream: String,
    /// Subjects are PREFIX.<Topic>.
    #[arg(long, default_value = "ringbus")]
    nats_prefix: String,
    /// Topics to forward, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    nats_topics: Vec<EventTopic>,
    /// JetStream messages: `event` (one per event) or `block` (one per block and topic, the
    /// block's last message marked; far fewer messages). `ringbus tail` reads both.
    #[arg(long, default_value = "event", value_parser = parse_batching)]
    nats_batch: Batching,
    /// Drop the PostgreSQL tables and delete the JetStream stream first (a fresh run;
    /// without it both resume where they are).
    #[arg(long)]
    reset_remote: bool,
}

impl RemoteArgs {
    fn apply(&self, p: &mut Pipeline) -> Result<(), CliError> {
        if let Some(url) = &self.postgres {
            let options = PgOptions {
                synchronous_commit: !self.postgres_async_commit,
                ca_file: self.postgres_ca.clone(),
                ..PgOptions::default()
            };
            if self.reset_remote {
                PgStore::drop_tables(url, &options)?;
            }
            p.postgres = Some((url.clone(), options));
            p.consumers.push(ConsumerKind::Postgres);
        }
        if let Some(url) = &self.nats {
            let options = ForwarderOptions {
                stream: self.nats_stream.clone(),
                subject_prefix: self.nats_prefix.clone(),
                topics: if self.nats_topics.is_empty() {
                    topic_sets::ALL_EVENTS
                } else {
                    topic_sets::of(&self.nats_topics)
                },
                ca_file: self.nats_ca.clone(),
                batching: self.nats_batch,
                ..ForwarderOptions::default()
            };
            if self.reset_remote {
                JetStreamForwarder::delete_stream(url, &options)?;
            }
            p.nats = Some((url.clone(), options));
            p.consumers.push(ConsumerKind::Nats);
        }
        Ok(())
    }
}

fn parse_batching(s: &str) -> Result<Batching, String> {
    s.parse()
}

fn parse_url(s: &str) -> Result<ServiceUrl, String> {
    if s.trim().is_empty() {
        Err("an empty URL".into())
    } else {
        Ok(ServiceUrl::new(s.trim()))
    }
}

#[derive(Debug, Clone, Args)]
struct BusArgs {
    /// Ring capacity (slots, a power of two).
    #[arg(long, default_value_t = 4096)]
    capacity: usize,
    /// busy-spin, spin-yield, blocking or adaptive.
    #[arg(long, default_value_t = WaitStrategy::default(), value_parser = parse_wait)]
    wait_strategy: WaitStrategy,
    /// Consumers, comma-separated: positions,stores,sqlite,log.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "positions,stores,sqlite,log"
    )]
    consumers: Vec<ConsumerKind>,
    /// Write the summary as JSON here too.
    #[arg(long)]
    summary_json: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Debug, Clone, Args)]
struct RunArgs {
    /// Blocks to simulate.
    #[arg(long, default_value_t = SimConfig::default().blocks)]
    blocks: u64,
    /// Markets.
    #[arg(long, default_value_t = SimConfig::default().markets)]
    markets: u16,
    /// Parties.
    #[arg(long, default_value_t = SimConfig::default().parties)]
    parties: u32,
    /// Seed of the simulation (same seed: byte-identical event log).
    #[arg(long, default_value_t = SimConfig::default().seed)]
    seed: u64,
    /// Directory for the database and the event log.
    #[arg(long, default_value = "target/ringbus-run")]
    out: PathBuf,
    /// The SQLite database (default OUT/ringbus.db; replaced).
    #[arg(long)]
    db: Option<PathBuf>,
    /// The event log to write (default OUT/events.rbl).
    #[arg(long)]
    event_log: Option<PathBuf>,
    /// Measure events/s of pre-generated events through the bus for several consumer layouts
    /// (with --postgres / --nats: also into PostgreSQL and JetStream, reset before each).
    #[arg(long)]
    bench: bool,
    #[command(flatten)]
    bus: BusArgs,
    #[command(flatten)]
    remote: RemoteArgs,
}

#[derive(Debug, Clone, Args)]
struct ReplayArgs {
    /// The event log to replay.
    log: PathBuf,
    /// The SQLite database. An existing one is resumed after its cursor (default: a fresh
    /// target/ringbus-replay/replay.db).
    #[arg(long)]
    db: Option<PathBuf>,
    /// Where to write the log again if the log consumer is on (default target/ringbus-replay/events.rbl).
    #[arg(long)]
    event_log: Option<PathBuf>,
    #[command(flatten)]
    bus: BusArgs,
    #[command(flatten)]
    remote: RemoteArgs,
}

fn parse_wait(s: &str) -> Result<WaitStrategy, String> {
    s.parse()
}

/// What the command line reports as a failure.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The pipeline could not run.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// A log is damaged: the first bad record.
    #[error("{path}: record {record}, byte offset {offset}: {source}", record = source.record().map_or_else(|| "header".to_string(), |r| r.to_string()), offset = source.offset())]
    Log {
        /// The log.
        path: PathBuf,
        /// The damage.
        #[source]
        source: LogError,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Consumers failed during the run (their events are in the log: replay to resume).
    #[error("{0} consumer(s) failed: {1}")]
    ConsumersFailed(usize, String),
    /// A remote server could not be reached or refused (tail, reset).
    #[error(transparent)]
    Remote(#[from] RemoteError),
}

impl CliError {
    /// The process exit code: 2 bad data (a damaged log, or a log of another stream than a
    /// store holds), 3 consumers failed, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Log { .. }
            | CliError::Pipeline(PipelineError::Log { .. })
            | CliError::Pipeline(PipelineError::Store(StoreError::ForeignStream(_)))
            | CliError::Pipeline(PipelineError::Remote(RemoteError::ForeignStream(_))) => 2,
            CliError::ConsumersFailed(..) => 3,
            _ => 1,
        }
    }
}

/// Parses the process's arguments, runs, prints errors; the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// Runs a parsed command line.
pub fn execute(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        None => run(cli.run),
        Some(Command::Run(args)) => run(args),
        Some(Command::Replay(args)) => replay(args),
        Some(Command::Dump { log, limit }) => dump(&log, limit),
        Some(Command::Verify { log }) => verify_log(&log),
        Some(Command::Tail(args)) => tail(args),
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
    move |source| CliError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn pipeline(bus: &BusArgs, dir: &Path, db: Option<PathBuf>, log: Option<PathBuf>) -> Pipeline {
    let mut p = Pipeline::new(dir);
    p.capacity = bus.capacity;
    p.wait_strategy = bus.wait_strategy;
    p.consumers = bus.consumers.clone();
    p.progress = !bus.quiet;
    if let Some(db) = db {
        p.db = db;
    }
    if let Some(log) = log {
        p.event_log = log;
    }
    p
}

fn finish(mode: &str, report: crate::RunReport, bus: &BusArgs) -> Result<(), CliError> {
    let summary = Summary::new(mode, &report);
    summary.print();
    if let Some(path) = &bus.summary_json {
        let json = serde_json::to_vec_pretty(&summary).map_err(|e| CliError::Io {
            path: path.clone(),
            source: e.into(),
        })?;
        std::fs::write(path, json).map_err(io_err(path))?;
    }
    let mut msgs: Vec<String> = report.failures.iter().map(|f| f.to_string()).collect();
    if let Some(e) = report.nats.as_ref().and_then(|n| n.error.as_ref()) {
        if report.failures.iter().all(|f| f.name != "nats") {
            msgs.push(format!("consumer \"nats\" at shutdown: {e}"));
        }
    }
    if msgs.is_empty() {
        Ok(())
    } else {
        Err(CliError::ConsumersFailed(msgs.len(), msgs.join("; ")))
    }
}

fn run(args: RunArgs) -> Result<(), CliError> {
    std::fs::create_dir_all(&args.out).map_err(io_err(&args.out))?;
    let cfg = SimConfig {
        seed: args.seed,
        blocks: args.blocks,
        markets: args.markets.max(1),
        parties: args.parties.max(2),
        ..SimConfig::default()
    };
    let mut p = pipeline(&args.bus, &args.out, args.db, args.event_log);
    if args.bench {
        let mut remote = args.remote.clone();
        remote.reset_remote = false;
        remote.apply(&mut p)?;
        p.consumers.retain(|k| ConsumerKind::ALL.contains(k));
        println!(
            "ringbus run --bench: capacity {}, {} wait",
            p.capacity,
            p.wait_strategy.name()
        );
        bench::run(&p, cfg)?;
        return Ok(());
    }
    println!(
        "ringbus run: {} blocks, {} markets, {} parties, seed {}; ring {} slots, {} wait",
        cfg.blocks,
        cfg.markets,
        cfg.parties,
        cfg.seed,
        p.capacity,
        p.wait_strategy.name()
    );
    args.remote.apply(&mut p)?;
    println!("  database:  {}", p.db.display());
    println!("  event log: {}", p.event_log.display());
    if let Some((url, _)) = &p.postgres {
        println!("  postgres:  {url}");
    }
    if let Some((url, o)) = &p.nats {
        println!(
            "  nats:      {url} stream {} subjects {}.<Topic>, one message per {}",
            o.stream, o.subject_prefix, o.batching
        );
    }
    let report = p.run(Input::Simulate(cfg))?;
    finish("run", report, &args.bus)
}

fn replay(args: ReplayArgs) -> Result<(), CliError> {
    let dir = PathBuf::from("target/ringbus-replay");
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let resume = args.db.is_some();
    let mut p = pipeline(&args.bus, &dir, args.db, args.event_log);
    p.db = if resume { p.db } else { dir.join("replay.db") };
    p.fresh_db = !resume;
    args.remote.apply(&mut p)?;
    if p.event_log == args.log {
        return Err(CliError::Io {
            path: args.log,
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the replayed log cannot also be the log written",
            ),
        });
    }
    println!(
        "ringbus replay {}: database {}",
        args.log.display(),
        p.db.display()
    );
    let report = p
        .run(Input::Replay(args.log.clone()))
        .map_err(|e| match e {
            PipelineError::Log { path, source } => CliError::Log { path, source },
            e => e.into(),
        })?;
    finish("replay", report, &args.bus)
}

fn open_log(path: &Path) -> Result<EventLogReader<BufReader<File>>, CliError> {
    let file = File::open(path).map_err(io_err(path))?;
    EventLogReader::new(BufReader::with_capacity(1 << 16, file)).map_err(|source| CliError::Log {
        path: path.to_path_buf(),
        source,
    })
}

fn dump(path: &Path, limit: Option<u64>) -> Result<(), CliError> {
    let stdout = std::io::stdout();
    match ringbus_events::dump(open_log(path)?, BufWriter::new(stdout.lock()), limit) {
        Ok(_) => Ok(()),
        Err(DumpError::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(DumpError::Write(e)) => Err(io_err(Path::new("<stdout>"))(e)),
        Err(DumpError::Log(source)) => Err(CliError::Log {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn verify_log(path: &Path) -> Result<(), CliError> {
    let summary = verify(open_log(path)?).map_err(|source| CliError::Log {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}: ok: {summary}", path.display());
    Ok(())
}

fn tail(args: TailArgs) -> Result<(), CliError> {
    let options = TailOptions {
        stream: args.stream,
        subject_prefix: args.prefix,
        topic: args.topic,
        new_only: args.new,
        idle_exit: args.idle_exit.map(std::time::Duration::from_secs_f64),
        ca_file: args.nats_ca,
        ..TailOptions::default()
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut written = 0u64;
    let mut io_error = None;
    ringbus_remote::tail(&args.nats, &options, |item| {
        let line = match (&item.event, item.json) {
            (Some(e), _) => ringbus_events::to_json_line(e),
            (None, Some(json)) => json.trim_end().to_string(),
            (None, None) => return std::ops::ControlFlow::Continue(()),
        };
        if let Err(e) = writeln!(out, "{line}").and_then(|()| {
            // A reader following live events wants each line when it comes.
            if args.limit.is_none() && args.idle_exit.is_none() {
                out.flush()
            } else {
                Ok(())
            }
        }) {
            io_error = Some(e);
            return std::ops::ControlFlow::Break(());
        }
        written += 1;
        if args.limit.is_some_and(|l| written >= l) {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    })?;
    let stdout_path = Path::new("<stdout>");
    match io_error.map_or_else(|| out.flush(), Err) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(io_err(stdout_path)),
    }
}
