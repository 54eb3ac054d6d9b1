//! The PostgreSQL store writer: a cursor-owning consumer that commits once per block.

use super::{PgOptions, PgStore};
use crate::stage::BlockStage;
use crate::{RemoteError, ServiceUrl};
use ringbus_events::{topic_sets, Event, EventTopic};
use ringbus_ring::{EventHandler, HandlerError, TopicSet};

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

/// An [`EventHandler`] for [`PG_INPUTS`] that writes into a [`PgStore`].
///
/// It stages each block and commits it at its `EndBlock` in one transaction that also moves
/// the cursor. Events at or before the cursor are skipped, so feeding the event log again
/// from its start after a crash resumes exactly where the last commit stopped. A lost
/// connection (a restarted server) is re-established and the cursor read again before the
/// block is retried: no block lost, none applied twice. A block PostgreSQL refuses fails the
/// consumer with [`RemoteError::PgRefused`], which names the last committed sequence.
///
/// ```no_run
/// use ringbus_events::Event;
/// use ringbus_remote::{PgOptions, PostgresWriter, ServiceUrl, PG_INPUTS};
/// use ringbus_ring::{RingBus, Subscription};
/// let url = ServiceUrl::new(std::env::var("RINGBUS_POSTGRES_URL")?);
/// let writer = PostgresWriter::connect(url, PgOptions::default())?;
/// let (producer, bus) = RingBus::builder::<Event>()
///     .handler(Subscription::new("postgres").topics(PG_INPUTS), writer)
///     .build()?;
/// drop(producer);
/// bus.join()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct PostgresWriter {
    store: PgStore,
    stage: BlockStage,
    resume_after: Option<u64>,
    skipped: u64,
}

impl PostgresWriter {
    /// A writer into `store`, resuming after its cursor.
    pub fn new(store: PgStore) -> Self {
        PostgresWriter {
            resume_after: store.last_committed(),
            store,
            stage: BlockStage::default(),
            skipped: 0,
        }
    }

    /// Connects to `url` and makes a writer.
    pub fn connect(url: ServiceUrl, options: PgOptions) -> Result<Self, RemoteError> {
        PgStore::connect(url, options).map(Self::new)
    }

    /// The sequence this writer resumes after (`None`: from the start).
    pub fn resume_after(&self) -> Option<u64> {
        self.resume_after
    }

    /// Events skipped because they were already committed.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The store.
    pub fn store(&self) -> &PgStore {
        &self.store
    }

    /// The store, mutably (to read it back).
    pub fn store_mut(&mut self) -> &mut PgStore {
        &mut self.store
    }

    /// The block currently staged, if any.
    pub fn open_block(&self) -> Option<u64> {
        self.stage.height()
    }

    /// Stages one event; commits when it closes a block.
    pub fn write(&mut self, event: &Event) -> Result<(), RemoteError> {
        if matches!(self.resume_after, Some(last) if event.sequence <= last) {
            self.skipped += 1;
            return Ok(());
        }
        if self.stage.push(event)? {
            let result = self.store.commit_block(self.stage.events());
            self.stage.clear();
            result?;
        }
        Ok(())
    }
}

impl EventHandler<Event> for PostgresWriter {
    fn on_event(&mut self, event: &Event, _seq: u64, _eob: bool) -> Result<(), HandlerError> {
        self.write(event).map_err(Into::into)
    }
}
