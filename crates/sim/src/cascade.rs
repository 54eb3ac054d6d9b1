//! The risk cascade of one market at a new mark price: mark-to-market settlement, insurance
//! drawdown, loss socialisation, margin top-ups, distress, stopped orders and closeouts.
//! The caller publishes all of it as one batch.

use crate::core::{market, party, Acct, Simulator};
use ringbus_events::{
    Closeout, Distressed, LossSocialisation, MarkPrice, Order, OrderStatus, PartyList,
    SettlePosition, Source, TransferType, Trigger,
};

impl Simulator {
    /// Settles market `m` at its new mark price if the mark moved or it traded since the
    /// last settlement.
    pub(crate) fn mark_to_market(&mut self, m: usize) {
        let mk = &self.markets[m];
        let due = mk.shocked
            || mk.mark == 0
            || self.height >= self.cfg.blocks
            || self
                .height
                .is_multiple_of(u64::from(self.cfg.mtm_every.max(1)));
        if !due {
            return;
        }
        let mark = if mk.shocked || mk.mark == 0 {
            mk.fair
        } else {
            mk.last_trade.unwrap_or(mk.mark)
        };
        if mark == mk.mark && !mk.traded {
            return;
        }
        self.stats.cascades += 1;
        let mk = &mut self.markets[m];
        mk.mark = mark;
        mk.traded = false;
        mk.last_trade = None;
        let n = self.emit(
            Source::Matching,
            MarkPrice {
                market: market(m),
                price: mark,
            },
        );
        self.trigger = Trigger::PriceUpdate {
            market: market(m),
            sequence: n,
        };

        // What each participant gains or loses since its last settlement (they sum to 0).
        let parties = self.general.len();
        let network = parties;
        let mut dues: Vec<(usize, i128)> = Vec::new();
        for (i, pos) in self.markets[m].pos.iter_mut().enumerate() {
            let due = pos.due(mark);
            if due != 0 {
                pos.settled += due;
                dues.push((i, due));
            }
        }
        for &(i, due) in &dues {
            if i != network {
                let position = self.markets[m].pos[i].volume();
                self.emit(
                    Source::Settlement,
                    SettlePosition {
                        party: party(i),
                        market: market(m),
                        mark_price: mark,
                        amount: clamp(due),
                        position,
                    },
                );
            }
        }

        // Losers pay into the settlement account: margin first, then general. The network's
        // position is backed by the insurance pool.
        let mut shortfall: u128 = 0;
        for &(i, due) in dues.iter().filter(|(_, d)| *d < 0) {
            let need = u64::try_from(-due).unwrap_or(u64::MAX);
            let mut got = 0;
            if i == network {
                got += self.transfer(
                    Acct::Insurance(m),
                    Acct::Settlement(m),
                    need,
                    TransferType::MtmLoss,
                );
            } else {
                got += self.transfer(
                    Acct::Margin(i, m),
                    Acct::Settlement(m),
                    need,
                    TransferType::MtmLoss,
                );
                if got < need {
                    got += self.transfer(
                        Acct::General(i),
                        Acct::Settlement(m),
                        need - got,
                        TransferType::MtmLoss,
                    );
                }
            }
            shortfall += u128::from(need - got);
        }
        if shortfall > 0 {
            let want = u64::try_from(shortfall).unwrap_or(u64::MAX);
            let drawn = self.transfer(
                Acct::Insurance(m),
                Acct::Settlement(m),
                want,
                TransferType::InsuranceDrawdown,
            );
            shortfall -= u128::from(drawn);
        }

        // Winners are paid, less their share of what nobody could cover.
        let winners: Vec<(usize, u128)> = dues
            .iter()
            .filter(|(_, d)| *d > 0)
            .map(|(i, d)| (*i, u128::try_from(*d).unwrap_or(0)))
            .collect();
        let total_wins: u128 = winners.iter().map(|(_, w)| w).sum();
        let mut haircuts: Vec<u128> = winners
            .iter()
            .map(|(_, w)| (shortfall * w).checked_div(total_wins).unwrap_or(0))
            .collect();
        let mut rest = shortfall - haircuts.iter().sum::<u128>();
        for (h, (_, w)) in haircuts.iter_mut().zip(&winners) {
            if rest == 0 {
                break;
            }
            if *h < *w {
                *h += 1;
                rest -= 1;
            }
        }
        for (&(i, win), &cut) in winners.iter().zip(&haircuts) {
            if cut > 0 && i != network {
                let amount = -clamp(cut as i128);
                self.markets[m].pos[i].state.adjust_realised(amount);
                self.stats.socialised += 1;
                self.emit(
                    Source::Settlement,
                    LossSocialisation {
                        party: party(i),
                        market: market(m),
                        amount,
                    },
                );
            }
            let pay = u64::try_from(win - cut).unwrap_or(u64::MAX);
            let to = if i == network {
                Acct::Insurance(m)
            } else {
                Acct::Margin(i, m)
            };
            self.transfer(Acct::Settlement(m), to, pay, TransferType::MtmWin);
        }

        // Margins: top up or release; whoever stays below maintenance is distressed.
        let mut distressed = Vec::new();
        for &(i, _) in &dues {
            if i == network {
                continue;
            }
            let [maintenance, ..] = self.rebalance_margin(i, m, false);
            if self.markets[m].pos[i].volume() != 0 && self.markets[m].margin[i] < maintenance {
                distressed.push(party(i));
            }
        }
        if distressed.is_empty() {
            return;
        }
        for list in PartyList::chunks(&distressed) {
            self.emit(
                Source::Risk,
                Distressed {
                    market: market(m),
                    parties: list,
                },
            );
        }
        self.stats.distressed += distressed.len() as u64;
        for pid in distressed {
            let i = pid.0 as usize;
            for id in self.markets[m].book.orders_of(pid) {
                if let Some(order) = self.markets[m].book.remove(id) {
                    self.emit(
                        Source::Risk,
                        Order {
                            status: OrderStatus::Stopped,
                            ..order
                        },
                    );
                }
            }
            let volume = self.markets[m].pos[i].volume();
            self.emit(
                Source::Settlement,
                Closeout {
                    party: pid,
                    market: market(m),
                    volume,
                    price: mark,
                },
            );
            self.markets[m].pos[i].fill(-volume, mark);
            self.markets[m].pos[network].fill(volume, mark);
            self.stats.closeouts += 1;
            let left = self.markets[m].margin[i];
            self.transfer(
                Acct::Margin(i, m),
                Acct::Insurance(m),
                left,
                TransferType::Closeout,
            );
            let position = self.markets[m].pos[i]
                .state
                .to_position(pid, market(m), mark);
            self.emit(Source::Positions, position);
        }
    }
}

fn clamp(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}
