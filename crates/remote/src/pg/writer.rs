//! The PostgreSQL store writer: the consumers' block writer over a [`PgStore`].

use super::{PgOptions, PgStore};
use crate::{RemoteError, ServiceUrl};
use ringbus_consumers::BlockWriter;
use ringbus_events::{topic_sets, Event, EventTopic, StreamIdentity};
use ringbus_ring::{EventHandler, HandlerError, TopicSet};
use std::ops::{Deref, DerefMut};

/// What the PostgreSQL writer reads: the stores' inputs (with the block framing) and
/// positions.
///
/// ```
/// use ringbus_events::EventTopic;
/// assert!(ringbus_remote::PG_INPUTS.contains(EventTopic::Position.ring_topic()));
/// assert!(ringbus_remote::PG_INPUTS.contains(EventTopic::EndBlock.ring_topic()));
/// ```
pub const PG_INPUTS: TopicSet =
    topic_sets::STORE_INPUTS.union(topic_sets::of(&[EventTopic::Position]));

/// An [`EventHandler`] for [`PG_INPUTS`] that writes into a [`PgStore`]: a
/// [`BlockWriter`] (it dereferences to one: `write`, `resume_after`, `skipped`, `store`,
/// `open_block`), one transaction per block with the cursor in it.
///
/// Fed the event log again from its start after a crash, it resumes exactly where the last
/// commit stopped. A lost connection (a restarted server) is re-established and the cursor
/// read again before the block is retried: no block lost, none applied twice. A block
/// PostgreSQL refuses fails the consumer with [`RemoteError::PgRefused`], which names the
/// last committed sequence. A database that holds another stream is refused with
/// [`RemoteError::ForeignStream`], before anything is written.
///
/// ```no_run
/// use ringbus_events::Event;
/// use ringbus_remote::{PgOptions, PostgresWriter, ServiceUrl, PG_INPUTS};
/// use ringbus_ring::{RingBus, Subscription};
/// let url = ServiceUrl::new(std::env::var("RINGBUS_POSTGRES_URL")?);
/// let writer = PostgresWriter::connect(url, PgOptions::default(), None)?;
/// let (producer, bus) = RingBus::builder::<Event>()
///     .handler(Subscription::new("postgres").topics(PG_INPUTS), writer)
///     .build()?;
/// drop(producer);
/// bus.join()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct PostgresWriter(BlockWriter<PgStore>);

impl PostgresWriter {
    /// A writer of the events of `stream` (`None`: unknown) into `store`, resuming after
    /// its cursor; [`RemoteError::ForeignStream`] if the store holds another stream.
    pub fn new(store: PgStore, stream: Option<&StreamIdentity>) -> Result<Self, RemoteError> {
        BlockWriter::new(store, stream).map(PostgresWriter)
    }

    /// Connects to `url` and makes a writer of the events of `stream` (`None`: unknown).
    pub fn connect(
        url: ServiceUrl,
        options: PgOptions,
        stream: Option<&StreamIdentity>,
    ) -> Result<Self, RemoteError> {
        Self::new(PgStore::connect(url, options)?, stream)
    }
}

// A wrapper rather than a type alias only so that `connect` can be an inherent method.
impl Deref for PostgresWriter {
    type Target = BlockWriter<PgStore>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for PostgresWriter {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl EventHandler<Event> for PostgresWriter {
    fn on_event(&mut self, event: &Event, seq: u64, eob: bool) -> Result<(), HandlerError> {
        self.0.on_event(event, seq, eob)
    }
}
