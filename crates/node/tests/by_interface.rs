//! The positions plug-in and the stores subscribed by interface on a routed bus: one plug-in
//! per market holds exactly the full plug-in's positions of its market, and the stores of one
//! party hold exactly the full stores' rows that touch it, over a simulated stream.

use ringbus_consumers::{MemoryStores, PositionsPlugin, PositionsSnapshot, StoreTables};
use ringbus_events::{AccountOwner, Event, MarketId, PartyId};
use ringbus_ring::RingBus;
use ringbus_testkit::simulate;

const MARKETS: u16 = 4;

fn run(events: &[Event], parties: &[PartyId]) -> (Vec<PositionsSnapshot>, Vec<StoreTables>) {
    let mut builder = RingBus::routed::<Event>().capacity(1024);
    let mut positions = Vec::new();
    for market in std::iter::once(None).chain((0..MARKETS).map(|m| Some(MarketId(m)))) {
        let (plugin, view) = PositionsPlugin::new();
        builder = builder.handler(
            PositionsPlugin::subscription(format!("positions {market:?}"), market),
            plugin,
        );
        positions.push(view);
    }
    let mut stores = Vec::new();
    for party in std::iter::once(None).chain(parties.iter().copied().map(Some)) {
        let (store, view) = MemoryStores::new();
        builder = builder.handler(
            MemoryStores::subscription(format!("stores {party:?}"), party),
            store,
        );
        stores.push(view);
    }
    let (mut producer, bus) = builder.build().unwrap();
    for chunk in events.chunks(256) {
        producer.publish_events(chunk.iter().copied()).unwrap();
    }
    drop(producer);
    bus.join().unwrap();
    (
        positions.iter().map(|v| v.snapshot()).collect(),
        stores.iter().map(|v| v.snapshot()).collect(),
    )
}

/// The full stores' rows that touch `party`.
fn of_party(all: &StoreTables, party: PartyId) -> StoreTables {
    let owns = |owner: AccountOwner| owner.party() == Some(party);
    StoreTables {
        accounts: all
            .accounts
            .iter()
            .filter(|(id, _)| owns(id.owner))
            .map(|(id, b)| (*id, *b))
            .collect(),
        orders: all
            .orders
            .iter()
            .filter(|(_, o)| o.party == party)
            .map(|(id, o)| (*id, *o))
            .collect(),
        trades: all
            .trades
            .iter()
            .filter(|(_, t)| t.buyer == party || t.seller == party)
            .copied()
            .collect(),
        ledger: all
            .ledger
            .iter()
            .filter(|(_, l)| owns(l.from.owner) || owns(l.to.owner))
            .copied()
            .collect(),
        ..all.clone()
    }
}

#[test]
fn plug_ins_of_one_market_and_stores_of_one_party_hold_exactly_their_share() {
    let events = simulate(150, 11);
    // Parties that trade, and one that is only ever a trade's counterparty or none at all.
    let parties = [PartyId(0), PartyId(7), PartyId(150), PartyId(100_000)];
    let (positions, stores) = run(&events, &parties);

    let full = &positions[0];
    assert!(!full.states.is_empty());
    for (m, shard) in positions[1..].iter().enumerate() {
        let market = MarketId(m as u16);
        let states: Vec<_> = full
            .states
            .iter()
            .filter(|((_, mk), _)| *mk == market)
            .collect();
        assert_eq!(shard.states.iter().collect::<Vec<_>>(), states, "{market}");
        assert_eq!(shard.mark(market), full.mark(market));
        assert_eq!(shard.marks.len(), 1, "only its own market's mark");
        let distressed: Vec<_> = full
            .distressed
            .iter()
            .filter(|(_, mk)| *mk == market)
            .collect();
        assert_eq!(shard.distressed.iter().collect::<Vec<_>>(), distressed);
        assert_eq!(shard.block_height, full.block_height);
    }
    let closeouts: u64 = positions[1..].iter().map(|s| s.closeouts).sum();
    assert_eq!(closeouts, full.closeouts);

    let all = &stores[0];
    assert!(!all.trades.is_empty());
    for (party, store) in parties.iter().zip(&stores[1..]) {
        assert_eq!(*store, of_party(all, *party), "{party}");
    }
    assert!(
        !stores[1].trades.is_empty(),
        "party 0 trades: the test means something"
    );
    assert!(stores[4].trades.is_empty() && stores[4].blocks == all.blocks);
}
