//! A store refuses events of another stream: the log of one seed replayed into a store built
//! from another's is refused by SQLite, PostgreSQL and JetStream (the real servers), with an
//! error naming both streams, and the store is left exactly as it was. The store is built
//! from the first stream's log cut at a block end; in one case the second stream also ends a
//! block there (so nothing else would notice and a chimera would be committed), in the
//! other it does not.

use ringbus_consumers::{SqliteOptions, SqliteStore, StoreError, StoreTables};
use ringbus_events::{Event, EventLogReader, Payload};
use ringbus_node::{ConsumerKind, Input, Pipeline, PipelineError};
use ringbus_remote::{ForwarderOptions, PgOptions, PgStore, RemoteError, ServiceUrl};
use ringbus_sim::SimConfig;
use ringbus_testkit::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

const BLOCKS: u64 = 120;

/// The logs of seeds 42 and 43, and seed 42's log cut after a block end that seed 43 shares
/// (`common`) and after one it does not (`own`).
struct Logs {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    seed43: PathBuf,
    common: PathBuf,
    own: PathBuf,
}

fn simulate(dir: &Path, seed: u64) -> PathBuf {
    let mut p = Pipeline::new(dir);
    p.consumers = vec![ConsumerKind::Log];
    p.event_log = dir.join(format!("seed{seed}.rbl"));
    let report = p
        .run(Input::Simulate(SimConfig::small(seed, BLOCKS)))
        .unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    p.event_log
}

/// The sequence of every `EndBlock` of the log, with the log's length after it.
fn block_ends(log: &Path) -> Vec<(u64, u64)> {
    let mut reader = EventLogReader::new(std::fs::File::open(log).unwrap()).unwrap();
    let mut ends = Vec::new();
    while let Some(event) = reader.next() {
        let event: Event = event.unwrap();
        if let Payload::EndBlock(_) = event.payload {
            ends.push((event.sequence, reader.offset()));
        }
    }
    ends
}

fn logs() -> Logs {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let seed42 = simulate(&path, 42);
    let seed43 = simulate(&path, 43);
    let ends42 = block_ends(&seed42);
    let ends43: Vec<u64> = block_ends(&seed43).into_iter().map(|(s, _)| s).collect();
    // The deepest block end the two streams share, and one of seed 42's alone (past the
    // genesis block, which every seed ends at the same sequence).
    let common = ends42
        .iter()
        .rev()
        .find(|(s, _)| ends43.contains(s))
        .copied()
        .unwrap();
    assert!(
        common.0 > ends42[10].0,
        "a shared block end deep in the streams"
    );
    let own = ends42[20..]
        .iter()
        .find(|(s, _)| !ends43.contains(s))
        .copied()
        .unwrap();
    let bytes = std::fs::read(&seed42).unwrap();
    let cut = |name: &str, (_, len): (u64, u64)| {
        let p = path.join(name);
        std::fs::write(&p, &bytes[..len as usize]).unwrap();
        p
    };
    Logs {
        common: cut("seed42-common.rbl", common),
        own: cut("seed42-own.rbl", own),
        seed43,
        dir: path,
        _dir: dir,
    }
}

/// The pipeline's error (with its causes, as the command line prints them) names both
/// streams (seed, genesis hash) readably.
fn assert_names_both(err: &PipelineError) {
    let text = ringbus_node::cli::error_lines(err).join("\n");
    assert!(
        text.contains("seed=42")
            && text.contains("seed=43")
            && text.matches("genesis=").count() == 2,
        "{text}"
    );
}

fn sqlite_contents(db: &Path) -> (StoreTables, Vec<(i64, i64, i64)>, Option<String>) {
    let store = SqliteStore::open(db, SqliteOptions::default()).unwrap();
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

#[test]
fn sqlite_refuses_another_streams_log_and_stays_unchanged() {
    let logs = logs();
    for (name, cut) in [("common", &logs.common), ("own", &logs.own)] {
        let mut p = Pipeline::new(&logs.dir);
        p.consumers = vec![ConsumerKind::Sqlite];
        p.db = logs.dir.join(format!("{name}.db"));
        let built = p.run(Input::Replay(cut.clone())).unwrap();
        assert!(built.failures.is_empty(), "{:?}", built.failures);
        let before = sqlite_contents(&p.db);
        assert!(
            before.1.len() > 20,
            "{name}: the store holds seed 42's blocks"
        );

        p.fresh_db = false;
        let err = p
            .run(Input::Replay(logs.seed43.clone()))
            .expect_err("seed 43's log into seed 42's store must be refused");
        assert_names_both(&err);
        assert!(
            matches!(&err, PipelineError::Store(StoreError::ForeignStream(f))
                if f.held.to_string().contains("seed=42")
                    && f.incoming.as_ref().is_some_and(|i| i.seed() == 43)),
            "{name}: {err:?}"
        );
        assert_eq!(sqlite_contents(&p.db), before, "{name}: the store changed");
    }
}

#[test]
fn postgres_refuses_another_streams_log_and_stays_unchanged() {
    let _servers = use_servers();
    with_deadline(
        "PostgreSQL: another stream",
        Duration::from_secs(180),
        || {
            let logs = logs();
            for (name, cut) in [("common", &logs.common), ("own", &logs.own)] {
                let url = fresh_database(&format!("identity_{name}"));
                let mut p = Pipeline::new(&logs.dir);
                p.consumers = vec![ConsumerKind::Postgres];
                p.postgres = Some((url.clone(), PgOptions::default()));
                let built = p.run(Input::Replay(cut.clone())).unwrap();
                assert!(built.failures.is_empty(), "{:?}", built.failures);
                let before = pg_contents(&url);
                assert!(
                    before.0.blocks > 20,
                    "{name}: the store holds seed 42's blocks"
                );

                let err = p
                    .run(Input::Replay(logs.seed43.clone()))
                    .expect_err("seed 43's log into seed 42's database must be refused");
                assert_names_both(&err);
                assert!(
                    matches!(&err, PipelineError::Remote(RemoteError::ForeignStream(f))
                    if f.incoming.as_ref().is_some_and(|i| i.seed() == 43)),
                    "{name}: {err:?}"
                );
                assert_eq!(pg_contents(&url), before, "{name}: the database changed");
            }
        },
    );
}

/// The stores, the positions, the blocks and the recorded identity.
type PgContents = (
    StoreTables,
    Vec<(i64, i64)>,
    Vec<(i64, i64, i64)>,
    Vec<String>,
);

fn pg_contents(url: &ServiceUrl) -> PgContents {
    let mut store = PgStore::connect(url.clone(), PgOptions::default()).unwrap();
    let tables = store.load().unwrap();
    let mut positions: Vec<(i64, i64)> = store
        .load_positions()
        .unwrap()
        .values()
        .map(|p| (i64::from(p.party.0), p.open_volume))
        .collect();
    positions.sort();
    let client = store.client_mut().unwrap();
    let blocks = client
        .query(
            "SELECT height, hash, last_sequence FROM blocks ORDER BY height",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    // The identity table exists only from schema version 3 on.
    let identity = client
        .query(
            "SELECT identity FROM ringbus_stream WHERE to_regclass('ringbus_stream') IS NOT NULL",
            &[],
        )
        .map(|rows| rows.iter().map(|r| r.get(0)).collect())
        .unwrap_or_default();
    (tables, positions, blocks, identity)
}

#[test]
fn jetstream_refuses_another_streams_log_and_stays_unchanged() {
    let _servers = use_servers();
    sweep_streams(nats());
    with_deadline(
        "JetStream: another stream",
        Duration::from_secs(180),
        || {
            let logs = logs();
            for (name, cut) in [("common", &logs.common), ("own", &logs.own)] {
                let options = ForwarderOptions {
                    stream: per_process(&format!("TEST_IDENTITY_{}", name.to_uppercase())),
                    subject_prefix: per_process(&format!("t_identity_{name}")),
                    ..ForwarderOptions::default()
                };
                let url = ServiceUrl::new(nats().url());
                ringbus_remote::JetStreamForwarder::delete_stream(&url, &options).unwrap();
                let mut p = Pipeline::new(&logs.dir);
                p.consumers = vec![ConsumerKind::Nats];
                p.nats = Some((url.clone(), options.clone()));
                let built = p.run(Input::Replay(cut.clone())).unwrap();
                assert!(built.failures.is_empty(), "{:?}", built.failures);
                let before = stream_raw(&options.stream);
                assert!(
                    before.len() > 1_000,
                    "{name}: the stream holds seed 42's events"
                );

                let err = p
                    .run(Input::Replay(logs.seed43.clone()))
                    .expect_err("seed 43's log into seed 42's JetStream stream must be refused");
                assert_names_both(&err);
                assert!(
                    matches!(&err, PipelineError::Remote(RemoteError::ForeignStream(f))
                    if f.incoming.as_ref().is_some_and(|i| i.seed() == 43)),
                    "{name}: {err:?}"
                );
                let after = stream_raw(&options.stream);
                assert_eq!(after.len(), before.len(), "{name}: messages were added");
                for (a, b) in before.iter().zip(&after) {
                    assert_eq!(
                        (&a.subject, a.header("Nats-Msg-Id"), &a.payload),
                        (&b.subject, b.header("Nats-Msg-Id"), &b.payload),
                        "{name}: the stream changed"
                    );
                }
                ringbus_remote::JetStreamForwarder::delete_stream(&url, &options).unwrap();
            }
        },
    );
}
