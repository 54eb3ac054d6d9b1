//! What a running pipeline shows besides the bus's own metrics: the latest blocks, how far
//! each store has committed (as the stores report it), each forwarder's backlog.

use crate::blocks::{BlockHistory, PublishedBlock};
use crate::pipeline::EventBus;
use crate::ConsumerKind;
use ringbus_consumers::CommittedHeight;
use ringbus_live::{BlockLine, ForwarderLine, NodeSnapshot, NodeStatus, StoreLine};
use ringbus_remote::ForwarderStatus;
use ringbus_ring::Metrics;
use std::sync::{Arc, Weak};

/// A running pipeline seen from beside it (the live server's `/status` and `/metrics`).
/// Cheap to clone; it holds the bus weakly, so it never keeps the bus from being joined.
#[derive(Clone, Debug)]
pub struct NodeView {
    bus: Weak<EventBus>,
    blocks: BlockHistory,
    /// The consumers that commit whole blocks, each with the height it reports committed,
    /// in the order of [`ConsumerKind`].
    stores: Vec<(ConsumerKind, CommittedHeight)>,
    /// The JetStream forwarder's counters, if it runs.
    forwarder: Option<ForwarderStatus>,
}

/// A store's committed height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreHeight {
    /// The consumer's name.
    pub name: &'static str,
    /// The height of the last block it committed, as the store reports it once the commit
    /// succeeded (`None`: none yet).
    pub committed_height: Option<u64>,
}

/// A forwarder's backlog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwarderBacklog {
    /// The consumer's name.
    pub name: &'static str,
    /// Sequences it has read from the bus whose storage the server has not yet
    /// acknowledged.
    pub backlog: u64,
    /// Its error, if it failed.
    pub error: Option<String>,
}

/// How many of the latest blocks the live server shows.
const SHOWN_BLOCKS: usize = 10;

/// The node's figures for the live server's `/status` and `/metrics`.
impl NodeStatus for NodeView {
    fn snapshot(&self) -> NodeSnapshot {
        let mut s = NodeSnapshot::default();
        s.blocks = self
            .latest_blocks(SHOWN_BLOCKS)
            .into_iter()
            .map(|b| BlockLine::new(b.height, b.first, b.last, b.transactions))
            .collect();
        s.stores = self
            .store_heights()
            .into_iter()
            .map(|h| StoreLine::new(h.name, h.committed_height))
            .collect();
        if let Some(metrics) = self.bus_metrics() {
            s.forwarders = self
                .forwarder_backlogs(&metrics)
                .into_iter()
                .map(|f| ForwarderLine::new(f.name, f.backlog, f.error))
                .collect();
        }
        s
    }
}

impl NodeView {
    /// A view of `bus`, its `blocks`, the block `stores` with their committed-height handles
    /// and the `forwarder`'s counters.
    pub(crate) fn new(
        bus: &Arc<EventBus>,
        blocks: BlockHistory,
        mut stores: Vec<(ConsumerKind, CommittedHeight)>,
        forwarder: Option<ForwarderStatus>,
    ) -> Self {
        stores.sort_by_key(|(kind, _)| *kind);
        NodeView {
            bus: Arc::downgrade(bus),
            blocks,
            stores,
            forwarder,
        }
    }

    /// The latest `n` blocks published, newest first.
    pub fn latest_blocks(&self, n: usize) -> Vec<PublishedBlock> {
        self.blocks.latest(n)
    }

    /// A snapshot of the bus's metrics (`None` once the bus is gone).
    pub fn bus_metrics(&self) -> Option<Metrics> {
        self.bus.upgrade().map(|bus| bus.metrics())
    }

    /// Each store's committed height, as its writer published it after its last successful
    /// commit (a store that resumed starts at the height it held).
    pub fn store_heights(&self) -> Vec<StoreHeight> {
        self.stores
            .iter()
            .map(|(kind, committed)| StoreHeight {
                name: kind.name(),
                committed_height: committed.get(),
            })
            .collect()
    }

    /// Each forwarder's backlog, from the bus's `metrics`: what it has read from the bus
    /// minus what the server has acknowledged.
    pub fn forwarder_backlogs(&self, metrics: &Metrics) -> Vec<ForwarderBacklog> {
        let Some(status) = &self.forwarder else {
            return Vec::new();
        };
        let name = ConsumerKind::Nats.name();
        let read = metrics.consumer(name).map_or(0, |c| c.sequence);
        let stats = status.snapshot();
        // The next sequence the stream still has to store.
        let stored_until = stats
            .acked_through
            .or(stats.resumed_after)
            .map_or(0, |s| s + 1);
        vec![ForwarderBacklog {
            name,
            backlog: read.saturating_sub(stored_until),
            error: stats.error,
        }]
    }
}
