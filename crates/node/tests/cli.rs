//! `ringbus run --postgres URL --nats URL` end to end (the command line's own code, in
//! process), then both servers read back and compared with the run's event log.

use clap::Parser;
use ringbus_consumers::{SqliteOptions, SqliteStore};
use ringbus_events::Event;
use ringbus_node::cli::{execute, Cli};
use ringbus_remote::{tail, PgOptions, PgStore, ServiceUrl, TailOptions, HEADER_BLOCK_END};
use ringbus_testkit::*;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Duration;

#[test]
fn run_with_postgres_and_nats() {
    let _servers = use_servers();
    with_deadline(
        "ringbus run --postgres --nats",
        Duration::from_secs(120),
        || {
            let pg = fresh_database("cli");
            sweep_streams(nats());
            let (stream, prefix) = (per_process("TEST_CLI"), per_process("t_cli"));
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().to_str().unwrap().to_string();
            let args = [
                "ringbus",
                "run",
                "--blocks",
                "80",
                "--out",
                &out,
                "--quiet",
                "--postgres",
                pg.expose(),
                "--nats",
                nats().url(),
                "--nats-stream",
                stream.as_str(),
                "--nats-prefix",
                prefix.as_str(),
                "--reset-remote",
            ];
            execute(Cli::parse_from(args)).unwrap();

            let log: Vec<Event> = read_log(&dir.path().join("events.rbl"));
            assert!(!log.is_empty());
            let sqlite =
                SqliteStore::open(dir.path().join("ringbus.db"), SqliteOptions::default()).unwrap();
            let mut store = PgStore::connect(pg.clone(), PgOptions::default()).unwrap();
            assert_eq!(store.load().unwrap(), sqlite.load().unwrap());

            let mut streamed = Vec::new();
            tail(
                &ServiceUrl::new(nats().url()),
                &TailOptions {
                    stream: stream.clone(),
                    subject_prefix: prefix.clone(),
                    idle_exit: Some(Duration::from_millis(1500)),
                    ..TailOptions::default()
                },
                |item| {
                    streamed.push(item.event.unwrap());
                    ControlFlow::Continue(())
                },
            )
            .unwrap();
            assert_eq!(
                streamed, log,
                "the stream = the event log, in order, once each"
            );

            // Run again without --reset-remote: both resume after what they hold and add nothing.
            let again: Vec<&str> = args
                .iter()
                .copied()
                .filter(|a| *a != "--reset-remote")
                .collect();
            execute(Cli::parse_from(again)).unwrap();
            let mut store = PgStore::connect(pg, PgOptions::default()).unwrap();
            assert_eq!(store.load().unwrap(), sqlite.load().unwrap());
            let mut count = 0;
            tail(
                &ServiceUrl::new(nats().url()),
                &TailOptions {
                    stream: stream.clone(),
                    subject_prefix: prefix.clone(),
                    idle_exit: Some(Duration::from_millis(1500)),
                    ..TailOptions::default()
                },
                |_| {
                    count += 1;
                    ControlFlow::Continue(())
                },
            )
            .unwrap();
            assert_eq!(count, log.len());
        },
    );
}

/// `ringbus run` with both connections over TLS (`--postgres-ca`, `--nats-ca`), then
/// `ringbus tail --nats-ca` over TLS; without the CA the tail is refused.
#[test]
fn run_and_tail_over_tls() {
    let _servers = use_servers();
    with_deadline(
        "ringbus run and tail over TLS",
        Duration::from_secs(120),
        || {
            let pg = fresh_database_ssl("cli_tls", "require");
            sweep_streams(nats_tls());
            let (stream, prefix) = (per_process("TEST_CLI_TLS"), per_process("t_cli_tls"));
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().to_str().unwrap().to_string();
            let pg_ca = postgres().ca().to_str().unwrap();
            let nats_ca = nats_tls().ca().unwrap().to_str().unwrap();
            execute(Cli::parse_from([
                "ringbus",
                "run",
                "--blocks",
                "40",
                "--out",
                &out,
                "--quiet",
                "--postgres",
                pg.expose(),
                "--postgres-ca",
                pg_ca,
                "--nats",
                nats_tls().url(),
                "--nats-ca",
                nats_ca,
                "--nats-stream",
                stream.as_str(),
                "--nats-prefix",
                prefix.as_str(),
                "--reset-remote",
            ]))
            .unwrap();

            let log: Vec<Event> = read_log(&dir.path().join("events.rbl"));
            let sqlite =
                SqliteStore::open(dir.path().join("ringbus.db"), SqliteOptions::default()).unwrap();
            let options = PgOptions {
                ca_file: Some(postgres().ca().to_path_buf()),
                ..PgOptions::default()
            };
            let mut store = PgStore::connect(pg, options).unwrap();
            assert_eq!(store.load().unwrap(), sqlite.load().unwrap());
            let mut streamed = Vec::new();
            tail(
                &ServiceUrl::new(nats_tls().url()),
                &TailOptions {
                    stream: stream.clone(),
                    subject_prefix: prefix.clone(),
                    idle_exit: Some(Duration::from_millis(1500)),
                    ca_file: nats_tls().ca().map(PathBuf::from),
                    ..TailOptions::default()
                },
                |item| {
                    streamed.push(item.event.unwrap());
                    ControlFlow::Continue(())
                },
            )
            .unwrap();
            assert_eq!(streamed, log, "the stream = the event log");

            let tail_args = |ca: Option<&str>| {
                let mut args = vec![
                    "ringbus",
                    "tail",
                    "--nats",
                    nats_tls().url(),
                    "--stream",
                    stream.as_str(),
                    "--prefix",
                    prefix.as_str(),
                    "--topic",
                    "EndBlock",
                    "--limit",
                    "2",
                    "--idle-exit",
                    "5",
                ];
                if let Some(ca) = ca {
                    args.extend(["--nats-ca", ca]);
                }
                Cli::parse_from(args)
            };
            execute(tail_args(Some(nats_ca))).unwrap();
            let err = execute(tail_args(None)).unwrap_err().to_string();
            assert!(err.contains("TLS"), "{err}");
        },
    );
}

/// Every event of `stream` (prefix `prefix`) as a reader of all topics gets them.
fn streamed(stream: &str, prefix: &str) -> Vec<Event> {
    let mut out = Vec::new();
    tail(
        &ServiceUrl::new(nats().url()),
        &TailOptions {
            stream: stream.into(),
            subject_prefix: prefix.into(),
            idle_exit: Some(Duration::from_millis(1500)),
            ..TailOptions::default()
        },
        |item| {
            out.push(item.event.unwrap());
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    out
}

/// `ringbus run --nats-batch block`, then `ringbus replay --nats-batch block` of its log into
/// a second stream: both hold the log, in order, once each, in far fewer messages; a run
/// again without `--reset-remote` adds nothing; `--nats-batch` refuses other values.
#[test]
fn run_and_replay_per_block() {
    let _servers = use_servers();
    with_deadline(
        "ringbus run/replay --nats-batch block",
        Duration::from_secs(120),
        || {
            sweep_streams(nats());
            let (stream, prefix) = (per_process("TEST_CLI_BLOCK"), per_process("t_cli_block"));
            let (replay_stream, replay_prefix) = (
                per_process("TEST_CLI_BLOCK_REPLAY"),
                per_process("t_cli_block_replay"),
            );
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().to_str().unwrap().to_string();
            let args = [
                "ringbus",
                "run",
                "--blocks",
                "60",
                "--out",
                &out,
                "--quiet",
                "--nats",
                nats().url(),
                "--nats-stream",
                stream.as_str(),
                "--nats-prefix",
                prefix.as_str(),
                "--nats-batch",
                "block",
                "--reset-remote",
            ];
            execute(Cli::parse_from(args)).unwrap();
            let log_path = dir.path().join("events.rbl");
            let log: Vec<Event> = read_log(&log_path);
            assert!(!log.is_empty());
            assert_eq!(streamed(&stream, &prefix), log);
            let messages = stream_messages(&stream);
            assert!(messages * 10 < log.len() as u64, "{messages} messages");

            let again: Vec<&str> = args
                .iter()
                .copied()
                .filter(|a| *a != "--reset-remote")
                .collect();
            execute(Cli::parse_from(again)).unwrap();
            assert_eq!(stream_messages(&stream), messages);

            let replay_out = dir.path().join("replay");
            std::fs::create_dir_all(&replay_out).unwrap();
            execute(Cli::parse_from([
                "ringbus",
                "replay",
                log_path.to_str().unwrap(),
                "--db",
                replay_out.join("replay.db").to_str().unwrap(),
                "--event-log",
                replay_out.join("events.rbl").to_str().unwrap(),
                "--quiet",
                "--nats",
                nats().url(),
                "--nats-stream",
                replay_stream.as_str(),
                "--nats-prefix",
                replay_prefix.as_str(),
                "--nats-batch",
                "block",
                "--reset-remote",
            ]))
            .unwrap();
            assert_eq!(streamed(&replay_stream, &replay_prefix), log);
            assert_eq!(stream_messages(&replay_stream), messages);

            let bad = Cli::try_parse_from(["ringbus", "run", "--nats-batch", "blocks"]);
            assert!(bad.is_err());
        },
    );
}

/// The number of messages in `stream`.
fn stream_messages(stream: &str) -> u64 {
    stream_raw(stream).len() as u64
}

/// `ringbus run --nats-batch block --nats-topics Trade`: the forwarder is subscribed to the
/// block ends too, so each block's one message of trades closes that block and is marked
/// so, the last block's included; the stream holds the log's trades, in order.
#[test]
fn run_per_block_with_a_topic_subset_closes_every_block() {
    use ringbus_events::{EventTopic, Payload};
    let _servers = use_servers();
    with_deadline(
        "ringbus run --nats-batch block --nats-topics Trade",
        Duration::from_secs(120),
        || {
            sweep_streams(nats());
            let (stream, prefix) = (per_process("TEST_CLI_SUBSET"), per_process("t_cli_subset"));
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().to_str().unwrap().to_string();
            execute(Cli::parse_from([
                "ringbus",
                "run",
                "--blocks",
                "40",
                "--out",
                &out,
                "--quiet",
                "--nats",
                nats().url(),
                "--nats-stream",
                stream.as_str(),
                "--nats-prefix",
                prefix.as_str(),
                "--nats-batch",
                "block",
                "--nats-topics",
                "Trade",
                "--reset-remote",
            ]))
            .unwrap();
            let log: Vec<Event> = read_log(&dir.path().join("events.rbl"));
            let trades: Vec<Event> = log
                .iter()
                .filter(|e| e.topic() == EventTopic::Trade)
                .cloned()
                .collect();
            assert!(!trades.is_empty());
            assert!(trades
                .iter()
                .all(|e| matches!(e.payload, Payload::Trade(_))));
            assert_eq!(streamed(&stream, &prefix), trades);
            let mut blocks_with_trades: Vec<u64> = trades.iter().map(|e| e.block_height).collect();
            blocks_with_trades.dedup();
            let marks = block_end_marks(&stream);
            assert_eq!(
                marks.len(),
                blocks_with_trades.len(),
                "one message per block"
            );
            assert!(
                marks.iter().all(|marked| *marked),
                "a message without the block-end mark: {marks:?}"
            );
        },
    );
}

/// For every message of `stream`, whether it carries the block-end mark.
fn block_end_marks(stream: &str) -> Vec<bool> {
    stream_raw(stream)
        .iter()
        .map(|m| m.header(HEADER_BLOCK_END) == Some("1"))
        .collect()
}
