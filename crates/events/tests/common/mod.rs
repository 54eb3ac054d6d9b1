//! Sample events for the tests: every payload variant, with field values drawn from a
//! seeded generator (so proptest can explore them by seed) or set to extremes.
#![allow(dead_code)]

use ringbus_events::*;

/// A small deterministic generator (SplitMix64) that also hands out edge values.
pub struct Gen(pub u64);

impl Gen {
    pub fn u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let z = z ^ (z >> 31);
        // One value in eight is an edge: 0, 1 or MAX, where encodings change length.
        match z % 8 {
            0 => [0, 1, u64::MAX][(z >> 3) as usize % 3],
            _ => z >> (z % 64),
        }
    }
    pub fn i64(&mut self) -> i64 {
        self.u64() as i64
    }
    pub fn u32(&mut self) -> u32 {
        self.u64() as u32
    }
    pub fn u16(&mut self) -> u16 {
        self.u64() as u16
    }
    pub fn pick(&mut self, n: usize) -> usize {
        (self.u64() % n as u64) as usize
    }
    pub fn party(&mut self) -> PartyId {
        PartyId(self.u32())
    }
    pub fn market(&mut self) -> MarketId {
        MarketId(self.u16())
    }
    pub fn side(&mut self) -> Side {
        [Side::Buy, Side::Sell][self.pick(2)]
    }
    pub fn error(&mut self) -> ErrorCode {
        use ErrorCode::*;
        let all = [
            InsufficientMargin,
            InsufficientFunds,
            InvalidPrice,
            InvalidSize,
            UnknownMarket,
            UnknownOrder,
            UnknownParty,
            MarketClosed,
            PartyDistressed,
            SelfTrade,
            NoLiquidity,
        ];
        all[self.pick(all.len())]
    }
    pub fn account(&mut self) -> AccountId {
        use AccountType::*;
        AccountId {
            owner: if self.pick(2) == 0 {
                AccountOwner::Network
            } else {
                AccountOwner::Party(self.party())
            },
            market: if self.pick(2) == 0 {
                None
            } else {
                Some(self.market())
            },
            asset: AssetId(self.u16()),
            kind: [General, Margin, Insurance, Settlement, Fees][self.pick(5)],
        }
    }
}

/// A payload of topic `topic`, fields from `g`.
pub fn payload(topic: EventTopic, g: &mut Gen) -> Payload {
    let time = BlockTime(g.i64());
    match topic {
        EventTopic::BeginBlock => BeginBlock {
            height: g.u64(),
            time,
            hash: BlockHash(g.u64()),
        }
        .into(),
        EventTopic::EndBlock => EndBlock {
            height: g.u64(),
            time,
            hash: BlockHash(g.u64()),
            tx_count: g.u32(),
        }
        .into(),
        EventTopic::TxResult => TxResult {
            tx_index: g.u32(),
            tx_hash: TxHash(g.u64()),
            kind: [
                TxKind::SubmitOrder,
                TxKind::AmendOrder,
                TxKind::CancelOrder,
                TxKind::Deposit,
                TxKind::Withdraw,
                TxKind::PriceUpdate,
            ][g.pick(6)],
            outcome: if g.pick(2) == 0 {
                TxOutcome::Success
            } else {
                TxOutcome::Failed(g.error())
            },
        }
        .into(),
        EventTopic::TimeUpdate => TimeUpdate { time }.into(),
        EventTopic::Order => {
            use OrderStatus::*;
            let statuses = [
                Active,
                PartiallyFilled,
                Filled,
                Cancelled,
                Stopped,
                Expired,
                Rejected(g.error()),
            ];
            Order {
                id: OrderId(g.u64()),
                market: g.market(),
                party: g.party(),
                side: g.side(),
                price: g.u64(),
                size: g.u64(),
                remaining: g.u64(),
                status: statuses[g.pick(statuses.len())],
                order_type: [OrderType::Limit, OrderType::Market, OrderType::Network][g.pick(3)],
                time_in_force: [
                    TimeInForce::Gtc,
                    TimeInForce::Gtt,
                    TimeInForce::Ioc,
                    TimeInForce::Fok,
                ][g.pick(4)],
            }
            .into()
        }
        EventTopic::Trade => Trade {
            id: TradeId(g.u64()),
            market: g.market(),
            price: g.u64(),
            size: g.u64(),
            buyer: g.party(),
            seller: g.party(),
            aggressor: g.side(),
            buy_order: OrderId(g.u64()),
            sell_order: OrderId(g.u64()),
        }
        .into(),
        EventTopic::Account => Account {
            id: g.account(),
            balance: g.u64(),
        }
        .into(),
        EventTopic::LedgerMovement => {
            use TransferType::*;
            let kinds = [
                Deposit,
                Withdrawal,
                MarginLow,
                MarginHigh,
                MtmLoss,
                MtmWin,
                Closeout,
                InsuranceDrawdown,
                Fee,
            ];
            LedgerMovement {
                from: g.account(),
                to: g.account(),
                amount: g.u64(),
                kind: kinds[g.pick(kinds.len())],
            }
            .into()
        }
        EventTopic::Position => Position {
            party: g.party(),
            market: g.market(),
            open_volume: g.i64(),
            average_entry_price: g.u64(),
            realised_pnl: g.i64(),
            unrealised_pnl: g.i64(),
        }
        .into(),
        EventTopic::MarkPrice => MarkPrice {
            market: g.market(),
            price: g.u64(),
        }
        .into(),
        EventTopic::MarginLevels => MarginLevels {
            party: g.party(),
            market: g.market(),
            maintenance: g.u64(),
            search: g.u64(),
            initial: g.u64(),
            release: g.u64(),
        }
        .into(),
        EventTopic::SettlePosition => SettlePosition {
            party: g.party(),
            market: g.market(),
            mark_price: g.u64(),
            amount: g.i64(),
            position: g.i64(),
        }
        .into(),
        EventTopic::Distressed => {
            let n = g.pick(PartyList::CAPACITY + 1);
            let parties: Vec<PartyId> = (0..n).map(|_| g.party()).collect();
            Distressed {
                market: g.market(),
                parties: PartyList::from_slice(&parties).unwrap(),
            }
            .into()
        }
        EventTopic::Closeout => Closeout {
            party: g.party(),
            market: g.market(),
            volume: g.i64(),
            price: g.u64(),
        }
        .into(),
        EventTopic::LossSocialisation => LossSocialisation {
            party: g.party(),
            market: g.market(),
            amount: g.i64(),
        }
        .into(),
        EventTopic::InsurancePool => InsurancePool {
            market: g.market(),
            asset: AssetId(g.u16()),
            balance: g.u64(),
            delta: g.i64(),
        }
        .into(),
    }
}

/// An event of `topic` with sequence `sequence`, everything else from `g`.
pub fn event(topic: EventTopic, sequence: u64, g: &mut Gen) -> Event {
    let trigger = match g.pick(4) {
        0 => Trigger::Block(g.u64()),
        1 => Trigger::Transaction(TxHash(g.u64())),
        2 => Trigger::Order(OrderId(g.u64())),
        _ => Trigger::PriceUpdate {
            market: g.market(),
            sequence: g.u64(),
        },
    };
    use Source::*;
    Event {
        sequence,
        block_height: g.u64(),
        block_time: BlockTime(g.i64()),
        tx_index: if g.pick(2) == 0 { None } else { Some(g.u32()) },
        trigger,
        source: [
            Time, Execution, Matching, Risk, Settlement, Collateral, Positions,
        ][g.pick(7)],
        payload: payload(topic, g),
    }
}

/// One event of every topic, sequences `first..first + COUNT`.
pub fn every_topic(first: u64, seed: u64) -> Vec<Event> {
    let mut g = Gen(seed);
    EventTopic::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| event(*t, first + i as u64, &mut g))
        .collect()
}

/// `n` events of random topics with contiguous sequences from `first`.
pub fn stream(n: usize, first: u64, seed: u64) -> Vec<Event> {
    let mut g = Gen(seed);
    (0..n)
        .map(|i| {
            let topic = EventTopic::ALL[g.pick(EventTopic::COUNT)];
            event(topic, first + i as u64, &mut g)
        })
        .collect()
}

/// A stream framed in blocks, as a bus carries it: for each entry of `sizes` a block of
/// heights from 1: `BeginBlock`, that many events of random topics other than the framing
/// ones, `EndBlock`; sequences contiguous from `first`.
pub fn framed(sizes: &[usize], first: u64, seed: u64) -> Vec<Event> {
    let mut g = Gen(seed);
    let inner: Vec<EventTopic> = EventTopic::ALL
        .into_iter()
        .filter(|t| !matches!(t, EventTopic::BeginBlock | EventTopic::EndBlock))
        .collect();
    let mut out = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let height = i as u64 + 1;
        let next = |payload: Payload, out: &mut Vec<Event>| {
            let sequence = first + out.len() as u64;
            out.push(Event {
                sequence,
                block_height: height,
                ..Event::new(payload)
            });
        };
        next(
            BeginBlock {
                height,
                ..Default::default()
            }
            .into(),
            &mut out,
        );
        for _ in 0..n {
            let topic = inner[g.pick(inner.len())];
            let payload = payload(topic, &mut g);
            next(payload, &mut out);
        }
        next(
            EndBlock {
                height,
                ..Default::default()
            }
            .into(),
            &mut out,
        );
    }
    out
}

/// The stream identity of the tests' logs.
pub fn identity() -> StreamIdentity {
    StreamIdentity::new(
        "test-chain",
        BlockHash(0x0123_4567_89ab_cdef),
        42,
        "blocks=3 kind=test",
    )
    .unwrap()
}

/// The log bytes of `events`, with the tests' [`identity`].
pub fn log_bytes(events: &[Event]) -> Vec<u8> {
    let mut w = EventLogWriter::new(Vec::new(), Some(&identity())).unwrap();
    w.append_all(events).unwrap();
    w.into_inner().unwrap()
}

/// The byte offset of every record of a log of `events` (as [`log_bytes`] writes it), plus
/// the end offset. The first is the header's length.
pub fn record_offsets(events: &[Event]) -> Vec<u64> {
    let mut w = EventLogWriter::new(Vec::new(), Some(&identity())).unwrap();
    let mut offsets: Vec<u64> = events.iter().map(|e| w.append(e).unwrap()).collect();
    offsets.push(w.bytes());
    offsets
}
