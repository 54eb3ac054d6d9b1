//! The simulated core's state: markets, positions and money.

use crate::book::Book;
use ringbus_consumers::PositionState;

/// One participant's position in one market, with its mark-to-market bookkeeping.
///
/// `flow` is the cash flow of its fills (`−Σ volume × price`), `settled` what
/// mark-to-market has already settled; at mark `m` the next settlement is
/// `volume × m + flow − settled`. So trades since the last settlement are settled from
/// their own price, and the dues of a market always sum to zero.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Pos {
    pub state: PositionState,
    pub flow: i128,
    pub settled: i128,
}

impl Pos {
    pub(crate) fn fill(&mut self, delta: i64, price: u64) {
        self.state.fill(delta, price);
        self.flow -= i128::from(delta) * i128::from(price);
    }

    pub(crate) fn volume(&self) -> i64 {
        self.state.open_volume()
    }

    /// What settling at `mark` moves (positive: paid to the participant).
    pub(crate) fn due(&self, mark: u64) -> i128 {
        i128::from(self.volume()) * i128::from(mark) + self.flow - self.settled
    }
}

/// One market: its book, prices, pools and every participant's position (the last one is
/// the network's, which takes over closed-out positions).
#[derive(Debug)]
pub(crate) struct Market {
    pub book: Book,
    /// The mark price (0 before genesis sets it).
    pub mark: u64,
    /// The price traders aim at: a random walk with occasional shocks.
    pub fair: u64,
    pub last_trade: Option<u64>,
    /// Trades since the last mark-to-market.
    pub traded: bool,
    /// An oracle shock this block: the mark jumps to `fair`.
    pub shocked: bool,
    pub insurance: u64,
    pub settlement: u64,
    /// Margin account of each party.
    pub margin: Vec<u64>,
    /// Positions: one per party, then the network's.
    pub pos: Vec<Pos>,
}

impl Market {
    pub(crate) fn new(parties: usize, fair: u64) -> Self {
        Market {
            book: Book::default(),
            mark: 0,
            fair,
            last_trade: None,
            traded: false,
            shocked: false,
            insurance: 0,
            settlement: 0,
            margin: vec![0; parties],
            pos: vec![Pos::default(); parties + 1],
        }
    }
}

/// Margin levels of `volume` at `price`: maintenance 10 %, search 11 %, initial 12 %,
/// release 14 % of the notional.
pub(crate) fn margin_levels(volume: i64, price: u64) -> [u64; 4] {
    let notional = u128::from(volume.unsigned_abs()) * u128::from(price);
    [10u128, 11, 12, 14].map(|pct| u64::try_from(notional * pct / 100).unwrap_or(u64::MAX))
}
