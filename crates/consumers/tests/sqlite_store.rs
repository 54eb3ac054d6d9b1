//! The SQLite writer against the in-memory stores, resume after the cursor, and a database
//! that refuses writes.

use ringbus_consumers::{MemoryStores, SqliteOptions, SqliteStore, SqliteWriter, StoreError};
use ringbus_events::{
    Account, AccountId, AssetId, BeginBlock, EndBlock, Event, LedgerMovement, MarketId, Order,
    OrderId, OrderStatus, PartyId, Payload, Trade, TradeId, TransferType,
};
use ringbus_ring::EventHandler;
use std::time::Duration;

/// `blocks` blocks of a few store events each, sequences from 0.
fn stream(blocks: u64) -> Vec<Event> {
    let mut out = Vec::new();
    let mut push = |h: u64, p: Payload| {
        let sequence = out.len() as u64;
        out.push(Event {
            sequence,
            block_height: h,
            ..Event::new(p)
        });
    };
    for h in 1..=blocks {
        push(
            h,
            BeginBlock {
                height: h,
                ..Default::default()
            }
            .into(),
        );
        let party = PartyId((h % 5) as u32);
        let id = OrderId(h);
        push(
            h,
            Order {
                id,
                market: MarketId(1),
                party,
                price: 100 + h,
                size: 10,
                remaining: 10,
                ..Default::default()
            }
            .into(),
        );
        push(
            h,
            Trade {
                id: TradeId(h),
                market: MarketId(1),
                price: 100 + h,
                size: 4,
                buyer: party,
                seller: PartyId(9),
                buy_order: id,
                ..Default::default()
            }
            .into(),
        );
        push(
            h,
            Order {
                id,
                market: MarketId(1),
                party,
                price: 100 + h,
                size: 10,
                remaining: 6,
                status: OrderStatus::PartiallyFilled,
                ..Default::default()
            }
            .into(),
        );
        let general = AccountId::general(party, AssetId(0));
        let margin = AccountId::margin(party, MarketId(1), AssetId(0));
        push(
            h,
            LedgerMovement {
                from: general,
                to: margin,
                amount: h,
                kind: TransferType::MarginLow,
            }
            .into(),
        );
        push(
            h,
            Account {
                id: general,
                balance: 1_000 - h,
            }
            .into(),
        );
        push(
            h,
            Account {
                id: margin,
                balance: h,
            }
            .into(),
        );
        push(
            h,
            EndBlock {
                height: h,
                tx_count: 1,
                ..Default::default()
            }
            .into(),
        );
    }
    out
}

fn memory(events: &[Event]) -> ringbus_consumers::StoreTables {
    let (mut stores, view) = MemoryStores::new();
    for e in events {
        stores.on_event(e, e.sequence, false).unwrap();
    }
    view.snapshot()
}

#[test]
fn sqlite_and_memory_stores_agree_and_resume_skips_committed_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let events = stream(20);
    // First run stops in the middle of block 12 (its events are staged, never committed).
    let cut = events.iter().position(|e| e.block_height == 12).unwrap() + 3;
    let mut w = SqliteWriter::open(&path, SqliteOptions::default()).unwrap();
    for e in &events[..cut] {
        w.write(e).unwrap();
    }
    assert_eq!(w.open_block(), Some(12));
    drop(w);
    let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    assert_eq!(store.block_height(), 11);
    assert_eq!(store.load().unwrap(), memory(&events[..cut - 3]));
    drop(store);

    // Restart: feed the whole stream again; committed events are skipped.
    let mut w = SqliteWriter::open(&path, SqliteOptions::default()).unwrap();
    let resume = w.resume_after().unwrap();
    for e in &events {
        w.write(e).unwrap();
    }
    assert_eq!(w.skipped(), resume + 1);
    assert_eq!(w.store().load().unwrap(), memory(&events));
}

#[test]
fn a_locked_database_is_retried_then_fails_with_the_last_good_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    let events = stream(6);
    let options = SqliteOptions {
        max_attempts: 3,
        retry_backoff: Duration::from_millis(5),
        busy_timeout: Duration::from_millis(10),
        durable: false,
    };
    let mut w = SqliteWriter::open(&path, options).unwrap();
    let block3 = events.iter().position(|e| e.block_height == 3).unwrap();
    for e in &events[..block3] {
        w.write(e).unwrap();
    }
    let last_good = w.store().last_committed();
    assert_eq!(last_good, Some(block3 as u64 - 1));

    // Another connection takes the write lock and keeps it.
    let locker = rusqlite::Connection::open(&path).unwrap();
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut failure = None;
    for e in &events[block3..] {
        if let Err(err) = w.write(e) {
            failure = Some(err);
            break;
        }
    }
    let err = failure.expect("the locked database must refuse block 3");
    match &err {
        StoreError::Refused {
            height,
            attempts,
            last_committed,
            ..
        } => {
            assert_eq!(*height, 3);
            assert_eq!(*attempts, 3);
            assert_eq!(*last_committed, last_good);
        }
        other => panic!("unexpected error {other}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("block 3") && msg.contains("locked"), "{msg}");
    locker.execute_batch("ROLLBACK").unwrap();
    drop(locker);
    drop(w);

    // Nothing was lost: a new writer resumes after the last good sequence and completes.
    let mut w = SqliteWriter::open(&path, options).unwrap();
    assert_eq!(w.resume_after(), last_good);
    for e in &events {
        w.write(e).unwrap();
    }
    assert_eq!(w.store().load().unwrap(), memory(&events));
}

#[test]
fn a_read_only_database_gives_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.db");
    let events = stream(2);
    drop(SqliteStore::open(&path, SqliteOptions::default()).unwrap());
    let options = SqliteOptions {
        max_attempts: 2,
        retry_backoff: Duration::from_millis(1),
        ..SqliteOptions::default()
    };
    let mut w = SqliteWriter::open(&path, options).unwrap();
    // A connection that may only read: SQLite refuses every write with SQLITE_READONLY.
    w.store()
        .connection()
        .pragma_update(None, "query_only", true)
        .unwrap();
    let err = events.iter().find_map(|e| w.write(e).err()).unwrap();
    assert!(
        matches!(
            err,
            StoreError::Refused {
                height: 1,
                last_committed: None,
                attempts: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("readonly"), "{err}");
}

#[test]
fn events_outside_a_block_are_a_framing_error() {
    let (mut stores, _view) = MemoryStores::new();
    let e = Event::new(Trade::default());
    let err = stores.on_event(&e, 0, false).unwrap_err();
    assert!(err.to_string().contains("outside a block"), "{err}");
}
