//! The PostgreSQL writer against a real server: one this test process starts, or one named by
//! the environment (`ringbus_testkit::servers`).

use ringbus_consumers::{FxHashMap, SqliteOptions, SqliteWriter, StoreTables};
use ringbus_events::{topic_sets, Event, MarketId, PartyId, Payload, Position};
use ringbus_remote::{
    PgOptions, PgStats, PgStore, PostgresWriter, RemoteError, ServiceUrl, PG_INPUTS,
};
use ringbus_ring::{EventHandler, RingBus, Subscription};
use ringbus_sim::EventSink;
use ringbus_testkit::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the stores must hold after `events`, computed independently of any writer.
fn expected(events: &[Event]) -> (StoreTables, FxHashMap<(PartyId, MarketId), Position>) {
    let mut t = StoreTables::default();
    t.apply_block(events);
    let mut positions = FxHashMap::default();
    for e in events {
        if let Payload::Position(p) = e.payload {
            positions.insert((p.party, p.market), p);
        }
    }
    (t, positions)
}

fn check(store: &mut PgStore, events: &[Event]) {
    let (tables, positions) = expected(events);
    let loaded = store.load().unwrap();
    assert_eq!(loaded.blocks, tables.blocks);
    assert_eq!(loaded.block_height, tables.block_height);
    assert_eq!(loaded.last_sequence, tables.last_sequence);
    assert_eq!(loaded.trades, tables.trades, "trades, each once, in order");
    assert_eq!(
        loaded.ledger, tables.ledger,
        "ledger movements, each once, in order"
    );
    assert_eq!(loaded.accounts, tables.accounts);
    assert_eq!(loaded.orders, tables.orders);
    assert_eq!(loaded, tables);
    assert_eq!(store.load_positions().unwrap(), positions);
}

/// A full simulated run through the bus into PostgreSQL and SQLite side by side: the same
/// content, table by table.
#[test]
fn full_run_lands_in_postgres_as_in_sqlite() {
    let _servers = use_servers();
    with_deadline("full run into PostgreSQL", Duration::from_secs(90), || {
        let url = fresh_database("full_run");
        let events = simulate(400, 7);
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let pg = PostgresWriter::connect(url.clone(), PgOptions::default(), None).unwrap();
        assert_eq!(pg.resume_after(), None);
        let sqlite = SqliteWriter::open(&db, SqliteOptions::default(), None).unwrap();
        let (mut producer, bus) = RingBus::routed::<Event>()
            .capacity(4096)
            .handler(Subscription::new("postgres").topics(PG_INPUTS), pg)
            .handler(
                Subscription::new("sqlite").topics(topic_sets::STORE_INPUTS),
                sqlite,
            )
            .build()
            .unwrap();
        for chunk in events.chunks(64) {
            EventSink::publish(&mut producer, chunk).unwrap();
        }
        drop(producer);
        bus.join().unwrap();

        let mut store = PgStore::connect(url, PgOptions::default()).unwrap();
        let sqlite = ringbus_consumers::SqliteStore::open(&db, SqliteOptions::default()).unwrap();
        assert_eq!(
            store.load().unwrap(),
            sqlite.load().unwrap(),
            "PostgreSQL = SQLite"
        );
        check(&mut store, &events);
    });
}

/// A writer that dies with a block staged loses only that block; fed the log again from its
/// start, the next one skips what is committed and finishes: the same as one clean run.
#[test]
fn crash_mid_block_then_resume_from_the_log() {
    let _servers = use_servers();
    with_deadline("crash and resume", Duration::from_secs(60), || {
        let url = fresh_database("crash_resume");
        let events = simulate(120, 11);
        let cut = events
            .iter()
            .position(|e| matches!(e.payload, Payload::BeginBlock(b) if b.height == 60))
            .unwrap()
            + 25;
        let mut w = PostgresWriter::connect(url.clone(), PgOptions::default(), None).unwrap();
        assert_eq!(w.committed_height().get(), None, "an empty database");
        for e in &events[..cut] {
            if PG_INPUTS.contains(e.ring_topic()) {
                w.write(e).unwrap();
            }
        }
        assert_eq!(w.open_block(), Some(60));
        assert_eq!(w.committed_height().get(), Some(59));
        let last_good = w.store().last_committed();
        drop(w); // the staged part of block 60 is gone with the process

        let mut w = PostgresWriter::connect(url.clone(), PgOptions::default(), None).unwrap();
        assert_eq!(w.resume_after(), last_good);
        assert_eq!(w.store().block_height(), 59);
        let committed = w.committed_height();
        assert_eq!(committed.get(), Some(59), "the height it resumed at");
        for e in events.iter().filter(|e| PG_INPUTS.contains(e.ring_topic())) {
            w.write(e).unwrap();
        }
        assert!(w.skipped() > 0);
        assert_eq!(committed.get(), Some(120));
        check(w.store_mut(), &events);
    });
}

/// PostgreSQL is restarted (crash-style, `pg_ctl restart -m immediate`) while the writer
/// runs behind the bus: it reconnects, re-reads its cursor and goes on; checked event by
/// event against the log. Skipped against a server named by the environment.
#[test]
fn postgres_restarted_mid_run() {
    let Some((_servers, server)) = fault_postgres() else {
        return;
    };
    with_deadline(
        "PostgreSQL restart mid-run",
        Duration::from_secs(120),
        || {
            let url = fresh_database("restart");
            let events = simulate(300, 23);
            let options = PgOptions {
                reconnect_timeout: Duration::from_secs(60),
                ..PgOptions::default()
            };
            let mut pg =
                PostgresWriter::connect(url.clone(), options.clone(), Some(&identity(23))).unwrap();
            let stats = Arc::new(Mutex::new(PgStats::default()));
            let seen = stats.clone();
            let handler = move |e: &Event, seq, eob| {
                pg.on_event(e, seq, eob)?;
                *seen.lock().unwrap() = pg.store().stats();
                Ok(())
            };
            let (mut producer, bus) = RingBus::routed::<Event>()
                .capacity(1024)
                .handler(Subscription::new("postgres").topics(PG_INPUTS), handler)
                .build()
                .unwrap();
            let mut restarted = false;
            let mut block = 0;
            let mut start = 0;
            for (i, e) in events.iter().enumerate() {
                if let Payload::EndBlock(_) = e.payload {
                    EventSink::publish(&mut producer, &events[start..=i]).unwrap();
                    start = i + 1;
                    block += 1;
                    // Paced like a live node, so the restart lands mid-run, not after it.
                    std::thread::sleep(Duration::from_millis(2));
                    if block == 100 && !restarted {
                        server.restart_immediate();
                        restarted = true;
                    }
                }
            }
            drop(producer);
            bus.join().unwrap();
            let stats = *stats.lock().unwrap();
            assert!(
                stats.reconnects >= 1,
                "the restart was not noticed: {stats:?}"
            );
            assert_eq!(stats.blocks, 300 - stats.already_committed, "{stats:?}");
            eprintln!("after a PostgreSQL restart: {stats:?}");
            let mut store = PgStore::connect(url.clone(), options).unwrap();
            check(&mut store, &events);
            assert_eq!(pg_state(&url).2, Some(identity(23).to_string()));
        },
    );
}

/// Connecting twice migrates once; a database from a newer build is refused.
#[test]
fn schema_is_versioned() {
    let _servers = use_servers();
    with_deadline("schema versions", Duration::from_secs(30), || {
        let url = fresh_database("schema");
        drop(PgStore::connect(url.clone(), PgOptions::default()).unwrap());
        let mut store = PgStore::connect(url.clone(), PgOptions::default()).unwrap();
        let c = store.client_mut().unwrap();
        let versions: Vec<i32> = c
            .query(
                "SELECT version FROM ringbus_schema_version ORDER BY version",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(versions, (1..=PgStore::SCHEMA_VERSION).collect::<Vec<_>>());
        c.execute(
            "INSERT INTO ringbus_schema_version (version) VALUES (999)",
            &[],
        )
        .unwrap();
        match PgStore::connect(url, PgOptions::default()) {
            Err(RemoteError::SchemaTooNew { found: 999, .. }) => {}
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    });
}

/// A second writer on the same database cannot interleave its blocks with the first's.
#[test]
fn a_second_writer_is_refused() {
    let _servers = use_servers();
    with_deadline("two writers", Duration::from_secs(30), || {
        let url = fresh_database("two_writers");
        let events = simulate(3, 5);
        let options = PgOptions {
            max_attempts: 1,
            ..PgOptions::default()
        };
        let mut a = PostgresWriter::connect(url.clone(), options.clone(), None).unwrap();
        let mut b = PostgresWriter::connect(url, options, None).unwrap();
        let inputs: Vec<&Event> = events
            .iter()
            .filter(|e| PG_INPUTS.contains(e.ring_topic()))
            .collect();
        for e in &inputs {
            a.write(e).unwrap();
        }
        let err = inputs.iter().try_for_each(|e| b.write(e)).unwrap_err();
        assert!(
            matches!(
                err,
                RemoteError::PgRefused { .. } | RemoteError::CursorMoved { .. }
            ),
            "{err}"
        );
    });
}

/// No password in what is shown of a URL or an error.
#[test]
fn passwords_are_never_shown() {
    let url = ServiceUrl::new("postgres://ringbus:s3cret@127.0.0.1:1/nowhere");
    let options = PgOptions {
        reconnect_timeout: Duration::from_millis(200),
        connect_timeout: Duration::from_millis(200),
        ..PgOptions::default()
    };
    let err = PgStore::connect(url.clone(), options).unwrap_err();
    let shown = format!("{err} {err:?} {url} {url:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("ringbus:***@127.0.0.1:1"), "{shown}");
}

/// A wrong password fails at once (it will not go away by waiting), and is not shown.
#[test]
fn a_wrong_password_fails_at_once() {
    let _servers = use_servers();
    with_deadline("wrong password", Duration::from_secs(20), || {
        let server = postgres();
        let url = server.url_with_password(server.admin_database(), "wrong-pw", "disable");
        let start = std::time::Instant::now();
        let err = PgStore::connect(url, PgOptions::default()).unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
        assert!(matches!(err, RemoteError::PgConnect { .. }), "{err}");
        assert!(!format!("{err} {err:?}").contains("wrong-pw"));
    });
}

/// Whether the store's own connection is encrypted, as the server sees it.
fn connection_is_tls(store: &mut PgStore) -> bool {
    store
        .client_mut()
        .unwrap()
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0)
}

/// With `sslmode=require` and the test CA a run lands over TLS, and the writer's connection
/// is encrypted; `prefer` (the default) takes TLS too, `disable` does not.
#[test]
fn full_run_over_tls_with_the_ca() {
    let _servers = use_servers();
    with_deadline(
        "a run into PostgreSQL over TLS",
        Duration::from_secs(90),
        || {
            let url = fresh_database_ssl("tls_run", "require");
            let options = PgOptions {
                ca_file: Some(postgres().ca().to_path_buf()),
                ..PgOptions::default()
            };
            let events = simulate(200, 5);
            let mut pg = PostgresWriter::connect(url.clone(), options.clone(), None).unwrap();
            assert!(connection_is_tls(pg.store_mut()), "the writer's connection");
            run_through(&events, Subscription::new("postgres").topics(PG_INPUTS), pg);

            let mut store = PgStore::connect(url.clone(), options.clone()).unwrap();
            assert!(connection_is_tls(&mut store));
            check(&mut store, &events);

            let plain = url.expose().replace("sslmode=require", "sslmode=disable");
            let mut store = PgStore::connect(ServiceUrl::new(plain), options.clone()).unwrap();
            assert!(!connection_is_tls(&mut store), "sslmode=disable");
            let prefer = url.expose().replace("?sslmode=require", "");
            let mut store = PgStore::connect(ServiceUrl::new(prefer), options).unwrap();
            assert!(
                connection_is_tls(&mut store),
                "sslmode=prefer (the default)"
            );
        },
    );
}

/// A CA that did not sign the server's certificate fails the handshake at once, typed, with
/// no password shown and no fallback to plain text (also under `prefer`); so does a bad CA
/// file.
#[test]
fn a_foreign_ca_is_refused() {
    let _servers = use_servers();
    with_deadline("TLS with a foreign CA", Duration::from_secs(30), || {
        let (_dir, other) = other_ca();
        let options = PgOptions {
            ca_file: Some(other.clone()),
            ..PgOptions::default()
        };
        let server = postgres();
        for sslmode in ["require", "prefer"] {
            let url = server.url_with_password(server.admin_database(), "ringbus-pw", sslmode);
            let start = std::time::Instant::now();
            let err = PgStore::connect(url, options.clone()).unwrap_err();
            assert!(start.elapsed() < Duration::from_secs(10), "retried: {err}");
            assert!(
                matches!(err, RemoteError::PgTls { .. }),
                "{sslmode}: {err:?}"
            );
            let shown = format!("{err} {err:?}");
            assert!(shown.contains("certificate"), "{shown}");
            assert!(!shown.contains("ringbus-pw"), "{shown}");
        }

        let garbage = other.with_file_name("garbage.crt");
        std::fs::write(&garbage, "not a certificate\n").unwrap();
        for path in [garbage, other.with_file_name("missing.crt")] {
            let options = PgOptions {
                ca_file: Some(path.clone()),
                ..PgOptions::default()
            };
            // The CA file is read before any connection, so no database is needed.
            let url = server.url(server.admin_database(), "require");
            let err = PgStore::connect(url, options).unwrap_err();
            assert!(
                matches!(&err, RemoteError::CaFile { path: p, .. } if *p == path),
                "{err:?}"
            );
        }
    });
}

fn identity(seed: u64) -> ringbus_events::StreamIdentity {
    ringbus_sim::SimConfig {
        blocks: 60,
        seed,
        ..ringbus_sim::SimConfig::default()
    }
    .identity()
}

/// The stores, the blocks and the recorded identity.
fn pg_state(url: &ServiceUrl) -> (StoreTables, Vec<(i64, i64)>, Option<String>) {
    let mut store = PgStore::connect(url.clone(), PgOptions::default()).unwrap();
    let tables = store.load().unwrap();
    let c = store.client_mut().unwrap();
    let blocks = c
        .query("SELECT height, hash FROM blocks ORDER BY height", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let id = c
        .query_opt("SELECT identity FROM ringbus_stream", &[])
        .unwrap()
        .map(|r| r.get(0));
    (tables, blocks, id)
}

fn write_blocks(w: &mut PostgresWriter, events: &[Event]) -> Result<(), RemoteError> {
    events
        .iter()
        .filter(|e| PG_INPUTS.contains(e.ring_topic()))
        .try_for_each(|e| w.write(e))
}

/// The identity is recorded with the first block; another stream (or one of unknown
/// identity) is refused at connect, naming both, and the database is unchanged.
#[test]
fn the_database_records_its_stream_and_refuses_another() {
    let _servers = use_servers();
    with_deadline(
        "PostgreSQL: stream identity",
        Duration::from_secs(60),
        || {
            let url = fresh_database("identity");
            let events = simulate(30, 42);
            let mut w =
                PostgresWriter::connect(url.clone(), PgOptions::default(), Some(&identity(42)))
                    .unwrap();
            write_blocks(&mut w, &events).unwrap();
            drop(w);
            let before = pg_state(&url);
            assert_eq!(before.2, Some(identity(42).to_string()));

            for other in [Some(identity(43)), None] {
                let err =
                    PostgresWriter::connect(url.clone(), PgOptions::default(), other.as_ref())
                        .unwrap_err();
                let RemoteError::ForeignStream(f) = &err else {
                    panic!("{err}")
                };
                assert_eq!(f.incoming, other);
                assert!(err.to_string().contains(&identity(42).to_string()), "{err}");
                assert!(
                    !err.to_string().contains("ringbus:ringbus"),
                    "the password: {err}"
                );
                assert_eq!(pg_state(&url), before);
            }
            // Its own stream resumes after the cursor.
            let w = PostgresWriter::connect(url.clone(), PgOptions::default(), Some(&identity(42)))
                .unwrap();
            assert_eq!(w.resume_after(), before.0.last_sequence);
        },
    );
}

/// Two writers of different streams open the same empty database: the first commit records
/// its stream; the other's first commit is refused as another stream, writing nothing.
#[test]
fn a_first_commit_after_another_streams_is_refused() {
    let _servers = use_servers();
    with_deadline("PostgreSQL: first commits", Duration::from_secs(60), || {
        let url = fresh_database("identity_race");
        let (a_events, b_events) = (simulate(3, 42), simulate(3, 43));
        let mut a = PostgresWriter::connect(url.clone(), PgOptions::default(), Some(&identity(42)))
            .unwrap();
        let mut b = PostgresWriter::connect(url.clone(), PgOptions::default(), Some(&identity(43)))
            .unwrap();
        write_blocks(&mut a, &a_events).unwrap();
        let before = pg_state(&url);
        let err = write_blocks(&mut b, &b_events).unwrap_err();
        assert!(
            matches!(&err, RemoteError::ForeignStream(f) if f.incoming == Some(identity(43))),
            "{err}"
        );
        assert_eq!(pg_state(&url), before);
    });
}

/// A database written before identities (schema version 2, blocks, no identity) refuses an
/// identified stream after its migration, and still takes one of unknown identity.
#[test]
fn a_database_from_before_identities_refuses_identified_streams() {
    let _servers = use_servers();
    with_deadline("PostgreSQL: old database", Duration::from_secs(60), || {
        let url = fresh_database("identity_old");
        let events = simulate(20, 42);
        let mut w = PostgresWriter::connect(url.clone(), PgOptions::default(), None).unwrap();
        write_blocks(&mut w, &events[..events.len() / 2]).unwrap();
        // Back to schema version 2: as a build from before identities left it.
        w.store_mut()
            .client_mut()
            .unwrap()
            .batch_execute(
                "DROP TABLE ringbus_stream; DELETE FROM ringbus_schema_version WHERE version = 3",
            )
            .unwrap();
        drop(w);
        let before = {
            let (t, b, _) = pg_state(&url);
            (t, b)
        };
        let err = PostgresWriter::connect(url.clone(), PgOptions::default(), Some(&identity(42)))
            .unwrap_err();
        assert!(
            matches!(&err, RemoteError::ForeignStream(f) if f.held == ringbus_consumers::HeldStream::Unidentified),
            "{err}"
        );
        let (t, b, id) = pg_state(&url);
        assert_eq!(((t, b), id), (before, None));
        let mut w = PostgresWriter::connect(url.clone(), PgOptions::default(), None).unwrap();
        write_blocks(&mut w, &events).unwrap();
        check(w.store_mut(), &events);
    });
}
