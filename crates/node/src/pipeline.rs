//! The pipeline: a source of events (the simulator, or an event log being replayed), the
//! bus, and the consumers, wired together and measured.

use indicatif::{ProgressBar, ProgressStyle};
use ringbus_consumers::{
    BusyTime, EventLogConsumer, MemoryStores, PositionsPlugin, PositionsView, SqliteOptions,
    SqliteWriter, StoreError, StoreView, Timed,
};
use ringbus_events::{topic_sets, Event, EventLogReader, LogError, StreamIdentity};
use ringbus_remote::{
    ForwarderOptions, ForwarderStats, ForwarderStatus, JetStreamForwarder, PgOptions,
    PostgresWriter, RemoteError, ServiceUrl, PG_INPUTS,
};
use ringbus_ring::{
    Builder, ConfigError, ConsumerFailure, Metrics, RingBus, Subscription, WaitStrategy,
};
use ringbus_sim::{Counting, EventSink, SimConfig, SimStats, Simulator, SinkError};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

/// A consumer the pipeline can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsumerKind {
    /// The positions plug-in.
    Positions,
    /// The in-memory stores.
    Stores,
    /// The SQLite store writer.
    Sqlite,
    /// The event-log writer.
    Log,
    /// The PostgreSQL store writer (needs [`Pipeline::postgres`]).
    Postgres,
    /// The NATS JetStream forwarder (needs [`Pipeline::nats`]).
    Nats,
}

impl ConsumerKind {
    /// The embedded consumers (the default set), in the order they are wired.
    pub const ALL: [ConsumerKind; 4] = [
        ConsumerKind::Positions,
        ConsumerKind::Stores,
        ConsumerKind::Sqlite,
        ConsumerKind::Log,
    ];

    /// The consumer's name (on the bus and on the command line).
    pub fn name(self) -> &'static str {
        match self {
            ConsumerKind::Positions => "positions",
            ConsumerKind::Stores => "stores",
            ConsumerKind::Sqlite => "sqlite",
            ConsumerKind::Log => "log",
            ConsumerKind::Postgres => "postgres",
            ConsumerKind::Nats => "nats",
        }
    }
}

impl FromStr for ConsumerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ConsumerKind::ALL
            .into_iter()
            .chain([ConsumerKind::Postgres, ConsumerKind::Nats])
            .find(|k| k.name() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown consumer {s:?} (expected positions, stores, sqlite, log, postgres or nats)"
                )
            })
    }
}

/// What can stop a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The bus configuration was refused.
    #[error("bus configuration: {0}")]
    Config(#[from] ConfigError),
    /// A consumer could not be set up (database, log file).
    #[error("setting up a consumer: {0}")]
    Store(#[from] StoreError),
    /// Publishing failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The event log being replayed is damaged (record number and offset).
    #[error("{path}: {source}")]
    Log {
        /// The log.
        path: PathBuf,
        /// The damage.
        #[source]
        source: LogError,
    },
    /// A remote consumer (PostgreSQL, JetStream) could not be set up.
    #[error("setting up a remote consumer: {0}")]
    Remote(#[from] RemoteError),
    /// A remote consumer was asked for without its URL.
    #[error("the {0} consumer needs a URL (--{0} URL)")]
    NoUrl(&'static str),
    /// A file could not be opened or removed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Where the events come from.
#[derive(Clone, Debug)]
pub enum Input {
    /// Simulate.
    Simulate(SimConfig),
    /// Replay an event log (as a whole stream, with the rules of `verify`).
    Replay(PathBuf),
    /// Publish events already in memory (throughput measurements): a stream of unknown
    /// identity.
    Events(std::sync::Arc<Vec<Event>>),
}

/// An [`Input`] opened: the simulator made, the log's header read. Every store gets the
/// stream's identity before the first event.
#[allow(clippy::large_enum_variant)] // one per run: its size costs nothing
enum Source {
    Simulate(Simulator),
    Replay {
        path: PathBuf,
        reader: EventLogReader<BufReader<File>>,
        len: u64,
    },
    Events(std::sync::Arc<Vec<Event>>),
}

impl Source {
    fn open(input: Input) -> Result<Self, PipelineError> {
        Ok(match input {
            Input::Simulate(cfg) => Source::Simulate(Simulator::new(cfg)),
            Input::Replay(path) => {
                let file = File::open(&path).map_err(|source| PipelineError::Io {
                    path: path.clone(),
                    source,
                })?;
                let len = file.metadata().map(|m| m.len()).unwrap_or(0);
                let reader = EventLogReader::new(BufReader::with_capacity(1 << 16, file))
                    .map_err(|source| PipelineError::Log {
                        path: path.clone(),
                        source,
                    })?
                    .whole_stream();
                Source::Replay { path, reader, len }
            }
            Input::Events(events) => Source::Events(events),
        })
    }

    /// The identity of the stream (`None`: unknown).
    fn identity(&self) -> Option<&StreamIdentity> {
        match self {
            Source::Simulate(sim) => Some(sim.identity()),
            Source::Replay { reader, .. } => reader.identity(),
            Source::Events(_) => None,
        }
    }
}

/// How to wire the bus.
#[derive(Clone, Debug)]
pub struct Pipeline {
    /// Ring capacity.
    pub capacity: usize,
    /// Wait strategy.
    pub wait_strategy: WaitStrategy,
    /// Consumers to run.
    pub consumers: Vec<ConsumerKind>,
    /// The SQLite database (for [`ConsumerKind::Sqlite`]).
    pub db: PathBuf,
    /// Remove the database first (a fresh run) instead of resuming after its cursor.
    pub fresh_db: bool,
    /// The event log to write (for [`ConsumerKind::Log`]).
    pub event_log: PathBuf,
    /// SQLite commit and retry settings.
    pub sqlite: SqliteOptions,
    /// Show a progress bar on stderr (hidden when stderr is not a terminal).
    pub progress: bool,
    /// The PostgreSQL store writer's server and settings (for [`ConsumerKind::Postgres`]).
    /// It resumes after the database's cursor.
    pub postgres: Option<(ServiceUrl, PgOptions)>,
    /// The JetStream forwarder's server and settings (for [`ConsumerKind::Nats`]). It
    /// resumes after the stream's last event.
    pub nats: Option<(ServiceUrl, ForwarderOptions)>,
}

impl Pipeline {
    /// Defaults: a 4096-slot adaptive ring, every consumer, files under `dir`.
    pub fn new(dir: &Path) -> Self {
        Pipeline {
            capacity: 4096,
            wait_strategy: WaitStrategy::default(),
            consumers: ConsumerKind::ALL.to_vec(),
            db: dir.join("ringbus.db"),
            fresh_db: true,
            event_log: dir.join("events.rbl"),
            sqlite: SqliteOptions::default(),
            progress: false,
            postgres: None,
            nats: None,
        }
    }
}

/// What a run did.
#[derive(Debug)]
pub struct RunReport {
    /// Events published.
    pub events: u64,
    /// Events per topic id (index = topic id).
    pub by_topic: [u64; 17],
    /// Batches published.
    pub batches: u64,
    /// Wall time from the first publish to the last consumer done.
    pub elapsed: Duration,
    /// The bus's metrics at the end.
    pub metrics: Metrics,
    /// Consumers that failed.
    pub failures: Vec<ConsumerFailure>,
    /// Busy time of each consumer (time spent in its batches).
    pub busy: Vec<(String, Duration)>,
    /// The positions plug-in's view, if it ran.
    pub positions: Option<PositionsView>,
    /// The in-memory stores' view, if they ran.
    pub stores: Option<StoreView>,
    /// Where the SQLite writer resumed (`None`: from the start), if it ran.
    pub sqlite_resumed_after: Option<Option<u64>>,
    /// The simulation's counters, if it simulated.
    pub sim: Option<SimStats>,
    /// Time the producer took to publish everything (the rest of `elapsed` is the
    /// consumers catching up).
    pub publish_elapsed: Duration,
    /// Where the PostgreSQL writer resumed (`None`: from the start), if it ran.
    pub postgres_resumed_after: Option<Option<u64>>,
    /// The JetStream forwarder's counters at the end, if it ran (its
    /// [`ForwarderStats::error`] says if its last acknowledgements failed).
    pub nats: Option<ForwarderStats>,
}

impl RunReport {
    /// Events per second over the whole run.
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

fn remove_if_exists(path: &Path) -> Result<(), PipelineError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(PipelineError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

impl Pipeline {
    fn wire(
        &self,
        mut b: Builder<Event>,
        busy: &mut Vec<(String, BusyTime)>,
        report: &mut Views,
        stream: Option<&StreamIdentity>,
    ) -> Result<Builder<Event>, PipelineError> {
        let mut kinds = self.consumers.clone();
        kinds.sort();
        kinds.dedup();
        for kind in kinds {
            let sub = Subscription::new(kind.name());
            b = match kind {
                ConsumerKind::Positions => {
                    let (h, view) = PositionsPlugin::new();
                    report.positions = Some(view);
                    let (h, t) = Timed::new(h);
                    busy.push((kind.name().into(), t));
                    b.handler(sub.topics(topic_sets::POSITIONS_INPUTS), h)
                }
                ConsumerKind::Stores => {
                    let (h, view) = MemoryStores::new();
                    report.stores = Some(view);
                    let (h, t) = Timed::new(h);
                    busy.push((kind.name().into(), t));
                    b.handler(sub.topics(topic_sets::STORE_INPUTS), h)
                }
                ConsumerKind::Sqlite => {
                    if self.fresh_db {
                        for suffix in ["", "-wal", "-shm"] {
                            let mut p = self.db.clone().into_os_string();
                            p.push(suffix);
                            remove_if_exists(Path::new(&p))?;
                        }
                    }
                    let h = SqliteWriter::open(&self.db, self.sqlite, stream)?;
                    report.sqlite_resumed_after = Some(h.resume_after());
                    let (h, t) = Timed::new(h);
                    busy.push((kind.name().into(), t));
                    b.handler(sub.topics(topic_sets::STORE_INPUTS), h)
                }
                ConsumerKind::Log => {
                    let h = EventLogConsumer::create(&self.event_log, stream)?;
                    let (h, t) = Timed::new(h);
                    busy.push((kind.name().into(), t));
                    b.handler(sub.topics(topic_sets::ALL_EVENTS), h)
                }
                ConsumerKind::Postgres => {
                    let (url, options) = self
                        .postgres
                        .clone()
                        .ok_or(PipelineError::NoUrl("postgres"))?;
                    let h = PostgresWriter::connect(url, options, stream)?;
                    report.postgres_resumed_after = Some(h.resume_after());
                    let (h, t) = Timed::new(h);
                    busy.push((kind.name().into(), t));
                    b.handler(sub.topics(PG_INPUTS), h)
                }
                ConsumerKind::Nats => {
                    let (url, options) = self.nats.clone().ok_or(PipelineError::NoUrl("nats"))?;
                    // Per block, the forwarder also needs each block's end to close it.
                    let topics = options.subscription();
                    let (h, status) = JetStreamForwarder::connect(url, options, stream)?;
                    report.nats = Some(status);
                    let (h, t) = Timed::new(h);
                    busy.push((kind.name().into(), t));
                    b.handler(sub.topics(topics), h)
                }
            };
        }
        Ok(b)
    }

    /// Runs `input` through the bus into the consumers and reports. Every store is given
    /// the stream's identity (the simulator's, or the replayed log's) and refuses to take
    /// events of another stream than the one it holds.
    pub fn run(&self, input: Input) -> Result<RunReport, PipelineError> {
        let source = Source::open(input)?;
        let mut busy = Vec::new();
        let mut views = Views::default();
        let builder = RingBus::builder::<Event>()
            .capacity(self.capacity)
            .wait_strategy(self.wait_strategy);
        let builder = self.wire(builder, &mut busy, &mut views, source.identity())?;
        let (producer, bus) = builder.build()?;
        let mut sink = Counting::new(producer);
        let start = Instant::now();
        let mut sim_stats = None;
        let published = match source {
            Source::Simulate(mut sim) => {
                let bar = self.bar(sim.config().blocks, "blocks");
                let r = (|| {
                    while !sim.is_done() {
                        sim.step(&mut sink)?;
                        if sim.height().is_multiple_of(64) {
                            bar.set_position(sim.height());
                        }
                    }
                    Ok::<_, PipelineError>(())
                })();
                bar.finish_and_clear();
                sim_stats = Some(sim.stats());
                r
            }
            Source::Replay { path, reader, len } => self.replay(&path, reader, len, &mut sink),
            Source::Events(events) => {
                for chunk in events.chunks(64) {
                    sink.publish(chunk)?;
                }
                Ok(())
            }
        };
        let Counting {
            inner: producer,
            by_topic,
            batches,
        } = sink;
        let publish_elapsed = start.elapsed();
        drop(producer);
        let (metrics, failures) = match bus.join() {
            Ok(m) => (m, Vec::new()),
            Err(e) => (e.report, e.failures),
        };
        let elapsed = start.elapsed();
        published?;
        Ok(RunReport {
            events: metrics.producer.published,
            by_topic,
            batches,
            elapsed,
            metrics,
            failures,
            busy: busy.into_iter().map(|(n, t)| (n, t.get())).collect(),
            positions: views.positions,
            stores: views.stores,
            sqlite_resumed_after: views.sqlite_resumed_after,
            sim: sim_stats,
            publish_elapsed,
            postgres_resumed_after: views.postgres_resumed_after,
            nats: views.nats.map(|s| s.snapshot()),
        })
    }

    /// Publishes the events of `reader` up to the end of the log or its first damage (the
    /// events before the damage are published too, so the stores commit every whole block
    /// before it), then reports the damage.
    fn replay(
        &self,
        path: &Path,
        mut reader: EventLogReader<BufReader<File>>,
        len: u64,
        sink: &mut impl EventSink,
    ) -> Result<(), PipelineError> {
        let bar = self.bar(len, "bytes");
        let mut batch = Vec::with_capacity(256);
        let result = (|| {
            let mut damage = None;
            while let Some(event) = reader.next() {
                match event {
                    Ok(event) => batch.push(event),
                    Err(e) => {
                        damage = Some(e);
                        break;
                    }
                }
                if batch.len() == 256 {
                    sink.publish(&batch)?;
                    batch.clear();
                    bar.set_position(reader.offset());
                }
            }
            if !batch.is_empty() {
                sink.publish(&batch)?;
            }
            match damage {
                None => Ok(()),
                Some(source) => Err(PipelineError::Log {
                    path: path.to_path_buf(),
                    source,
                }),
            }
        })();
        bar.finish_and_clear();
        result
    }

    fn bar(&self, len: u64, unit: &str) -> ProgressBar {
        if !self.progress || len < 500 {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(len);
        let style = ProgressStyle::with_template(&format!(
            "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} (eta {{eta}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar
    }
}

#[derive(Default)]
struct Views {
    positions: Option<PositionsView>,
    stores: Option<StoreView>,
    sqlite_resumed_after: Option<Option<u64>>,
    postgres_resumed_after: Option<Option<u64>>,
    nats: Option<ForwarderStatus>,
}
