//! The positions plug-in: per party and market, open volume, average entry price, realised
//! and unrealised P&L, published as a consistent snapshot at each `EndBlock`.

use crate::PositionState;
use ringbus_events::{topic_sets, Event, EventFilter, MarketId, PartyId, Payload, Position};
use ringbus_ring::{EventHandler, HandlerError, Subscription};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, PoisonError, RwLock};

type Key = (PartyId, MarketId);

/// The plug-in's state as of the last `EndBlock`: what readers see.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PositionsSnapshot {
    /// Height of the last block applied (0 before the first).
    pub block_height: u64,
    /// Sequence of that block's `EndBlock`.
    pub sequence: Option<u64>,
    /// Every position ever opened, by party and market.
    pub states: BTreeMap<(PartyId, MarketId), PositionState>,
    /// The last mark price of each market.
    pub marks: BTreeMap<MarketId, u64>,
    /// Parties currently distressed (reported and not yet closed out).
    pub distressed: BTreeSet<(PartyId, MarketId)>,
    /// How many `Distressed` reports and closeouts were seen.
    pub distress_reports: u64,
    /// How many closeouts were seen.
    pub closeouts: u64,
}

impl PositionsSnapshot {
    /// The mark price of `market` (0 before its first).
    pub fn mark(&self, market: MarketId) -> u64 {
        self.marks.get(&market).copied().unwrap_or(0)
    }

    /// Every position at its market's mark price, ordered by party then market.
    pub fn positions(&self) -> Vec<Position> {
        self.states
            .iter()
            .map(|((party, market), s)| s.to_position(*party, *market, self.mark(*market)))
            .collect()
    }

    /// One party's position in one market.
    pub fn position(&self, party: PartyId, market: MarketId) -> Option<Position> {
        self.states
            .get(&(party, market))
            .map(|s| s.to_position(party, market, self.mark(market)))
    }

    /// Total P&L (realised plus unrealised, all markets) of every party.
    pub fn pnl_by_party(&self) -> BTreeMap<PartyId, i64> {
        let mut out = BTreeMap::new();
        for ((party, market), s) in &self.states {
            let e: &mut i64 = out.entry(*party).or_default();
            *e = e.saturating_add(s.total_pnl(self.mark(*market)));
        }
        out
    }

    /// Takes in the snapshot of a plug-in of other markets (see [`PositionsView::merged`]):
    /// their positions, marks and distressed parties are disjoint from these, the counts
    /// add up, and the block is the one both have applied.
    fn absorb(&mut self, other: &PositionsSnapshot) {
        self.states.extend(&other.states);
        self.marks.extend(&other.marks);
        self.distressed.extend(&other.distressed);
        self.distress_reports += other.distress_reports;
        self.closeouts += other.closeouts;
        self.block_height = self.block_height.min(other.block_height);
        self.sequence = self.sequence.min(other.sequence);
    }

    /// The `n` parties with the largest total P&L, best first (ties by party id).
    pub fn top_parties(&self, n: usize) -> Vec<(PartyId, i64)> {
        let mut all: Vec<_> = self.pnl_by_party().into_iter().collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(n);
        all
    }
}

/// A reader's handle on the plug-in's snapshots (or on those of plug-ins of one market
/// each, [`PositionsView::merged`]). Cheap to clone.
#[derive(Clone, Debug)]
pub struct PositionsView(Arc<[Part]>);

/// The snapshot one plug-in publishes to.
type Part = Arc<RwLock<PositionsSnapshot>>;

impl Default for PositionsView {
    fn default() -> Self {
        PositionsView(Arc::new([Part::default()]))
    }
}

impl PositionsView {
    /// One view over the views of plug-ins subscribed to one market each
    /// ([`PositionsPlugin::subscription`] with `Some(market)`), for distinct markets that
    /// together cover every market of the stream: its snapshot is the one a single plug-in
    /// of every market would publish. While they run, each market is as of its own
    /// plug-in's last block, and `block_height` and `sequence` are those of the block every
    /// part has applied (the lowest).
    ///
    /// ```
    /// use ringbus_consumers::{PositionsPlugin, PositionsView};
    /// use ringbus_events::{BeginBlock, EndBlock, Event, MarketEvent, MarketId, PartyId, Trade};
    ///
    /// let trade = |market| Trade { market: MarketId(market), price: 10, size: 1, buyer: PartyId(1), seller: PartyId(2), ..Trade::default() };
    /// let stream = [
    ///     Event::new(BeginBlock::default()),
    ///     Event::new(trade(0)),
    ///     Event::new(trade(1)),
    ///     Event::new(EndBlock::default()),
    /// ];
    /// let (mut whole, view) = PositionsPlugin::new();
    /// let (mut m0, view_0) = PositionsPlugin::new();
    /// let (mut m1, view_1) = PositionsPlugin::new();
    /// for e in &stream {
    ///     whole.apply(e);
    ///     match e.market() {
    ///         Some(MarketId(0)) => m0.apply(e),
    ///         Some(_) => m1.apply(e),
    ///         None => {
    ///             m0.apply(e);
    ///             m1.apply(e);
    ///         }
    ///     }
    /// }
    /// assert_eq!(PositionsView::merged([view_0, view_1]).snapshot(), view.snapshot());
    /// ```
    pub fn merged(parts: impl IntoIterator<Item = PositionsView>) -> Self {
        // The parts' snapshots are shared, not copied: a view merged before the run sees
        // what the plug-ins publish.
        PositionsView(parts.into_iter().flat_map(|v| v.0.to_vec()).collect())
    }

    /// A copy of the latest snapshot.
    pub fn snapshot(&self) -> PositionsSnapshot {
        self.with(PositionsSnapshot::clone)
    }

    /// Reads the latest snapshot in place (a merged view's parts are merged first).
    pub fn with<R>(&self, f: impl FnOnce(&PositionsSnapshot) -> R) -> R {
        fn read(part: &Part) -> std::sync::RwLockReadGuard<'_, PositionsSnapshot> {
            part.read().unwrap_or_else(PoisonError::into_inner)
        }
        match &*self.0 {
            [one] => f(&read(one)),
            parts => {
                let mut merged: Option<PositionsSnapshot> = None;
                for part in parts {
                    let part = read(part);
                    match &mut merged {
                        None => merged = Some(part.clone()),
                        Some(m) => m.absorb(&part),
                    }
                }
                f(&merged.unwrap_or_default())
            }
        }
    }

    /// The one snapshot a plug-in publishes to.
    fn own(&self) -> &Part {
        &self.0[0]
    }
}

/// The positions plug-in: an [`EventHandler`] for
/// [`topic_sets::POSITIONS_INPUTS`](ringbus_events::topic_sets::POSITIONS_INPUTS).
///
/// Trades move positions (average-cost accounting, exact: see [`PositionState`]), mark
/// prices and settlements move the mark, closeouts close a position at their price, loss
/// socialisation reduces realised P&L, `Distressed` marks parties. At each `EndBlock` the
/// positions that changed and the marks are copied into the [`PositionsView`] under one
/// write lock, so a reader never sees half a block.
///
/// ```
/// use ringbus_consumers::PositionsPlugin;
/// use ringbus_events::{Event, EndBlock, BeginBlock, Trade, PartyId, MarketId};
/// use ringbus_ring::EventHandler;
/// let (mut plugin, view) = PositionsPlugin::new();
/// let mut e = |p: ringbus_events::Payload| plugin.on_event(&Event::new(p), 0, false).unwrap();
/// e(BeginBlock { height: 1, ..Default::default() }.into());
/// e(Trade { price: 100, size: 2, buyer: PartyId(1), seller: PartyId(2), ..Default::default() }.into());
/// assert!(view.snapshot().positions().is_empty(), "nothing visible mid-block");
/// e(EndBlock { height: 1, ..Default::default() }.into());
/// assert_eq!(view.snapshot().position(PartyId(1), MarketId(0)).unwrap().open_volume, 2);
/// ```
#[derive(Debug)]
pub struct PositionsPlugin {
    states: FxHashMap<Key, PositionState>,
    marks: FxHashMap<MarketId, u64>,
    distressed: FxHashSet<Key>,
    dirty: Vec<Key>,
    dirty_set: FxHashSet<Key>,
    distress_reports: u64,
    closeouts: u64,
    view: PositionsView,
}

impl PositionsPlugin {
    /// What a plug-in named `name` subscribes to: its inputs
    /// ([`topic_sets::POSITIONS_INPUTS`]) of every market, or of `market` only, by the
    /// events' keys on a bus built with `RingBus::routed::<Event>()`, plus the block framing
    /// it snapshots on. Every input but the framing belongs to one market, so plug-ins of one
    /// market each, together, hold what one plug-in of every market holds, each on its own
    /// thread.
    ///
    /// ```
    /// use ringbus_consumers::PositionsPlugin;
    /// use ringbus_events::{BeginBlock, EndBlock, Event, MarketId, PartyId, Trade};
    /// use ringbus_ring::RingBus;
    ///
    /// let (plugin, market_1) = PositionsPlugin::new();
    /// let (mut producer, bus) = RingBus::routed::<Event>()
    ///     .handler(PositionsPlugin::subscription("positions 1", Some(MarketId(1))), plugin)
    ///     .build()?;
    /// let trade = |market| Trade { market: MarketId(market), price: 10, size: 1, buyer: PartyId(1), seller: PartyId(2), ..Trade::default() };
    /// producer.publish_events([
    ///     Event::new(BeginBlock::default()),
    ///     Event::new(trade(0)),
    ///     Event::new(trade(1)),
    ///     Event::new(EndBlock::default()),
    /// ])?;
    /// drop(producer);
    /// bus.join()?;
    /// let snapshot = market_1.snapshot();
    /// assert_eq!(snapshot.states.len(), 2, "buyer and seller in market 1 only");
    /// assert!(snapshot.position(PartyId(1), MarketId(0)).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subscription(name: impl Into<String>, market: Option<MarketId>) -> Subscription {
        let sub = Subscription::new(name).topics(topic_sets::POSITIONS_INPUTS);
        match market {
            None => sub,
            Some(m) => sub
                .keys(EventFilter::new().market(m))
                .always(topic_sets::BLOCK_FRAMING),
        }
    }

    /// A plug-in and the view its snapshots are published to.
    pub fn new() -> (Self, PositionsView) {
        let view = PositionsView::default();
        let plugin = PositionsPlugin {
            states: FxHashMap::default(),
            marks: FxHashMap::default(),
            distressed: FxHashSet::default(),
            dirty: Vec::new(),
            dirty_set: FxHashSet::default(),
            distress_reports: 0,
            closeouts: 0,
            view: view.clone(),
        };
        (plugin, view)
    }

    #[inline]
    fn state(&mut self, key: Key) -> &mut PositionState {
        if self.dirty_set.insert(key) {
            self.dirty.push(key);
        }
        self.states.entry(key).or_default()
    }

    /// Applies one event to the working state.
    pub fn apply(&mut self, event: &Event) {
        match &event.payload {
            Payload::Trade(t) => {
                let size = i64::try_from(t.size).unwrap_or(i64::MAX);
                self.state((t.buyer, t.market)).fill(size, t.price);
                self.state((t.seller, t.market)).fill(-size, t.price);
            }
            Payload::MarkPrice(m) => {
                self.marks.insert(m.market, m.price);
            }
            Payload::SettlePosition(s) => {
                self.marks.insert(s.market, s.mark_price);
            }
            Payload::Distressed(d) => {
                for p in d.parties.as_slice() {
                    self.distressed.insert((*p, d.market));
                    self.distress_reports += 1;
                }
            }
            Payload::Closeout(c) => {
                self.state((c.party, c.market)).close_out(c.price);
                self.distressed.remove(&(c.party, c.market));
                self.closeouts += 1;
            }
            Payload::LossSocialisation(l) => {
                self.state((l.party, l.market)).adjust_realised(l.amount);
            }
            Payload::EndBlock(b) => self.publish(b.height, event.sequence),
            _ => {}
        }
    }

    /// Copies what changed into the view, under one write lock.
    fn publish(&mut self, height: u64, sequence: u64) {
        let mut snap = self
            .view
            .own()
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for key in self.dirty.drain(..) {
            if let Some(s) = self.states.get(&key) {
                snap.states.insert(key, *s);
            }
        }
        self.dirty_set.clear();
        for (m, p) in &self.marks {
            snap.marks.insert(*m, *p);
        }
        if snap.distressed.len() != self.distressed.len()
            || self.distressed.iter().any(|k| !snap.distressed.contains(k))
        {
            snap.distressed = self.distressed.iter().copied().collect();
        }
        snap.distress_reports = self.distress_reports;
        snap.closeouts = self.closeouts;
        snap.block_height = height;
        snap.sequence = Some(sequence);
    }
}

impl EventHandler<Event> for PositionsPlugin {
    #[inline]
    fn on_event(&mut self, event: &Event, _seq: u64, _eob: bool) -> Result<(), HandlerError> {
        self.apply(event);
        Ok(())
    }
}
