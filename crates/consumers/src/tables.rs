//! The store tables: accounts, orders, trades and ledger movements, as of a block boundary.

use ringbus_events::{AccountId, Event, LedgerMovement, Order, OrderId, Payload, Trade};
use rustc_hash::FxHashMap;

/// What the stores hold after the last committed block. The in-memory store keeps one; the
/// SQLite store can be read back into one ([`SqliteStore::load`](crate::SqliteStore::load)),
/// so the two can be compared with `==`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreTables {
    /// Height of the last committed block (0 before the first).
    pub block_height: u64,
    /// Sequence of the last committed block's `EndBlock`.
    pub last_sequence: Option<u64>,
    /// Blocks committed.
    pub blocks: u64,
    /// Latest balance of every account.
    pub accounts: FxHashMap<AccountId, u64>,
    /// Latest state of every order.
    pub orders: FxHashMap<OrderId, Order>,
    /// Every trade, in stream order, with its sequence.
    pub trades: Vec<(u64, Trade)>,
    /// Every ledger movement, in stream order, with its sequence.
    pub ledger: Vec<(u64, LedgerMovement)>,
}

impl StoreTables {
    /// Applies one whole block (from `BeginBlock` to `EndBlock`).
    pub fn apply_block(&mut self, events: &[Event]) {
        for e in events {
            self.apply(e);
        }
    }

    #[inline]
    fn apply(&mut self, e: &Event) {
        match &e.payload {
            Payload::Account(a) => {
                self.accounts.insert(a.id, a.balance);
            }
            Payload::Order(o) => {
                self.orders.insert(o.id, *o);
            }
            Payload::Trade(t) => self.trades.push((e.sequence, *t)),
            Payload::LedgerMovement(l) => self.ledger.push((e.sequence, *l)),
            Payload::EndBlock(b) => {
                self.block_height = b.height;
                self.last_sequence = Some(e.sequence);
                self.blocks += 1;
            }
            _ => {}
        }
    }

    /// Sum of every account's balance (conservation checks).
    pub fn total_balance(&self) -> u128 {
        self.accounts.values().map(|b| u128::from(*b)).sum()
    }
}
