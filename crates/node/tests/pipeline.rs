//! End to end through the bus: positions P&L against an independent recomputation, SQLite
//! against the in-memory stores, replay, and a writer process killed mid-block.

use ringbus_consumers::{SqliteOptions, SqliteStore, SqliteWriter, StoreTables};
use ringbus_events::{Event, EventLogReader, MarketId, PartyId, Payload};
use ringbus_node::{ConsumerKind, Input, Pipeline};
use ringbus_sim::SimConfig;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn read_log(path: &Path) -> Vec<Event> {
    let f = std::fs::File::open(path).unwrap();
    EventLogReader::new(std::io::BufReader::new(f))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn load(db: &Path) -> StoreTables {
    SqliteStore::open(db, SqliteOptions::default())
        .unwrap()
        .load()
        .unwrap()
}

#[test]
fn positions_stores_sqlite_and_replay_agree() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SimConfig::small(21, 120);
    let p = Pipeline::new(dir.path());
    let report = p.run(Input::Simulate(cfg)).unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    for c in &report.metrics.consumers {
        assert_eq!(c.lag, 0, "{}", c.name);
    }
    let events = read_log(&p.event_log);
    assert_eq!(events.len() as u64, report.events);

    // SQLite and the in-memory stores agree.
    let memory = report.stores.as_ref().unwrap().snapshot();
    assert_eq!(memory.blocks, cfg.blocks);
    assert!(memory.trades.len() > 100);
    assert_eq!(load(&p.db), memory);

    // Independent recomputation of P&L from the log: the cash-flow view (every trade and
    // closeout pays volume × price; loss socialisation; open volume at the last mark), and
    // the settlement view (every mark-to-market amount plus loss socialisation; the last
    // block settles every market, so nothing is left unsettled).
    let mut cash: BTreeMap<(PartyId, MarketId), i128> = BTreeMap::new();
    let mut vol: BTreeMap<(PartyId, MarketId), i128> = BTreeMap::new();
    let mut settled: BTreeMap<(PartyId, MarketId), i128> = BTreeMap::new();
    let mut marks: BTreeMap<MarketId, i128> = BTreeMap::new();
    let mut fill = |k, d: i128, px: u64, cash: &mut BTreeMap<_, i128>| {
        *cash.entry(k).or_default() -= d * i128::from(px);
        *vol.entry(k).or_default() += d;
    };
    for e in &events {
        match e.payload {
            Payload::Trade(t) => {
                fill((t.buyer, t.market), i128::from(t.size), t.price, &mut cash);
                fill(
                    (t.seller, t.market),
                    -i128::from(t.size),
                    t.price,
                    &mut cash,
                );
            }
            Payload::Closeout(c) => fill(
                (c.party, c.market),
                -i128::from(c.volume),
                c.price,
                &mut cash,
            ),
            Payload::LossSocialisation(l) => {
                *cash.entry((l.party, l.market)).or_default() += i128::from(l.amount);
                *settled.entry((l.party, l.market)).or_default() += i128::from(l.amount);
            }
            Payload::SettlePosition(s) => {
                *settled.entry((s.party, s.market)).or_default() += i128::from(s.amount)
            }
            Payload::MarkPrice(m) => {
                marks.insert(m.market, i128::from(m.price));
            }
            _ => {}
        }
    }
    let snapshot = report.positions.as_ref().unwrap().snapshot();
    assert!(!snapshot.states.is_empty());
    for ((party, market), state) in &snapshot.states {
        let k = (*party, *market);
        let mark = marks[market];
        let by_cash = cash.get(&k).copied().unwrap_or(0) + vol.get(&k).copied().unwrap_or(0) * mark;
        let pnl = i128::from(state.total_pnl(u64::try_from(mark).unwrap()));
        assert_eq!(pnl, by_cash, "{k:?}: plug-in vs cash flow");
        assert_eq!(
            pnl,
            settled.get(&k).copied().unwrap_or(0),
            "{k:?}: plug-in vs settlements"
        );
        assert_eq!(
            i128::from(state.open_volume()),
            vol.get(&k).copied().unwrap_or(0)
        );
    }

    // Replaying the log gives the same stores and positions.
    let dir2 = tempfile::tempdir().unwrap();
    let mut p2 = Pipeline::new(dir2.path());
    p2.consumers = vec![
        ConsumerKind::Positions,
        ConsumerKind::Stores,
        ConsumerKind::Sqlite,
        ConsumerKind::Log,
    ];
    let replayed = p2.run(Input::Replay(p.event_log.clone())).unwrap();
    assert!(replayed.failures.is_empty());
    assert_eq!(replayed.stores.unwrap().snapshot(), memory);
    assert_eq!(replayed.positions.unwrap().snapshot(), snapshot);
    assert_eq!(load(&p2.db), memory);
    assert_eq!(
        std::fs::read(&p2.event_log).unwrap(),
        std::fs::read(&p.event_log).unwrap()
    );
}

const CHILD_ENV: &str = "RINGBUS_CRASH_CHILD";

/// In the child process: write the log into the database, and in the middle of the block
/// `stall_height` signal the parent (a marker file) and wait to be killed.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return; // Only meaningful when re-executed by the crash test.
    };
    let mut parts = spec.split('|');
    let (log, db, marker, stall) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap().parse::<u64>().unwrap(),
    );
    // The writer of the log's stream, as a replay of the log would make it.
    let identity = EventLogReader::new(std::fs::File::open(log).unwrap())
        .unwrap()
        .identity()
        .cloned();
    assert!(identity.is_some());
    let mut w = SqliteWriter::open(db, SqliteOptions::default(), identity.as_ref()).unwrap();
    let mut staged_in_stall_block = 0;
    for e in read_log(Path::new(log)) {
        w.write(&e).unwrap();
        if e.block_height == stall && w.open_block() == Some(stall) {
            staged_in_stall_block += 1;
            if staged_in_stall_block == 25 {
                // Written whole, then renamed: the parent reads it as soon as it exists.
                let partial = format!("{marker}.partial");
                std::fs::write(&partial, w.store().last_committed().unwrap().to_string()).unwrap();
                std::fs::rename(&partial, marker).unwrap();
                loop {
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
    }
}

#[test]
fn a_writer_killed_mid_block_resumes_without_loss_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    // The log and the reference database, from an uninterrupted run.
    let mut p = Pipeline::new(dir.path());
    p.consumers = vec![ConsumerKind::Sqlite, ConsumerKind::Log];
    let cfg = SimConfig::small(8, 80);
    let report = p.run(Input::Simulate(cfg)).unwrap();
    assert!(report.failures.is_empty());
    let reference = load(&p.db);

    let db = dir.path().join("crashed.db");
    let marker = dir.path().join("stalled");
    let spec = format!(
        "{}|{}|{}|{}",
        p.event_log.display(),
        db.display(),
        marker.display(),
        37
    );
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, spec)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !marker.exists() {
        assert!(
            Instant::now() < deadline,
            "the child never reached block 37"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let last_good: u64 = std::fs::read_to_string(&marker).unwrap().parse().unwrap();
    child.kill().unwrap(); // SIGKILL, mid-block: 25 events of block 37 staged, none committed
    child.wait().unwrap();

    // What survived is exactly blocks 1..=36.
    let store = SqliteStore::open(&db, SqliteOptions::default()).unwrap();
    assert_eq!(store.block_height(), 36);
    assert_eq!(store.last_committed(), Some(last_good));
    drop(store);

    // Restart through the bus from the start of the log: it resumes after the cursor.
    let mut resume = Pipeline::new(dir.path());
    resume.consumers = vec![ConsumerKind::Sqlite];
    resume.db = db.clone();
    resume.fresh_db = false;
    let r = resume.run(Input::Replay(p.event_log.clone())).unwrap();
    assert!(r.failures.is_empty(), "{:?}", r.failures);
    assert_eq!(r.sqlite_resumed_after, Some(Some(last_good)));
    assert_eq!(load(&db), reference, "no block lost, none applied twice");
}

#[test]
fn a_locked_database_fails_only_the_sqlite_consumer_with_the_last_good_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pipeline::new(dir.path());
    p.sqlite = SqliteOptions {
        max_attempts: 3,
        retry_backoff: Duration::from_millis(2),
        busy_timeout: Duration::from_millis(5),
        durable: false,
    };
    // Create the database, then hold its write lock from another connection for the run.
    drop(SqliteStore::open(&p.db, SqliteOptions::default()).unwrap());
    p.fresh_db = false;
    let locker = rusqlite_lock(&p.db);
    let report = p.run(Input::Simulate(SimConfig::small(4, 30))).unwrap();
    drop(locker);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    let failure = report.failures[0].to_string();
    assert!(
        failure.contains("\"sqlite\"") && failure.contains("refused block 1"),
        "{failure}"
    );
    assert!(
        failure.contains("last committed sequence: none"),
        "{failure}"
    );
    // The other consumers finished; the log holds every event, so a replay resumes.
    let stores = report.stores.unwrap().snapshot();
    assert_eq!(stores.blocks, 30);
    let mut resume = Pipeline::new(dir.path());
    resume.consumers = vec![ConsumerKind::Sqlite];
    resume.fresh_db = false;
    let r = resume.run(Input::Replay(p.event_log.clone())).unwrap();
    assert!(r.failures.is_empty());
    assert_eq!(load(&p.db), stores);
}

/// Another process's connection holding the write lock (BEGIN IMMEDIATE, never committed).
fn rusqlite_lock(db: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(db).unwrap();
    c.execute_batch("BEGIN IMMEDIATE").unwrap();
    c
}

/// The names of the files in `dir`.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A failed consumer's output is not put in place (the previous file stays); the outputs of
/// the consumers that finished are.
#[test]
fn a_failed_consumer_leaves_its_previous_output_and_the_others_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let p = Pipeline::new(dir.path());
    assert!(p
        .run(Input::Simulate(SimConfig::small(3, 20)))
        .unwrap()
        .failures
        .is_empty());
    let (db, log) = (std::fs::read(&p.db).unwrap(), read_log(&p.event_log));
    // Without its first BeginBlock the stream is not framed in blocks: the SQLite writer
    // fails at the first event; the log writer takes every event.
    let events: Vec<Event> = read_log(&p.event_log)
        .into_iter()
        .skip(1)
        .enumerate()
        .map(|(i, mut e)| {
            e.sequence = i as u64;
            e
        })
        .collect();
    let mut q = Pipeline::new(dir.path());
    q.consumers = vec![ConsumerKind::Sqlite, ConsumerKind::Log];
    let r = q
        .run(Input::Events(std::sync::Arc::new(events.clone())))
        .unwrap();
    assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
    assert_eq!(r.failures[0].name, "sqlite");
    assert_eq!(r.not_written, [q.db.clone()]);
    assert_eq!(r.written, [q.event_log.clone()]);
    assert_eq!(
        std::fs::read(&q.db).unwrap(),
        db,
        "the previous database stays"
    );
    assert_eq!(read_log(&q.event_log), events);
    assert_ne!(read_log(&q.event_log), log);
    assert_eq!(
        listing(dir.path()),
        ["events.rbl", "ringbus.db"],
        "no file left over"
    );
}

/// A replay that fails on a damaged log leaves the previous outputs as they were.
#[test]
fn a_failed_replay_leaves_the_previous_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let p = Pipeline::new(dir.path());
    p.run(Input::Simulate(SimConfig::small(5, 30))).unwrap();
    let mut bytes = std::fs::read(&p.event_log).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    let damaged = dir.path().join("damaged.rbl");
    std::fs::write(&damaged, &bytes).unwrap();
    let before = [&p.db, &p.event_log].map(|f| std::fs::read(f).unwrap());
    let err = p.run(Input::Replay(damaged)).unwrap_err();
    assert!(
        matches!(err, ringbus_node::PipelineError::Log { .. }),
        "{err}"
    );
    assert_eq!(
        [&p.db, &p.event_log].map(|f| std::fs::read(f).unwrap()),
        before
    );
    assert_eq!(
        listing(dir.path()),
        ["damaged.rbl", "events.rbl", "ringbus.db"],
        "no file left over"
    );
}

/// Outputs that are one file by another spelling, or the replayed log, are refused before
/// anything is written.
#[test]
fn outputs_that_are_one_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pipeline::new(dir.path());
    p.db = dir.path().join("x");
    p.event_log = dir.path().join(".").join("x");
    let err = p.run(Input::Simulate(SimConfig::small(5, 5))).unwrap_err();
    assert!(
        matches!(err, ringbus_node::PipelineError::SameFile { .. }),
        "{err}"
    );
    assert!(listing(dir.path()).is_empty());

    let q = Pipeline::new(dir.path());
    q.run(Input::Simulate(SimConfig::small(5, 5))).unwrap();
    let log = std::fs::read(&q.event_log).unwrap();
    let again = dir.path().join("sub").join("..").join("events.rbl");
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let err = q.run(Input::Replay(again)).unwrap_err();
    assert!(
        matches!(err, ringbus_node::PipelineError::SameFile { .. }),
        "{err}"
    );
    assert_eq!(std::fs::read(&q.event_log).unwrap(), log);
}
