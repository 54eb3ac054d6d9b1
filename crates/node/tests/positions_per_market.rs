//! The positions plug-in run as one consumer per market: its parts' views merged equal the
//! single plug-in's, simulated and replayed, through the pipeline and the command line; a
//! stream that cannot be split is refused before anything is written.

use ringbus_consumers::PositionsSnapshot;
use ringbus_events::{Event, EventLogReader, EventLogWriter, StreamIdentity};
use ringbus_node::cli::{execute, Cli, CliError, InvocationError};
use ringbus_node::{ConsumerKind, Input, Pipeline, PipelineError, PositionsSplitError, RunReport};
use ringbus_sim::{SimConfig, Simulator};
use std::path::{Path, PathBuf};

fn config(seed: u64) -> SimConfig {
    SimConfig {
        markets: 4,
        ..SimConfig::small(seed, 120)
    }
}

fn pipeline(dir: &Path, per_market: bool, consumers: &[ConsumerKind]) -> Pipeline {
    let mut p = Pipeline::new(dir);
    p.consumers = consumers.to_vec();
    p.positions_per_market = per_market;
    p
}

fn positions(report: &RunReport) -> PositionsSnapshot {
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    report.positions.as_ref().unwrap().snapshot()
}

fn consumer_names(report: &RunReport) -> Vec<String> {
    report
        .metrics
        .consumers
        .iter()
        .map(|c| c.name.clone())
        .collect()
}

fn read_log(path: &Path) -> Vec<Event> {
    let f = std::fs::File::open(path).unwrap();
    EventLogReader::new(std::io::BufReader::new(f))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// `events` written as a log with `identity`.
fn write_log(path: &Path, identity: Option<&StreamIdentity>, events: &[Event]) {
    let file = std::fs::File::create(path).unwrap();
    let mut w = EventLogWriter::new(std::io::BufWriter::new(file), identity).unwrap();
    for e in events {
        w.append(e).unwrap();
    }
    w.flush().unwrap();
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    out.sort();
    out
}

#[test]
fn parts_merged_equal_the_single_plug_in_simulated_and_replayed() {
    use ConsumerKind::{Log, Positions};
    for seed in [3, 17, 42] {
        let dir = tempfile::tempdir().unwrap();
        let whole = pipeline(dir.path(), false, &[Positions, Log])
            .run(Input::Simulate(config(seed)))
            .unwrap();
        let expected = positions(&whole);
        // Every kind of input the split routes is in the stream.
        assert!(
            expected.closeouts > 0 && expected.distress_reports > 0,
            "seed {seed}"
        );
        assert_eq!(expected.marks.len(), 4, "seed {seed}");
        assert!(consumer_names(&whole).contains(&"positions".to_string()));

        let split_dir = tempfile::tempdir().unwrap();
        let split = pipeline(split_dir.path(), true, &[Positions])
            .run(Input::Simulate(config(seed)))
            .unwrap();
        assert_eq!(positions(&split), expected, "seed {seed}");
        let mut names = consumer_names(&split);
        names.sort();
        assert_eq!(
            names,
            [
                "positions-m0",
                "positions-m1",
                "positions-m2",
                "positions-m3"
            ],
            "seed {seed}"
        );
        let mut busy: Vec<_> = split.busy.iter().map(|(n, _)| n.clone()).collect();
        busy.sort();
        assert_eq!(busy, names);
        // Each part skipped the other markets' events by key.
        assert!(split.metrics.consumers.iter().all(|c| c.skipped > 0));

        // A replay of the log, split, gives the same positions.
        let log = dir.path().join("events.rbl");
        let replay_dir = tempfile::tempdir().unwrap();
        let replayed = pipeline(replay_dir.path(), true, &[Positions])
            .run(Input::Replay(log))
            .unwrap();
        assert_eq!(positions(&replayed), expected, "seed {seed}, replayed");
    }
}

#[test]
fn a_stream_that_does_not_say_its_markets_is_refused_before_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let events = {
        let mut sim = Simulator::new(config(5));
        let mut out = Vec::new();
        sim.run(&mut out).unwrap();
        out
    };
    let anonymous = dir.path().join("anonymous.rbl");
    write_log(&anonymous, None, &events);
    let out = tempfile::tempdir().unwrap();
    let p = pipeline(out.path(), true, &ConsumerKind::ALL);
    let err = p.run(Input::Replay(anonymous.clone())).unwrap_err();
    assert!(
        matches!(
            err,
            PipelineError::PositionsSplit(PositionsSplitError::MarketsUnknown)
        ),
        "{err:?}"
    );
    assert!(files_under(out.path()).is_empty(), "nothing written");
    // Events in memory have no identity either.
    let err = p.run(Input::Events(events.clone().into())).unwrap_err();
    assert!(matches!(err, PipelineError::PositionsSplit(_)), "{err:?}");
    // Whole, the same log replays.
    let whole = pipeline(out.path(), false, &[ConsumerKind::Positions]);
    assert!(whole.run(Input::Replay(anonymous)).is_ok());

    // A log whose identity says fewer markets than its events have: the split would miss
    // the others, so the replay stops and writes nothing.
    let lying = dir.path().join("lying.rbl");
    let two_markets = SimConfig {
        markets: 2,
        ..config(5)
    };
    write_log(&lying, Some(&two_markets.identity()), &events);
    let out = tempfile::tempdir().unwrap();
    let err = pipeline(out.path(), true, &ConsumerKind::ALL)
        .run(Input::Replay(lying))
        .unwrap_err();
    assert!(
        matches!(err, PipelineError::MarketOutsideStream { markets: 2, .. }),
        "{err:?}"
    );
    assert!(files_under(out.path()).is_empty(), "nothing put in place");
}

/// Runs `ringbus ARGS --quiet`, with the summary written to `dir/summary.json` if asked.
fn execute_args(dir: &Path, args: &[&str], with_summary: bool) -> Result<(), CliError> {
    let summary = dir.join("summary.json");
    let mut all = vec!["ringbus"];
    all.extend_from_slice(args);
    all.push("--quiet");
    if with_summary {
        all.extend(["--summary-json", summary.to_str().unwrap()]);
    }
    execute(Cli::try_parse_args(all).unwrap())
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn the_command_line_runs_and_replays_per_market() {
    let whole = tempfile::tempdir().unwrap();
    let out = whole.path().join("out");
    let run = [
        "run",
        "--blocks",
        "100",
        "--markets",
        "3",
        "--seed",
        "9",
        "--out",
        out.to_str().unwrap(),
    ];
    execute_args(whole.path(), &run, true).unwrap();
    let split = tempfile::tempdir().unwrap();
    let split_out = split.path().join("out");
    let mut split_run = run.to_vec();
    split_run[8] = split_out.to_str().unwrap();
    split_run.push("--positions-per-market");
    execute_args(split.path(), &split_run, true).unwrap();

    let (a, b) = (summary(whole.path()), summary(split.path()));
    assert!(!a["top_parties"].as_array().unwrap().is_empty());
    for field in ["events", "by_topic", "top_parties", "bottom_parties"] {
        assert_eq!(a[field], b[field], "{field}");
    }
    let names: Vec<_> = b["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    for part in ["positions-m0", "positions-m1", "positions-m2"] {
        assert!(names.iter().any(|n| n == part), "{names:?}");
    }
    assert!(!names.iter().any(|n| n == "positions"), "{names:?}");
    // The other consumers' outputs are those of the whole run.
    assert_eq!(
        read_log(&split_out.join("events.rbl")),
        read_log(&out.join("events.rbl"))
    );

    // Replayed from the log, split over the markets its identity says.
    let replay = tempfile::tempdir().unwrap();
    let log = out.join("events.rbl");
    let db = replay.path().join("replay.db");
    let again = replay.path().join("again.rbl");
    execute_args(
        replay.path(),
        &[
            "replay",
            log.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--event-log",
            again.to_str().unwrap(),
            "--consumers",
            "positions",
            "--positions-per-market",
        ],
        true,
    )
    .unwrap();
    let c = summary(replay.path());
    for field in ["events", "top_parties", "bottom_parties"] {
        assert_eq!(a[field], c[field], "{field}");
    }
}

/// `args` are refused as an invocation error whose message contains `message`, and
/// nothing is created under `dir`.
fn assert_refused(dir: &Path, args: &[&str], message: &str) {
    let before = files_under(dir);
    let with_summary = !args.contains(&"--bench");
    let err = execute_args(dir, args, with_summary).unwrap_err();
    assert!(matches!(err, CliError::Invocation(_)), "{args:?}: {err:?}");
    let text = ringbus_node::cli::error_lines(&err).join("\n");
    assert!(text.contains(message), "{args:?}: {text}");
    assert_eq!(files_under(dir), before, "{args:?}: nothing written");
}

#[test]
fn bad_combinations_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    assert_refused(
        dir.path(),
        &[
            "run",
            "--out",
            out,
            "--consumers",
            "stores,log",
            "--positions-per-market",
        ],
        "needs the positions consumer",
    );
    assert_refused(
        dir.path(),
        &[
            "run",
            "--out",
            out,
            "--markets",
            "65",
            "--positions-per-market",
        ],
        "at most 64; the stream has 65 markets",
    );
    assert_refused(
        dir.path(),
        &["run", "--out", out, "--bench", "--positions-per-market"],
        "does not apply to --bench",
    );

    let logs = tempfile::tempdir().unwrap();
    let anonymous = logs.path().join("anonymous.rbl");
    let mut events = Vec::new();
    Simulator::new(config(1)).run(&mut events).unwrap();
    write_log(&anonymous, None, &events);
    let db = dir.path().join("replay.db");
    let again = dir.path().join("again.rbl");
    assert_refused(
        dir.path(),
        &[
            "replay",
            anonymous.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--event-log",
            again.to_str().unwrap(),
            "--positions-per-market",
        ],
        "does not say them",
    );
    let err = execute_args(
        dir.path(),
        &[
            "replay",
            anonymous.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--event-log",
            again.to_str().unwrap(),
            "--positions-per-market",
        ],
        true,
    )
    .unwrap_err();
    assert!(matches!(
        err,
        CliError::Invocation(InvocationError::PositionsSplit {
            source: PositionsSplitError::MarketsUnknown,
            ..
        })
    ));
}
