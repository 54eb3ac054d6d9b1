//! The simulation's parameters.

use serde::Serialize;

/// What to simulate. Every field feeds the seeded generator: the same config gives the same
/// stream, byte for byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SimConfig {
    /// Seed of the ChaCha8 generator.
    pub seed: u64,
    /// Blocks to run (the genesis block included).
    pub blocks: u64,
    /// Markets (all in one asset).
    pub markets: u16,
    /// Trading parties.
    pub parties: u32,
    /// Fewest transactions in a block.
    pub min_txs: u32,
    /// Most transactions in a block.
    pub max_txs: u32,
    /// One block in this many has a price shock (an oracle jump of 6–16 %); 0 for none.
    pub shock_every: u32,
    /// Mark-to-market every this many blocks (and at every shock and the last block).
    pub mtm_every: u32,
    /// Insurance pool of each market at genesis.
    pub insurance: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 42,
            blocks: 3_000,
            markets: 4,
            parties: 200,
            min_txs: 10,
            max_txs: 70,
            shock_every: 40,
            mtm_every: 20,
            insurance: 50_000,
        }
    }
}

impl SimConfig {
    /// The default config with `blocks`, `markets`, `parties` and `seed` set (tests).
    pub fn small(seed: u64, blocks: u64) -> Self {
        SimConfig {
            seed,
            blocks,
            markets: 2,
            parties: 24,
            shock_every: 10,
            mtm_every: 5,
            insurance: 10_000,
            ..SimConfig::default()
        }
    }
}
