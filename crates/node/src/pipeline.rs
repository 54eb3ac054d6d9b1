//! The pipeline: a source of events (the simulator, or an event log being replayed), the
//! bus, and the consumers, wired together and measured.

use crate::atomic_file::{AtomicFile, SQLITE_COMPANIONS};
use crate::blocks::{BlockHistory, PublishedBlock};
use crate::pace::Schedule;
use crate::positions_split::{self, PositionsSplitError};
use crate::{FileIdentity, NodeView, Pace, StopSignal};
use indicatif::{ProgressBar, ProgressStyle};
use ringbus_consumers::{
    BusyTime, CommittedHeight, EventLogConsumer, MemoryStores, PositionsPlugin, PositionsView,
    SqliteOptions, SqliteWriter, StoreError, StoreView, Timed,
};
use ringbus_events::{
    topic_sets, Event, EventKey, EventLogReader, EventTopic, LogError, MarketEvent, MarketId,
    StreamIdentity,
};
use ringbus_remote::{
    ForwarderOptions, ForwarderStats, ForwarderStatus, JetStreamForwarder, PgOptions,
    PostgresWriter, RemoteError, ServiceUrl, PG_INPUTS,
};
use ringbus_ring::{
    Builder, ConfigError, ConsumerFailure, Metrics, RingBus, Subscription, WaitStrategy,
};
use ringbus_sim::{Counting, EventSink, SimConfig, SimStats, Simulator, SinkError};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use ringbus_live::EventBus;

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

/// What can stop a pipeline. Each variant's message says only its own part; the cause is
/// its [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The bus configuration was refused.
    #[error("the bus configuration was refused")]
    Config(#[from] ConfigError),
    /// A consumer could not be set up (database, log file).
    #[error("setting up a consumer")]
    Store(#[from] StoreError),
    /// Publishing failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The event log being replayed is damaged (record number and offset).
    #[error("reading the event log {}", path.display())]
    Log {
        /// The log.
        path: PathBuf,
        /// The damage.
        #[source]
        source: LogError,
    },
    /// A remote consumer (PostgreSQL, JetStream) could not be set up.
    #[error("setting up a remote consumer")]
    Remote(#[from] RemoteError),
    /// The positions plug-in cannot run as one consumer per market for this stream.
    #[error(transparent)]
    PositionsSplit(#[from] PositionsSplitError),
    /// The replayed log holds an event of a market its identity does not have: the positions
    /// plug-in run per market would miss it.
    #[error(
        "the event log {} holds an event of {market} (sequence {sequence}) but its identity \
         says {markets} markets",
        path.display()
    )]
    MarketOutsideStream {
        /// The log.
        path: PathBuf,
        /// The event's market.
        market: MarketId,
        /// The event's sequence.
        sequence: u64,
        /// The markets the log's identity says.
        markets: u16,
    },
    /// A remote consumer was asked for without its URL.
    #[error("the {0} consumer needs a URL (--{0} URL)")]
    NoUrl(&'static str),
    /// Two of the run's files are one file (by identity, not by spelling): an output is the
    /// replayed log or another output.
    #[error("{} and {} are the same file", first.display(), second.display())]
    SameFile {
        /// One spelling.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// The service beside the bus (the live server) failed to start or to stop.
    #[error("the live server")]
    Service(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The service beside the bus still held the bus after it stopped, so the bus could not
    /// be joined (a bug in the service): the outputs were not put in place.
    #[error("the service beside the bus still held the bus after it stopped")]
    BusStillShared,
    /// A file could not be opened, created or put in place.
    #[error("{action} {}", path.display())]
    Io {
        /// What was being done (`opening`, `creating`, `putting in place`).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl PipelineError {
    fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Self + 'a {
        move |source| PipelineError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Where the events come from.
#[derive(Clone, Debug)]
pub enum Input {
    /// Simulate.
    Simulate(SimConfig),
    /// Replay an event log (as a whole stream, with the rules of `verify`).
    Replay(PathBuf),
    /// Replay an event log read from standard input.
    ReplayStdin,
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
        /// The log as messages name it.
        name: PathBuf,
        reader: EventLogReader<BufReader<Box<dyn Read>>>,
        /// The log's length, for the progress bar (0: unknown).
        len: u64,
    },
    Events(std::sync::Arc<Vec<Event>>),
}

impl Source {
    fn open(input: Input) -> Result<Self, PipelineError> {
        let (name, source, len): (PathBuf, Box<dyn Read>, u64) = match input {
            Input::Simulate(cfg) => return Ok(Source::Simulate(Simulator::new(cfg))),
            Input::Events(events) => return Ok(Source::Events(events)),
            Input::ReplayStdin => (STDIN.into(), Box::new(std::io::stdin().lock()), 0),
            Input::Replay(path) => {
                let file = File::open(&path).map_err(PipelineError::io("opening", &path))?;
                let len = file.metadata().map(|m| m.len()).unwrap_or(0);
                (path, Box::new(file), len)
            }
        };
        let reader = match EventLogReader::new(BufReader::with_capacity(1 << 16, source)) {
            Ok(reader) => reader.whole_stream(),
            Err(source) => return Err(PipelineError::Log { path: name, source }),
        };
        Ok(Source::Replay { name, reader, len })
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
    /// The most consumers on the bus at once: the pipeline's own and those joining while
    /// it runs (a live server's stream clients). The positions plug-in counts as one: the
    /// pipeline adds room for its other parts when it runs per market.
    pub max_consumers: usize,
    /// Consumers to run.
    pub consumers: Vec<ConsumerKind>,
    /// Run the positions plug-in as one consumer per market of the stream, each subscribed
    /// by key to its market's events on its own thread and named `positions-m<id>`; the
    /// report's positions are their views merged, the same as one plug-in's. The markets
    /// come from the stream's identity (the simulator's configuration): a stream that does
    /// not say them is refused ([`PositionsSplitError`]) before anything is written.
    pub positions_per_market: bool,
    /// The SQLite database (for [`ConsumerKind::Sqlite`]).
    pub db: PathBuf,
    /// Build a new database under a temporary name and put it in place of `db` when its
    /// consumer finished (a fresh run), instead of resuming after `db`'s cursor in place.
    pub fresh_db: bool,
    /// The event log to write (for [`ConsumerKind::Log`]), under a temporary name, put in
    /// place when its consumer finished.
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
    /// How many blocks a second the simulator publishes (`None`: as fast as it can). The
    /// pace decides only when a block is published, never what it holds.
    pub pace: Option<Pace>,
    /// Ends the run at the next block boundary, like its last block: the consumers drain,
    /// the outputs are put in place, the report says [`RunReport::stopped`].
    pub stop: StopSignal,
}

impl Pipeline {
    /// Defaults: a 4096-slot adaptive ring, every consumer, files under `dir`.
    pub fn new(dir: &Path) -> Self {
        Pipeline {
            capacity: 4096,
            wait_strategy: WaitStrategy::default(),
            max_consumers: 64,
            consumers: ConsumerKind::ALL.to_vec(),
            positions_per_market: false,
            db: dir.join("ringbus.db"),
            fresh_db: true,
            event_log: dir.join("events.rbl"),
            sqlite: SqliteOptions::default(),
            progress: false,
            postgres: None,
            nats: None,
            pace: None,
            stop: StopSignal::new(),
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
    /// Output files put in place, complete (a fresh database, the event log).
    pub written: Vec<PathBuf>,
    /// Output files not put in place because their consumer failed: each is as it was
    /// before the run (or still absent).
    pub not_written: Vec<PathBuf>,
    /// Whether a [`Pipeline::stop`] request ended the run at a block boundary before the
    /// end of its input.
    pub stopped: bool,
    /// The last block published whole, if any.
    pub last_block: Option<PublishedBlock>,
}

impl RunReport {
    /// Events per second over the whole run.
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// What runs beside a pipeline while its bus runs (the live server): see
/// [`Pipeline::run_serving`].
pub trait Service {
    /// Stops the service: it lets go of the bus before returning.
    fn stop(self) -> Result<(), PipelineError>;
}

/// No service.
impl Service for () {
    fn stop(self) -> Result<(), PipelineError> {
        Ok(())
    }
}

/// A service, or none.
impl<S: Service> Service for Option<S> {
    fn stop(self) -> Result<(), PipelineError> {
        self.map_or(Ok(()), Service::stop)
    }
}

/// The live server: its shutdown closes every stream (their taps leave the bus) and lets go
/// of the bus.
impl Service for ringbus_live::LiveServer {
    fn stop(self) -> Result<(), PipelineError> {
        self.shutdown()
            .map_err(|e| PipelineError::Service(Box::new(e)))
    }
}

/// An output being written for a consumer, put in place if that consumer finishes.
type PendingOutput = (ConsumerKind, AtomicFile);

impl Pipeline {
    /// The files this pipeline writes (by consumer) and reads: no two may be one file.
    fn check_files(&self, input: &Input) -> Result<(), PipelineError> {
        let mut files: Vec<&Path> = Vec::new();
        if let Input::Replay(path) = input {
            files.push(path);
        }
        if self.consumers.contains(&ConsumerKind::Sqlite) {
            files.push(&self.db);
        }
        if self.consumers.contains(&ConsumerKind::Log) {
            files.push(&self.event_log);
        }
        let ids = files
            .iter()
            .map(|p| FileIdentity::of(p).map_err(PipelineError::io("opening", p)))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, a) in ids.iter().enumerate() {
            if let Some(j) = ids[..i].iter().position(|b| b.same_as(a)) {
                return Err(PipelineError::SameFile {
                    first: files[j].to_path_buf(),
                    second: files[i].to_path_buf(),
                });
            }
        }
        Ok(())
    }

    fn wire(
        &self,
        mut b: Builder<Event, EventKey>,
        busy: &mut Vec<(String, BusyTime)>,
        report: &mut Views,
        outputs: &mut Vec<PendingOutput>,
        stream: Option<&StreamIdentity>,
        positions_parts: Option<u16>,
    ) -> Result<Builder<Event, EventKey>, PipelineError> {
        let mut kinds = self.consumers.clone();
        kinds.sort();
        kinds.dedup();
        for kind in kinds {
            let sub = Subscription::new(kind.name());
            b = match kind {
                ConsumerKind::Positions => {
                    // Whole, or one part per market of the stream, each filtered by key.
                    let parts: Vec<(String, Option<MarketId>)> = match positions_parts {
                        None => vec![(kind.name().to_owned(), None)],
                        Some(markets) => (0..markets)
                            .map(MarketId)
                            .map(|m| (positions_split::positions_part_name(m), Some(m)))
                            .collect(),
                    };
                    let mut views = Vec::with_capacity(parts.len());
                    for (name, market) in parts {
                        let (h, view) = PositionsPlugin::new();
                        views.push(view);
                        let (h, t) = Timed::new(h);
                        busy.push((name.clone(), t));
                        b = b.handler(PositionsPlugin::subscription(name, market), h);
                    }
                    report.positions = Some(PositionsView::merged(views));
                    b
                }
                ConsumerKind::Stores => {
                    let (h, view) = MemoryStores::new();
                    report.stores = Some(view);
                    report.committed.push((kind, h.committed_height()));
                    let (h, t) = Timed::new(h);
                    busy.push((kind.name().into(), t));
                    b.handler(sub.topics(topic_sets::STORE_INPUTS), h)
                }
                ConsumerKind::Sqlite => {
                    let path = if self.fresh_db {
                        let file = AtomicFile::with_companions(&self.db, SQLITE_COMPANIONS)
                            .map_err(PipelineError::io("creating a file beside", &self.db))?;
                        let path = file.path().to_path_buf();
                        outputs.push((kind, file));
                        path
                    } else {
                        self.db.clone()
                    };
                    let h = SqliteWriter::open(&path, self.sqlite, stream)?;
                    report.sqlite_resumed_after = Some(h.resume_after());
                    report.committed.push((kind, h.committed_height()));
                    let (h, t) = Timed::new(h);
                    busy.push((kind.name().into(), t));
                    b.handler(sub.topics(topic_sets::STORE_INPUTS), h)
                }
                ConsumerKind::Log => {
                    let file = AtomicFile::new(&self.event_log)
                        .map_err(PipelineError::io("creating a file beside", &self.event_log))?;
                    let h = EventLogConsumer::create(file.path(), stream)?;
                    outputs.push((kind, file));
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
                    report.committed.push((kind, h.committed_height()));
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
    ///
    /// The output files (a fresh database, the event log) are written under temporary names
    /// beside their destinations and put in place only when the whole input was published
    /// (or a [`Pipeline::stop`] request ended it at a block boundary) and their consumer
    /// finished: an error, a failed consumer or a killed process leaves the previous files
    /// as they were. A resumed database (`fresh_db: false`) is written in place, a
    /// transaction per block.
    pub fn run(&self, input: Input) -> Result<RunReport, PipelineError> {
        self.run_serving(input, |_, _| Ok(()))
    }

    /// Runs like [`Pipeline::run`], with a service beside the running bus (the live
    /// server): `serve` is handed the bus and the node's view once the consumers are wired,
    /// before the first event; the service is stopped once the producer has closed the bus
    /// (its streams end), and must have let go of the bus by then; then the bus is joined.
    /// A service that cannot start ends the run before any event is published (the outputs
    /// stay as they were); one that fails to stop is reported after the outputs were put in
    /// place.
    pub fn run_serving<S: Service>(
        &self,
        input: Input,
        serve: impl FnOnce(Arc<EventBus>, NodeView) -> Result<S, PipelineError>,
    ) -> Result<RunReport, PipelineError> {
        self.check_files(&input)?;
        let source = Source::open(input)?;
        // Checked before any output is created.
        let positions_parts = self.positions_parts(source.identity())?;
        let mut busy = Vec::new();
        let mut views = Views::default();
        let mut outputs = Vec::new();
        let extra_parts = positions_parts.map_or(0, |n| usize::from(n).saturating_sub(1));
        let builder = RingBus::routed::<Event>()
            .capacity(self.capacity)
            .wait_strategy(self.wait_strategy)
            .max_consumers(self.max_consumers + extra_parts);
        let builder = self.wire(
            builder,
            &mut busy,
            &mut views,
            &mut outputs,
            source.identity(),
            positions_parts,
        )?;
        let (producer, bus) = builder.build()?;
        let bus = Arc::new(bus);
        let blocks = BlockHistory::default();
        let view = NodeView::new(
            &bus,
            blocks.clone(),
            std::mem::take(&mut views.committed),
            views.nats.clone(),
        );
        let service = match serve(Arc::clone(&bus), view) {
            Ok(service) => service,
            Err(e) => {
                // Nothing was published: the consumers see an empty stream and stop; their
                // temporary files are removed with `outputs`.
                drop(producer);
                if let Ok(bus) = Arc::try_unwrap(bus) {
                    let _ = bus.join();
                }
                return Err(e);
            }
        };
        let mut sink = Counting::new(producer);
        let start = Instant::now();
        let mut sim_stats = None;
        let published = match source {
            Source::Simulate(mut sim) => {
                let r = self.simulate(&mut sim, &mut sink, &blocks);
                sim_stats = Some(sim.stats());
                r
            }
            Source::Replay { name, reader, len } => {
                self.replay(&name, reader, len, positions_parts, &mut sink, &blocks)
            }
            Source::Events(events) => {
                for chunk in events.chunks(64) {
                    sink.publish(chunk)?;
                }
                Ok(false)
            }
        };
        let Counting {
            inner: producer,
            by_topic,
            batches,
        } = sink;
        let publish_elapsed = start.elapsed();
        drop(producer);
        let served = service.stop();
        let bus = Arc::try_unwrap(bus).map_err(|_| PipelineError::BusStillShared);
        let (metrics, failures) = match bus?.join() {
            Ok(m) => (m, Vec::new()),
            Err(e) => (*e.report, e.failures),
        };
        let elapsed = start.elapsed();
        let stopped = published?;
        // Every event was published and every consumer has stopped (its files closed): the
        // outputs are complete whatever became of the service.
        let (mut written, mut not_written) = (Vec::new(), Vec::new());
        for (kind, file) in outputs {
            if failures.iter().any(|f| f.name == kind.name()) {
                not_written.push(file.dest().to_path_buf());
            } else {
                let dest = file.dest().to_path_buf();
                file.commit()
                    .map_err(PipelineError::io("putting in place", &dest))?;
                written.push(dest);
            }
        }
        served?;
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
            written,
            not_written,
            stopped,
            last_block: blocks.latest(1).first().copied(),
        })
    }

    /// How many markets the positions plug-in is split over (`None`: it runs whole).
    fn positions_parts(
        &self,
        stream: Option<&StreamIdentity>,
    ) -> Result<Option<u16>, PositionsSplitError> {
        if !self.positions_per_market || !self.consumers.contains(&ConsumerKind::Positions) {
            return Ok(None);
        }
        positions_split::parts_of(stream).map(Some)
    }

    /// Runs the simulator's blocks at the pipeline's pace until its last block or a stop
    /// request; whether a stop request ended it.
    fn simulate(
        &self,
        sim: &mut Simulator,
        sink: &mut Counting<impl EventSink>,
        blocks: &BlockHistory,
    ) -> Result<bool, PipelineError> {
        let unbounded = sim.config().blocks == u64::MAX;
        let bar = self.bar(if unbounded { 0 } else { sim.config().blocks }, "blocks");
        let mut schedule = self.pace.map(|p| Schedule::new(p, Instant::now()));
        let r = (|| {
            while !sim.is_done() {
                if let Some(schedule) = &mut schedule {
                    if self.stop.wait_until(schedule.next_block(Instant::now())) {
                        return Ok(true);
                    }
                } else if self.stop.is_requested() {
                    return Ok(true);
                }
                let first = sim.events_emitted();
                let txs = sim.stats().transactions;
                sim.step(sink)?;
                blocks.push(PublishedBlock {
                    height: sim.height(),
                    first,
                    last: sim.events_emitted() - 1,
                    transactions: sim.stats().transactions - txs,
                });
                if sim.height().is_multiple_of(64) || schedule.is_some() {
                    bar.set_position(sim.height());
                }
            }
            Ok::<_, PipelineError>(false)
        })();
        bar.finish_and_clear();
        r
    }

    /// Publishes the events of the log `name` up to its end, its first damage (the events
    /// before the damage are published too, so the stores commit every whole block before
    /// it) or the first block end after a stop request; whether a stop request ended it.
    /// With the positions plug-in split over `markets`, an event of another market ends the
    /// replay like damage: the parts would miss it.
    fn replay(
        &self,
        name: &Path,
        mut reader: EventLogReader<BufReader<Box<dyn Read>>>,
        len: u64,
        markets: Option<u16>,
        sink: &mut impl EventSink,
        blocks: &BlockHistory,
    ) -> Result<bool, PipelineError> {
        let bar = self.bar(len, "bytes");
        let mut batch = Vec::with_capacity(256);
        let mut framing = BlockFraming::default();
        let result = (|| {
            let mut damage = None;
            let mut outside = None;
            let mut stopped = false;
            while let Some(event) = reader.next() {
                match event {
                    Ok(event) => {
                        if let (Some(markets), Some(market)) = (markets, event.market()) {
                            if market.0 >= markets {
                                outside = Some((market, event.sequence, markets));
                                break;
                            }
                        }
                        batch.push(event);
                        // A stop is honoured at a block's end only: the stores commit whole
                        // blocks, and the log written again ends with a complete block.
                        if framing.see(&event) && self.stop.is_requested() {
                            stopped = true;
                            break;
                        }
                    }
                    Err(e) => {
                        damage = Some(e);
                        break;
                    }
                }
                if batch.len() == 256 {
                    sink.publish(&batch)?;
                    framing.published(blocks);
                    batch.clear();
                    bar.set_position(reader.offset());
                }
            }
            if !batch.is_empty() {
                sink.publish(&batch)?;
                framing.published(blocks);
            }
            if let Some((market, sequence, markets)) = outside {
                return Err(PipelineError::MarketOutsideStream {
                    path: name.to_path_buf(),
                    market,
                    sequence,
                    markets,
                });
            }
            match damage {
                None => Ok(stopped),
                Some(source) => Err(PipelineError::Log {
                    path: name.to_path_buf(),
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

/// How standard input is named in messages.
const STDIN: &str = "standard input";

#[derive(Default)]
struct Views {
    positions: Option<PositionsView>,
    stores: Option<StoreView>,
    sqlite_resumed_after: Option<Option<u64>>,
    postgres_resumed_after: Option<Option<u64>>,
    nats: Option<ForwarderStatus>,
    /// Each block store's committed-height handle, for the node's view.
    committed: Vec<(ConsumerKind, CommittedHeight)>,
}

/// The blocks of a replayed log as its events go by, recorded once published.
#[derive(Debug, Default)]
struct BlockFraming {
    /// The block being read: its height, first sequence and transactions so far.
    open: Option<(u64, u64, u64)>,
    /// Blocks read whole, not yet published.
    ended: Vec<PublishedBlock>,
}

impl BlockFraming {
    /// Takes `event` into account; whether it ends a block.
    fn see(&mut self, event: &Event) -> bool {
        match event.topic() {
            EventTopic::BeginBlock => {
                self.open = Some((event.block_height, event.sequence, 0));
                false
            }
            EventTopic::TxResult => {
                if let Some((_, _, txs)) = &mut self.open {
                    *txs += 1;
                }
                false
            }
            EventTopic::EndBlock => {
                if let Some((height, first, transactions)) = self.open.take() {
                    self.ended.push(PublishedBlock {
                        height,
                        first,
                        last: event.sequence,
                        transactions,
                    });
                }
                true
            }
            _ => false,
        }
    }

    /// The blocks read so far were published.
    fn published(&mut self, blocks: &BlockHistory) {
        for block in self.ended.drain(..) {
            blocks.push(block);
        }
    }
}
