//! What every endpoint shares: the bus, the node's status and the configuration.

use crate::server::LiveConfig;
use crate::status::NodeStatus;
use crate::EventBus;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use tokio::sync::watch;

/// The state the endpoints share (cheap to clone: every field is shared).
#[derive(Clone)]
pub(crate) struct LiveState {
    /// The running bus: clients join it as lossy taps.
    pub(crate) bus: Arc<EventBus>,
    /// The node's figures beside the bus's own.
    pub(crate) node: Arc<dyn NodeStatus>,
    /// How the server was configured (client limit, known markets and parties).
    pub(crate) config: Arc<LiveConfig>,
    /// Stream clients connected now (checked against `config.max_clients`).
    pub(crate) clients: Arc<AtomicUsize>,
    /// WebSocket sessions running now, their goodbye included: upgraded connections are not
    /// the HTTP server's to wait for, so the server waits for these before it stops.
    pub(crate) sessions: Arc<AtomicUsize>,
    /// Becomes `true` when the server shuts down: every open stream closes.
    pub(crate) closing: watch::Receiver<bool>,
    /// Events per second and recent detaches, sampled each second (`/status`).
    pub(crate) sampler: Arc<crate::status::Sampler>,
}

impl std::fmt::Debug for LiveState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveState")
            .field("config", &self.config)
            .field("clients", &self.clients)
            .finish_non_exhaustive()
    }
}
