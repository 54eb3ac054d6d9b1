//! `ringbus run --serve` as an operator runs it: the real binary paced and unbounded, scraped
//! over HTTP while it runs, then stopped with SIGINT like Ctrl-C: it drains, commits, prints
//! its summary and exits 0, its outputs complete.

use ringbus_consumers::{SqliteOptions, SqliteStore};
use ringbus_testkit::Served;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn get(addr: SocketAddr, path: &str) -> String {
    ureq::get(format!("http://{addr}{path}"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap()
}

fn status(addr: SocketAddr) -> serde_json::Value {
    serde_json::from_str(&get(addr, "/status")).unwrap()
}

/// The value of the unlabelled series `name` in a scrape.
fn value(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
        .parse()
        .unwrap()
}

#[test]
fn a_served_run_is_scraped_live_and_stopped_by_ctrl_c_like_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Served::run(
        env!("CARGO_BIN_EXE_ringbus"),
        dir.path(),
        &["--pace", "50", "--blocks", "0"],
    );
    let addr = node.addr;

    let first = get(addr, "/metrics");
    let first_status = status(addr);
    std::thread::sleep(Duration::from_millis(1_500));
    let second = get(addr, "/metrics");
    let second_status = status(addr);
    let published = |text: &str| value(text, "ringbus_events_published_total");
    assert!(published(&second) > published(&first), "{second}");
    assert!(
        second_status["sequence"].as_u64() > first_status["sequence"].as_u64(),
        "{second_status}"
    );
    // The page's figures: the default consumers, the latest blocks, the stores' heights.
    let names: Vec<&str> = second_status["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["positions", "stores", "sqlite", "log"],
        "{second_status}"
    );
    assert!(second_status["events_per_second"].as_f64().unwrap() > 0.0);
    let height = second_status["blocks"][0]["height"].as_u64().unwrap();
    // Paced at 50 blocks a second: about 100 blocks after 2 s, not the thousands an
    // unpaced run makes.
    assert!((20..=1_000).contains(&height), "{second_status}");
    let committed = second_status["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "sqlite")
        .and_then(|s| s["committed_height"].as_u64())
        .expect("sqlite has committed blocks");
    assert!(
        committed <= height && committed + 50 >= height,
        "{second_status}"
    );

    // Ctrl-C: the run ends at a block boundary like its last block.
    node.signal("INT");
    let status = node.wait_for_exit(Duration::from_secs(60));
    let err: Vec<String> = node.stderr.try_iter().collect();
    assert_eq!(status.code(), Some(0), "{err:?}");
    assert!(
        err.iter()
            .any(|l| l.starts_with("stopping after the current block")),
        "{err:?}"
    );
    let mut out = String::new();
    std::io::Read::read_to_string(&mut node.child.stdout.take().unwrap(), &mut out).unwrap();
    let last: u64 = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("stopped on request after block "))
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("{out}"))
        .parse()
        .unwrap();
    assert!(last >= height, "{out}");
    // The server is gone with the run.
    assert!(std::net::TcpStream::connect(addr).is_err());

    // The outputs are in place and complete: the log verifies, the database holds every block.
    let verify = Command::new(env!("CARGO_BIN_EXE_ringbus"))
        .current_dir(dir.path())
        .args(["verify", "out/events.rbl"])
        .output()
        .unwrap();
    let verified = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{verified}");
    assert!(verified.contains(&format!(" {last} blocks")), "{verified}");
    // No temporary file is left beside them.
    let mut files: Vec<String> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["events.rbl", "ringbus.db"]);
    let db =
        SqliteStore::open(dir.path().join("out/ringbus.db"), SqliteOptions::default()).unwrap();
    assert_eq!(db.load().unwrap().blocks, last);
}

/// With the positions plug-in per market, `/status` and `/metrics` list each part by its name.
#[test]
fn a_served_run_lists_the_positions_parts() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Served::run(
        env!("CARGO_BIN_EXE_ringbus"),
        dir.path(),
        &[
            "--pace",
            "50",
            "--blocks",
            "0",
            "--markets",
            "3",
            "--consumers",
            "positions,log",
            "--positions-per-market",
        ],
    );
    let addr = node.addr;
    let status = status(addr);
    let mut names: Vec<&str> = status["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["log", "positions-m0", "positions-m1", "positions-m2"],
        "{status}"
    );
    let metrics = get(addr, "/metrics");
    for part in ["positions-m0", "positions-m1", "positions-m2"] {
        assert!(
            metrics.contains(&format!("consumer=\"{part}\"")),
            "{part}: {metrics}"
        );
    }
    node.signal("INT");
    let code = node.wait_for_exit(Duration::from_secs(60)).code();
    let err: Vec<String> = node.stderr.try_iter().collect();
    assert_eq!(code, Some(0), "{err:?}");
}

#[test]
fn a_second_interrupt_aborts_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Served::run(
        env!("CARGO_BIN_EXE_ringbus"),
        dir.path(),
        &["--pace", "0.1", "--blocks", "0"],
    );
    node.signal("TERM");
    let line = node.stderr.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(
        line.starts_with("stopping after the current block"),
        "{line}"
    );
    node.signal("INT");
    let status = node.child.wait().unwrap();
    // Either the second signal found the run still going (aborted, 130), or the first had
    // already ended it (0). An output is in place only if it is complete.
    assert!(matches!(status.code(), Some(0 | 130)), "{status:?}");
    let log = dir.path().join("out/events.rbl");
    if log.exists() {
        let verify = Command::new(env!("CARGO_BIN_EXE_ringbus"))
            .args(["verify", log.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(verify.status.success());
    } else {
        assert_eq!(status.code(), Some(130));
    }
}

#[test]
fn an_address_in_use_fails_before_any_event_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let o = Command::new(env!("CARGO_BIN_EXE_ringbus"))
        .current_dir(dir.path())
        .args(["run", "--blocks", "5", "--out", "out", "--serve", &addr])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn serve_flags_that_cannot_work_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (args, message) in [
        (
            &["run", "--serve", "localhost"][..],
            "invalid socket address",
        ),
        (
            &["run", "--bench", "--serve", "127.0.0.1:0"],
            "cannot be used with",
        ),
        (&["run", "--max-clients", "5"], "--serve"),
        (
            &["run", "--serve", "127.0.0.1:0", "--max-clients", "0"],
            "--max-clients",
        ),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_ringbus"))
            .current_dir(dir.path())
            .args(args)
            .args(["--out", "out"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!dir.path().join("out").exists(), "{args:?}");
    }
}

#[test]
fn a_replay_is_served_while_it_reads_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_ringbus");
    let made = Command::new(bin)
        .current_dir(dir.path())
        .args(["run", "-q", "--blocks", "60", "--out", "src"])
        .status()
        .unwrap();
    assert!(made.success());
    let log = std::fs::read(dir.path().join("src/events.rbl")).unwrap();

    // The log comes through a pipe: half of it first, so the replay is served mid-way.
    let mut child = Command::new(bin)
        .current_dir(dir.path())
        .args([
            "replay",
            "-",
            "--serve",
            "127.0.0.1:0",
            "--event-log",
            "again.rbl",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The replay reads the log's header before it serves: the pipe is fed by its own thread.
    let mut stdin = child.stdin.take().unwrap();
    let (more, fed) = mpsc::channel::<()>();
    let half = log.len() / 2;
    let feed = log.clone();
    let feeder = std::thread::spawn(move || {
        std::io::Write::write_all(&mut stdin, &feed[..half]).unwrap();
        if fed.recv().is_ok() {
            std::io::Write::write_all(&mut stdin, &feed[half..]).unwrap();
        }
    });
    let mut node = Served::from_child(child);
    let addr = node.addr;
    let start = Instant::now();
    let mid = loop {
        let s = status(addr);
        if s["blocks"].as_array().is_some_and(|b| !b.is_empty()) {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{s}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(mid["sequence"].as_u64().unwrap() > 0, "{mid}");
    more.send(()).unwrap();
    feeder.join().unwrap();
    assert!(node.child.wait().unwrap().success());
    let again = std::fs::read(dir.path().join("again.rbl")).unwrap();
    assert!(again == log, "the log written again differs");
}
