//! The committed heights the node's view shows are the ones the stores report: what they
//! hold after a run, the height a resumed store already held before its first commit, and
//! no further than the database while its commits are refused.

use ringbus_consumers::{SqliteOptions, SqliteStore, SqliteWriter};
use ringbus_events::{Event, EventLogReader, EventTopic, StreamIdentity};
use ringbus_live::{NodeStatus, StoreLine};
use ringbus_node::{ConsumerKind, Input, NodeView, Pipeline, RunReport};
use ringbus_sim::SimConfig;
use std::path::Path;
use std::time::Duration;

fn read_log(path: &Path) -> (Option<StreamIdentity>, Vec<Event>) {
    let f = std::fs::File::open(path).unwrap();
    let reader = EventLogReader::new(std::io::BufReader::new(f))
        .unwrap()
        .whole_stream();
    let identity = reader.identity().cloned();
    (identity, reader.collect::<Result<_, _>>().unwrap())
}

/// The height of the last block the SQLite database at `db` holds, read from the database.
fn db_height(db: &Path) -> Option<u64> {
    let store = SqliteStore::open(db, SqliteOptions::default()).unwrap();
    store.last_committed().map(|_| store.block_height())
}

/// Runs `p` on `input`, keeping the node's view: the view and the stores it showed (as on
/// `/status`) before the first event.
fn run_watched(p: &Pipeline, input: Input) -> (RunReport, NodeView, Vec<StoreLine>) {
    let mut watched = None;
    let report = p
        .run_serving(input, |_bus, view| {
            watched = Some((view.snapshot().stores, view));
            Ok(())
        })
        .unwrap();
    let (before, view) = watched.expect("the service was started");
    (report, view, before)
}

fn height(name: &str, committed_height: Option<u64>) -> StoreLine {
    StoreLine::new(name, committed_height)
}

#[test]
fn after_a_run_the_view_shows_what_each_store_committed() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pipeline::new(dir.path());
    p.consumers = vec![
        ConsumerKind::Sqlite,
        ConsumerKind::Stores,
        ConsumerKind::Log,
    ];
    let (report, view, before) = run_watched(&p, Input::Simulate(SimConfig::small(5, 17)));
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(before, [height("stores", None), height("sqlite", None)]);

    let in_memory = report.stores.unwrap().snapshot().block_height;
    let in_db = db_height(&p.db);
    assert_eq!((in_memory, in_db), (17, Some(17)));
    assert_eq!(
        view.snapshot().stores,
        [height("stores", Some(in_memory)), height("sqlite", in_db)]
    );
}

/// A database holding the first `blocks` blocks of the log at `log`, written by a writer
/// of its own (as a run stopped there would have left it).
fn database_with_blocks(db: &Path, log: &Path, blocks: u64) {
    let (identity, events) = read_log(log);
    let mut w = SqliteWriter::open(db, SqliteOptions::default(), identity.as_ref()).unwrap();
    for e in events {
        w.write(&e).unwrap();
        if e.topic() == EventTopic::EndBlock && e.block_height == blocks {
            break;
        }
    }
    assert_eq!(w.store().block_height(), blocks);
}

/// A log of 10 blocks, and a pipeline with the in-memory and SQLite stores that replays into
/// an existing database; the temporary directories live as long as the first element.
fn resuming_from_a_log() -> ([tempfile::TempDir; 2], Pipeline, Pipeline) {
    let source_dir = tempfile::tempdir().unwrap();
    let mut source = Pipeline::new(source_dir.path());
    source.consumers = vec![ConsumerKind::Log];
    source
        .run(Input::Simulate(SimConfig::small(8, 10)))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pipeline::new(dir.path());
    p.consumers = vec![ConsumerKind::Stores, ConsumerKind::Sqlite];
    p.fresh_db = false;
    ([source_dir, dir], source, p)
}

#[test]
fn a_resumed_store_starts_at_the_height_it_held() {
    let (_dirs, source, p) = resuming_from_a_log();
    database_with_blocks(&p.db, &source.event_log, 4);
    let (report, view, before) = run_watched(&p, Input::Replay(source.event_log.clone()));
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert!(report.sqlite_resumed_after.flatten().is_some());
    assert_eq!(
        before,
        [height("stores", None), height("sqlite", Some(4))],
        "before the first event"
    );
    assert_eq!(db_height(&p.db), Some(10));
    assert_eq!(
        view.snapshot().stores,
        [height("stores", Some(10)), height("sqlite", Some(10))]
    );
}

#[test]
fn a_store_whose_commits_are_refused_shows_the_height_its_database_holds() {
    let (_dirs, source, mut p) = resuming_from_a_log();
    p.sqlite = SqliteOptions {
        max_attempts: 3,
        retry_backoff: Duration::from_millis(2),
        busy_timeout: Duration::from_millis(5),
        durable: false,
    };
    database_with_blocks(&p.db, &source.event_log, 4);
    // Another connection holds the write lock for the whole run: block 5 is refused.
    let locker = rusqlite::Connection::open(&p.db).unwrap();
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (report, view, _) = run_watched(&p, Input::Replay(source.event_log.clone()));
    drop(locker);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert!(
        report.failures[0].to_string().contains("refused block 5"),
        "{}",
        report.failures[0]
    );
    assert_eq!(db_height(&p.db), Some(4));
    assert_eq!(
        view.snapshot().stores,
        [height("stores", Some(10)), height("sqlite", Some(4))]
    );
}
