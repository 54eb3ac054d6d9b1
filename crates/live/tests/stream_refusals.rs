//! Bad input to `/stream`: every refusal says why (400), a full house is refused (503), and
//! a client that sends garbage is closed; the server serves on.

mod stream_support;

use futures_util::SinkExt;
use stream_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_filter_gets_a_400_saying_what_is_wrong() {
    let live = Live::start(1024, 8);
    let cases = [
        (
            "?topics=Quote",
            "unknown event topic `Quote`; the topics are BeginBlock, ",
        ),
        ("?topics=Trade,,Order", "`topics` lists an empty name"),
        (
            "?market=2",
            "market-2 is not a market of this node (its market ids are 0 to 1)\n",
        ),
        (
            "?market=abc",
            "`abc` is not a market id (a number, or market-N)\n",
        ),
        (
            "?party=party-24",
            "party-24 is not a party of this node (its party ids are 0 to 23)\n",
        ),
        (
            "?party=-1",
            "`-1` is not a party id (a number, or party-N)\n",
        ),
        ("?from=soon", "`from=soon` is not a sequence number\n"),
        (
            "?from=5",
            "from=5 is not published yet: the next sequence is 0\n",
        ),
        (
            "?topic=Trade",
            "unknown parameter `topic`: the stream takes topics, market, party and from\n",
        ),
        ("?party=1&party=2", "`party` is given more than once\n"),
        (
            "?topics=TimeUpdate&market=0",
            "no TimeUpdate event has a market: none would pass the market filter\n",
        ),
        (
            "?market=%ZZ",
            "`%ZZ` is not a market id (a number, or market-N)\n",
        ),
        ("?market", "`` is not a market id (a number, or market-N)\n"),
    ];
    for (query, message) in cases {
        let (status, body) = get(&live.http_url(query)).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.starts_with(message), "{query}: {body}");
    }
    // A WebSocket handshake is refused the same way, before the upgrade.
    match tokio_tungstenite::connect_async(live.url("?market=9")).await {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status(), 400);
            let body = String::from_utf8(response.into_body().unwrap()).unwrap();
            assert_eq!(
                body,
                "market-9 is not a market of this node (its market ids are 0 to 1)\n"
            );
        }
        other => panic!("expected a 400, got {other:?}"),
    }
    // An EventSource's resume point is checked as `from` is.
    let response = reqwest::Client::new()
        .get(live.http_url(""))
        .header("last-event-id", "x1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.text().await.unwrap(),
        "Last-Event-ID `x1` is not a sequence number\n"
    );
    assert_eq!(live.taps(), 0, "no refused request joined the bus");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_more_than_the_limit_gets_a_503_until_one_leaves() {
    let live = Live::start(1024, 2);
    let first = connect(&live.url("")).await;
    let second = reqwest::get(live.http_url("")).await.unwrap();
    assert_eq!(second.status(), 200);
    match tokio_tungstenite::connect_async(live.url("")).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("expected a 503, got {other:?}"),
    }
    let (status, body) = get(&live.http_url("")).await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        "this node serves at most 2 stream clients at once; try again later\n"
    );
    assert_eq!(live.taps(), 2);
    drop(first);
    // Its place comes back once its session has ended.
    let mut joined = None;
    for _ in 0..100 {
        match tokio_tungstenite::connect_async(live.url("")).await {
            Ok((client, _)) => {
                joined = Some(client);
                break;
            }
            Err(WsError::Http(r)) if r.status() == 503 => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(joined.is_some(), "a place came back");
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_bus_is_refused_with_a_503() {
    let live = Live::start(1024, 8);
    let url = live.http_url("");
    drop(live.producer);
    let (status, body) = get(&url).await;
    assert_eq!(status, 503);
    assert_eq!(body, "the bus is closed: the node's run has ended\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_sends_anything_is_closed() {
    let live = Live::start(1024, 8);
    for message in [
        Message::Text("subscribe please".into()),
        Message::Binary(vec![0xff; 16].into()),
    ] {
        let mut client = connect(&live.url("")).await;
        assert_eq!(live.taps(), 1);
        client.send(message).await.unwrap();
        let (received, close) = read_to_close(&mut client).await;
        assert!(received.is_empty());
        let close = close.unwrap();
        assert_eq!(close.code, CloseCode::Unsupported);
        assert_eq!(close.reason.as_str(), "this stream takes no messages");
        eventually("the tap left", || live.taps() == 0).await;
    }
    // A message larger than a client could need is cut short, not buffered.
    let mut client = connect(&live.url("")).await;
    let _ = client.send(Message::Text("x".repeat(1 << 20).into())).await;
    eventually("the flooding client's tap left", || live.taps() == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_instead_of_http_is_refused_and_the_server_serves_on() {
    let live = Live::start(1024, 8);
    let mut socket = tokio::net::TcpStream::connect(live.addr()).await.unwrap();
    socket
        .write_all(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        socket.read_to_end(&mut answer),
    )
    .await
    .expect("the server answers or closes");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );
    // A WebSocket upgrade with a broken handshake is refused, not streamed as events.
    let response = reqwest::Client::new()
        .get(live.http_url(""))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(live.taps(), 0);
    let client = connect(&live.url("")).await;
    assert_eq!(live.taps(), 1);
    drop(client);
}
