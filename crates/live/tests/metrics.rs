//! `/metrics` and `/status` scraped over HTTP like Prometheus and the live page would: the
//! figures follow the bus and the node, a detached tap is reported with what it missed.

use ringbus_events::{BlockTime, Event, TimeUpdate};
use ringbus_live::{
    BlockLine, ForwarderLine, LiveConfig, LiveServer, NodeSnapshot, NodeStatus, StoreLine,
};
use ringbus_ring::{Producer, RingBus, StartAt, Subscription, TapPolicy};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A node with fixed figures.
struct FixedNode;

impl NodeStatus for FixedNode {
    fn snapshot(&self) -> NodeSnapshot {
        let mut s = NodeSnapshot::default();
        s.blocks = vec![BlockLine::new(7, 90, 99, 3), BlockLine::new(6, 80, 89, 2)];
        s.stores = vec![
            StoreLine::new("sqlite", Some(6)),
            StoreLine::new("stores", None),
        ];
        s.forwarders = vec![ForwarderLine::new("nats", 12, Some("gone".into()))];
        s
    }
}

fn publish(producer: &mut Producer<Event, ringbus_events::EventKey>, n: usize) {
    for _ in 0..n {
        let time = TimeUpdate { time: BlockTime(1) };
        producer.publish_events([Event::new(time)]).unwrap();
    }
}

fn get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut response = ureq::get(format!("http://{addr}{path}")).call().unwrap();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (content_type, response.body_mut().read_to_string().unwrap())
}

/// The value of the series `series` (name and labels, exactly as printed).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        .parse()
        .unwrap()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(20), "{what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn metrics_follow_the_bus_and_the_node() {
    let (mut producer, bus) = RingBus::routed::<Event>().capacity(64).build().unwrap();
    bus.spawn(Subscription::new("count"), |_: &Event, _: u64, _: bool| {
        Ok(())
    })
    .unwrap();
    let bus = Arc::new(bus);
    let config = LiveConfig::new("127.0.0.1:0".parse().unwrap(), 4, 100);
    let server = LiveServer::start(config, Arc::clone(&bus), Arc::new(FixedNode)).unwrap();
    let addr = server.local_addr();

    publish(&mut producer, 100);
    wait_until("the consumer handles everything", || {
        bus.metrics().consumer("count").unwrap().handled == 100
    });
    let (content_type, text) = get(addr, "/metrics");
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert_eq!(value(&text, "ringbus_events_published_total"), 100.0);
    assert_eq!(value(&text, "ringbus_ring_capacity"), 64.0);
    assert_eq!(value(&text, "ringbus_bus_closed"), 0.0);
    let count = r#"{consumer="count",kind="gating"}"#;
    assert_eq!(
        value(&text, &format!("ringbus_consumer_handled_total{count}")),
        100.0
    );
    assert_eq!(value(&text, &format!("ringbus_consumer_lag{count}")), 0.0);
    assert_eq!(
        value(
            &text,
            r#"ringbus_consumer_state{consumer="count",kind="gating",state="running"}"#
        ),
        1.0
    );
    assert_eq!(
        value(&text, r#"ringbus_store_committed_height{store="sqlite"}"#),
        6.0
    );
    // A store with nothing committed yet has no series rather than a made-up 0.
    assert!(!text.contains(r#"store="stores""#), "{text}");
    assert_eq!(
        value(&text, r#"ringbus_forwarder_backlog{forwarder="nats"}"#),
        12.0
    );
    assert_eq!(value(&text, "ringbus_block_height"), 7.0);

    // A second scrape sees the producer move on.
    publish(&mut producer, 50);
    let (_, text) = get(addr, "/metrics");
    assert_eq!(value(&text, "ringbus_events_published_total"), 150.0);

    drop(producer);
    let (_, text) = get(addr, "/metrics");
    assert_eq!(value(&text, "ringbus_bus_closed"), 1.0);
    server.shutdown().unwrap();
    // The server let go of the bus: it can be joined.
    let bus = Arc::try_unwrap(bus).expect("the server let go of the bus");
    bus.join().unwrap();
}

#[test]
fn status_reports_the_rate_consumers_detaches_and_the_node() {
    let (mut producer, bus) = RingBus::routed::<Event>().capacity(16).build().unwrap();
    let bus = Arc::new(bus);
    let mut slow = bus
        .tap(
            Subscription::new("slow")
                .lossy(TapPolicy::default())
                .start_at(StartAt::Next),
        )
        .unwrap();
    let config = LiveConfig::new("127.0.0.1:0".parse().unwrap(), 4, 100);
    let server = LiveServer::start(config, Arc::clone(&bus), Arc::new(FixedNode)).unwrap();
    let addr = server.local_addr();

    // The tap reads nothing while 100 events go by: detached.
    publish(&mut producer, 100);
    let status = |addr| -> serde_json::Value {
        let (content_type, body) = get(addr, "/status");
        assert_eq!(content_type, "application/json");
        serde_json::from_str(&body).unwrap()
    };
    // The server samples each second: wait for the sample that saw the detach.
    let mut s = status(addr);
    wait_until("the detach is sampled", || {
        s = status(addr);
        s["detaches"].as_array().is_some_and(|d| !d.is_empty())
    });
    assert_eq!(s["sequence"], 100);
    assert_eq!(s["closed"], false);
    assert_eq!(s["clients"], 0);
    assert_eq!(s["detaches"][0]["consumer"], "slow");
    let consumers = s["consumers"].as_array().unwrap();
    assert_eq!(consumers.len(), 1, "{s}");
    assert_eq!(consumers[0]["name"], "slow");
    assert_eq!(consumers[0]["kind"], "tap");
    assert_eq!(consumers[0]["state"], "detached");
    assert_eq!(consumers[0]["detaches"], 1);
    assert_eq!(s["blocks"][0]["height"], 7);
    assert_eq!(s["blocks"][0]["events"], 10);
    assert_eq!(s["blocks"][0]["transactions"], 3);
    assert_eq!(s["stores"][0]["name"], "sqlite");
    assert_eq!(s["stores"][0]["committed_height"], 6);
    assert_eq!(s["stores"][1]["committed_height"], serde_json::Value::Null);
    assert_eq!(s["forwarders"][0]["backlog"], 12);
    assert_eq!(s["failures"][0]["consumer"], "nats");
    assert_eq!(s["failures"][0]["error"], "gone");

    // The tap rejoins at the head and counts what it missed; the server adds it to the
    // detach it noticed.
    let _ = slow.try_poll();
    let missed = bus.metrics().consumer("slow").unwrap().missed;
    assert!(missed > 0);
    wait_until("the missed count is sampled", || {
        status(addr)["detaches"][0]["missed"] == missed
    });

    // Events per second over the last sample: publish for a while, at a known total.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(2_500) {
        publish(&mut producer, 10);
        std::thread::sleep(Duration::from_millis(10));
    }
    let eps = status(addr)["events_per_second"].as_f64().unwrap();
    assert!(eps > 100.0, "{eps}");

    // A tap that leaves (a stream client gone) is no longer listed.
    drop(slow);
    assert_eq!(status(addr)["consumers"], serde_json::json!([]));
    server.shutdown().unwrap();
}
