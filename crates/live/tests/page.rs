//! The live page in a real browser: headless Chromium (Debian's `chromium`, installed by
//! `scripts/services.sh install`) loads `/` from a live server beside a bus that a simulated
//! node publishes to, waits for live figures, checks that the page shows the bus's consumers,
//! a sequence that moves, the node's blocks, a detach and trades from its own stream, and
//! saves a screenshot to `target/live/page.png`.
//!
//! Without Chromium the test fails and says how to install it: it never skips.

use headless_chrome::protocol::cdp::Emulation::SetDeviceMetricsOverride;
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};
use ringbus_events::{topic_sets, Event, EventTopic};
use ringbus_live::{
    BlockLine, EventBus, LiveConfig, LiveServer, NodeSnapshot, NodeStatus, StoreLine,
};
use ringbus_ring::{RingBus, Subscription, TapPolicy};
use ringbus_sim::{SimConfig, Simulator};
use std::collections::VecDeque;
use std::path::PathBuf;
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
fn the_page_shows_the_node_live_in_chromium() {
    let chromium = chromium();
    let node = PacedNode::start();
    let server = LiveServer::start(
        LiveConfig::new("127.0.0.1:0".parse().unwrap(), 2, 24),
        Arc::clone(&node.bus),
        Arc::new(node.figures()),
    )
    .expect("the live server starts");
    let url = format!("http://{}/", server.local_addr());

    let browser = Browser::new(
        LaunchOptions::default_builder()
            .path(Some(chromium.clone()))
            .headless(true)
            // Root (CI) cannot run Chromium's sandbox; the page is our own, on loopback.
            .sandbox(false)
            .window_size(Some((1280, 800)))
            .idle_browser_timeout(Duration::from_secs(120))
            .build()
            .expect("launch options"),
    )
    .unwrap_or_else(|e| panic!("cannot start {}: {e:#}", chromium.display()));
    let tab = browser.new_tab().expect("a tab");
    // A laptop's screen: the page's viewport exactly (a headless window's size includes
    // the browser's own frame).
    tab.call_method(SetDeviceMetricsOverride {
        width: 1280,
        height: 800,
        device_scale_factor: 1.0,
        mobile: false,
        scale: None,
        screen_width: None,
        screen_height: None,
        position_x: None,
        position_y: None,
        dont_set_visible_size: None,
        screen_orientation: None,
        viewport: None,
        display_feature: None,
        device_posture: None,
    })
    .expect("a 1280x800 viewport");
    tab.navigate_to(&url)
        .and_then(|t| t.wait_until_navigated())
        .unwrap_or_else(|e| panic!("cannot load {url}: {e:#}"));

    // Live figures: the consumer rows and the link marked live.
    wait_for(&tab, "the page to show the bus's consumers", || {
        eval(&tab, "document.getElementById('link').dataset.state") == "live"
            && count(&tab, "#consumers tr[data-consumer]") >= CONSUMERS.len()
    });
    let shown: Vec<String> = serde_json::from_str(&eval(
        &tab,
        "JSON.stringify([...document.querySelectorAll('#consumers tr[data-consumer]')]\
         .map(r => r.dataset.consumer))",
    ))
    .unwrap();
    for name in CONSUMERS {
        assert!(
            shown.iter().any(|s| s == name),
            "{name} not on the page: {shown:?}"
        );
    }
    assert_eq!(
        eval(
            &tab,
            "getComputedStyle(document.documentElement).backgroundColor"
        ),
        "rgb(243, 245, 248)",
        "the page's stylesheet did not apply"
    );

    // The sequence moves while the page is open, without a reload.
    let first = sequence(&tab);
    wait_for(&tab, "the shown sequence to move", || {
        sequence(&tab) > first
    });
    let rate = eval(&tab, "document.getElementById('rate').textContent");
    assert!(
        rate != "–" && rate != "0",
        "events per second shown as {rate:?}"
    );

    // The node's blocks, the slow tap's detach, and trades from the page's own stream.
    wait_for(&tab, "the latest blocks", || {
        count(&tab, "#blocks tr:not(.empty)") > 0
    });
    wait_for(&tab, "the slow tap's detach", || {
        eval(&tab, "document.getElementById('detaches').textContent").contains("audit-tap")
    });
    wait_for(&tab, "trades from /stream", || {
        count(&tab, "#trades tr:not(.empty)") > 0
    });

    // More history for the picture (the rate's sparkline).
    std::thread::sleep(Duration::from_secs(8));
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .expect("a screenshot");
    let path = target_dir().join("live/page.png");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());

    drop(tab);
    drop(browser);
    server.shutdown().expect("the server stops");
    node.stop();
}

/// Chromium: `RINGBUS_CHROMIUM`, else `chromium` on the PATH. Missing, the test fails.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("RINGBUS_CHROMIUM") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "RINGBUS_CHROMIUM is {}, which is not a file",
            path.display()
        );
        return path;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "Chromium is missing: the live page's test loads the page in headless Chromium. \
                 Install it with `scripts/services.sh install` (as root: Debian's chromium \
                 package), or set RINGBUS_CHROMIUM to a Chromium or Chrome binary."
            )
        })
}

/// The target directory this test was built in (`<target>/<profile>/deps/<test>`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .expect("<target>/<profile>/deps/<test>")
        .to_path_buf()
}

/// What `expression` evaluates to in the page, as a string ("" when undefined).
fn eval(tab: &Tab, expression: &str) -> String {
    let value = tab
        .evaluate(expression, false)
        .unwrap_or_else(|e| panic!("evaluating {expression}: {e:#}"))
        .value;
    match value {
        Some(serde_json::Value::String(s)) => s,
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// How many elements match `selector`.
fn count(tab: &Tab, selector: &str) -> usize {
    eval(
        tab,
        &format!("document.querySelectorAll('{selector}').length"),
    )
    .parse()
    .unwrap_or(0)
}

/// The sequence the page shows (0 before the first figures).
fn sequence(tab: &Tab) -> u64 {
    eval(tab, "document.getElementById('sequence').textContent")
        .replace(',', "")
        .parse()
        .unwrap_or(0)
}

/// Polls `done` for up to 20 s; fails with `what` and the page's text otherwise.
fn wait_for(tab: &Tab, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        if Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}; the page shows:\n{}",
                eval(tab, "document.body.innerText")
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
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
