//! The arguments of `run`, `replay` and `tail`, and which remote consumers they ask for.

use super::error::InvocationError;
use super::files::{Files, NATS_CA, PG_CA};
use super::values;
use crate::{ConsumerKind, Pace, Pipeline};
use clap::Args;
use ringbus_events::{topic_sets, EventTopic};
use ringbus_remote::{
    Batching, ForwarderOptions, JetStreamForwarder, PgOptions, PgStore, RemoteError, ServiceUrl,
};
use ringbus_ring::WaitStrategy;
use ringbus_sim::SimConfig;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where the PostgreSQL URL comes from when `--consumers` names postgres.
pub(super) const POSTGRES_ENV: &str = "RINGBUS_POSTGRES_URL";
/// Where the NATS URL comes from when `--consumers` names nats (and for `tail`).
pub(super) const NATS_ENV: &str = "RINGBUS_NATS_URL";

#[derive(Debug, Clone, Args)]
pub(super) struct TailArgs {
    /// The NATS server, e.g. nats://host:4222 (or RINGBUS_NATS_URL).
    #[arg(long = "nats", env = NATS_ENV, hide_env_values = true, value_parser = values::url)]
    pub(super) nats: ServiceUrl,
    /// PEM CA file the NATS server's certificate must chain to; requires TLS (or
    /// RINGBUS_NATS_CA). A tls:// URL without it trusts the system's roots.
    #[arg(long = "nats-ca", env = "RINGBUS_NATS_CA", value_name = "FILE")]
    pub(super) nats_ca: Option<PathBuf>,
    /// Only this topic (e.g. Trade); default every topic.
    #[arg(long)]
    pub(super) topic: Option<EventTopic>,
    /// The stream.
    #[arg(long, default_value = "RINGBUS", value_parser = values::stream_name)]
    pub(super) stream: String,
    /// The subject prefix the forwarder used.
    #[arg(long, default_value = "ringbus", value_parser = values::subject_prefix)]
    pub(super) prefix: String,
    /// Only events stored from now on (default: from the stream's start).
    #[arg(long)]
    pub(super) new: bool,
    /// Stop after this many events.
    #[arg(long)]
    pub(super) limit: Option<u64>,
    /// Stop when nothing arrived for this many seconds (default: follow forever).
    #[arg(long, value_name = "SECONDS", value_parser = values::seconds)]
    pub(super) idle_exit: Option<Duration>,
}

/// The remote consumers of `run` and `replay`.
#[derive(Debug, Clone, Args)]
pub(super) struct RemoteArgs {
    /// Also write the stores into PostgreSQL, e.g. postgres://user:password@host:5432/db. It
    /// resumes after the database's cursor. RINGBUS_POSTGRES_URL is used only when
    /// --consumers names postgres.
    #[arg(long = "postgres", value_parser = values::url)]
    postgres: Option<ServiceUrl>,
    /// Also forward the events to NATS JetStream, e.g. nats://host:4222. It resumes after the
    /// stream's last event. RINGBUS_NATS_URL is used only when --consumers names nats.
    #[arg(long = "nats", value_parser = values::url)]
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
    #[arg(long, default_value = "RINGBUS", value_parser = values::stream_name)]
    nats_stream: String,
    /// Subjects are PREFIX.<Topic>.
    #[arg(long, default_value = "ringbus", value_parser = values::subject_prefix)]
    nats_prefix: String,
    /// Topics to forward, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    nats_topics: Vec<EventTopic>,
    /// JetStream messages: `event` (one per event) or `block` (one per block and topic, the
    /// block's last message marked; far fewer messages). `ringbus tail` reads both.
    #[arg(long, default_value = "event", value_parser = values::batching)]
    nats_batch: Batching,
    /// Drop the PostgreSQL tables and delete the JetStream stream first (a fresh run;
    /// without it both resume where they are).
    #[arg(long)]
    pub(super) reset_remote: bool,
}

/// The remote consumers an invocation asked for, with their checked URLs.
#[derive(Debug, Default)]
pub(super) struct Remotes {
    pub(super) postgres: Option<(ServiceUrl, PgOptions)>,
    pub(super) nats: Option<(ServiceUrl, ForwarderOptions)>,
    /// Environment variables holding a URL for a consumer not asked for (not used), with
    /// that consumer.
    pub(super) ignored_env: Vec<(&'static str, ConsumerKind)>,
}

impl RemoteArgs {
    /// Which remote consumers run: those whose URL is given on the command line (added to
    /// `consumers`) and those `consumers` names, with the URL from the command line or else
    /// the environment. An environment variable alone never adds a consumer. Every URL is
    /// checked with its client's parser.
    pub(super) fn resolve(
        &self,
        consumers: &mut Vec<ConsumerKind>,
    ) -> Result<Remotes, InvocationError> {
        let mut remotes = Remotes::default();
        if let Some(url) = url_for(
            ConsumerKind::Postgres,
            &self.postgres,
            POSTGRES_ENV,
            consumers,
            &mut remotes.ignored_env,
        )? {
            url.check_postgres().map_err(InvocationError::Url)?;
            let options = PgOptions {
                synchronous_commit: !self.postgres_async_commit,
                ca_file: self.postgres_ca.clone(),
                ..PgOptions::default()
            };
            remotes.postgres = Some((url, options));
        }
        if let Some(url) = url_for(
            ConsumerKind::Nats,
            &self.nats,
            NATS_ENV,
            consumers,
            &mut remotes.ignored_env,
        )? {
            url.check_nats().map_err(InvocationError::Url)?;
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
            remotes.nats = Some((url, options));
        }
        Ok(remotes)
    }
}

/// The URL of the remote consumer `kind`, if it runs (see [`RemoteArgs::resolve`]).
fn url_for(
    kind: ConsumerKind,
    flag: &Option<ServiceUrl>,
    env: &'static str,
    consumers: &mut Vec<ConsumerKind>,
    ignored_env: &mut Vec<(&'static str, ConsumerKind)>,
) -> Result<Option<ServiceUrl>, InvocationError> {
    let from_env = std::env::var(env)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| ServiceUrl::new(v.trim()));
    if let Some(url) = flag {
        if !consumers.contains(&kind) {
            consumers.push(kind);
        }
        return Ok(Some(url.clone()));
    }
    if consumers.contains(&kind) {
        return match from_env {
            Some(url) => Ok(Some(url)),
            None => Err(InvocationError::NoUrl {
                consumer: kind.name(),
                env,
            }),
        };
    }
    if from_env.is_some() {
        ignored_env.push((env, kind));
    }
    Ok(None)
}

impl Remotes {
    /// The CA files are inputs of the invocation.
    pub(super) fn inputs(&self, files: &mut Files) {
        if let Some(ca) = self.postgres.as_ref().and_then(|(_, o)| o.ca_file.as_ref()) {
            files.input(PG_CA, ca);
        }
        if let Some(ca) = self.nats.as_ref().and_then(|(_, o)| o.ca_file.as_ref()) {
            files.input(NATS_CA, ca);
        }
    }

    /// Says on stderr, whatever the verbosity, which servers are about to be connected to
    /// and for how long a connection is retried: an unreachable server is waited for.
    pub(super) fn announce(&self) {
        if let Some((url, o)) = &self.postgres {
            eprintln!(
                "connecting to PostgreSQL at {url} (retrying for up to {} s)",
                o.reconnect_timeout.as_secs()
            );
        }
        if let Some((url, o)) = &self.nats {
            eprintln!(
                "connecting to NATS at {url} (retrying for up to {} s)",
                o.reconnect_timeout.as_secs()
            );
        }
    }

    /// Drops the PostgreSQL tables and deletes the JetStream stream (`--reset-remote`).
    pub(super) fn reset(&self) -> Result<(), RemoteError> {
        if let Some((url, options)) = &self.postgres {
            PgStore::drop_tables(url, options)?;
        }
        if let Some((url, options)) = &self.nats {
            JetStreamForwarder::delete_stream(url, options)?;
        }
        Ok(())
    }

    /// Hands the remote consumers to the pipeline.
    pub(super) fn apply(self, p: &mut Pipeline) {
        p.postgres = self.postgres;
        p.nats = self.nats;
    }
}

#[derive(Debug, Clone, Args)]
pub(super) struct BusArgs {
    /// Ring capacity (slots, a power of two).
    #[arg(long, default_value_t = 4096, value_parser = values::capacity)]
    pub(super) capacity: usize,
    /// busy-spin, spin-yield, blocking or adaptive.
    #[arg(long, default_value_t = WaitStrategy::default(), value_parser = values::wait_strategy)]
    pub(super) wait_strategy: WaitStrategy,
    /// Consumers, comma-separated: positions, stores, sqlite, log, postgres, nats.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "positions,stores,sqlite,log"
    )]
    pub(super) consumers: Vec<ConsumerKind>,
    /// Run the positions plug-in as one consumer per market (positions-m0, positions-m1,
    /// ...), each on its own thread, subscribed to its market's events by key; the summary
    /// is the same as one plug-in's. The markets come from --markets (run) or the log's
    /// identity (replay); at most 64.
    #[arg(long)]
    pub(super) positions_per_market: bool,
    /// Write the summary as JSON here too (`-`: standard output), replaced when complete.
    #[arg(long, value_name = "FILE")]
    pub(super) summary_json: Option<PathBuf>,
}

/// The live server of `run` and `replay`.
#[derive(Debug, Clone, Args)]
pub(super) struct ServeArgs {
    /// Serve the running node at ADDR (e.g. 127.0.0.1:8080; port 0 picks a free one): the
    /// live page at /, event streams at /stream, /metrics (Prometheus), /status (JSON).
    /// The address bound is said on stderr.
    #[arg(long, value_name = "ADDR")]
    pub(super) serve: Option<SocketAddr>,
    /// Stream clients served at once (with --serve); one more is refused with 503.
    #[arg(long, default_value_t = 512, requires = "serve", value_parser = clap::value_parser!(u16).range(1..=4000))]
    pub(super) max_clients: u16,
}

#[derive(Debug, Clone, Args)]
pub(super) struct RunArgs {
    /// Blocks to simulate, the genesis block included; 0: until stopped (Ctrl-C, SIGTERM).
    #[arg(long, default_value_t = SimConfig::default().blocks)]
    pub(super) blocks: u64,
    /// Publish this many blocks per second (e.g. 1 like a real node, 0.5, 50); default: as
    /// fast as possible. The pace changes when blocks are published, never what they hold.
    #[arg(long, value_name = "BLOCKS_PER_SEC", value_parser = values::pace, conflicts_with = "bench")]
    pub(super) pace: Option<Pace>,
    /// Markets (at least 1).
    #[arg(long, default_value_t = SimConfig::default().markets, value_parser = clap::value_parser!(u16).range(1..))]
    pub(super) markets: u16,
    /// Parties (at least 2: a trade has two sides).
    #[arg(long, default_value_t = SimConfig::default().parties, value_parser = clap::value_parser!(u32).range(2..))]
    pub(super) parties: u32,
    /// Seed of the simulation (same seed: byte-identical event log).
    #[arg(long, default_value_t = SimConfig::default().seed)]
    pub(super) seed: u64,
    /// Directory for the database and the event log (created if missing).
    #[arg(long, default_value = "target/ringbus-run")]
    pub(super) out: PathBuf,
    /// The SQLite database (default OUT/ringbus.db), built anew and put in place when
    /// complete.
    #[arg(long)]
    pub(super) db: Option<PathBuf>,
    /// The event log to write (default OUT/events.rbl), put in place when complete.
    #[arg(long)]
    pub(super) event_log: Option<PathBuf>,
    /// Measure events/s of pre-generated events through the bus for several consumer layouts
    /// (files in a temporary directory under OUT, removed after; with --postgres / --nats:
    /// also into PostgreSQL and JetStream, reset before each).
    #[arg(long, conflicts_with_all = ["db", "event_log", "summary_json", "serve"])]
    pub(super) bench: bool,
    #[command(flatten)]
    pub(super) serve: ServeArgs,
    #[command(flatten)]
    pub(super) bus: BusArgs,
    #[command(flatten)]
    pub(super) remote: RemoteArgs,
}

#[derive(Debug, Clone, Args)]
pub(super) struct ReplayArgs {
    /// The event log to replay (`-`: standard input).
    pub(super) log: PathBuf,
    /// The SQLite database to resume: written in place after its cursor, a transaction per
    /// block (created if missing). Default: a fresh target/ringbus-replay/replay.db, put in
    /// place when complete.
    #[arg(long)]
    pub(super) db: Option<PathBuf>,
    /// Where to write the log again if the log consumer is on (default
    /// target/ringbus-replay/events.rbl), put in place when complete.
    #[arg(long)]
    pub(super) event_log: Option<PathBuf>,
    #[command(flatten)]
    pub(super) serve: ServeArgs,
    #[command(flatten)]
    pub(super) bus: BusArgs,
    #[command(flatten)]
    pub(super) remote: RemoteArgs,
}
