//! The simulator: block loop, event emission and collateral (every money move is a
//! `LedgerMovement` plus the `Account`s it changed).

use crate::sink::{EventSink, SinkError};
use crate::state::{margin_levels, Market};
use crate::SimConfig;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use ringbus_events::{
    Account, AccountId, AccountOwner, AccountType, AssetId, BeginBlock, BlockHash, BlockTime,
    EndBlock, Event, InsurancePool, LedgerMovement, MarginLevels, MarketId, PartyId, Payload,
    Source, StreamIdentity, TimeUpdate, TransferType, Trigger,
};

/// The one asset every market settles in.
pub const ASSET: AssetId = AssetId(0);
/// Chain time of the genesis block: 2024-01-01T00:00:00Z, in seconds.
pub const GENESIS_SECS: i64 = 1_704_067_200;

/// The draws that open a block, in order: its time step (1 s ± 100 ms, in ns) and its hash.
fn open_block_draws(rng: &mut ChaCha8Rng) -> (i64, BlockHash) {
    let step = 1_000_000_000 + rng.random_range(-100_000_000..=100_000_000);
    (step, BlockHash(rng.random()))
}

/// An account of the simulated core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Acct {
    General(usize),
    Margin(usize, usize),
    Insurance(usize),
    Settlement(usize),
    Fees,
    /// Outside the chain: where deposits come from (not an account of the core).
    External,
}

/// The deterministic simulated trading core. Drive it with [`Simulator::step`] (one block)
/// or [`Simulator::run`]; it publishes into any [`EventSink`].
///
/// ```
/// use ringbus_sim::{SimConfig, Simulator};
/// let mut sim = Simulator::new(SimConfig::small(7, 5));
/// let mut events = Vec::new();
/// sim.run(&mut events)?;
/// assert_eq!(events[0].sequence, 0);
/// assert!(sim.is_done());
/// # Ok::<(), ringbus_sim::SinkError>(())
/// ```
#[derive(Debug)]
pub struct Simulator {
    pub(crate) cfg: SimConfig,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) height: u64,
    pub(crate) time: i64,
    pub(crate) next_seq: u64,
    pub(crate) next_order: u64,
    pub(crate) next_trade: u64,
    pub(crate) markets: Vec<Market>,
    pub(crate) general: Vec<u64>,
    pub(crate) fees: u64,
    // The envelope of the events being emitted.
    tx_index: Option<u32>,
    pub(crate) trigger: Trigger,
    batch: Vec<Event>,
    pub(crate) stats: SimStats,
    identity: StreamIdentity,
}

/// Counters of what the simulation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SimStats {
    /// Transactions executed.
    pub transactions: u64,
    /// Transactions that failed (rejected orders, unknown orders).
    pub failed: u64,
    /// Trades.
    pub trades: u64,
    /// Mark-to-market cascades.
    pub cascades: u64,
    /// Parties reported distressed.
    pub distressed: u64,
    /// Positions closed out.
    pub closeouts: u64,
    /// Loss socialisation events.
    pub socialised: u64,
    /// Price shocks.
    pub shocks: u64,
}

impl Simulator {
    /// A simulator at height 0; the first block it runs is the genesis block (deposits).
    pub fn new(cfg: SimConfig) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let parties = cfg.parties as usize;
        let markets = (0..cfg.markets)
            .map(|m| {
                Market::new(
                    parties,
                    10_000 + 1_000 * u64::from(m) + rng.random_range(0..500),
                )
            })
            .collect();
        // The genesis block's hash: what the first step will draw, drawn ahead on a copy of
        // the generator at the same position.
        let mut ahead = ChaCha8Rng::from_seed(rng.get_seed());
        ahead.set_word_pos(rng.get_word_pos());
        let genesis_hash = open_block_draws(&mut ahead).1;
        let identity = crate::identity::of(&cfg, genesis_hash);
        Simulator {
            cfg,
            rng,
            height: 0,
            time: GENESIS_SECS * 1_000_000_000,
            next_seq: 0,
            next_order: 1,
            next_trade: 1,
            markets,
            general: vec![0; parties],
            fees: 0,
            tx_index: None,
            trigger: Trigger::Block(0),
            batch: Vec::with_capacity(1024),
            stats: SimStats::default(),
            identity,
        }
    }

    /// The identity of the stream this simulator emits: chain [`CHAIN_ID`](crate::CHAIN_ID),
    /// the genesis block's hash, the seed and the rest of the configuration. Known before
    /// the first block runs, so it can head the event log.
    ///
    /// ```
    /// use ringbus_events::Payload;
    /// use ringbus_sim::{SimConfig, Simulator};
    /// let mut sim = Simulator::new(SimConfig::small(7, 2));
    /// let identity = sim.identity().clone();
    /// let mut events = Vec::new();
    /// sim.run(&mut events)?;
    /// let Payload::BeginBlock(genesis) = events[0].payload else { unreachable!() };
    /// assert_eq!(identity.genesis_hash(), genesis.hash);
    /// assert_eq!(identity.seed(), 7);
    /// # Ok::<(), ringbus_sim::SinkError>(())
    /// ```
    pub fn identity(&self) -> &StreamIdentity {
        &self.identity
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// Height of the last block run.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// Whether every configured block has run.
    pub fn is_done(&self) -> bool {
        self.height >= self.cfg.blocks
    }

    /// Events emitted so far (= the next event's sequence).
    pub fn events_emitted(&self) -> u64 {
        self.next_seq
    }

    /// Counters.
    pub fn stats(&self) -> SimStats {
        self.stats
    }

    /// All the money in the core: every general, margin, insurance, settlement and fees
    /// account. Constant from the end of the genesis block on.
    pub fn total_money(&self) -> u128 {
        let g: u128 = self.general.iter().map(|b| u128::from(*b)).sum();
        let m: u128 = self
            .markets
            .iter()
            .map(|mk| {
                mk.margin.iter().map(|b| u128::from(*b)).sum::<u128>()
                    + u128::from(mk.insurance)
                    + u128::from(mk.settlement)
            })
            .sum();
        g + m + u128::from(self.fees)
    }

    /// Runs every remaining block.
    pub fn run(&mut self, sink: &mut impl EventSink) -> Result<(), SinkError> {
        while !self.is_done() {
            self.step(sink)?;
        }
        Ok(())
    }

    /// Runs one block: `BeginBlock`, `TimeUpdate`, its transactions (each published as one
    /// batch ending with its `TxResult`), expiries, each market's mark-to-market cascade
    /// (one batch each), `EndBlock`.
    pub fn step(&mut self, sink: &mut impl EventSink) -> Result<(), SinkError> {
        self.height += 1;
        let (step, hash) = open_block_draws(&mut self.rng);
        self.time += step;
        let time = BlockTime(self.time);
        self.in_block();
        self.emit(
            Source::Time,
            BeginBlock {
                height: self.height,
                time,
                hash,
            },
        );
        self.emit(Source::Time, TimeUpdate { time });
        self.flush(sink)?;

        let tx_count = if self.height == 1 {
            self.genesis(sink)?
        } else {
            let n = self
                .rng
                .random_range(self.cfg.min_txs..=self.cfg.max_txs.max(self.cfg.min_txs));
            for i in 0..n {
                self.tx_index = Some(i);
                self.trigger = Trigger::Transaction(ringbus_events::TxHash(self.rng.random()));
                self.random_tx();
                self.flush(sink)?;
            }
            n
        };

        self.in_block();
        self.expire_orders();
        self.flush(sink)?;
        self.move_prices();
        for m in 0..self.markets.len() {
            self.in_block();
            self.mark_to_market(m);
            self.flush(sink)?;
        }
        self.in_block();
        self.emit(
            Source::Time,
            EndBlock {
                height: self.height,
                time,
                hash,
                tx_count,
            },
        );
        self.flush(sink)
    }

    fn in_block(&mut self) {
        self.tx_index = None;
        self.trigger = Trigger::Block(self.height);
    }

    /// Appends an event to the current batch; returns its sequence.
    pub(crate) fn emit(&mut self, source: Source, payload: impl Into<Payload>) -> u64 {
        let sequence = self.next_seq;
        self.next_seq += 1;
        self.batch.push(Event {
            sequence,
            block_height: self.height,
            block_time: BlockTime(self.time),
            tx_index: self.tx_index,
            trigger: self.trigger,
            source,
            payload: payload.into(),
        });
        sequence
    }

    fn flush(&mut self, sink: &mut impl EventSink) -> Result<(), SinkError> {
        if !self.batch.is_empty() {
            sink.publish(&self.batch)?;
            self.batch.clear();
        }
        Ok(())
    }

    /// Genesis: one deposit transaction per party, one funding each insurance pool.
    fn genesis(&mut self, sink: &mut impl EventSink) -> Result<u32, SinkError> {
        const DEPOSITS: [u64; 6] = [40_000, 80_000, 150_000, 300_000, 1_000_000, 5_000_000];
        let mut tx = 0u32;
        for p in 0..self.general.len() {
            let amount = DEPOSITS[self.rng.random_range(0..DEPOSITS.len())];
            self.begin_tx(tx);
            self.transfer(
                Acct::External,
                Acct::General(p),
                amount,
                TransferType::Deposit,
            );
            self.tx_result(ringbus_events::TxKind::Deposit, None);
            self.flush(sink)?;
            tx += 1;
        }
        for m in 0..self.markets.len() {
            self.begin_tx(tx);
            self.transfer(
                Acct::External,
                Acct::Insurance(m),
                self.cfg.insurance,
                TransferType::Deposit,
            );
            self.tx_result(ringbus_events::TxKind::Deposit, None);
            self.flush(sink)?;
            tx += 1;
        }
        self.in_block();
        self.emit_account(Acct::Fees);
        Ok(tx)
    }

    fn begin_tx(&mut self, i: u32) {
        self.tx_index = Some(i);
        self.trigger = Trigger::Transaction(ringbus_events::TxHash(self.rng.random()));
    }

    pub(crate) fn tx_result(
        &mut self,
        kind: ringbus_events::TxKind,
        error: Option<ringbus_events::ErrorCode>,
    ) {
        let (Some(tx_index), Trigger::Transaction(tx_hash)) = (self.tx_index, self.trigger) else {
            return;
        };
        self.stats.transactions += 1;
        let outcome = match error {
            None => ringbus_events::TxOutcome::Success,
            Some(code) => {
                self.stats.failed += 1;
                ringbus_events::TxOutcome::Failed(code)
            }
        };
        self.emit(
            Source::Execution,
            ringbus_events::TxResult {
                tx_index,
                tx_hash,
                kind,
                outcome,
            },
        );
    }

    pub(crate) fn account_id(&self, a: Acct) -> AccountId {
        match a {
            Acct::General(p) => AccountId::general(party(p), ASSET),
            Acct::Margin(p, m) => AccountId::margin(party(p), market(m), ASSET),
            Acct::Insurance(m) => AccountId::insurance(market(m), ASSET),
            Acct::Settlement(m) => AccountId::settlement(market(m), ASSET),
            Acct::Fees => AccountId {
                owner: AccountOwner::Network,
                market: None,
                asset: ASSET,
                kind: AccountType::Fees,
            },
            Acct::External => AccountId {
                owner: AccountOwner::Network,
                market: None,
                asset: ASSET,
                kind: AccountType::General,
            },
        }
    }

    pub(crate) fn balance(&self, a: Acct) -> u64 {
        match a {
            Acct::General(p) => self.general[p],
            Acct::Margin(p, m) => self.markets[m].margin[p],
            Acct::Insurance(m) => self.markets[m].insurance,
            Acct::Settlement(m) => self.markets[m].settlement,
            Acct::Fees => self.fees,
            Acct::External => u64::MAX,
        }
    }

    fn balance_mut(&mut self, a: Acct) -> Option<&mut u64> {
        Some(match a {
            Acct::General(p) => &mut self.general[p],
            Acct::Margin(p, m) => &mut self.markets[m].margin[p],
            Acct::Insurance(m) => &mut self.markets[m].insurance,
            Acct::Settlement(m) => &mut self.markets[m].settlement,
            Acct::Fees => &mut self.fees,
            Acct::External => return None,
        })
    }

    fn emit_account(&mut self, a: Acct) {
        if a != Acct::External {
            let id = self.account_id(a);
            let balance = self.balance(a);
            self.emit(Source::Collateral, Account { id, balance });
        }
    }

    /// Moves up to `amount` (no more than `from` holds); emits the movement, the accounts
    /// and, for an insurance pool, the pool event. Returns what moved.
    pub(crate) fn transfer(
        &mut self,
        from: Acct,
        to: Acct,
        amount: u64,
        kind: TransferType,
    ) -> u64 {
        let amount = amount.min(self.balance(from));
        if amount == 0 {
            return 0;
        }
        if let Some(b) = self.balance_mut(from) {
            *b -= amount;
        }
        if let Some(b) = self.balance_mut(to) {
            *b = b.saturating_add(amount);
        }
        let movement = LedgerMovement {
            from: self.account_id(from),
            to: self.account_id(to),
            amount,
            kind,
        };
        self.emit(Source::Collateral, movement);
        self.emit_account(from);
        self.emit_account(to);
        let delta = i64::try_from(amount).unwrap_or(i64::MAX);
        for (a, sign) in [(from, -1), (to, 1)] {
            if let Acct::Insurance(m) = a {
                let balance = self.markets[m].insurance;
                self.emit(
                    Source::Collateral,
                    InsurancePool {
                        market: market(m),
                        asset: ASSET,
                        balance,
                        delta: sign * delta,
                    },
                );
            }
        }
        amount
    }

    /// Brings a party's margin in market `m` back between its search and release levels
    /// (top-up from general, or release to general), emitting its `MarginLevels` when it
    /// moves money or when `always`. Returns the levels.
    pub(crate) fn rebalance_margin(&mut self, p: usize, m: usize, always: bool) -> [u64; 4] {
        let mk = &self.markets[m];
        let levels = margin_levels(mk.pos[p].volume(), mk.mark);
        let [maintenance, search, initial, release] = levels;
        let margin = mk.margin[p];
        let general = self.general[p];
        let top_up = margin < search && general > 0;
        let release_excess = margin > release;
        if always || top_up || release_excess {
            self.emit(
                Source::Risk,
                MarginLevels {
                    party: party(p),
                    market: market(m),
                    maintenance,
                    search,
                    initial,
                    release,
                },
            );
        }
        if top_up {
            self.transfer(
                Acct::General(p),
                Acct::Margin(p, m),
                initial - margin,
                TransferType::MarginLow,
            );
        } else if release_excess {
            self.transfer(
                Acct::Margin(p, m),
                Acct::General(p),
                margin - initial,
                TransferType::MarginHigh,
            );
        }
        levels
    }
}

pub(crate) fn party(p: usize) -> PartyId {
    PartyId(u32::try_from(p).unwrap_or(u32::MAX))
}

pub(crate) fn market(m: usize) -> MarketId {
    MarketId(u16::try_from(m).unwrap_or(u16::MAX))
}
