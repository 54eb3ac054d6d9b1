//! The live page of the real node, as an operator sees it: `ringbus run --serve 127.0.0.1:0
//! --pace 2 --blocks 0` loaded in headless Chromium, which must show the node's consumers, a
//! sequence that moves, its blocks, its stores' committed heights and trades from the page's
//! own stream; then Ctrl-C (SIGINT) ends the run like its end. The screenshot it saves,
//! `target/live/page.png`, is the README's picture (`docs/images/live-page.png`).
//!
//! Without Chromium the test fails and says how to install it: it never skips.

use ringbus_testkit::browser::{self, Page};
use ringbus_testkit::Served;
use std::time::Duration;

/// The consumers of `ringbus run` by default.
const CONSUMERS: [&str; 4] = ["positions", "stores", "sqlite", "log"];

#[test]
fn the_live_page_shows_the_running_node() {
    // Before anything runs: without Chromium this fails at once, saying how to install it.
    browser::chromium();
    let dir = tempfile::tempdir().unwrap();
    let mut node = Served::run(
        env!("CARGO_BIN_EXE_ringbus"),
        dir.path(),
        &["-q", "--pace", "2", "--blocks", "0"],
    );
    let addr = node.addr;
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
    node.signal("INT");
    let status = node.wait_for_exit(Duration::from_secs(60));
    assert!(status.success(), "the node ended with {status}");
}

/// The sequence the page shows (0 before the first figures).
fn sequence(page: &Page) -> u64 {
    page.text("sequence").replace(',', "").parse().unwrap_or(0)
}
