//! What the stream tests share: a bus with a live server, the simulator's events, and a
//! WebSocket client that reads a stream to its end.
#![allow(dead_code, reason = "each test file uses part of it")]

use futures_util::StreamExt;
use ringbus_events::{to_json_line, Event, EventKey};
use ringbus_live::{EventBus, LiveConfig, LiveServer, NodeSnapshot, NodeStatus};
use ringbus_ring::{ConsumerState, Producer, RingBus};
use ringbus_sim::{SimConfig, Simulator};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The simulator's markets and parties (`SimConfig::small`).
pub const MARKETS: u16 = 2;
pub const PARTIES: u32 = 24;

pub type EventProducer = Producer<Event, EventKey>;
pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A node without figures of its own: the stream needs only the bus.
struct NoNode;

impl NodeStatus for NoNode {
    fn snapshot(&self) -> NodeSnapshot {
        NodeSnapshot::default()
    }
}

/// A bus of `capacity` slots served by a live server that takes `max_clients` clients.
pub struct Live {
    pub producer: EventProducer,
    pub bus: Arc<EventBus>,
    pub server: LiveServer,
}

impl Live {
    pub fn start(capacity: usize, max_clients: usize) -> Live {
        Live::start_with(capacity, max_clients, |_| {})
    }

    /// As `start`, with the server's configuration changed by `configure`.
    pub fn start_with(
        capacity: usize,
        max_clients: usize,
        configure: impl FnOnce(&mut LiveConfig),
    ) -> Live {
        let (producer, bus) = RingBus::routed::<Event>()
            .capacity(capacity)
            .max_consumers(64)
            .build()
            .unwrap();
        let bus = Arc::new(bus);
        let mut config = LiveConfig::new("127.0.0.1:0".parse().unwrap(), MARKETS, PARTIES);
        config.max_clients = max_clients;
        configure(&mut config);
        let server = LiveServer::start(config, Arc::clone(&bus), Arc::new(NoNode)).unwrap();
        Live {
            producer,
            bus,
            server,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub fn url(&self, query: &str) -> String {
        format!("ws://{}/stream{query}", self.addr())
    }

    pub fn http_url(&self, query: &str) -> String {
        format!("http://{}/stream{query}", self.addr())
    }

    /// Stream taps on the bus now (present, not departed).
    pub fn taps(&self) -> usize {
        present_taps(&self.bus)
    }
}

pub fn present_taps(bus: &EventBus) -> usize {
    bus.metrics()
        .consumers
        .iter()
        .filter(|c| matches!(c.state, ConsumerState::Running | ConsumerState::Detached))
        .count()
}

/// The events of `blocks` simulated blocks (seeded: the same every run), numbered from 0.
pub fn sim_events(blocks: u64) -> Vec<Event> {
    let mut events = Vec::new();
    Simulator::new(SimConfig::small(7, blocks))
        .run(&mut events)
        .unwrap();
    events
}

/// `count` events cycling through `sample`, renumbered from 0.
pub fn many_events(sample: &[Event], count: usize) -> Vec<Event> {
    sample
        .iter()
        .cycle()
        .take(count)
        .enumerate()
        .map(|(i, e)| Event {
            sequence: i as u64,
            ..*e
        })
        .collect()
}

/// Publishes `events` in batches of 64, as the node publishes a replay.
pub fn publish(producer: &mut EventProducer, events: &[Event]) {
    for chunk in events.chunks(64) {
        let range = producer.publish_events(chunk.iter().copied()).unwrap();
        assert_eq!(range.start, chunk[0].sequence, "events numbered as the bus");
    }
}

/// An event as a client receives it.
pub fn json(event: &Event) -> Value {
    serde_json::from_str(&to_json_line(event)).unwrap()
}

/// What a client read.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    Event(Value),
    Missed(u64),
}

impl Received {
    pub fn sequence(&self) -> Option<u64> {
        match self {
            Received::Event(v) => v["sequence"].as_u64(),
            Received::Missed(_) => None,
        }
    }
}

/// One message's text as a client receives it.
pub fn parse(text: &str) -> Received {
    let value: Value = serde_json::from_str(text).unwrap();
    match value.get("missed") {
        Some(missed) => Received::Missed(missed.as_u64().unwrap()),
        None => Received::Event(value),
    }
}

pub async fn connect(url: &str) -> Client {
    let (client, response) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(response.status(), 101);
    client
}

/// Reads `client` to its close frame (within a minute).
pub async fn read_to_close(client: &mut Client) -> (Vec<Received>, Option<CloseFrame>) {
    let mut received = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(left, client.next())
            .await
            .expect("the stream ended within a minute");
        match message {
            Some(Ok(Message::Text(text))) => received.push(parse(&text)),
            Some(Ok(Message::Close(frame))) => return (received, frame),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Waits up to five seconds for `done`.
pub async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
