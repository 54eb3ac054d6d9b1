//! Typed errors of the remote consumers.

use crate::ServiceUrl;
use ringbus_consumers::{ForeignStream, FramingError, Refused, StoreError};
use std::path::PathBuf;
use std::time::Duration;

/// A boxed error from a client library (async-nats has one error type per operation).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

fn seq(s: &Option<u64>) -> String {
    s.map_or_else(|| "none".to_string(), |s| s.to_string())
}

/// A duration for people: `60.0 s`.
fn secs(d: &Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// `e` and its causes: the clients' TLS errors say only "TLS handshake" on top and name the
/// certificate problem below.
fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let s = cause.to_string();
        if !out.contains(&s) {
            out = format!("{out}: {s}");
        }
        next = cause.source();
    }
    out
}

/// What can go wrong in the PostgreSQL writer, the JetStream forwarder or the tail reader.
/// URLs in these messages are redacted ([`ServiceUrl`]).
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The PostgreSQL connection string does not parse.
    #[error("invalid PostgreSQL URL {url}: {source}")]
    PgUrl {
        /// The URL (redacted when shown).
        url: ServiceUrl,
        /// What the client said.
        #[source]
        source: postgres::Error,
    },
    /// The PostgreSQL connection string parses but names no host to connect to.
    #[error("the PostgreSQL URL {url} names no host")]
    PgNoHost {
        /// The URL (redacted when shown).
        url: ServiceUrl,
    },
    /// A NATS URL the client can never connect with: another scheme than nats, tls, ws or
    /// wss, a host that is not a host name or address, a bad port.
    #[error("invalid NATS URL {url}: {reason}")]
    NatsUrl {
        /// The URL (redacted when shown).
        url: ServiceUrl,
        /// What is wrong with it.
        reason: String,
    },
    /// TLS with PostgreSQL failed: the server's certificate did not verify against the
    /// roots, the handshake broke off, or `sslmode=require` met a server without TLS. Not
    /// retried: it would fail the same way.
    #[error(
        "TLS with PostgreSQL at {url} failed: {} (if the server's certificate is signed by a \
         CA of your own, give it with --postgres-ca / RINGBUS_POSTGRES_CA; sslmode=disable \
         connects in plain text)",
        with_causes(source)
    )]
    PgTls {
        /// The URL (redacted when shown).
        url: ServiceUrl,
        /// What the client said.
        #[source]
        source: postgres::Error,
    },
    /// A CA file (`--postgres-ca`, `--nats-ca`) cannot be read or holds no usable
    /// certificate.
    #[error("CA file {}: {reason}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS client could not be configured.
    #[error("setting up TLS: {0}")]
    TlsSetup(String),
    /// No connection to PostgreSQL could be made within the reconnect timeout.
    #[error(
        "cannot connect to PostgreSQL at {url} (gave up after {}): {source}",
        secs(waited)
    )]
    PgConnect {
        /// The URL (redacted when shown).
        url: ServiceUrl,
        /// How long it tried.
        waited: Duration,
        /// The last error.
        #[source]
        source: postgres::Error,
    },
    /// PostgreSQL refused a block on every attempt (a constraint, a full disk, ...), or the
    /// connection could not be restored in time. Nothing of the block was applied; everything
    /// up to `block.last_committed` was.
    #[error("PostgreSQL refused {block}: {source}")]
    PgRefused {
        /// The block, the attempts made and the last committed sequence.
        block: Refused,
        /// The last error.
        #[source]
        source: postgres::Error,
    },
    /// Another writer moved the cursor under this one: two writers on one database.
    #[error("the PostgreSQL cursor moved under this writer: expected {}, found {}; is another writer using this database?", seq(expected), seq(found))]
    CursorMoved {
        /// The cursor this writer last saw.
        expected: Option<u64>,
        /// The cursor in the database.
        found: Option<u64>,
    },
    /// After a server crash the cursor is behind blocks this writer had committed: commits
    /// made with `synchronous_commit = off` were lost. The database is consistent up to
    /// `cursor`; replay the event log to catch up (the writer resumes after the cursor).
    #[error("PostgreSQL lost committed blocks in a crash (asynchronous commit): its cursor is {}, this writer had committed through {}; replay the event log to resume", seq(cursor), seq(committed))]
    PgLostCommits {
        /// The cursor found after reconnecting.
        cursor: Option<u64>,
        /// What this writer had committed.
        committed: Option<u64>,
    },
    /// The database or the JetStream stream holds another stream than the events offered
    /// (or cannot tell): nothing of them was written.
    #[error(transparent)]
    ForeignStream(Box<ForeignStream>),
    /// The database's schema is newer than this build knows.
    #[error("the PostgreSQL schema is at version {found}, newer than this build's {known}")]
    SchemaTooNew {
        /// The database's version.
        found: i32,
        /// The newest version this build knows.
        known: i32,
    },
    /// A PostgreSQL statement failed outside a block commit (schema, reading back).
    #[error("PostgreSQL: {0}")]
    Pg(#[from] postgres::Error),
    /// A value read back does not fit the event model.
    #[error(transparent)]
    Corrupt(#[from] StoreError),
    /// The stream is not framed in blocks as the writer needs.
    #[error(transparent)]
    Framing(#[from] FramingError),
    /// No connection to NATS could be made within the reconnect timeout.
    #[error(
        "cannot connect to NATS at {url} (gave up after {}): {source}",
        secs(waited)
    )]
    NatsConnect {
        /// The URL (redacted when shown).
        url: ServiceUrl,
        /// How long it tried.
        waited: Duration,
        /// The last error.
        #[source]
        source: BoxError,
    },
    /// TLS with NATS failed: the server's certificate did not verify against the roots, or
    /// the handshake broke off. Not retried: it would fail the same way.
    #[error(
        "TLS with NATS at {url} failed: {} (if the server's certificate is signed by a CA \
         of your own, give it with --nats-ca / RINGBUS_NATS_CA)",
        with_causes(source.as_ref())
    )]
    NatsTls {
        /// The URL (redacted when shown).
        url: ServiceUrl,
        /// What the client said.
        #[source]
        source: BoxError,
    },
    /// A JetStream request (stream creation, stream info, message get) failed.
    #[error("JetStream {what}: {source}")]
    JetStream {
        /// What was asked.
        what: &'static str,
        /// What the client or server said.
        #[source]
        source: BoxError,
    },
    /// Publishing did not get acknowledged within the reconnect timeout.
    #[error("JetStream did not acknowledge sequences after {acked_through} within {} (last acknowledged: {acked_through}): {source}", secs(waited), acked_through = seq(acked_through))]
    NatsStalled {
        /// The last event sequence the stream acknowledged.
        acked_through: Option<u64>,
        /// How long it tried.
        waited: Duration,
        /// The last error.
        #[source]
        source: BoxError,
    },
    /// After a reconnect the stream ends before the oldest event the forwarder still holds:
    /// events between were lost by the server (replay them from the event log).
    #[error("the stream ends at event {stream_last} but the forwarder holds events from {held_from} on: events in between must be replayed from the event log", stream_last = seq(stream_last))]
    ResumeGap {
        /// The last event in the stream.
        stream_last: Option<u64>,
        /// The oldest event still held.
        held_from: u64,
    },
    /// A message in the stream is not an event this build can read.
    #[error("stream message {stream_sequence}: {reason}")]
    BadMessage {
        /// Its stream sequence.
        stream_sequence: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A batched message (`Batching::PerBlock`) whose headers or body are not what the
    /// forwarder writes: a truncated or corrupt body, or headers that do not match it.
    #[error("stream message {stream_sequence}: bad batch: {source}")]
    BadBatch {
        /// Its stream sequence.
        stream_sequence: u64,
        /// What is wrong with it.
        #[source]
        source: BatchError,
    },
    /// An event could not be encoded into a message body.
    #[error("encoding event {sequence}: {source}")]
    Encode {
        /// Its sequence.
        sequence: u64,
        /// What the encoder said.
        #[source]
        source: postcard::Error,
    },
    /// The consumer's own tokio runtime could not be built.
    #[error("starting the NATS runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// What is wrong with a batched message ([`RemoteError::BadBatch`]).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// A batch header is missing or does not parse, or the headers contradict each other.
    #[error("header {name}: {reason}")]
    Header {
        /// The header.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The body ends inside a record (its length prefix or its event).
    #[error("the body ends inside record {record} ({announced} announced)")]
    Truncated {
        /// The record, from 0.
        record: usize,
        /// The records the header announces.
        announced: u32,
    },
    /// A record does not decode as an event.
    #[error("record {record} does not decode: {reason}")]
    Undecodable {
        /// The record, from 0.
        record: usize,
        /// What the decoder said.
        reason: String,
    },
    /// The body holds another number of records than the header announces.
    #[error("the body holds {found} records, the header announces {announced}")]
    Count {
        /// The records in the body.
        found: usize,
        /// The records the header announces.
        announced: u32,
    },
    /// A record's event does not belong in this batch: another topic or block, a sequence
    /// outside the header's first..=last, or not after the record before it.
    #[error("record {record} (event {sequence}): {reason}")]
    Mismatch {
        /// The record, from 0.
        record: usize,
        /// Its event's sequence.
        sequence: u64,
        /// What does not match.
        reason: String,
    },
}

impl From<ForeignStream> for RemoteError {
    fn from(e: ForeignStream) -> Self {
        RemoteError::ForeignStream(Box::new(e))
    }
}
