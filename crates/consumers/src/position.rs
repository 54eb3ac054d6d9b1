//! The position arithmetic of one party in one market: average-cost accounting kept exact.
//!
//! The state keeps the *exact* signed cost of the open volume (`Σ volume × price`, in
//! `i128`), not a rounded average price, so realised plus unrealised P&L always equals the
//! cash-flow view (`−Σ fills × price + volume × mark`) to the unit. The average entry price
//! shown in a [`Position`] is the cost divided by the volume, rounded.

use ringbus_events::{MarketId, PartyId, Position};

/// One party's position in one market.
///
/// ```
/// use ringbus_consumers::PositionState;
/// let mut p = PositionState::default();
/// p.fill(10, 100); // buy 10 at 100
/// p.fill(-4, 110); // sell 4 at 110: realises 4 × 10
/// assert_eq!(p.open_volume(), 6);
/// assert_eq!(p.realised_pnl(), 40);
/// assert_eq!(p.unrealised_pnl(120), 6 * 20);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PositionState {
    volume: i64,
    /// Signed cost of the open volume: `Σ volume × price` of the fills still open.
    cost: i128,
    realised: i128,
}

impl PositionState {
    /// Applies a fill of signed `delta` (positive bought) at `price`.
    pub fn fill(&mut self, delta: i64, price: u64) {
        if delta == 0 {
            return;
        }
        let price = i128::from(price);
        let delta128 = i128::from(delta);
        if self.volume == 0 || (self.volume > 0) == (delta > 0) {
            self.volume += delta;
            self.cost += delta128 * price;
            return;
        }
        // Reducing (and maybe flipping): close `closing` units of the open volume.
        let open = i128::from(self.volume);
        let closing = delta128.abs().min(open.abs()) * open.signum();
        let removed = self.cost * closing.abs() / open.abs();
        self.realised += closing * price - removed;
        self.cost -= removed;
        let rest = delta128 + closing;
        self.volume = i64::try_from(open - closing + rest).unwrap_or(i64::MAX);
        self.cost += rest * price;
    }

    /// Closes the whole position at `price` (a closeout).
    pub fn close_out(&mut self, price: u64) {
        self.fill(-self.volume, price);
    }

    /// Adds `amount` to the realised P&L (loss socialisation: negative).
    pub fn adjust_realised(&mut self, amount: i64) {
        self.realised += i128::from(amount);
    }

    /// Signed open volume.
    pub fn open_volume(&self) -> i64 {
        self.volume
    }

    /// The volume-weighted entry price of the open volume, rounded (0 when flat).
    pub fn average_entry_price(&self) -> u64 {
        if self.volume == 0 {
            return 0;
        }
        let v = i128::from(self.volume);
        u64::try_from((self.cost + v / 2) / v).unwrap_or(0)
    }

    /// Realised P&L so far.
    pub fn realised_pnl(&self) -> i64 {
        saturate(self.realised)
    }

    /// P&L of the open volume at `mark`.
    pub fn unrealised_pnl(&self, mark: u64) -> i64 {
        saturate(i128::from(self.volume) * i128::from(mark) - self.cost)
    }

    /// Realised plus unrealised at `mark`.
    pub fn total_pnl(&self, mark: u64) -> i64 {
        saturate(self.realised + i128::from(self.volume) * i128::from(mark) - self.cost)
    }

    /// The event payload for this position at `mark`.
    pub fn to_position(&self, party: PartyId, market: MarketId, mark: u64) -> Position {
        Position {
            party,
            market,
            open_volume: self.volume,
            average_entry_price: self.average_entry_price(),
            realised_pnl: self.realised_pnl(),
            unrealised_pnl: self.unrealised_pnl(mark),
        }
    }
}

fn saturate(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cash-flow view: every fill pays or receives volume × price.
    fn cash_flow(fills: &[(i64, u64)], mark: u64) -> i128 {
        let cash: i128 = fills
            .iter()
            .map(|(d, p)| -i128::from(*d) * i128::from(*p))
            .sum();
        let vol: i128 = fills.iter().map(|(d, _)| i128::from(*d)).sum();
        cash + vol * i128::from(mark)
    }

    #[test]
    fn flips_and_partial_closes_match_the_cash_flow_view() {
        let fills = [
            (7, 101),
            (-3, 99),
            (5, 103),
            (-15, 97),
            (4, 100),
            (6, 102),
            (-1, 98),
        ];
        let mut p = PositionState::default();
        for (i, (d, px)) in fills.iter().enumerate() {
            p.fill(*d, *px);
            for mark in [90, 100, 111] {
                assert_eq!(
                    i128::from(p.total_pnl(mark)),
                    cash_flow(&fills[..=i], mark),
                    "after fill {i}"
                );
            }
        }
        assert_eq!(p.open_volume(), 3);
    }

    #[test]
    fn a_short_gains_when_the_price_falls() {
        let mut p = PositionState::default();
        p.fill(-5, 100);
        assert_eq!(p.average_entry_price(), 100);
        assert_eq!(p.unrealised_pnl(90), 50);
        p.close_out(90);
        assert_eq!(p.open_volume(), 0);
        assert_eq!(p.realised_pnl(), 50);
        assert_eq!(p.unrealised_pnl(80), 0);
    }
}
