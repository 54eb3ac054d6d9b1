//! The in-memory stores: stage a block's events, apply them all at its `EndBlock`.

use crate::block::BlockStage;
use crate::{CommittedHeight, StoreTables};
use ringbus_events::{topic_sets, Event, EventFilter, PartyId};
use ringbus_ring::{EventHandler, HandlerError, Subscription};
use std::sync::{Arc, PoisonError, RwLock};

/// A reader's handle on the in-memory stores. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct StoreView(Arc<RwLock<StoreTables>>);

impl StoreView {
    /// A copy of the tables as of the last committed block.
    pub fn snapshot(&self) -> StoreTables {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reads the tables in place.
    pub fn with<R>(&self, f: impl FnOnce(&StoreTables) -> R) -> R {
        f(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The in-memory stores for accounts, orders, trades and ledger movements: an
/// [`EventHandler`] for [`topic_sets::STORE_INPUTS`](ringbus_events::topic_sets::STORE_INPUTS).
///
/// Events are staged until their block's `EndBlock`, then applied under one write lock:
/// a reader of the [`StoreView`] sees whole blocks only, and the block's height is then
/// published through [`MemoryStores::committed_height`].
///
/// ```
/// use ringbus_consumers::MemoryStores;
/// use ringbus_events::{Account, AccountId, AssetId, BeginBlock, EndBlock, Event, PartyId, Payload};
/// use ringbus_ring::EventHandler;
/// let (mut stores, view) = MemoryStores::new();
/// let id = AccountId::general(PartyId(1), AssetId(0));
/// let events: [Payload; 3] = [
///     BeginBlock { height: 1, ..Default::default() }.into(),
///     Account { id, balance: 5 }.into(),
///     EndBlock { height: 1, ..Default::default() }.into(),
/// ];
/// for (seq, p) in events.into_iter().enumerate() {
///     assert_eq!(view.snapshot().accounts.len(), 0, "nothing before EndBlock");
///     stores.on_event(&Event { sequence: seq as u64, ..Event::new(p) }, seq as u64, false)?;
/// }
/// assert_eq!(view.snapshot().accounts[&id], 5);
/// # Ok::<(), ringbus_ring::HandlerError>(())
/// ```
#[derive(Debug)]
pub struct MemoryStores {
    stage: BlockStage,
    view: StoreView,
    committed: CommittedHeight,
}

impl MemoryStores {
    /// What stores named `name` subscribe to: their inputs ([`topic_sets::STORE_INPUTS`]) of
    /// every party, or only those that touch `party` (its accounts, its orders, its trades
    /// either side, movements to or from its accounts), by the events' keys on a bus built
    /// with `RingBus::routed::<Event>()`, plus the block framing they commit on: the stores
    /// of one party, for a service that serves one party (a risk desk, an API session).
    ///
    /// ```
    /// use ringbus_consumers::MemoryStores;
    /// use ringbus_events::{BeginBlock, EndBlock, Event, PartyId, Trade};
    /// use ringbus_ring::RingBus;
    ///
    /// let (stores, party_2) = MemoryStores::new();
    /// let (mut producer, bus) = RingBus::routed::<Event>()
    ///     .handler(MemoryStores::subscription("party 2", Some(PartyId(2))), stores)
    ///     .build()?;
    /// let trade = |buyer, seller| Trade { buyer: PartyId(buyer), seller: PartyId(seller), ..Trade::default() };
    /// producer.publish_events([
    ///     Event::new(BeginBlock { height: 1, ..Default::default() }),
    ///     Event::new(trade(1, 3)),
    ///     Event::new(trade(2, 3)),
    ///     Event::new(EndBlock { height: 1, ..Default::default() }),
    /// ])?;
    /// drop(producer);
    /// bus.join()?;
    /// assert_eq!(party_2.snapshot().trades.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subscription(name: impl Into<String>, party: Option<PartyId>) -> Subscription {
        let sub = Subscription::new(name).topics(topic_sets::STORE_INPUTS);
        match party {
            None => sub,
            Some(p) => sub
                .keys(EventFilter::new().party(p))
                .always(topic_sets::BLOCK_FRAMING),
        }
    }

    /// Empty stores and their view.
    pub fn new() -> (Self, StoreView) {
        let view = StoreView::default();
        (
            MemoryStores {
                stage: BlockStage::default(),
                view: view.clone(),
                committed: CommittedHeight::default(),
            },
            view,
        )
    }

    /// A handle on the height of the last block applied, for readers on other threads.
    pub fn committed_height(&self) -> CommittedHeight {
        self.committed.clone()
    }
}

impl EventHandler<Event> for MemoryStores {
    #[inline]
    fn on_event(&mut self, event: &Event, _seq: u64, _eob: bool) -> Result<(), HandlerError> {
        if let Some(block) = self.stage.push(event)? {
            let mut tables = self.view.0.write().unwrap_or_else(PoisonError::into_inner);
            tables.apply_block(block.events());
            drop(tables);
            self.committed.set(block.height());
            self.stage.clear();
        }
        Ok(())
    }
}
