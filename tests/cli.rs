//! The `ringbus` binary as an operator runs it: an invocation that cannot work is refused
//! before anything is written, a failed or killed run leaves the previous outputs as they
//! were, servers that can never work fail at once, and errors, values and exit codes follow
//! the command line's conventions. Each test runs the real binary in a temporary directory
//! and compares every file that was there before, byte for byte, afterwards.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Exit codes (`ringbus --help`).
const USAGE: i32 = 2;
const DATA: i32 = 4;

/// The binary, run in `dir`, with none of the environment variables that choose servers.
fn ringbus(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ringbus"));
    c.current_dir(dir)
        .env_remove("RINGBUS_NATS_URL")
        .env_remove("RINGBUS_POSTGRES_URL")
        .env_remove("RINGBUS_NATS_CA")
        .env_remove("RINGBUS_POSTGRES_CA")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    ringbus(dir).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A directory with a previous run's outputs in `keep/` (events.rbl, ringbus.db).
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        dir.path(),
        &["run", "--blocks", "40", "--out", "keep", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    dir
}

/// Every file and directory under `dir`, with each file's bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(dir).unwrap().to_path_buf();
            if path.is_dir() {
                stack.push(path);
                out.insert(rel, None);
            } else {
                out.insert(rel, Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

/// Every file that was in `before` is byte-identical in `dir`.
fn assert_kept(before: &BTreeMap<PathBuf, Option<Vec<u8>>>, dir: &Path) {
    let after = snapshot(dir);
    for (path, content) in before {
        match (content, after.get(path)) {
            (Some(a), Some(Some(b))) => assert!(a == b, "{} changed", path.display()),
            (None, Some(None)) => {}
            _ => panic!("{} is gone", path.display()),
        }
    }
}

/// [`assert_kept`], and nothing was added either.
fn assert_untouched(before: &BTreeMap<PathBuf, Option<Vec<u8>>>, dir: &Path) {
    assert_kept(before, dir);
    let added: Vec<_> = snapshot(dir)
        .into_keys()
        .filter(|p| !before.contains_key(p))
        .collect();
    assert!(added.is_empty(), "created {added:?}");
}

/// A refused invocation: exit 2, `message` on stderr, every file as it was, none added.
fn assert_refused(dir: &Path, args: &[&str], message: &str) {
    let before = snapshot(dir);
    let o = run(dir, args);
    assert_eq!(o.status.code(), Some(USAGE), "{args:?}: {}", stderr(&o));
    assert!(stderr(&o).contains(message), "{args:?}: {}", stderr(&o));
    assert_untouched(&before, dir);
}

/// Kills the child when dropped (a failed assertion included).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A local port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Lines of the child's stderr as they come.
fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a line containing `needle` for up to `limit`.
fn wait_for_line(rx: &mpsc::Receiver<String>, needle: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(line) => seen.push(line),
            Err(_) => panic!("no line with {needle:?} within {limit:?}; stderr: {seen:?}"),
        }
    }
}

/// Waits for the child to exit for up to `limit`.
fn wait_exit(child: &mut Killed, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "still running after {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `replay ./a.rbl --db a.db --event-log a.rbl`: the log written would be the log replayed,
/// by another spelling; and the default event log named as the input.
#[test]
fn an_output_that_is_the_input_by_another_spelling_is_refused() {
    let ws = workspace();
    let dir = ws.path();
    std::fs::copy(dir.join("keep/events.rbl"), dir.join("a.rbl")).unwrap();
    std::fs::copy(dir.join("keep/ringbus.db"), dir.join("a.db")).unwrap();
    assert_refused(
        dir,
        &["replay", "./a.rbl", "--db", "a.db", "--event-log", "a.rbl"],
        "the event log to write (--event-log) a.rbl and the event log to replay ./a.rbl are the same file",
    );
    // A hard link is the same file too.
    std::fs::hard_link(dir.join("a.rbl"), dir.join("link.rbl")).unwrap();
    assert_refused(
        dir,
        &[
            "replay",
            "link.rbl",
            "--db",
            "a.db",
            "--event-log",
            "a.rbl",
            "--quiet",
        ],
        "are the same file",
    );
    // The default --event-log (target/ringbus-replay/events.rbl), replayed.
    std::fs::create_dir_all(dir.join("target/ringbus-replay")).unwrap();
    std::fs::copy(
        dir.join("keep/events.rbl"),
        dir.join("target/ringbus-replay/events.rbl"),
    )
    .unwrap();
    assert_refused(
        dir,
        &["replay", "./target/ringbus-replay/events.rbl", "--quiet"],
        "are the same file",
    );
}

/// `run --out keep --capacity 3`: a bad flag is refused by the parser; keep/ is untouched.
#[test]
fn a_bad_flag_touches_no_output() {
    let ws = workspace();
    assert_refused(
        ws.path(),
        &["run", "--out", "keep", "--capacity", "3"],
        "3 is not a power of two",
    );
}

/// `replay does-not-exist.rbl --event-log valuable.rbl`: a missing input is refused before
/// the output is opened.
#[test]
fn a_missing_input_touches_no_output() {
    let ws = workspace();
    let dir = ws.path();
    std::fs::copy(dir.join("keep/events.rbl"), dir.join("valuable.rbl")).unwrap();
    assert_refused(
        dir,
        &[
            "replay",
            "does-not-exist.rbl",
            "--event-log",
            "valuable.rbl",
        ],
        "cannot read the event log to replay does-not-exist.rbl",
    );
    // An input that is no event log is refused too (exit 4: bad data), nothing written.
    let before = snapshot(dir);
    let o = run(
        dir,
        &["replay", "keep/ringbus.db", "--event-log", "valuable.rbl"],
    );
    assert_eq!(o.status.code(), Some(DATA), "{}", stderr(&o));
    assert!(stderr(&o).contains("not an event log"), "{}", stderr(&o));
    assert_untouched(&before, dir);
}

/// `run --db X --event-log X`: two outputs that are one file are refused, existing or not.
#[test]
fn two_outputs_that_are_one_file_are_refused() {
    let ws = workspace();
    let dir = ws.path();
    std::fs::copy(dir.join("keep/ringbus.db"), dir.join("X")).unwrap();
    assert_refused(
        dir,
        &["run", "--db", "X", "--event-log", "X"],
        "the event log to write (--event-log) X and the database (--db) X are the same file",
    );
    assert_refused(
        dir,
        &["run", "--db", "new/Y", "--event-log", "./new/../new/Y"],
        "are the same file",
    );
    assert_refused(
        dir,
        &["run", "--out", "keep", "--summary-json", "keep/events.rbl"],
        "are the same file",
    );
}

/// An existing output of another kind (the log given as the database, the database as the
/// log), a directory or a read-only file is left alone.
#[test]
fn an_output_of_another_kind_is_left_alone() {
    let ws = workspace();
    let dir = ws.path();
    assert_refused(
        dir,
        &["run", "--out", "o", "--db", "keep/events.rbl"],
        "the database (--db) keep/events.rbl exists and is not a SQLite database",
    );
    assert_refused(
        dir,
        &["run", "--out", "o", "--event-log", "keep/ringbus.db"],
        "the event log to write (--event-log) keep/ringbus.db exists and is not an event log",
    );
    assert_refused(
        dir,
        &["run", "--out", "o", "--event-log", "keep"],
        "is a directory",
    );
    // A database to resume that is not one.
    std::fs::copy(dir.join("keep/events.rbl"), dir.join("copy.rbl")).unwrap();
    assert_refused(
        dir,
        &[
            "replay",
            "keep/events.rbl",
            "--db",
            "copy.rbl",
            "--event-log",
            "o.rbl",
        ],
        "the database (--db) copy.rbl exists and is not a SQLite database",
    );
    std::fs::copy(dir.join("keep/events.rbl"), dir.join("ro.rbl")).unwrap();
    let mut permissions = std::fs::metadata(dir.join("ro.rbl")).unwrap().permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(dir.join("ro.rbl"), permissions).unwrap();
    assert_refused(
        dir,
        &["run", "--out", "o", "--event-log", "ro.rbl"],
        "is read-only",
    );
}

/// A run killed mid-way leaves the previous run's outputs as they were.
#[test]
fn a_killed_run_leaves_the_previous_outputs() {
    let ws = workspace();
    let dir = ws.path();
    let before = snapshot(dir);
    let original = std::fs::read(dir.join("keep/events.rbl")).unwrap();
    let mut child = Killed(
        ringbus(dir)
            .args(["run", "--out", "keep", "--blocks", "1000000", "--quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Kill it once it has written a good part of its new log (or, if it writes in place,
    // as soon as the old one changed).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let temp_len = std::fs::read_dir(dir.join("keep"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".events.rbl."))
            .map(|e| e.metadata().map_or(0, |m| m.len()))
            .max()
            .unwrap_or(0);
        let changed = std::fs::read(dir.join("keep/events.rbl")).ok() != Some(original.clone());
        if temp_len > 256 * 1024 || changed {
            break;
        }
        assert!(Instant::now() < deadline, "the run wrote nothing");
        assert!(child.0.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(child); // SIGKILL
    assert_kept(&before, dir);
}

/// `--nats http://nowhere` and other URLs that can never work fail at once, before any
/// file is touched.
#[test]
fn a_url_that_can_never_work_fails_at_once() {
    let ws = workspace();
    let dir = ws.path();
    for (flag, url, message) in [
        (
            "--nats",
            "http://nowhere",
            "invalid NATS URL http://nowhere",
        ),
        ("--nats", "nats://no where:4222", "invalid NATS URL"),
        ("--nats", "ws://127.0.0.1:8080", "WebSocket"),
        ("--postgres", "http://nowhere", "invalid PostgreSQL URL"),
        ("--postgres", "user=u dbname=x", "names no host"),
    ] {
        let before = snapshot(dir);
        let started = Instant::now();
        let mut child = Killed(
            ringbus(dir)
                .args(["run", "--out", "keep", "--quiet", flag, url])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let status = wait_exit(&mut child, Duration::from_secs(10));
        let mut err = String::new();
        std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert_eq!(status.code(), Some(USAGE), "{flag} {url}: {err}");
        assert!(err.contains(message), "{flag} {url}: {err}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_untouched(&before, dir);
    }
}

/// An unreachable server is waited for, and that is said on stderr even under --quiet;
/// killed while waiting, the run leaves the outputs as they were.
#[test]
fn waiting_for_a_server_is_announced_even_under_quiet() {
    let ws = workspace();
    let dir = ws.path();
    let before = snapshot(dir);
    let url = format!("nats://127.0.0.1:{}", closed_port());
    let mut child = ringbus(dir)
        .args(["run", "--out", "keep", "--quiet", "--nats", &url])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    let child = Killed(child);
    let line = wait_for_line(&lines, "connecting to NATS", Duration::from_secs(10));
    assert_eq!(
        line,
        format!("connecting to NATS at {url} (retrying for up to 60 s)")
    );
    drop(child);
    assert_kept(&before, dir);
}

/// An exported RINGBUS_NATS_URL adds no NATS forwarder to `--consumers log` (the run does
/// not wait for that server) and says it is not used; named in --consumers, it is used.
#[test]
fn an_environment_url_adds_no_consumer() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("nats://127.0.0.1:{}", closed_port());
    let mut child = Killed(
        ringbus(dir.path())
            .args(["run", "--consumers", "log", "--blocks", "20", "--out", "o"])
            .env("RINGBUS_NATS_URL", &url)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let status = wait_exit(&mut child, Duration::from_secs(30));
    let (mut out, mut err) = (String::new(), String::new());
    std::io::Read::read_to_string(child.0.stdout.as_mut().unwrap(), &mut out).unwrap();
    std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{err}");
    assert!(
        !out.contains("nats") && !err.contains("connecting"),
        "{out}{err}"
    );
    assert!(
        err.contains("RINGBUS_NATS_URL is set but not used: --consumers does not name nats"),
        "{err}"
    );
    assert!(dir.path().join("o/events.rbl").exists());

    let mut child = ringbus(dir.path())
        .args([
            "run",
            "--consumers",
            "log,nats",
            "--blocks",
            "20",
            "--out",
            "o",
        ])
        .env("RINGBUS_NATS_URL", &url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    let _child = Killed(child);
    wait_for_line(
        &lines,
        &format!("connecting to NATS at {url}"),
        Duration::from_secs(10),
    );
}

/// Flips one byte inside the body of a record in the middle of `log`'s copy at `to`.
fn damage(log: &Path, to: &Path) {
    let mut bytes = std::fs::read(log).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    std::fs::write(to, bytes).unwrap();
}

/// A damaged log: the error is printed once, one line per cause, with the record and
/// offset once; the exit code says bad data.
#[test]
fn an_error_is_printed_once_with_its_causes() {
    let ws = workspace();
    let dir = ws.path();
    damage(&dir.join("keep/events.rbl"), &dir.join("d.rbl"));
    for args in [
        &["verify", "d.rbl"][..],
        &["dump", "d.rbl", "-o", "d.jsonl"],
        &["replay", "d.rbl", "--quiet"],
    ] {
        let o = run(dir, args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(DATA), "{args:?}: {err}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{args:?}: {err}");
        assert_eq!(lines[0], "error: reading the event log d.rbl", "{args:?}");
        assert!(
            lines[1].starts_with("  caused by: record "),
            "{args:?}: {err}"
        );
        let what = lines[1].rsplit(": ").next().unwrap();
        assert_eq!(err.matches(what).count(), 1, "{args:?}: {err}");
        assert_eq!(err.matches("record ").count(), 1, "{args:?}: {err}");
    }
    assert!(
        !dir.join("d.jsonl").exists(),
        "a failed dump leaves no output"
    );
}

/// `dump -o FILE` of a damaged log leaves an existing FILE as it was.
#[test]
fn a_failed_dump_leaves_its_previous_output() {
    let ws = workspace();
    let dir = ws.path();
    let o = run(dir, &["dump", "keep/events.rbl", "-o", "out.jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    damage(&dir.join("keep/events.rbl"), &dir.join("d.rbl"));
    let before = snapshot(dir);
    let o = run(dir, &["dump", "d.rbl", "-o", "out.jsonl"]);
    assert_eq!(o.status.code(), Some(DATA), "{}", stderr(&o));
    assert_untouched(&before, dir);
}

/// What people read shows values, not Rust's debug formatting.
#[test]
fn output_shows_values_not_debug_formatting() {
    let ws = workspace();
    let o = run(ws.path(), &["verify", "keep/events.rbl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(": ok: ") && out.contains("sequences 0..="),
        "{out}"
    );
    assert!(!out.contains("Some("), "{out}");
}

/// `--markets 0` and other values that can never work are refused by the parser.
#[test]
fn nonsensical_values_are_refused_by_the_parser() {
    let dir = tempfile::tempdir().unwrap();
    for (args, message) in [
        (&["run", "--markets", "0"][..], "0 is not in 1..=65535"),
        (&["run", "--parties", "1"], "--parties"),
        (
            &["run", "--pace", "0"],
            "not a positive number of blocks per second",
        ),
        (
            &["run", "--pace", "nan"],
            "not a positive number of blocks per second",
        ),
        (
            &["run", "--bench", "--blocks", "0"],
            "--bench needs a number of blocks",
        ),
        (&["run", "--capacity", "0"], "0 is not a power of two"),
        (&["run", "--nats-stream", "a.b"], "--nats-stream"),
        (
            &["tail", "--nats", "nats://127.0.0.1:1", "--idle-exit=-1"],
            "positive number of seconds",
        ),
        (
            &["tail", "--nats", "nats://127.0.0.1:1", "--idle-exit", "0"],
            "positive number of seconds",
        ),
        (
            &["--blocks", "5", "replay", "x.rbl"],
            "before the subcommand",
        ),
        (&["run", "-q", "-v"], "cannot be used with"),
    ] {
        let mut all = args.to_vec();
        if args[0] == "run" {
            all.extend(["--out", "o"]);
        }
        assert_refused(dir.path(), &all, message);
    }
}

/// `-` is standard input for the logs of dump, verify and replay, and standard output for
/// dump's output and the JSON summary.
#[test]
fn dash_is_standard_input_and_output() {
    let ws = workspace();
    let dir = ws.path();
    let log = dir.join("keep/events.rbl");
    let from_file = run(dir, &["dump", "keep/events.rbl"]);
    assert!(from_file.status.success(), "{}", stderr(&from_file));
    assert!(!from_file.stdout.is_empty());
    let piped = |args: &[&str]| {
        ringbus(dir)
            .args(args)
            .stdin(std::fs::File::open(&log).unwrap())
            .output()
            .unwrap()
    };
    let from_stdin = piped(&["dump", "-"]);
    assert_eq!(
        from_stdin.stdout,
        from_file.stdout,
        "{}",
        stderr(&from_stdin)
    );
    let o = run(dir, &["dump", "keep/events.rbl", "-o", "d.jsonl"]);
    assert!(o.status.success() && o.stdout.is_empty(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(dir.join("d.jsonl")).unwrap(),
        from_file.stdout
    );
    let o = run(dir, &["dump", "keep/events.rbl", "-o", "-"]);
    assert_eq!(o.stdout, from_file.stdout);

    let o = piped(&["verify", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("standard input: ok: "),
        "{}",
        stdout(&o)
    );

    let o = piped(&[
        "replay",
        "-",
        "--db",
        "r.db",
        "--event-log",
        "r.rbl",
        "--quiet",
        "--summary-json",
        "-",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(dir.join("r.rbl")).unwrap(),
        std::fs::read(&log).unwrap()
    );
    let summary = stdout(&o);
    assert!(summary.trim_start().starts_with('{') && summary.contains("\"mode\": \"replay\""));

    // Standard input redirected from the file written is that file.
    let before = snapshot(dir);
    let o = ringbus(dir)
        .args(["replay", "-", "--event-log", "r.rbl", "--db", "r2.db"])
        .stdin(std::fs::File::open(dir.join("r.rbl")).unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(USAGE), "{}", stderr(&o));
    assert!(stderr(&o).contains("are the same file"), "{}", stderr(&o));
    assert_untouched(&before, dir);
}

/// A log on standard input replays with the positions plug-in per market, its markets
/// read from the identity in its header; with `--reset-remote` it is refused (the servers
/// would be reset before the header is read), touching nothing.
#[test]
fn positions_per_market_from_standard_input() {
    let ws = workspace();
    let dir = ws.path();
    let piped = |args: &[&str]| {
        ringbus(dir)
            .args(args)
            .stdin(std::fs::File::open(dir.join("keep/events.rbl")).unwrap())
            .output()
            .unwrap()
    };
    let replay = [
        "replay",
        "-",
        "--db",
        "r.db",
        "--event-log",
        "r.rbl",
        "--quiet",
    ];
    let whole = piped(&[&replay[..], &["--summary-json", "-"]].concat());
    assert!(whole.status.success(), "{}", stderr(&whole));
    let split = piped(
        &[
            &replay[..],
            &["--positions-per-market", "--summary-json", "-"],
        ]
        .concat(),
    );
    assert!(split.status.success(), "{}", stderr(&split));
    let (whole, split): (serde_json::Value, serde_json::Value) = (
        serde_json::from_slice(&whole.stdout).unwrap(),
        serde_json::from_slice(&split.stdout).unwrap(),
    );
    assert_eq!(whole["top_parties"], split["top_parties"]);
    assert!(split["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "positions-m0"));

    let before = snapshot(dir);
    let o = piped(&[&replay[..], &["--positions-per-market", "--reset-remote"]].concat());
    assert_eq!(o.status.code(), Some(USAGE), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("give the log as a file"),
        "{}",
        stderr(&o)
    );
    assert_untouched(&before, dir);
}

/// `-v` shows the libraries' log on stderr; without it (or with `-q`) nothing but errors.
#[test]
fn verbose_shows_the_libraries_log_and_quiet_prints_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["run", "--blocks", "5", "--consumers", "log", "--out", "o"];
    let o = run(dir.path(), &[&args[..], &["-v"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("consumer left"), "{}", stderr(&o));
    let o = run(dir.path(), &args);
    assert!(o.status.success() && !stderr(&o).contains("consumer left"));
    assert!(stdout(&o).contains("events by topic"));
    let o = run(dir.path(), &[&args[..], &["-q"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        o.stdout.is_empty() && o.stderr.is_empty(),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let o = ringbus(dir.path())
        .args(args)
        .env("RUST_LOG", "ringbus_ring=debug")
        .output()
        .unwrap();
    assert!(stderr(&o).contains("consumer left"), "{}", stderr(&o));
}

/// `--help` documents the exit codes.
#[test]
fn help_documents_the_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["--help"]);
    assert!(o.status.success());
    let help = stdout(&o);
    assert!(help.contains("Exit status:"), "{help}");
    for code in [
        "0  success",
        "1  runtime failure",
        "2  usage",
        "3  a consumer failed",
        "4  an event log",
    ] {
        assert!(help.contains(code), "{code}: {help}");
    }
    let mut child = ringbus(dir.path())
        .args(["verify", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"not a log").unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(DATA));
}
