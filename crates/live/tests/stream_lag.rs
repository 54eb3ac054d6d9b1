//! A client that falls behind: the producer cuts it loose without waiting, and the client is
//! told how many events it missed, so that what it received and what it missed add up to
//! what was published while it was attached.

mod stream_support;

use std::time::Duration;
use stream_support::*;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Checks a whole-bus client's messages: in order, and each gap is the `missed` before it.
/// Returns (events received, events missed).
fn account(received: &[Received], published: u64) -> (u64, u64) {
    let (mut events, mut missed) = (0, 0);
    let mut next = 0;
    for r in received {
        match r {
            Received::Missed(n) => {
                assert!(*n > 0, "a detach reports what went by");
                missed += n;
                next += n;
            }
            Received::Event(v) => {
                let sequence = v["sequence"].as_u64().unwrap();
                assert_eq!(sequence, next, "in order, every gap reported");
                events += 1;
                next += 1;
            }
        }
    }
    assert_eq!(
        next, published,
        "the client saw or was told of every sequence"
    );
    (events, missed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_is_detached_without_the_producer_waiting_and_told_what_it_missed() {
    let mut live = Live::start(1024, 8);
    // Far more than the socket buffers and the ring hold together.
    let events = many_events(&sim_events(5), 200_000);
    let mut stalled = connect(&live.url("")).await;
    let bus = std::sync::Arc::clone(&live.bus);
    let producer = std::thread::spawn(move || {
        publish(&mut live.producer, &events);
        live.producer
    });
    // The client reads nothing until the producer is done.
    let producer = tokio::task::spawn_blocking(move || producer.join().unwrap())
        .await
        .unwrap();
    let metrics = bus.metrics();
    assert_eq!(metrics.producer.published, 200_000);
    assert_eq!(metrics.producer.waits, 0, "the producer never waited");
    let tap = metrics
        .consumers
        .iter()
        .find(|c| c.name.starts_with("stream-"))
        .unwrap();
    assert!(tap.detaches >= 1 || tap.state == ringbus_ring::ConsumerState::Detached);
    drop(producer);
    let (received, close) = read_to_close(&mut stalled).await;
    assert_eq!(close.unwrap().code, CloseCode::Normal);
    let (got, missed) = account(&received, 200_000);
    assert!(missed > 0, "it was detached");
    assert!(got > 0, "it got what the buffers held, then the head");
    let tap = bus.metrics();
    let tap = tap
        .consumers
        .iter()
        .find(|c| c.name.starts_with("stream-"))
        .unwrap();
    assert_eq!(tap.missed, missed, "the bus's count is the client's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_reading_at_their_own_pace_each_account_for_every_event() {
    let mut live = Live::start(1024, 8);
    let events = many_events(&sim_events(5), 100_000);
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(connect(&live.url("")).await);
    }
    let readers: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut client)| {
            tokio::spawn(async move {
                // Each starts reading later: each falls behind by a different amount.
                tokio::time::sleep(Duration::from_millis(50 * i as u64)).await;
                read_to_close(&mut client).await
            })
        })
        .collect();
    let producer = std::thread::spawn(move || {
        publish(&mut live.producer, &events);
    });
    tokio::task::spawn_blocking(move || producer.join().unwrap())
        .await
        .unwrap();
    for reader in readers {
        let (received, close) = reader.await.unwrap();
        assert_eq!(close.unwrap().code, CloseCode::Normal);
        let (got, missed) = account(&received, 100_000);
        assert_eq!(got + missed, 100_000);
    }
}

/// A client that stops reading does not hold its place for ever: once a batch has waited
/// `send_timeout` for it, it is disconnected and its tap leaves the bus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_disconnected_after_the_send_timeout() {
    let mut live = Live::start_with(1024, 8, |c| {
        c.send_timeout = Duration::from_millis(300);
    });
    let events = many_events(&sim_events(5), 20_000);
    // Connected, and never read from.
    let _silent = connect(&live.url("")).await;
    eventually("the client joins", || live.taps() == 1).await;
    let bus = std::sync::Arc::clone(&live.bus);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = std::sync::Arc::clone(&stop);
    // Publishes until told to stop: the socket's buffers fill, then the server's send waits.
    let producer = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut next = 0;
        while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
            assert!(std::time::Instant::now() < deadline, "never disconnected");
            let round: Vec<_> = events
                .iter()
                .map(|e| ringbus_events::Event {
                    sequence: e.sequence + next,
                    ..*e
                })
                .collect();
            publish(&mut live.producer, &round);
            next += round.len() as u64;
        }
        live
    });
    let bus_of = std::sync::Arc::clone(&bus);
    tokio::task::spawn_blocking(move || {
        while present_taps(&bus_of) != 0 {
            std::thread::sleep(Duration::from_millis(10));
        }
    })
    .await
    .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let live = tokio::task::spawn_blocking(move || producer.join().unwrap())
        .await
        .unwrap();
    let figures = bus.metrics();
    let tap = figures
        .consumers
        .iter()
        .find(|c| c.name.starts_with("stream-"))
        .unwrap();
    assert_eq!(tap.state, ringbus_ring::ConsumerState::Left);
    drop(live);
}
