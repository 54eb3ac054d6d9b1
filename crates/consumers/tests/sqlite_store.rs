//! The SQLite writer against the in-memory stores, resume after the cursor, and a database
//! that refuses writes.

use ringbus_consumers::{
    BlockStore, ForeignStream, HeldStream, MemoryStores, SqliteOptions, SqliteStore, SqliteWriter,
    StoreError, StoreTables,
};
use ringbus_events::{
    Account, AccountId, AssetId, BeginBlock, BlockHash, EndBlock, Event, LedgerMovement, MarketId,
    Order, OrderId, OrderStatus, PartyId, Payload, StreamIdentity, Trade, TradeId, TransferType,
};
use ringbus_ring::EventHandler;
use std::path::Path;
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
    let mut w = SqliteWriter::open(&path, SqliteOptions::default(), None).unwrap();
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
    let mut w = SqliteWriter::open(&path, SqliteOptions::default(), None).unwrap();
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
    let mut w = SqliteWriter::open(&path, options, None).unwrap();
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
    let mut w = SqliteWriter::open(&path, options, None).unwrap();
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
    let mut w = SqliteWriter::open(&path, options, None).unwrap();
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

fn id(seed: u64) -> StreamIdentity {
    StreamIdentity::new("test", BlockHash(seed * 1_000), seed, "blocks=20").unwrap()
}

/// Everything the database holds: the tables, the blocks, the recorded identity.
fn contents(path: &Path) -> (StoreTables, Vec<(i64, i64, i64)>, Option<String>) {
    let store = SqliteStore::open(path, SqliteOptions::default()).unwrap();
    let conn = store.connection();
    let blocks = conn
        .prepare("SELECT height, hash, last_sequence FROM blocks ORDER BY height")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let identity = conn
        .query_row("SELECT identity FROM stream", [], |r| r.get(0))
        .ok();
    (store.load().unwrap(), blocks, identity)
}

fn write(path: &Path, stream: Option<&StreamIdentity>, events: &[Event]) -> Result<(), StoreError> {
    let mut w = SqliteWriter::open(path, SqliteOptions::default(), stream)?;
    events.iter().try_for_each(|e| w.write(e))
}

#[test]
fn the_store_records_its_stream_and_refuses_another_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let events = stream(20);
    let cut = events.iter().position(|e| e.block_height == 8).unwrap();
    write(&path, Some(&id(42)), &events[..cut]).unwrap();
    let before = contents(&path);
    assert_eq!(before.2.as_deref(), Some(id(42).to_string().as_str()));
    assert_eq!(before.1.len(), 7);

    // Another stream, even one whose blocks continue exactly at the cursor: refused at open.
    let err = write(&path, Some(&id(43)), &events).unwrap_err();
    match &err {
        StoreError::ForeignStream(f) => {
            let ForeignStream { held, incoming, .. } = &**f;
            assert_eq!(held, &HeldStream::Stream(id(42)));
            assert_eq!(incoming.as_ref(), Some(&id(43)));
        }
        other => panic!("{other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&id(42).to_string()) && text.contains(&id(43).to_string()),
        "{text}"
    );
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert_eq!(contents(&path), before);
    // A stream of unknown identity cannot show it is the same one: refused too.
    let err = write(&path, None, &events).unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::ForeignStream(f) if f.incoming.is_none()
        ),
        "{err}"
    );
    assert_eq!(contents(&path), before);

    // Its own stream resumes.
    write(&path, Some(&id(42)), &events).unwrap();
    let after = contents(&path);
    assert_eq!(after.0, memory(&events));
    assert_eq!(after.2, before.2);
}

#[test]
fn a_first_commit_finds_another_stream_recorded_meanwhile_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let events = stream(3);
    // Both open the empty store; the first to commit records its stream.
    let mut a = SqliteWriter::open(&path, SqliteOptions::default(), Some(&id(1))).unwrap();
    let mut b = SqliteWriter::open(&path, SqliteOptions::default(), Some(&id(2))).unwrap();
    for e in &events[..8] {
        a.write(e).unwrap();
    }
    let before = contents(&path);
    let err = events.iter().find_map(|e| b.write(e).err()).unwrap();
    assert!(
        matches!(&err, StoreError::ForeignStream(f) if f.held == HeldStream::Stream(id(1)) && f.incoming == Some(id(2))),
        "{err}"
    );
    assert_eq!(b.store().held_stream(), &HeldStream::Empty);
    assert_eq!(contents(&path), before);
}

#[test]
fn a_store_without_an_identity_refuses_identified_streams_and_takes_unidentified_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let events = stream(6);
    // A store as a build from before identities left it: the schema without the stream
    // table, a cursor, a block.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE cursor (id INTEGER PRIMARY KEY CHECK (id = 1), last_sequence INTEGER NOT NULL, block_height INTEGER NOT NULL);
             CREATE TABLE blocks (height INTEGER PRIMARY KEY, time INTEGER NOT NULL, hash INTEGER NOT NULL, tx_count INTEGER NOT NULL, first_sequence INTEGER NOT NULL, last_sequence INTEGER NOT NULL);
             INSERT INTO blocks VALUES (1, 0, 0, 1, 0, 7);
             INSERT INTO cursor VALUES (1, 7, 1);",
        )
        .unwrap();
    }
    let before = contents(&path);
    let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    assert_eq!(store.held_stream(), &HeldStream::Unidentified);
    drop(store);
    let err = write(&path, Some(&id(42)), &events).unwrap_err();
    assert!(
        matches!(&err, StoreError::ForeignStream(f) if f.held == HeldStream::Unidentified),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("rebuild it from its own event log"),
        "{err}"
    );
    assert_eq!(contents(&path), before);

    // Events of unknown identity (a version 1 log) go on as before, and record nothing.
    write(&path, None, &events).unwrap();
    let (tables, blocks, identity) = contents(&path);
    assert_eq!((tables.block_height, blocks.len(), identity), (6, 6, None));
}
