//! The servers a test process starts are gone, and so is its run directory, once the process
//! ends: when it returns, when it aborts, when it is killed with SIGKILL. A server named by the
//! environment is used instead of starting one, and outlives the process that used it.
//!
//! Each case runs this file's `child` test in a process of its own and watches it from here.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How the child ends (`return`, `abort`, `wait` to be killed, `named`).
const CHILD: &str = "RINGBUS_TESTKIT_CLEANUP_CHILD";

/// What the child says, on lines of their own.
const SAYS: &str = "cleanup-child:";

/// The child process of the tests below (it does nothing when run otherwise).
#[test]
#[ignore = "the child process of this file's tests, run by them"]
fn child() {
    let Ok(how) = std::env::var(CHILD) else {
        return;
    };
    let say = |line: String| {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{SAYS} {line}").unwrap();
        out.flush().unwrap();
    };
    if how == "named" {
        let nats = ringbus_testkit::nats();
        assert_eq!(nats.url(), std::env::var("RINGBUS_TEST_NATS_URL").unwrap());
        assert!(ringbus_testkit::fault_nats().is_none(), "never restarted");
        assert_eq!(ringbus_testkit::run_dir(), None, "nothing started");
        say("named".into());
        return;
    }
    let pg = ringbus_testkit::postgres();
    say(format!("url {}", pg.url("postgres", "disable").expose()));
    say(format!("url {}", ringbus_testkit::nats().url()));
    say(format!("url {}", ringbus_testkit::nats_tls().url()));
    say(format!(
        "run-dir {}",
        ringbus_testkit::run_dir().unwrap().display()
    ));
    say("ready".into());
    match how.as_str() {
        "return" => {}
        "abort" => std::process::abort(),
        "wait" => std::thread::sleep(Duration::from_secs(300)),
        other => panic!("{CHILD}={other}"),
    }
}

/// The child, started with `how`, and what it said up to `ready` (or its end).
fn spawn_child(how: &str, env: &[(&str, &str)]) -> (Child, Vec<String>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["child", "--exact", "--ignored", "--nocapture"])
        .env(CHILD, how)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut said = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(what) = line.strip_prefix(SAYS) {
            let what = what.trim().to_string();
            let done = what == "ready" || what == "named";
            said.push(what);
            if done {
                break;
            }
        }
    }
    // The rest unread, the child's test harness would fail writing its report.
    std::thread::spawn(move || lines.for_each(drop));
    (child, said)
}

/// A process that runs (a zombie has ended: only its exit status is left).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.rsplit_once(") ")?.1.chars().next()?;
            Some(state != 'Z')
        })
        .unwrap_or(false)
}

/// Every running process that names `dir` in its command line, and their descendants (the
/// backends of PostgreSQL, whose command lines say `postgres: ...`).
fn processes_of(dir: &Path) -> Vec<u32> {
    let needle = dir.to_str().unwrap().as_bytes();
    let mut parents: Vec<(u32, u32)> = Vec::new();
    let mut found: Vec<u32> = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if cmdline.windows(needle.len()).any(|w| w == needle) && running(pid) {
            found.push(pid);
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        if let Some(ppid) = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.split(' ').nth(1))
            .and_then(|p| p.parse().ok())
        {
            parents.push((pid, ppid));
        }
    }
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        for &(pid, _) in parents.iter().filter(|(_, ppid)| *ppid == parent) {
            if !found.contains(&pid) && running(pid) {
                found.push(pid);
            }
        }
        i += 1;
    }
    found
}

/// `host:port` of a server URL.
fn address(url: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
}

/// Starts the child's servers, ends it with `end`, and checks that its servers stop, its
/// ports close and its run directory goes.
fn servers_go_when_the_child(how: &str, end: impl FnOnce(&mut Child)) {
    let (mut child, said) = spawn_child(how, &[]);
    assert_eq!(said.last().map(String::as_str), Some("ready"), "{said:?}");
    let urls: Vec<&str> = said.iter().filter_map(|l| l.strip_prefix("url ")).collect();
    let dir = PathBuf::from(
        said.iter()
            .find_map(|l| l.strip_prefix("run-dir "))
            .unwrap(),
    );
    assert_eq!(urls.len(), 3, "{said:?}");
    assert!(dir.is_dir());
    let processes = processes_of(&dir);
    // The postmaster and its backends, two nats-servers.
    assert!(processes.len() >= 4, "{processes:?}");
    for url in &urls {
        TcpStream::connect(address(url)).unwrap_or_else(|e| panic!("{url}: {e}"));
    }

    end(&mut child);
    let start = Instant::now();
    loop {
        let left: Vec<u32> = processes.iter().copied().filter(|p| running(*p)).collect();
        if left.is_empty() && !dir.exists() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "30 s after the test process ended ({how}): processes {left:?} still run, \
             {} exists: {}",
            dir.display(),
            dir.exists()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "{how}: servers stopped and {} removed {:?} after the process ended",
        dir.display(),
        start.elapsed()
    );
    for url in &urls {
        assert!(TcpStream::connect(address(url)).is_err(), "{url} answers");
    }
}

#[test]
fn servers_go_when_the_test_process_returns() {
    servers_go_when_the_child("return", |child| {
        assert!(child.wait().unwrap().success());
    });
}

#[test]
fn servers_go_when_the_test_process_aborts() {
    servers_go_when_the_child("abort", |child| {
        assert!(!child.wait().unwrap().success());
    });
}

#[test]
fn servers_go_when_the_test_process_is_killed() {
    servers_go_when_the_child("wait", |child| {
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    });
}

/// A server named by the environment is used as it is: nothing is started for it, no fault
/// test restarts it, and it still runs after the process that used it has ended.
#[test]
fn a_named_server_is_used_and_left_running() {
    let own = ringbus_testkit::nats();
    let (mut child, said) = spawn_child("named", &[("RINGBUS_TEST_NATS_URL", own.url())]);
    assert!(child.wait().unwrap().success(), "{said:?}");
    assert_eq!(said, ["named"]);
    std::thread::sleep(Duration::from_millis(500));
    TcpStream::connect(address(own.url())).expect("the named server still runs");
}
