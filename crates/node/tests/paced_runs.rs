//! A paced run publishes the same bytes as an unpaced one; a stop request ends a run at a
//! block boundary, drained and committed, and an unbounded run stopped later holds the same
//! stream further.

use ringbus_consumers::{SqliteOptions, SqliteStore};
use ringbus_events::{EventLogReader, EventTopic};
use ringbus_node::{ConsumerKind, Input, Pace, Pipeline};
use ringbus_sim::SimConfig;
use std::path::Path;
use std::time::{Duration, Instant};

fn read_log(path: &Path) -> Vec<ringbus_events::Event> {
    let f = std::fs::File::open(path).unwrap();
    EventLogReader::new(std::io::BufReader::new(f))
        .unwrap()
        .whole_stream()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn pipeline(dir: &Path) -> Pipeline {
    let mut p = Pipeline::new(dir);
    p.consumers = vec![
        ConsumerKind::Stores,
        ConsumerKind::Sqlite,
        ConsumerKind::Log,
    ];
    p
}

#[test]
fn pacing_changes_when_blocks_are_published_not_what_they_hold() {
    let cfg = SimConfig::small(5, 12);
    let fast_dir = tempfile::tempdir().unwrap();
    let fast = pipeline(fast_dir.path());
    fast.run(Input::Simulate(cfg)).unwrap();

    let paced_dir = tempfile::tempdir().unwrap();
    let mut paced = pipeline(paced_dir.path());
    paced.pace = Some(Pace::new(40.0).unwrap());
    let start = Instant::now();
    let report = paced.run(Input::Simulate(cfg)).unwrap();
    // 12 blocks at 40 a second: the first at once, the last 11 periods (275 ms) later.
    assert!(
        start.elapsed() >= Duration::from_millis(270),
        "{:?}",
        start.elapsed()
    );
    assert!(!report.stopped);
    assert_eq!(
        std::fs::read(&fast.event_log).unwrap(),
        std::fs::read(&paced.event_log).unwrap()
    );
}

/// Runs the unbounded simulation of seed 9 at `pace` until `after`, then asks it to stop.
fn run_until_stopped(
    dir: &Path,
    pace: f64,
    after: Duration,
) -> (Pipeline, ringbus_node::RunReport) {
    let mut p = pipeline(dir);
    p.pace = Some(Pace::new(pace).unwrap());
    let stop = p.stop.clone();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(after);
        stop.request();
    });
    let cfg = SimConfig {
        blocks: u64::MAX,
        ..SimConfig::small(9, 1)
    };
    let report = p.run(Input::Simulate(cfg)).unwrap();
    stopper.join().unwrap();
    (p, report)
}

#[test]
fn a_stopped_run_ends_at_a_block_boundary_with_everything_committed() {
    let short_dir = tempfile::tempdir().unwrap();
    let (short, report) = run_until_stopped(short_dir.path(), 50.0, Duration::from_millis(300));
    assert!(report.stopped);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let last = report.last_block.expect("some blocks ran");
    // 50 blocks a second for 0.3 s: about 15 blocks, not as many as the machine can make.
    assert!((5..=40).contains(&last.height), "{last:?}");
    let events = read_log(&short.event_log);
    assert_eq!(events.len() as u64, report.events);
    assert_eq!(events.last().unwrap().topic(), EventTopic::EndBlock);
    assert_eq!(events.last().unwrap().block_height, last.height);
    let db = SqliteStore::open(&short.db, SqliteOptions::default()).unwrap();
    assert_eq!(db.load().unwrap().blocks, last.height);
    assert_eq!(report.stores.unwrap().snapshot().blocks, last.height);

    // The same stream stopped later holds the first one whole, byte for byte.
    let long_dir = tempfile::tempdir().unwrap();
    let (long, long_report) = run_until_stopped(long_dir.path(), 50.0, Duration::from_millis(700));
    assert!(long_report.last_block.unwrap().height > last.height);
    let short_bytes = std::fs::read(&short.event_log).unwrap();
    let long_bytes = std::fs::read(&long.event_log).unwrap();
    assert!(long_bytes.starts_with(&short_bytes));
}

#[test]
fn a_stop_does_not_wait_for_a_slow_pace() {
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    // One block every 100 s: the stop after 200 ms must end the wait for the second.
    let (_, report) = run_until_stopped(dir.path(), 0.01, Duration::from_millis(200));
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert!(report.stopped);
    assert_eq!(report.last_block.unwrap().height, 1);
}

#[test]
fn a_stopped_replay_ends_after_a_whole_block() {
    let dir = tempfile::tempdir().unwrap();
    let source = pipeline(dir.path());
    source
        .run(Input::Simulate(SimConfig::small(3, 10)))
        .unwrap();

    let out = tempfile::tempdir().unwrap();
    let replay = pipeline(out.path());
    // Requested before the first event: the replay still ends with a whole block.
    replay.stop.request();
    let report = replay.run(Input::Replay(source.event_log.clone())).unwrap();
    assert!(report.stopped);
    assert_eq!(report.last_block.unwrap().height, 1);
    let events = read_log(&replay.event_log);
    assert_eq!(events.last().unwrap().topic(), EventTopic::EndBlock);
    assert_eq!(events.len() as u64, report.last_block.unwrap().events());
    assert_eq!(report.stores.unwrap().snapshot().blocks, 1);
}
