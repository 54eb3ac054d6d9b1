//! The live page in a real browser, against a bus this test controls: headless Chromium
//! loads `/` from a live server beside a bus that a simulated node publishes to, waits for
//! live figures, checks that the page shows the bus's consumers, a sequence that moves, the
//! node's blocks, a slow tap's detach and trades from the page's own stream, and saves a
//! screenshot to `target/live/page-bus.png`. (`tests/live_page.rs` at the workspace's root
//! does the same against the real `ringbus run --serve`.)
//!
//! Without Chromium the test fails and says how to install it: it never skips.

use ringbus_events::{topic_sets, Event, EventTopic};
use ringbus_live::{
    BlockLine, EventBus, LiveConfig, LiveServer, NodeSnapshot, NodeStatus, StoreLine,
};
use ringbus_ring::{RingBus, Subscription, TapPolicy};
use ringbus_sim::{SimConfig, Simulator};
use ringbus_testkit::browser::{self, Page};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The consumers the page must list: what the bus has, not what the page knows.
const CONSUMERS: [&str; 3] = ["positions", "stores", "audit-tap"];
/// Blocks a second from the simulated node: enough for figures that move every poll.
const PACE: u32 = 20;
/// Blocks the node keeps in mind for the page.
const KEPT_BLOCKS: usize = 16;

#[test]
fn the_page_shows_a_live_bus_in_chromium() {
    // Before anything runs: without Chromium this fails at once, saying how to install it.
    browser::chromium();
    let node = PacedNode::start();
    let server = LiveServer::start(
        LiveConfig::new("127.0.0.1:0".parse().unwrap(), 2, 24),
        Arc::clone(&node.bus),
        Arc::new(node.figures()),
    )
    .expect("the live server starts");
    let page = Page::open(&format!("http://{}/", server.local_addr()));

    // Live figures: the consumer rows and the link marked live.
    page.wait_for("the page to show the bus's consumers", |p| {
        p.eval("document.getElementById('link').dataset.state") == "live"
            && p.count("#consumers tr[data-consumer]") >= CONSUMERS.len()
    });
    let shown = consumers(&page);
    for name in CONSUMERS {
        assert!(
            shown.iter().any(|s| s == name),
            "{name} not on the page: {shown:?}"
        );
    }
    assert_eq!(
        page.eval("getComputedStyle(document.documentElement).backgroundColor"),
        "rgb(243, 245, 248)",
        "the page's stylesheet did not apply"
    );

    // The sequence moves while the page is open, without a reload.
    let first = sequence(&page);
    page.wait_for("the shown sequence to move", |p| sequence(p) > first);
    let rate = page.text("rate");
    assert!(
        rate != "–" && rate != "0",
        "events per second shown as {rate:?}"
    );

    // The node's blocks, the slow tap's detach, and trades from the page's own stream.
    page.wait_for("the latest blocks", |p| {
        p.count("#blocks tr:not(.empty)") > 0
    });
    page.wait_for("the slow tap's detach", |p| {
        p.text("detaches").contains("audit-tap")
    });
    page.wait_for("trades from /stream", |p| {
        p.count("#trades tr:not(.empty)") > 0
    });

    eprintln!(
        "screenshot: {}",
        page.screenshot("live/page-bus.png").display()
    );
    drop(page);
    server.shutdown().expect("the server stops");
    node.stop();
}

/// The names in the consumers table, in its order.
fn consumers(page: &Page) -> Vec<String> {
    serde_json::from_str(&page.eval(
        "JSON.stringify([...document.querySelectorAll('#consumers tr[data-consumer]')]\
         .map(r => r.dataset.consumer))",
    ))
    .unwrap()
}

/// The sequence the page shows (0 before the first figures).
fn sequence(page: &Page) -> u64 {
    page.text("sequence").replace(',', "").parse().unwrap_or(0)
}

/// The node's own figures: the blocks the producer published, and the `stores` consumer's
/// committed height (the last block wholly before its cursor).
struct NodeFigures {
    bus: Weak<EventBus>,
    blocks: Arc<Mutex<VecDeque<BlockLine>>>,
}

impl NodeStatus for NodeFigures {
    fn snapshot(&self) -> NodeSnapshot {
        let blocks: Vec<BlockLine> = self.blocks.lock().unwrap().iter().rev().copied().collect();
        let mut snapshot = NodeSnapshot::default();
        if let Some(bus) = self.bus.upgrade() {
            let next = bus.metrics().consumer("stores").map_or(0, |c| c.sequence);
            let committed = blocks.iter().find(|b| b.last < next).map(|b| b.height);
            snapshot.stores = vec![StoreLine::new("stores", committed)];
        }
        snapshot.blocks = blocks;
        snapshot
    }
}

/// A simulated node publishing `PACE` blocks a second into a bus with a few consumers: two
/// gating ones and a slow lossy tap that keeps being detached.
struct PacedNode {
    bus: Arc<EventBus>,
    blocks: Arc<Mutex<VecDeque<BlockLine>>>,
    running: Arc<AtomicBool>,
    producer: JoinHandle<()>,
}

impl PacedNode {
    fn start() -> PacedNode {
        let (mut producer, bus) = RingBus::routed::<Event>().capacity(1024).build().unwrap();
        bus.spawn(
            Subscription::new("positions").topics(topic_sets::POSITIONS_INPUTS),
            |_: &Event, _: u64, _: bool| Ok(()),
        )
        .unwrap();
        bus.spawn(
            Subscription::new("stores").topics(topic_sets::STORE_INPUTS),
            |_: &Event, _: u64, _: bool| Ok(()),
        )
        .unwrap();
        bus.spawn_tap(
            Subscription::new("audit-tap")
                .topics(topic_sets::of(&[EventTopic::Trade, EventTopic::Order]))
                .lossy(TapPolicy::default().lag(64)),
            |_: &Event, _: u64, _: bool| {
                std::thread::sleep(Duration::from_millis(2));
                Ok(())
            },
        )
        .unwrap();
        let running = Arc::new(AtomicBool::new(true));
        let blocks = Arc::new(Mutex::new(VecDeque::new()));
        let (go, published) = (Arc::clone(&running), Arc::clone(&blocks));
        let producer = std::thread::spawn(move || {
            let mut sim = Simulator::new(SimConfig::small(7, u64::MAX));
            let period = Duration::from_secs(1) / PACE;
            let mut next = Instant::now();
            while go.load(Ordering::Relaxed) {
                let (first, txs) = (sim.events_emitted(), sim.stats().transactions);
                sim.step(&mut producer).expect("the simulator publishes");
                let block = BlockLine::new(
                    sim.height(),
                    first,
                    sim.events_emitted() - 1,
                    sim.stats().transactions - txs,
                );
                let mut kept = published.lock().unwrap();
                if kept.len() == KEPT_BLOCKS {
                    kept.pop_front();
                }
                kept.push_back(block);
                drop(kept);
                next += period;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        });
        PacedNode {
            bus: Arc::new(bus),
            blocks,
            running,
            producer,
        }
    }

    fn figures(&self) -> NodeFigures {
        NodeFigures {
            bus: Arc::downgrade(&self.bus),
            blocks: Arc::clone(&self.blocks),
        }
    }

    fn stop(self) {
        self.running.store(false, Ordering::Relaxed);
        self.producer.join().expect("the producer thread");
        let bus = Arc::try_unwrap(self.bus).expect("the server let the bus go");
        bus.join().expect("every consumer finishes");
    }
}
