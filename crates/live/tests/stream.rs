//! `/stream` as a client sees it: every event in order, filters, `from`, Server-Sent Events,
//! and a connection that closes leaving the bus at once.

mod stream_support;

use futures_util::StreamExt;
use ringbus_events::{Event, EventFilter, EventTopic, MarketId, PartyId};
use stream_support::*;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// A ring that holds every event of the test: a client that reads is never detached.
const ROOMY: usize = 1 << 16;

fn events_only(received: &[Received]) -> Vec<serde_json::Value> {
    received
        .iter()
        .map(|r| match r {
            Received::Event(v) => v.clone(),
            Received::Missed(n) => panic!("a client with room missed {n} events"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_client_gets_every_event_in_order_then_a_normal_close() {
    let mut live = Live::start(ROOMY, 8);
    let events = sim_events(30);
    assert!(events.len() > 1000 && events.len() < ROOMY);
    let mut client = connect(&live.url("")).await;
    publish(&mut live.producer, &events);
    drop(live.producer);
    let (received, close) = read_to_close(&mut client).await;
    let expected: Vec<_> = events.iter().map(json).collect();
    assert_eq!(events_only(&received), expected);
    let close = close.expect("a close frame");
    assert_eq!(close.code, CloseCode::Normal);
    assert_eq!(
        close.reason.as_str(),
        "the bus closed: every event was sent"
    );
    eventually("the tap left", || present_taps(&live.bus) == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_market_and_party_filters_must_all_hold() {
    let mut live = Live::start(ROOMY, 8);
    let events = sim_events(30);
    // A party that trades in market 1, so the combined filter selects something.
    let party = events
        .iter()
        .find_map(|e| match e.payload {
            ringbus_events::Payload::Trade(t) if t.market == MarketId(1) => Some(t.buyer),
            _ => None,
        })
        .expect("a trade in market 1");
    let queries: [(String, Vec<EventTopic>, EventFilter); 4] = [
        (
            format!("?topics=Trade,Order&market=1&party={party}"),
            vec![EventTopic::Trade, EventTopic::Order],
            EventFilter::new().market(MarketId(1)).party(party),
        ),
        (
            "?market=market-0".into(),
            EventTopic::ALL.to_vec(),
            EventFilter::new().market(MarketId(0)),
        ),
        (
            format!("?party={}", party.0),
            EventTopic::ALL.to_vec(),
            EventFilter::new().party(party),
        ),
        (
            "?topics=EndBlock,MarkPrice".into(),
            vec![EventTopic::EndBlock, EventTopic::MarkPrice],
            EventFilter::new(),
        ),
    ];
    let mut clients = Vec::new();
    for (query, ..) in &queries {
        clients.push(connect(&live.url(query)).await);
    }
    publish(&mut live.producer, &events);
    drop(live.producer);
    for ((query, topics, filter), mut client) in queries.iter().zip(clients) {
        let (received, close) = read_to_close(&mut client).await;
        let expected: Vec<_> = events
            .iter()
            .filter(|e| topics.contains(&e.topic()) && filter.matches(e))
            .map(json)
            .collect();
        assert!(!expected.is_empty(), "{query} selects something");
        assert!(
            expected.len() < events.len() / 2,
            "{query} leaves events out"
        );
        assert_eq!(events_only(&received), expected, "{query}");
        assert_eq!(close.unwrap().code, CloseCode::Normal);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_starts_at_an_earlier_sequence_still_in_the_ring() {
    let mut live = Live::start(4096, 8);
    let events = many_events(&sim_events(5), 8000);
    publish(&mut live.producer, &events[..5000]);
    // Half the ring can always be joined back to.
    let mut client = connect(&live.url("?from=4000")).await;
    // Sequence 0 has been overwritten: refused, with the oldest that can be started at.
    let refused = reqwest::get(live.http_url("?from=0")).await.unwrap();
    assert_eq!(refused.status(), 400);
    let message = refused.text().await.unwrap();
    assert!(
        message.starts_with(
            "from=0 is no longer in the ring: the oldest sequence a stream can start at is "
        ),
        "{message}"
    );
    let future = reqwest::get(live.http_url("?from=5001")).await.unwrap();
    assert_eq!(future.status(), 400);
    assert_eq!(
        future.text().await.unwrap(),
        "from=5001 is not published yet: the next sequence is 5000\n"
    );
    // The client is at most 4000 events behind: within the ring, never detached.
    publish(&mut live.producer, &events[5000..]);
    drop(live.producer);
    let (received, _) = read_to_close(&mut client).await;
    let expected: Vec<_> = events[4000..].iter().map(json).collect();
    assert_eq!(events_only(&received), expected);
}

/// Reads a Server-Sent Events body to its end: each event's (event type, id, data).
async fn read_sse(response: reqwest::Response) -> Vec<(Option<String>, Option<u64>, String)> {
    let mut body = response.bytes_stream();
    let mut text = String::new();
    while let Some(chunk) = tokio::time::timeout(std::time::Duration::from_secs(60), body.next())
        .await
        .expect("the event stream ended within a minute")
    {
        text.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty() && !block.starts_with(':'))
        .map(|block| {
            let (mut kind, mut id, mut data) = (None, None, String::new());
            for line in block.lines() {
                let (field, value) = line.split_once(':').unwrap();
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => kind = Some(value.to_owned()),
                    "id" => id = Some(value.parse().unwrap()),
                    "data" => data.push_str(value),
                    other => panic!("unexpected field {other}"),
                }
            }
            (kind, id, data)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sent_events_carry_the_same_json_with_sequence_ids() {
    let mut live = Live::start(ROOMY, 8);
    let events = sim_events(10);
    let http = reqwest::Client::new();
    // What a browser's EventSource asks for.
    let trades = http
        .get(live.http_url("?topics=Trade"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(trades.status(), 200);
    assert_eq!(trades.headers()["content-type"], "text/event-stream");
    publish(&mut live.producer, &events[..events.len() / 2]);
    // An EventSource reconnecting after event 99 resumes at 100; curl without headers works.
    let resumed = http
        .get(live.http_url(""))
        .header("last-event-id", "99")
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), 200);
    publish(&mut live.producer, &events[events.len() / 2..]);
    drop(live.producer);

    let check = |received: Vec<(Option<String>, Option<u64>, String)>, expected: Vec<&Event>| {
        let (last, received) = received.split_last().unwrap();
        assert_eq!(
            last,
            &(
                Some("end".to_owned()),
                None,
                "the bus closed: every event was sent".to_owned()
            )
        );
        assert_eq!(received.len(), expected.len());
        for ((kind, id, data), event) in received.iter().zip(expected) {
            assert_eq!(kind, &None);
            assert_eq!(*id, Some(event.sequence));
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(data).unwrap(),
                json(event)
            );
        }
    };
    let trade_events: Vec<&Event> = events
        .iter()
        .filter(|e| e.topic() == EventTopic::Trade)
        .collect();
    assert!(!trade_events.is_empty());
    check(read_sse(trades).await, trade_events);
    check(read_sse(resumed).await, events[100..].iter().collect());
    eventually("the taps left", || present_taps(&live.bus) == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_connection_leaves_the_bus_at_once() {
    let live = Live::start(1024, 8);
    // A WebSocket dropped without a close frame, while nothing is published.
    let client = connect(&live.url("?topics=Trade")).await;
    let sse = reqwest::get(live.http_url(&format!("?party={}", PartyId(3))))
        .await
        .unwrap();
    assert_eq!(sse.status(), 200);
    assert_eq!(live.taps(), 2);
    drop(client);
    eventually("the WebSocket's tap left", || live.taps() == 1).await;
    drop(sse);
    eventually("the event stream's tap left", || live.taps() == 0).await;
    // A client that closes is answered with a close frame.
    let mut polite = connect(&live.url("")).await;
    assert_eq!(live.taps(), 1);
    polite.close(None).await.unwrap();
    let (received, _) = read_to_close(&mut polite).await;
    assert!(received.is_empty());
    eventually("the closing client's tap left", || live.taps() == 0).await;
    live.server.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_the_server_down_closes_every_stream() {
    let live = Live::start(1024, 8);
    let mut client = connect(&live.url("")).await;
    let sse = reqwest::get(live.http_url("")).await.unwrap();
    let bus = std::sync::Arc::clone(&live.bus);
    let server = live.server;
    let stopped = tokio::task::spawn_blocking(move || server.shutdown());
    let (received, close) = read_to_close(&mut client).await;
    assert!(received.is_empty());
    let close = close.unwrap();
    assert_eq!(close.code, CloseCode::Away);
    assert_eq!(close.reason.as_str(), "the server is shutting down");
    let events = read_sse(sse).await;
    assert_eq!(
        events,
        [(
            Some("end".to_owned()),
            None,
            "the server is shutting down".to_owned()
        )]
    );
    stopped.await.unwrap().unwrap();
    assert_eq!(present_taps(&bus), 0);
}
