//! The identity of a simulated stream.

use crate::SimConfig;
use ringbus_events::{BlockHash, StreamIdentity};

/// The chain id of every simulated stream.
pub const CHAIN_ID: &str = "ringbus-sim";

/// The version of the simulator's model, part of every identity: bump it whenever the same
/// configuration starts to give another stream (a test pins a stream's checksum), so a store
/// built by an older simulator refuses the new one's events.
pub const MODEL_VERSION: u32 = 1;

impl SimConfig {
    /// The identity of the stream this configuration simulates (it draws the genesis
    /// block's hash from the seeded generator; no block runs).
    ///
    /// ```
    /// use ringbus_sim::SimConfig;
    /// let id = SimConfig::small(42, 10).identity();
    /// assert_eq!(id.chain_id(), "ringbus-sim");
    /// assert_eq!(id.seed(), 42);
    /// assert!(id.config().contains("blocks=10"));
    /// assert_ne!(id, SimConfig::small(43, 10).identity());
    /// assert_ne!(id, SimConfig::small(42, 11).identity());
    /// ```
    pub fn identity(&self) -> StreamIdentity {
        crate::Simulator::new(*self).identity().clone()
    }
}

/// The identity of the stream of `cfg`, whose genesis block has `genesis_hash`.
pub(crate) fn of(cfg: &SimConfig, genesis_hash: BlockHash) -> StreamIdentity {
    let SimConfig {
        seed,
        blocks,
        markets,
        parties,
        min_txs,
        max_txs,
        shock_every,
        mtm_every,
        insurance,
    } = *cfg;
    let config = format!(
        "model={MODEL_VERSION} blocks={blocks} markets={markets} parties={parties} \
         min_txs={min_txs} max_txs={max_txs} shock_every={shock_every} mtm_every={mtm_every} \
         insurance={insurance}"
    );
    StreamIdentity::new(CHAIN_ID, genesis_hash, seed, config)
        .expect("the chain id and the numbers of a configuration make a valid identity")
}

/// The number of markets of a simulated stream, from its identity (`None`: not a stream of
/// this simulator, or one whose identity does not say).
///
/// ```
/// use ringbus_sim::{markets_of, SimConfig};
/// let cfg = SimConfig { markets: 3, ..SimConfig::small(1, 5) };
/// assert_eq!(markets_of(&cfg.identity()), Some(3));
/// ```
pub fn markets_of(identity: &StreamIdentity) -> Option<u16> {
    if identity.chain_id() != CHAIN_ID {
        return None;
    }
    identity
        .config()
        .split(' ')
        .find_map(|word| word.strip_prefix("markets=")?.parse().ok())
}
