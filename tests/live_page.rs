//! The live page of the real node, as an operator sees it: `ringbus run --serve 127.0.0.1:0
//! --pace 2 --blocks 0` loaded in headless Chromium, which must show the node's consumers, a
//! sequence that moves, its blocks, its stores' committed heights and trades from the page's
//! own stream; then Ctrl-C (SIGINT) ends the run like its end. The screenshot it saves,
//! `target/live/page.png`, is the README's picture (`docs/images/live-page.png`).
//!
//! Without Chromium the test fails and says how to install it: it never skips.

use ringbus_testkit::browser::{self, Page};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The consumers of `ringbus run` by default.
const CONSUMERS: [&str; 4] = ["positions", "stores", "sqlite", "log"];

#[test]
fn the_live_page_shows_the_running_node() {
    // Before anything runs: without Chromium this fails at once, saying how to install it.
    browser::chromium();
    let dir = tempfile::tempdir().unwrap();
    let (mut node, addr) = serve(dir.path(), &["--pace", "2", "--blocks", "0"]);
    let page = Page::open(&format!("http://{addr}/"));

    page.wait_for("the node's consumers", |p| {
        p.eval("document.getElementById('link').dataset.state") == "live"
            && CONSUMERS
                .iter()
                .all(|c| p.count(&format!("#consumers tr[data-consumer=\"{c}\"]")) == 1)
    });
    let first = sequence(&page);
    page.wait_for("the shown sequence to move", |p| sequence(p) > first);
    page.wait_for("the latest blocks", |p| {
        p.count("#blocks tr:not(.empty)") > 0
    });
    page.wait_for("the stores' committed heights", |p| {
        let stores = p.text("stores");
        stores.contains("stores") && stores.contains("sqlite") && !stores.contains('–')
    });
    page.wait_for("trades from /stream", |p| {
        p.count("#trades tr:not(.empty)") > 0
    });

    // Ten seconds of the rate's history for the picture.
    std::thread::sleep(Duration::from_secs(8));
    eprintln!("screenshot: {}", page.screenshot("live/page.png").display());
    drop(page);

    // Ctrl-C: the node drains, commits and exits 0.
    let ok = Command::new("kill")
        .args(["-INT", &node.0.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -INT");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = node.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the node did not end after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "the node ended with {status}");
}

/// The sequence the page shows (0 before the first figures).
fn sequence(page: &Page) -> u64 {
    page.text("sequence").replace(',', "").parse().unwrap_or(0)
}

/// Kills the node when dropped (a failed assertion included).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `ringbus run --serve 127.0.0.1:0 ARGS` in `dir`; the node and the address it says
/// it serves on.
fn serve(dir: &std::path::Path, args: &[&str]) -> (Killed, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ringbus"))
        .current_dir(dir)
        .args(["run", "--serve", "127.0.0.1:0", "--out", "out", "-q"])
        .args(args)
        .env_remove("RINGBUS_NATS_URL")
        .env_remove("RINGBUS_POSTGRES_URL")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let child = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the node says where it serves");
        if let Some(rest) = line.strip_prefix("serving on http://") {
            let addr = rest.split('/').next().unwrap_or_default();
            return (child, addr.parse().unwrap_or_else(|_| panic!("{line}")));
        }
    }
}
