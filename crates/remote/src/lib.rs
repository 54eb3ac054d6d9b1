//! ringbus consumers that leave the process, into engines that already distribute well:
//!
//! * [`PostgresWriter`]: the stores (accounts, orders, trades, ledger movements, positions)
//!   in PostgreSQL, one transaction per block with the cursor in it: **exactly once**, across
//!   crashes and lost connections.
//! * [`JetStreamForwarder`]: every event (or a topic subset) into a NATS JetStream stream,
//!   one subject per topic (`ringbus.<Topic>`), the sequence as `Nats-Msg-Id`:
//!   **de-duplicated at least once**, in order.
//! * [`tail`]: a reader of that stream from another process or machine.
//!
//! Each is a consumer of the bus like any other: its own thread, its own cursor, behind
//! the ring; the producer never waits on a network round trip unless the ring fills.
//!
//! # Quick start
//!
//! Servers for a try (PostgreSQL 15 and nats-server with JetStream on loopback):
//! `scripts/services.sh start`, then `eval "$(scripts/services.sh env)"`; they run until
//! `scripts/services.sh stop`. The crate's tests do not use them: each test process starts
//! servers of its own on free ports and stops them when it ends (`ringbus-testkit`).
//!
//! ```no_run
//! use ringbus_events::{topic_sets, Event};
//! use ringbus_remote::{ForwarderOptions, JetStreamForwarder, PgOptions, PostgresWriter, ServiceUrl, PG_INPUTS};
//! use ringbus_ring::{RingBus, Subscription};
//!
//! let pg = ServiceUrl::new(std::env::var("RINGBUS_POSTGRES_URL")?);
//! let nats = ServiceUrl::new(std::env::var("RINGBUS_NATS_URL")?);
//! let writer = PostgresWriter::connect(pg, PgOptions::default(), None)?;
//! let (forwarder, status) = JetStreamForwarder::connect(nats, ForwarderOptions::default(), None)?;
//! let (mut producer, bus) = RingBus::builder::<Event>()
//!     .handler(Subscription::new("postgres").topics(PG_INPUTS), writer)
//!     .handler(Subscription::new("nats").topics(topic_sets::ALL_EVENTS), forwarder)
//!     .build()?;
//! // ... publish events ...
//! drop(producer);
//! bus.join()?;
//! println!("acknowledged through {:?}", status.snapshot().acked_through);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Guarantees
//!
//! PostgreSQL: a block is visible whole or not at all, and the cursor (the `EndBlock`'s
//! sequence) commits with it. After a crash, feed the event log again from its start: events
//! up to the cursor are skipped. After a lost connection the writer reconnects (for
//! [`PgOptions::reconnect_timeout`]) and reads the cursor again before retrying, so a commit
//! whose answer was lost is not applied twice.
//!
//! JetStream: every message carries `Nats-Msg-Id: <sequence>`, so the server drops a
//! re-sent message within its duplicate window, and `Nats-Expected-Last-Sequence`, so a
//! message can only land right after its predecessor: the stream holds the events in order,
//! once each. Acknowledgements are awaited in pipelined batches. After a lost connection
//! the forwarder reconnects, asks the stream for its last event and re-sends what follows.
//! At start it resumes after the stream's last event, like the PostgreSQL cursor.
//!
//! Batched ([`Batching::PerBlock`], opt-in): at a block's end, one message per topic with
//! the block's events of that topic (split past the payload limit), the block's last
//! message marked [`HEADER_BLOCK_END`], `Nats-Msg-Id: b<height>.<Topic>.<first>-<last>`.
//! The same guarantees, in far fewer messages; [`tail`] reads both kinds.
//!
//! Secrets: URLs are [`ServiceUrl`]s, whose `Debug` and `Display` hide the password.
//! See `docs/remote.md`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod error;
mod nats;
mod pg;
mod secret;
mod tls;

pub use error::{BatchError, BoxError, RemoteError};
pub use nats::{
    tail, Batching, ForwarderOptions, ForwarderStats, ForwarderStatus, JetStreamForwarder,
    MessageFormat, TailItem, TailOptions, HEADER_BATCH, HEADER_BLOCK, HEADER_BLOCK_END,
    HEADER_FIRST, HEADER_FORMAT, HEADER_LAST, HEADER_TOPIC,
};
pub use pg::{PgOptions, PgStats, PgStore, PostgresWriter, PG_INPUTS};
pub use secret::ServiceUrl;
