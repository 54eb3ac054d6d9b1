//! `ringbus run --postgres URL --nats URL` end to end (the command line's own code, in
//! process), then both servers read back and compared with the run's event log.

mod common;

use clap::Parser;
use common::*;
use ringbus_consumers::{SqliteOptions, SqliteStore};
use ringbus_events::{Event, EventLogReader};
use ringbus_remote::{tail, PgOptions, PgStore, ServiceUrl, TailOptions};
use ringbus_sim::cli::{execute, Cli};
use std::ops::ControlFlow;
use std::time::Duration;

#[test]
fn run_with_postgres_and_nats() {
    let _servers = use_servers();
    with_deadline(
        "ringbus run --postgres --nats",
        Duration::from_secs(120),
        || {
            let pg = fresh_database("cli");
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
                NATS_URL,
                "--nats-stream",
                "TEST_CLI",
                "--nats-prefix",
                "t_cli",
                "--reset-remote",
            ];
            execute(Cli::parse_from(args)).unwrap();

            let log: Vec<Event> =
                EventLogReader::new(std::fs::File::open(dir.path().join("events.rbl")).unwrap())
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
            assert!(!log.is_empty());
            let sqlite =
                SqliteStore::open(dir.path().join("ringbus.db"), SqliteOptions::default()).unwrap();
            let mut store = PgStore::connect(pg.clone(), PgOptions::default()).unwrap();
            assert_eq!(store.load().unwrap(), sqlite.load().unwrap());

            let mut streamed = Vec::new();
            tail(
                &ServiceUrl::new(NATS_URL),
                &TailOptions {
                    stream: "TEST_CLI".into(),
                    subject_prefix: "t_cli".into(),
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
                &ServiceUrl::new(NATS_URL),
                &TailOptions {
                    stream: "TEST_CLI".into(),
                    subject_prefix: "t_cli".into(),
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
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().to_str().unwrap().to_string();
            let ca = test_ca();
            let ca = ca.to_str().unwrap();
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
                ca,
                "--nats",
                NATS_TLS_URL,
                "--nats-ca",
                ca,
                "--nats-stream",
                "TEST_CLI_TLS",
                "--nats-prefix",
                "t_cli_tls",
                "--reset-remote",
            ]))
            .unwrap();

            let log: Vec<Event> =
                EventLogReader::new(std::fs::File::open(dir.path().join("events.rbl")).unwrap())
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
            let sqlite =
                SqliteStore::open(dir.path().join("ringbus.db"), SqliteOptions::default()).unwrap();
            let options = PgOptions {
                ca_file: Some(test_ca()),
                ..PgOptions::default()
            };
            let mut store = PgStore::connect(pg, options).unwrap();
            assert_eq!(store.load().unwrap(), sqlite.load().unwrap());
            let mut streamed = Vec::new();
            tail(
                &ServiceUrl::new(NATS_TLS_URL),
                &TailOptions {
                    stream: "TEST_CLI_TLS".into(),
                    subject_prefix: "t_cli_tls".into(),
                    idle_exit: Some(Duration::from_millis(1500)),
                    ca_file: Some(test_ca()),
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
                    NATS_TLS_URL,
                    "--stream",
                    "TEST_CLI_TLS",
                    "--prefix",
                    "t_cli_tls",
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
            execute(tail_args(Some(ca))).unwrap();
            let err = execute(tail_args(None)).unwrap_err().to_string();
            assert!(err.contains("TLS"), "{err}");
        },
    );
}
