//! Transactions: order submission with matching, amendment, cancellation, rejections; and
//! the time-driven work of a block (expiry, price moves).

use crate::book::Fill;
use crate::core::{market, party, Acct, Simulator};
use crate::state::margin_levels;
use rand::RngExt;
use ringbus_events::{
    ErrorCode, Order, OrderId, OrderStatus, OrderType, Side, Source, TimeInForce, Trade, TradeId,
    TransferType, TxKind,
};

/// An order as a transaction asks for it.
#[derive(Clone, Copy, Debug)]
struct Request {
    p: usize,
    m: usize,
    side: Side,
    /// Limit price; `None` for a market order.
    price: Option<u64>,
    size: u64,
    tif: TimeInForce,
    expires: Option<i64>,
}

impl Simulator {
    /// One random transaction: the mix is documented in `docs/simulator.md`.
    pub(crate) fn random_tx(&mut self) {
        let p = self.rng.random_range(0..self.general.len());
        let m = self.rng.random_range(0..self.markets.len());
        let roll = self.rng.random_range(0..100u32);
        let side = if self.rng.random_bool(0.5) {
            Side::Buy
        } else {
            Side::Sell
        };
        let size = self.rng.random_range(1..=20u64);
        match roll {
            0..=1 => {
                // A malformed submission: zero size or zero price.
                let (price, size) = if self.rng.random_bool(0.5) {
                    (Some(0), size)
                } else {
                    (Some(self.markets[m].fair), 0)
                };
                self.submit(Request {
                    p,
                    m,
                    side,
                    price,
                    size,
                    tif: TimeInForce::Gtc,
                    expires: None,
                });
            }
            2..=3 => {
                let id = OrderId(self.next_order + 1_000_000);
                if self.rng.random_bool(0.5) {
                    self.cancel(m, id);
                } else {
                    self.amend(m, id);
                }
            }
            4..=19 => match self.pick_order(m) {
                Some(id) => self.cancel(m, id),
                None => self.submit_limit(p, m, side, size),
            },
            20..=31 => match self.pick_order(m) {
                Some(id) => self.amend(m, id),
                None => self.submit_limit(p, m, side, size),
            },
            32..=39 => self.submit(Request {
                p,
                m,
                side,
                price: None,
                size,
                tif: TimeInForce::Ioc,
                expires: None,
            }),
            40..=44 => {
                let price = self.aggressive_price(m, side);
                self.submit(Request {
                    p,
                    m,
                    side,
                    price: Some(price),
                    size,
                    tif: TimeInForce::Ioc,
                    expires: None,
                });
            }
            45..=47 => {
                let price = self.aggressive_price(m, side);
                self.submit(Request {
                    p,
                    m,
                    side,
                    price: Some(price),
                    size,
                    tif: TimeInForce::Fok,
                    expires: None,
                });
            }
            _ => self.submit_limit(p, m, side, size),
        }
    }

    fn pick_order(&mut self, m: usize) -> Option<OrderId> {
        let n = self.markets[m].book.len();
        if n == 0 {
            return None;
        }
        let i = self.rng.random_range(0..n);
        self.markets[m].book.live_at(i)
    }

    fn aggressive_price(&mut self, m: usize, side: Side) -> u64 {
        let fair = self.markets[m].fair;
        let off = self.rng.random_range(0..=40);
        match side {
            Side::Buy => fair + off,
            Side::Sell => fair.saturating_sub(off).max(1),
        }
    }

    fn submit_limit(&mut self, p: usize, m: usize, side: Side, size: u64) {
        let fair = self.markets[m].fair;
        let away = self.rng.random_range(0..=30u64);
        let cross = if self.rng.random_bool(0.45) {
            self.rng.random_range(0..=40u64)
        } else {
            0
        };
        let price = match side {
            Side::Buy => (fair + cross).saturating_sub(away).max(1),
            Side::Sell => (fair + away).saturating_sub(cross).max(1),
        };
        let (tif, expires) = if self.rng.random_bool(0.1) {
            let blocks = self.rng.random_range(3..=40i64);
            (TimeInForce::Gtt, Some(self.time + blocks * 1_000_000_000))
        } else {
            (TimeInForce::Gtc, None)
        };
        self.submit(Request {
            p,
            m,
            side,
            price: Some(price),
            size,
            tif,
            expires,
        });
    }

    fn submit(&mut self, r: Request) {
        let id = OrderId(self.next_order);
        self.next_order += 1;
        let mut order = Order {
            id,
            market: market(r.m),
            party: party(r.p),
            side: r.side,
            price: r.price.unwrap_or(0),
            size: r.size,
            remaining: r.size,
            status: OrderStatus::Active,
            order_type: if r.price.is_some() {
                OrderType::Limit
            } else {
                OrderType::Market
            },
            time_in_force: r.tif,
        };
        if let Err(code) = self.check(&r) {
            order.status = OrderStatus::Rejected(code);
            self.emit(Source::Matching, order);
            self.tx_result(TxKind::SubmitOrder, Some(code));
            return;
        }

        let mut fills = Vec::new();
        self.markets[r.m]
            .book
            .execute(&mut order, r.price, &mut fills);
        for f in &fills {
            self.record_fill(r.m, &order, f);
        }
        let traded = !fills.is_empty();
        order.status = match (order.remaining, r.tif) {
            (0, _) => OrderStatus::Filled,
            (_, TimeInForce::Gtc | TimeInForce::Gtt) if r.price.is_some() => {
                self.markets[r.m].book.rest(
                    Order {
                        status: if traded {
                            OrderStatus::PartiallyFilled
                        } else {
                            OrderStatus::Active
                        },
                        ..order
                    },
                    r.expires,
                );
                if traded {
                    OrderStatus::PartiallyFilled
                } else {
                    OrderStatus::Active
                }
            }
            _ => OrderStatus::Cancelled,
        };
        self.emit(Source::Matching, order);

        if traded {
            let notional: u128 = fills
                .iter()
                .map(|f| u128::from(f.price) * u128::from(f.size))
                .sum();
            let fee = u64::try_from(notional / 2_000).unwrap_or(u64::MAX).max(1);
            self.transfer(Acct::General(r.p), Acct::Fees, fee, TransferType::Fee);
        }
        // Positions and margins of everyone who traded, the aggressor first.
        let mut touched = vec![r.p];
        for f in &fills {
            let q = f.passive.party.0 as usize;
            if !touched.contains(&q) {
                touched.push(q);
            }
        }
        for q in touched {
            if traded {
                let mk = &self.markets[r.m];
                let position = mk.pos[q].state.to_position(party(q), market(r.m), mk.mark);
                self.emit(Source::Positions, position);
            }
            self.rebalance_margin(q, r.m, true);
        }
        self.tx_result(TxKind::SubmitOrder, None);
    }

    /// Validation, margin and liquidity checks of a submission.
    fn check(&self, r: &Request) -> Result<(), ErrorCode> {
        if r.size == 0 {
            return Err(ErrorCode::InvalidSize);
        }
        if r.price == Some(0) {
            return Err(ErrorCode::InvalidPrice);
        }
        let mk = &self.markets[r.m];
        let volume = mk.pos[r.p].volume();
        let after =
            volume.saturating_add(r.side.sign() * i64::try_from(r.size).unwrap_or(i64::MAX));
        if after.unsigned_abs() > volume.unsigned_abs() {
            let price = r.price.unwrap_or(mk.mark).max(mk.mark);
            let initial = margin_levels(after, price)[2];
            let available = self.general[r.p].saturating_add(mk.margin[r.p]);
            if initial > available {
                return Err(ErrorCode::InsufficientMargin);
            }
        }
        let scan = mk.book.scan(r.side, party(r.p), r.price, r.size);
        if scan.self_trade {
            return Err(ErrorCode::SelfTrade);
        }
        match (r.price, r.tif) {
            (None, _) if scan.available == 0 => Err(ErrorCode::NoLiquidity),
            (_, TimeInForce::Fok) if scan.available < r.size => Err(ErrorCode::NoLiquidity),
            _ => Ok(()),
        }
    }

    fn record_fill(&mut self, m: usize, aggressor: &Order, f: &Fill) {
        let (buy, sell) = match aggressor.side {
            Side::Buy => (aggressor, &f.passive),
            Side::Sell => (&f.passive, aggressor),
        };
        let trade = Trade {
            id: TradeId(self.next_trade),
            market: market(m),
            price: f.price,
            size: f.size,
            buyer: buy.party,
            seller: sell.party,
            aggressor: aggressor.side,
            buy_order: buy.id,
            sell_order: sell.id,
        };
        self.next_trade += 1;
        self.stats.trades += 1;
        let size = i64::try_from(f.size).unwrap_or(i64::MAX);
        let mk = &mut self.markets[m];
        mk.pos[buy.party.0 as usize].fill(size, f.price);
        mk.pos[sell.party.0 as usize].fill(-size, f.price);
        mk.last_trade = Some(f.price);
        mk.traded = true;
        self.emit(Source::Matching, trade);
        self.emit(Source::Matching, f.passive);
    }

    fn cancel(&mut self, m: usize, id: OrderId) {
        match self.markets[m].book.remove(id) {
            Some(order) => {
                self.emit(
                    Source::Matching,
                    Order {
                        status: OrderStatus::Cancelled,
                        ..order
                    },
                );
                self.tx_result(TxKind::CancelOrder, None);
            }
            None => self.tx_result(TxKind::CancelOrder, Some(ErrorCode::UnknownOrder)),
        }
    }

    /// Moves an order a few ticks (never across the book) and changes its size; it goes to
    /// the back of its new level and keeps its expiry.
    fn amend(&mut self, m: usize, id: OrderId) {
        let Some(old) = self.markets[m].book.get(id) else {
            self.tx_result(TxKind::AmendOrder, Some(ErrorCode::UnknownOrder));
            return;
        };
        let (bid, ask) = self.markets[m].book.best();
        let step = self.rng.random_range(-5..=5i64);
        let mut price = old.price.saturating_add_signed(step).max(1);
        price = match old.side {
            Side::Buy => ask.map_or(price, |a| price.min(a.saturating_sub(1))),
            Side::Sell => bid.map_or(price, |b| price.max(b + 1)),
        };
        let remaining = old
            .remaining
            .saturating_add_signed(self.rng.random_range(-3..=3))
            .max(1);
        if price == 0 {
            self.tx_result(TxKind::AmendOrder, Some(ErrorCode::InvalidPrice));
            return;
        }
        let filled = old.size - old.remaining;
        let new = Order {
            price,
            remaining,
            size: filled + remaining,
            ..old
        };
        // An amend keeps a good-till-time order's expiry.
        let expires = self.markets[m].book.expiry(id);
        self.markets[m].book.remove(id);
        self.markets[m].book.rest(new, expires);
        self.emit(Source::Matching, new);
        self.tx_result(TxKind::AmendOrder, None);
    }

    /// Good-till-time orders whose time has come.
    pub(crate) fn expire_orders(&mut self) {
        for m in 0..self.markets.len() {
            for order in self.markets[m].book.expire(self.time) {
                self.emit(
                    Source::Matching,
                    Order {
                        status: OrderStatus::Expired,
                        ..order
                    },
                );
            }
        }
    }

    /// Fair values walk (±0.2 %); now and then an oracle shock jumps one market 6–16 %.
    pub(crate) fn move_prices(&mut self) {
        let shock = self.cfg.shock_every > 0
            && self.height > 1
            && self.rng.random_ratio(1, self.cfg.shock_every);
        let shocked = if shock {
            Some(self.rng.random_range(0..self.markets.len()))
        } else {
            None
        };
        for m in 0..self.markets.len() {
            let fair = self.markets[m].fair;
            let step = i64::try_from(fair / 500).unwrap_or(0).max(1);
            let mut next = fair.saturating_add_signed(self.rng.random_range(-step..=step));
            if shocked == Some(m) {
                let pct = self.rng.random_range(6..=16u64);
                let jump = next * pct / 100;
                next = if self.rng.random_bool(0.5) {
                    next + jump
                } else {
                    next - jump
                };
                self.stats.shocks += 1;
            }
            let mk = &mut self.markets[m];
            mk.fair = next.max(100);
            mk.shocked = shocked == Some(m);
        }
    }
}
