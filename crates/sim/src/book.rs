//! A price-time priority limit order book for one market.

use ringbus_events::{Order, OrderId, OrderStatus, PartyId, Side};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, VecDeque};

/// One fill of an incoming order against a resting one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fill {
    /// The resting order after the fill.
    pub passive: Order,
    /// Price (the resting order's).
    pub price: u64,
    /// Size filled.
    pub size: u64,
}

/// What the incoming order would meet, before matching.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Scan {
    /// Volume available at acceptable prices, up to the order's size.
    pub available: u64,
    /// Whether it would trade against an order of its own party.
    pub self_trade: bool,
}

#[derive(Clone, Copy, Debug)]
struct Resting {
    order: Order,
    expires: Option<i64>,
}

/// Bids and asks as price levels of FIFO queues; resting orders by id; a dense list of live
/// ids for picking one at random in O(1) (deterministically).
#[derive(Debug, Default)]
pub(crate) struct Book {
    bids: BTreeMap<u64, VecDeque<OrderId>>,
    asks: BTreeMap<u64, VecDeque<OrderId>>,
    orders: FxHashMap<OrderId, Resting>,
    live: Vec<OrderId>,
    live_pos: FxHashMap<OrderId, usize>,
    expiries: BTreeMap<(i64, OrderId), ()>,
}

fn crosses(side: Side, limit: Option<u64>, level: u64) -> bool {
    match (side, limit) {
        (_, None) => true,
        (Side::Buy, Some(l)) => level <= l,
        (Side::Sell, Some(l)) => level >= l,
    }
}

impl Book {
    fn levels(&self, side: Side) -> Box<dyn Iterator<Item = (&u64, &VecDeque<OrderId>)> + '_> {
        match side {
            Side::Buy => Box::new(self.bids.iter().rev()),
            Side::Sell => Box::new(self.asks.iter()),
        }
    }

    /// Best bid and best ask.
    pub(crate) fn best(&self) -> (Option<u64>, Option<u64>) {
        (
            self.bids.keys().next_back().copied(),
            self.asks.keys().next().copied(),
        )
    }

    /// What an incoming order of `side` with `limit` (None: market) would meet.
    pub(crate) fn scan(&self, side: Side, party: PartyId, limit: Option<u64>, size: u64) -> Scan {
        let mut scan = Scan::default();
        'levels: for (price, queue) in self.levels(side.opposite()) {
            if !crosses(side, limit, *price) {
                break;
            }
            for id in queue {
                let Some(r) = self.orders.get(id) else {
                    continue;
                };
                if r.order.party == party {
                    scan.self_trade = true;
                    break 'levels;
                }
                scan.available += r.order.remaining;
                if scan.available >= size {
                    scan.available = size;
                    break 'levels;
                }
            }
        }
        scan
    }

    /// Matches `incoming` (updating its `remaining`), appending the fills to `fills`.
    /// The caller checked with [`Book::scan`] that no fill is against its own party.
    pub(crate) fn execute(
        &mut self,
        incoming: &mut Order,
        limit: Option<u64>,
        fills: &mut Vec<Fill>,
    ) {
        let opposite = incoming.side.opposite();
        while incoming.remaining > 0 {
            let best = match opposite {
                Side::Buy => self.bids.keys().next_back().copied(),
                Side::Sell => self.asks.keys().next().copied(),
            };
            let Some(price) = best else { break };
            if !crosses(incoming.side, limit, price) {
                break;
            }
            let side_map = match opposite {
                Side::Buy => &mut self.bids,
                Side::Sell => &mut self.asks,
            };
            let Some(queue) = side_map.get_mut(&price) else {
                break;
            };
            let Some(&id) = queue.front() else {
                side_map.remove(&price);
                continue;
            };
            let Some(resting) = self.orders.get_mut(&id) else {
                queue.pop_front();
                continue;
            };
            let size = incoming.remaining.min(resting.order.remaining);
            incoming.remaining -= size;
            resting.order.remaining -= size;
            let done = resting.order.remaining == 0;
            resting.order.status = if done {
                OrderStatus::Filled
            } else {
                OrderStatus::PartiallyFilled
            };
            let passive = resting.order;
            if done {
                queue.pop_front();
                if queue.is_empty() {
                    side_map.remove(&price);
                }
                self.forget(id);
            }
            fills.push(Fill {
                passive,
                price,
                size,
            });
        }
    }

    /// Rests a limit order (with its remaining size) at the back of its level.
    pub(crate) fn rest(&mut self, order: Order, expires: Option<i64>) {
        let side_map = match order.side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        side_map.entry(order.price).or_default().push_back(order.id);
        self.orders.insert(order.id, Resting { order, expires });
        self.live_pos.insert(order.id, self.live.len());
        self.live.push(order.id);
        if let Some(t) = expires {
            self.expiries.insert((t, order.id), ());
        }
    }

    /// Removes a resting order from the book; returns it.
    pub(crate) fn remove(&mut self, id: OrderId) -> Option<Order> {
        let r = *self.orders.get(&id)?;
        let side_map = match r.order.side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        if let Some(queue) = side_map.get_mut(&r.order.price) {
            queue.retain(|x| *x != id);
            if queue.is_empty() {
                side_map.remove(&r.order.price);
            }
        }
        self.forget(id);
        Some(r.order)
    }

    fn forget(&mut self, id: OrderId) {
        if let Some(r) = self.orders.remove(&id) {
            if let Some(t) = r.expires {
                self.expiries.remove(&(t, id));
            }
        }
        if let Some(pos) = self.live_pos.remove(&id) {
            self.live.swap_remove(pos);
            if let Some(moved) = self.live.get(pos) {
                self.live_pos.insert(*moved, pos);
            }
        }
    }

    /// When a resting good-till-time order expires (`None`: not resting, or no expiry).
    pub(crate) fn expiry(&self, id: OrderId) -> Option<i64> {
        self.orders.get(&id).and_then(|r| r.expires)
    }

    /// A resting order.
    pub(crate) fn get(&self, id: OrderId) -> Option<Order> {
        self.orders.get(&id).map(|r| r.order)
    }

    /// The `i`-th live order (for picking one at random).
    pub(crate) fn live_at(&self, i: usize) -> Option<OrderId> {
        self.live.get(i).copied()
    }

    /// How many orders rest on the book.
    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }

    /// Live orders of `party`, in id order.
    pub(crate) fn orders_of(&self, party: PartyId) -> Vec<OrderId> {
        let mut ids: Vec<OrderId> = self
            .live
            .iter()
            .copied()
            .filter(|id| self.orders.get(id).is_some_and(|r| r.order.party == party))
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Removes and returns every order expiring at or before `now`, in expiry order.
    pub(crate) fn expire(&mut self, now: i64) -> Vec<Order> {
        let due: Vec<OrderId> = self
            .expiries
            .range(..=(now, OrderId(u64::MAX)))
            .map(|((_, id), _)| *id)
            .collect();
        due.into_iter().filter_map(|id| self.remove(id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringbus_events::MarketId;

    fn order(id: u64, party: u32, side: Side, price: u64, size: u64) -> Order {
        Order {
            id: OrderId(id),
            market: MarketId(0),
            party: PartyId(party),
            side,
            price,
            size,
            remaining: size,
            ..Order::default()
        }
    }

    #[test]
    fn price_then_time_priority() {
        let mut b = Book::default();
        b.rest(order(1, 1, Side::Sell, 101, 5), None);
        b.rest(order(2, 2, Side::Sell, 100, 5), None);
        b.rest(order(3, 3, Side::Sell, 100, 5), None);
        let mut incoming = order(4, 4, Side::Buy, 101, 12);
        assert_eq!(b.scan(Side::Buy, PartyId(4), Some(101), 12).available, 12);
        let mut fills = Vec::new();
        b.execute(&mut incoming, Some(101), &mut fills);
        let ids: Vec<_> = fills
            .iter()
            .map(|f| (f.passive.id.0, f.price, f.size))
            .collect();
        assert_eq!(ids, [(2, 100, 5), (3, 100, 5), (1, 101, 2)]);
        assert_eq!(incoming.remaining, 0);
        assert_eq!(b.get(OrderId(1)).unwrap().remaining, 3);
        assert_eq!(b.len(), 1);
        assert!(b.scan(Side::Buy, PartyId(1), None, 1).self_trade);
    }

    #[test]
    fn expiry_and_cancel_keep_the_live_list_dense() {
        let mut b = Book::default();
        b.rest(order(1, 1, Side::Buy, 99, 5), Some(10));
        b.rest(order(2, 1, Side::Buy, 98, 5), None);
        b.rest(order(3, 2, Side::Buy, 97, 5), Some(20));
        assert_eq!(b.expire(15).len(), 1);
        assert!(b.remove(OrderId(2)).is_some());
        assert_eq!(b.len(), 1);
        assert_eq!(b.live_at(0), Some(OrderId(3)));
        assert_eq!(b.best(), (Some(97), None));
    }
}
