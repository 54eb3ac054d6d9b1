//! The JetStream forwarder and the stream reader against a real nats-server: one this test
//! process starts, or one named by the environment (`ringbus_testkit::servers`).

use ringbus_events::{topic_sets, Event, EventTopic};
use ringbus_remote::{
    tail, BatchError, Batching, ForwarderOptions, ForwarderStatus, JetStreamForwarder,
    MessageFormat, RemoteError, ServiceUrl, TailItem, TailOptions, HEADER_BATCH, HEADER_BLOCK,
    HEADER_BLOCK_END,
};
use ringbus_ring::{RingBus, Subscription};
use ringbus_sim::EventSink;
use ringbus_testkit::*;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Duration;

fn url() -> ServiceUrl {
    ServiceUrl::new(nats().url())
}

/// The server a test's options point at: the TLS one when they carry a CA file.
fn server_of(options: &ForwarderOptions) -> ServiceUrl {
    ServiceUrl::new(if options.ca_file.is_some() {
        nats_tls().url()
    } else {
        nats().url()
    })
}

/// Options for a stream of this test's own (deleted first), subjects
/// `t_<name>_<pid>.<Topic>`.
fn fresh_stream(name: &str) -> ForwarderOptions {
    fresh_stream_on(name, nats())
}

/// [`fresh_stream`] on `server`: the plain one, or the TLS one (`ca_file` its CA). Names
/// carry the process id ([`per_process`]).
fn fresh_stream_on(name: &str, server: &'static Nats) -> ForwarderOptions {
    sweep_streams(server);
    let ca_file = server.ca().map(PathBuf::from);
    let stream = per_process(&format!("TEST_{}", name.to_uppercase()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = match &ca_file {
            None => async_nats_connect().await,
            Some(ca) => async_nats::ConnectOptions::new()
                .add_root_certificates(ca.clone())
                .require_tls(true)
                .connect(server.url())
                .await
                .unwrap(),
        };
        let js = async_nats::jetstream::new(client);
        let _ = js.delete_stream(&stream).await;
    });
    ForwarderOptions {
        stream,
        subject_prefix: per_process(&format!("t_{name}")),
        ca_file,
        ..ForwarderOptions::default()
    }
}

async fn async_nats_connect() -> async_nats::Client {
    async_nats::connect(nats().url()).await.unwrap()
}

/// Everything in the stream (in stream order), or one topic of it.
fn read_all(options: &ForwarderOptions, topic: Option<EventTopic>) -> Vec<TailItem> {
    let mut out = Vec::new();
    tail(
        &server_of(options),
        &TailOptions {
            stream: options.stream.clone(),
            subject_prefix: options.subject_prefix.clone(),
            topic,
            idle_exit: Some(Duration::from_millis(1500)),
            ca_file: options.ca_file.clone(),
            ..TailOptions::default()
        },
        |item| {
            out.push(item);
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    out
}

/// The stream holds exactly `expected`: in order, once each, on the right subjects, with
/// gap-free stream sequences.
fn check_stream(options: &ForwarderOptions, expected: &[Event]) {
    let items = read_all(options, None);
    assert_eq!(items.len(), expected.len(), "one message per event");
    for (i, (item, e)) in items.iter().zip(expected).enumerate() {
        assert_eq!(
            item.stream_sequence,
            i as u64 + 1,
            "stream sequence of {e:?}"
        );
        assert_eq!(item.event_sequence, e.sequence);
        assert_eq!(item.event.as_ref(), Some(e), "message {i}");
        assert_eq!(
            item.subject,
            format!("{}.{}", options.subject_prefix, e.topic().name())
        );
    }
}

fn run_bus(events: &[Event], forwarder: JetStreamForwarder, topics: ringbus_ring::TopicSet) {
    run_through(events, Subscription::new("nats").topics(topics), forwarder);
}

fn assert_clean(status: &ForwarderStatus, expected_last: Option<u64>) {
    let s = status.snapshot();
    assert_eq!(s.error, None, "{s:?}");
    assert_eq!(s.acked_through, expected_last, "{s:?}");
}

/// A simulated run through the bus: the stream holds every event once, in order; a reader
/// of one topic sees exactly that topic's events.
#[test]
fn every_event_once_in_order() {
    let _servers = use_servers();
    with_deadline("forward a run", Duration::from_secs(90), || {
        let options = fresh_stream("all");
        let events = simulate(150, 3);
        let (fwd, status) = JetStreamForwarder::connect(url(), options.clone(), None).unwrap();
        assert_eq!(fwd.resume_after(), None);
        run_bus(&events, fwd, topic_sets::ALL_EVENTS);
        assert_clean(&status, events.last().map(|e| e.sequence));
        let s = status.snapshot();
        assert_eq!(s.acked, events.len() as u64);
        assert_eq!(s.duplicates, 0);
        check_stream(&options, &events);

        let trades: Vec<Event> = events
            .iter()
            .filter(|e| e.topic() == EventTopic::Trade)
            .copied()
            .collect();
        assert!(!trades.is_empty());
        let read: Vec<Event> = read_all(&options, Some(EventTopic::Trade))
            .into_iter()
            .map(|i| i.event.unwrap())
            .collect();
        assert_eq!(read, trades);
    });
}

/// A topic subset, as JSON lines.
#[test]
fn a_topic_subset_as_json() {
    let _servers = use_servers();
    with_deadline("forward a subset", Duration::from_secs(60), || {
        let options = ForwarderOptions {
            topics: topic_sets::of(&[EventTopic::Trade, EventTopic::EndBlock]),
            format: MessageFormat::Json,
            ..fresh_stream("subset")
        };
        let events = simulate(40, 4);
        let (fwd, status) = JetStreamForwarder::connect(url(), options.clone(), None).unwrap();
        run_bus(&events, fwd, options.topics);
        let expected: Vec<&Event> = events
            .iter()
            .filter(|e| options.topics.contains(e.ring_topic()))
            .collect();
        assert_clean(&status, expected.last().map(|e| e.sequence));
        let items = read_all(&options, None);
        assert_eq!(items.len(), expected.len());
        for (item, e) in items.iter().zip(expected) {
            assert_eq!(item.event_sequence, e.sequence);
            assert_eq!(
                item.json.as_deref(),
                Some(ringbus_events::to_json_line(e).as_str())
            );
        }
    });
}

/// A forwarder started again on a stream that has part of the log resumes after the
/// stream's last event: fed the whole log, it adds only the rest.
#[test]
fn resumes_after_the_streams_last_event() {
    let _servers = use_servers();
    with_deadline("resume", Duration::from_secs(60), || {
        let options = fresh_stream("resume");
        let events = simulate(60, 9);
        let half = events.len() / 2;
        let (mut fwd, status) = JetStreamForwarder::connect(url(), options.clone(), None).unwrap();
        for e in &events[..half] {
            fwd.forward(e, false).unwrap();
        }
        fwd.flush().unwrap();
        drop(fwd);
        assert_eq!(
            status.snapshot().acked_through,
            Some(events[half - 1].sequence)
        );

        let (fwd, status) = JetStreamForwarder::connect(url(), options.clone(), None).unwrap();
        assert_eq!(fwd.resume_after(), Some(events[half - 1].sequence));
        run_bus(&events, fwd, topic_sets::ALL_EVENTS);
        let s = status.snapshot();
        assert_eq!(s.skipped, half as u64);
        assert_clean(&status, events.last().map(|e| e.sequence));
        check_stream(&options, &events);
    });
}

/// nats-server is killed (SIGKILL) and started again in the middle of a run: the forwarder
/// reconnects, finds the stream's last event, re-sends what follows; the stream holds every
/// event once, in order (checked event by event). Skipped against a server named by the
/// environment.
#[test]
fn nats_killed_and_restarted_mid_run() {
    killed_mid_run("kill", Batching::PerEvent);
}

/// The same with [`Batching::PerBlock`] (batches of at most 8 events, so that many are in
/// flight).
#[test]
fn nats_killed_and_restarted_mid_run_per_block() {
    killed_mid_run("kill_block", Batching::PerBlock);
}

fn killed_mid_run(name: &'static str, batching: Batching) {
    let Some((_servers, server)) = fault_nats() else {
        return;
    };
    with_deadline("NATS killed mid-run", Duration::from_secs(120), move || {
        let options = ForwarderOptions {
            reconnect_timeout: Duration::from_secs(60),
            ack_timeout: Duration::from_secs(2),
            batching,
            max_batch_events: 8,
            ..fresh_stream(name)
        };
        let events = simulate(200, 31);
        let (fwd, status) = JetStreamForwarder::connect(url(), options.clone(), None).unwrap();
        let (mut producer, bus) = RingBus::routed::<Event>()
            .capacity(1024)
            .handler(
                Subscription::new("nats").topics(topic_sets::ALL_EVENTS),
                fwd,
            )
            .build()
            .unwrap();
        // Kill the server while the forwarder has messages in flight: once a third of the
        // run is acknowledged. The producer holds the second half back until then, so that
        // a fast forwarder (per block) cannot finish first.
        let watch = status.clone();
        let third = events[events.len() / 3].sequence;
        let (killed_tx, killed) = std::sync::mpsc::channel();
        let killer = std::thread::spawn(move || {
            while watch.snapshot().acked_through.is_none_or(|a| a < third) {
                std::thread::sleep(Duration::from_millis(1));
            }
            server.kill();
            let at_kill = watch.snapshot().acked_through;
            let _ = killed_tx.send(());
            std::thread::sleep(Duration::from_millis(300));
            server.start_again();
            at_kill
        });
        let (first_half, second_half) = events.split_at(events.len() / 2);
        for chunk in first_half.chunks(64) {
            EventSink::publish(&mut producer, chunk).unwrap();
        }
        killed
            .recv_timeout(Duration::from_secs(60))
            .expect("the killer never saw a third of the run acknowledged");
        for chunk in second_half.chunks(64) {
            EventSink::publish(&mut producer, chunk).unwrap();
        }
        drop(producer);
        bus.join().unwrap();
        let s = status.snapshot();
        let at_kill = killer.join().unwrap();
        eprintln!("nats-server killed with events through {at_kill:?} acknowledged; then: {s:?}");
        assert!(
            at_kill < events.last().map(|e| e.sequence),
            "the kill came after the run"
        );
        assert_clean(&status, events.last().map(|e| e.sequence));
        match batching {
            Batching::PerEvent => check_stream(&options, &events),
            Batching::PerBlock => check_batched(&options, &events),
        }
    });
}

/// No password in what is shown of a URL or an error.
#[test]
fn passwords_are_never_shown() {
    let url = ServiceUrl::new("nats://user:s3cret@127.0.0.1:1");
    let options = ForwarderOptions {
        reconnect_timeout: Duration::from_millis(300),
        ..ForwarderOptions::default()
    };
    let err = JetStreamForwarder::connect(url.clone(), options, None).unwrap_err();
    let shown = format!("{err} {err:?} {url} {url:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
}

/// Over TLS (the second server, TLS required, verified against the test CA): the stream
/// holds every event once, in order.
#[test]
fn every_event_once_in_order_over_tls() {
    let _servers = use_servers();
    with_deadline("forward a run over TLS", Duration::from_secs(90), || {
        let options = fresh_stream_on("tls", nats_tls());
        let events = simulate(150, 9);
        let (fwd, status) =
            JetStreamForwarder::connect(ServiceUrl::new(nats_tls().url()), options.clone(), None)
                .unwrap();
        run_bus(&events, fwd, topic_sets::ALL_EVENTS);
        assert_clean(&status, events.last().map(|e| e.sequence));
        let s = status.snapshot();
        assert_eq!(s.acked, events.len() as u64);
        assert_eq!(s.duplicates, 0);
        check_stream(&options, &events);

        // A CA file on a nats:// URL asks for TLS too: the same server, the same stream.
        let plain_scheme = ServiceUrl::new(nats_tls().url().replace("tls://", "nats://"));
        let (fwd, status) =
            JetStreamForwarder::connect(plain_scheme, options.clone(), None).unwrap();
        assert_eq!(fwd.resume_after(), events.last().map(|e| e.sequence));
        drop(fwd);
        assert_eq!(status.snapshot().error, None);
    });
}

/// A CA that did not sign the server's certificate, or none (the system's roots), fails at
/// once with the typed error, no password shown; so does a bad CA file.
#[test]
fn a_foreign_ca_is_refused_over_tls() {
    let _servers = use_servers();
    with_deadline(
        "NATS TLS with a foreign CA",
        Duration::from_secs(30),
        || {
            let (_dir, other) = other_ca();
            let url = ServiceUrl::new(nats_tls().url_with_credentials("user", "s3cret"));
            for ca_file in [Some(other.clone()), None] {
                let options = ForwarderOptions {
                    ca_file: ca_file.clone(),
                    ..ForwarderOptions::default()
                };
                let start = std::time::Instant::now();
                let err = JetStreamForwarder::connect(url.clone(), options, None).unwrap_err();
                assert!(start.elapsed() < Duration::from_secs(10), "retried: {err}");
                assert!(
                    matches!(err, RemoteError::NatsTls { .. }),
                    "{ca_file:?}: {err:?}"
                );
                let shown = format!("{err} {err:?}");
                assert!(!shown.contains("s3cret"), "{shown}");
                let tail_options = TailOptions {
                    ca_file,
                    ..TailOptions::default()
                };
                let err = tail(&url, &tail_options, |_| ControlFlow::Break(())).unwrap_err();
                assert!(matches!(err, RemoteError::NatsTls { .. }), "{err:?}");
            }
            let missing = other.with_file_name("missing.crt");
            let options = ForwarderOptions {
                ca_file: Some(missing.clone()),
                ..ForwarderOptions::default()
            };
            let err = JetStreamForwarder::connect(url, options, None).unwrap_err();
            assert!(
                matches!(&err, RemoteError::CaFile { path, .. } if *path == missing),
                "{err:?}"
            );
        },
    );
}

// ---- Batching::PerBlock ----

/// Every message of the stream of `options`, in stream order, with its headers.
fn raw_messages(options: &ForwarderOptions) -> Vec<Raw> {
    stream_raw(&options.stream)
}

/// Creates the stream of `options` and stores `messages` in it as they are (a stream that a
/// forwarder left that way), without `Nats-Expected-Last-Sequence`.
fn store_raw(options: &ForwarderOptions, messages: &[Raw]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats_connect().await);
        js.get_or_create_stream(async_nats::jetstream::stream::Config {
            name: options.stream.clone(),
            subjects: vec![format!("{}.>", options.subject_prefix)],
            duplicate_window: options.duplicate_window,
            ..Default::default()
        })
        .await
        .unwrap();
        for m in messages {
            let mut headers = async_nats::HeaderMap::new();
            for (name, values) in m.headers.iter() {
                if name.to_string() != "Nats-Expected-Last-Sequence" {
                    for v in values {
                        headers.append(name.clone(), v.clone());
                    }
                }
            }
            let ack = js
                .publish_with_headers(m.subject.clone(), headers, m.payload.clone().into())
                .await
                .unwrap()
                .await
                .unwrap();
            assert!(!ack.duplicate);
        }
    });
}

/// The stream holds exactly `expected`, once each: a reader of all topics gets them in bus
/// order, a reader of one topic gets that topic's events in order; every block's last
/// message is marked and carries the block's `EndBlock` if it is forwarded.
fn check_batched(options: &ForwarderOptions, expected: &[Event]) {
    let items = read_all(options, None);
    let got: Vec<Event> = items.iter().map(|i| i.event.unwrap()).collect();
    assert_eq!(got.len(), expected.len(), "once each");
    assert!(
        got == expected,
        "a reader of all topics gets the log, in order"
    );
    for (item, e) in items.iter().zip(expected) {
        assert_eq!(item.event_sequence, e.sequence);
        assert_eq!(
            item.subject,
            format!("{}.{}", options.subject_prefix, e.topic().name())
        );
    }
    for topic in [EventTopic::Trade, EventTopic::Account, EventTopic::EndBlock] {
        let want: Vec<Event> = expected
            .iter()
            .filter(|e| e.topic() == topic)
            .copied()
            .collect();
        let read: Vec<Event> = read_all(options, Some(topic))
            .into_iter()
            .map(|i| i.event.unwrap())
            .collect();
        assert_eq!(read, want, "{topic} alone, in order");
    }
}

/// Per block and topic: far fewer messages than events; a reader of all topics gets the
/// log; one message per topic of a block (parts past `max_batch_events`), the block's
/// `EndBlock` message last and marked.
#[test]
fn per_block_every_event_once_each_topic_in_order() {
    let _servers = use_servers();
    with_deadline("forward a run per block", Duration::from_secs(90), || {
        let options = ForwarderOptions {
            batching: Batching::PerBlock,
            max_batch_events: 40,
            ..fresh_stream("block_all")
        };
        let events = simulate(150, 3);
        let (fwd, status) = JetStreamForwarder::connect(url(), options.clone(), None).unwrap();
        run_bus(&events, fwd, options.subscription());
        assert_clean(&status, events.last().map(|e| e.sequence));
        let s = status.snapshot();
        assert_eq!(s.acked, events.len() as u64);
        assert_eq!(s.duplicates, 0);
        check_batched(&options, &events);

        // The messages expected: per block, per topic in the order of its first event,
        // ceil(n / 40) parts.
        let mut expected_messages = Vec::new();
        for block in events.chunk_by(|a, b| a.block_height == b.block_height) {
            let mut topics: Vec<EventTopic> = Vec::new();
            for e in block {
                if !topics.contains(&e.topic()) {
                    topics.push(e.topic());
                }
            }
            for t in topics {
                let of_topic: Vec<&Event> = block.iter().filter(|e| e.topic() == t).collect();
                for part in of_topic.chunks(40) {
                    expected_messages.push((block[0].block_height, t, part.len()));
                }
            }
        }
        let raw = raw_messages(&options);
        assert_eq!(s.acked_messages, raw.len() as u64);
        assert!(raw.len() * 10 < events.len(), "{} messages", raw.len());
        let found: Vec<(u64, EventTopic, usize)> = raw
            .iter()
            .map(|m| {
                (
                    m.header(HEADER_BLOCK).unwrap().parse().unwrap(),
                    m.header("Ringbus-Topic").unwrap().parse().unwrap(),
                    m.header(HEADER_BATCH).unwrap().parse().unwrap(),
                )
            })
            .collect();
        assert_eq!(found, expected_messages);
        for (i, m) in raw.iter().enumerate() {
            let last_of_block = raw
                .get(i + 1)
                .is_none_or(|n| n.header(HEADER_BLOCK) != m.header(HEADER_BLOCK));
            assert_eq!(
                m.header(HEADER_BLOCK_END).is_some(),
                last_of_block,
                "message {i}"
            );
            if last_of_block {
                assert_eq!(m.header("Ringbus-Topic"), Some("EndBlock"));
            }
        }
    });
}

/// The same log forwarded twice gives the same messages, byte for byte: bodies, Msg-Ids,
/// every header. Bodies are split at `max_batch_bytes` too.
#[test]
fn per_block_is_deterministic() {
    let _servers = use_servers();
    with_deadline("per block twice", Duration::from_secs(90), || {
        let events = simulate(40, 5);
        let mut runs = Vec::new();
        for name in ["block_det_a", "block_det_b"] {
            let options = ForwarderOptions {
                batching: Batching::PerBlock,
                max_batch_bytes: Some(3000),
                ..fresh_stream(name)
            };
            let (fwd, status) = JetStreamForwarder::connect(url(), options.clone(), None).unwrap();
            run_bus(&events, fwd, options.subscription());
            assert_clean(&status, events.last().map(|e| e.sequence));
            check_batched(&options, &events);
            runs.push(raw_messages(&options));
        }
        let (a, b) = (&runs[0], &runs[1]);
        assert_eq!(a.len(), b.len());
        assert!(a.iter().all(|m| m.payload.len() <= 3000));
        assert!(
            a.iter()
                .filter(|m| m.header("Ringbus-Topic") == Some("Account"))
                .count()
                > 40,
            "Account batches split by size"
        );
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert_eq!(x.payload, y.payload, "message {i}");
            let sorted = |m: &Raw| {
                let mut h: Vec<(String, Vec<String>)> = m
                    .headers
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.to_string(),
                            v.iter().map(|v| v.as_str().to_string()).collect(),
                        )
                    })
                    .collect();
                h.sort();
                h
            };
            assert_eq!(sorted(x), sorted(y), "message {i}");
            assert_eq!(
                x.subject.split_once('.').unwrap().1,
                y.subject.split_once('.').unwrap().1
            );
        }
    });
}

/// A subset without `EndBlock`, as JSON lines: each block's last message (a `Trade` batch)
/// is marked; with the recommended subscription (`EndBlock` too) and without it (blocks
/// then close at the next block's first event) the stream holds the trades once each.
#[test]
fn per_block_subset_as_json() {
    let _servers = use_servers();
    with_deadline("per block subset", Duration::from_secs(60), || {
        let events = simulate(40, 4);
        let trades: Vec<&Event> = events
            .iter()
            .filter(|e| e.topic() == EventTopic::Trade)
            .collect();
        for (name, with_end_block) in [("block_json", true), ("block_json_noend", false)] {
            let options = ForwarderOptions {
                topics: topic_sets::of(&[EventTopic::Trade]),
                format: MessageFormat::Json,
                batching: Batching::PerBlock,
                ..fresh_stream(name)
            };
            let subscription = if with_end_block {
                options.subscription()
            } else {
                options.topics
            };
            let (fwd, status) = JetStreamForwarder::connect(url(), options.clone(), None).unwrap();
            run_bus(&events, fwd, subscription);
            assert_clean(&status, trades.last().map(|e| e.sequence));
            let items = read_all(&options, None);
            assert_eq!(items.len(), trades.len());
            for (item, e) in items.iter().zip(&trades) {
                assert_eq!(item.event_sequence, e.sequence);
                assert_eq!(
                    item.json.as_deref(),
                    Some(ringbus_events::to_json_line(e).as_str())
                );
            }
            let raw = raw_messages(&options);
            let blocks_with_trades = trades
                .chunk_by(|a, b| a.block_height == b.block_height)
                .count();
            assert_eq!(
                raw.len(),
                blocks_with_trades,
                "one message per block with trades"
            );
            let marked = raw
                .iter()
                .filter(|m| m.header(HEADER_BLOCK_END).is_some())
                .count();
            // Without EndBlock the last block's end is not known at shutdown.
            assert_eq!(marked, raw.len() - usize::from(!with_end_block), "{name}");
        }
    });
}

/// A forwarder stopped in the middle of a block (its last message without the block-end
/// mark), then a new one fed the whole log: the rest of that block and what follows, no
/// duplicates, no gaps.
#[test]
fn per_block_resumes_after_a_stop_mid_block() {
    let _servers = use_servers();
    with_deadline("per block resume", Duration::from_secs(60), || {
        let options = ForwarderOptions {
            batching: Batching::PerBlock,
            ..fresh_stream("block_resume")
        };
        let events = simulate(60, 9);
        // Stop halfway into a block: after its first few events of several topics.
        let stop = events
            .iter()
            .position(|e| e.block_height == 30 && e.topic() == EventTopic::Trade)
            .unwrap()
            + 25;
        assert_eq!(events[stop].block_height, 30);
        let (mut fwd, status) = JetStreamForwarder::connect(url(), options.clone(), None).unwrap();
        for e in &events[..stop] {
            fwd.forward(e, false).unwrap();
        }
        fwd.flush().unwrap();
        drop(fwd);
        assert_eq!(status.snapshot().error, None);
        let raw = raw_messages(&options);
        let last = raw.last().unwrap();
        assert_eq!(last.header(HEADER_BLOCK), Some("30"));
        assert_eq!(
            last.header(HEADER_BLOCK_END),
            None,
            "the block is not complete"
        );

        let (fwd, status) = JetStreamForwarder::connect(url(), options.clone(), None).unwrap();
        run_bus(&events, fwd, options.subscription());
        let s = status.snapshot();
        assert_eq!(s.skipped, stop as u64);
        assert_eq!(s.duplicates, 0);
        assert_clean(&status, events.last().map(|e| e.sequence));
        check_batched(&options, &events);
    });
}

/// The stream written per block and cut short inside a block (its first messages only, as a
/// crash between two publishes leaves it), then resumed per block, or per event (a change of
/// mode): once each, in order.
#[test]
fn per_block_cut_inside_a_block_resumes_in_either_mode() {
    let _servers = use_servers();
    with_deadline("per block cut", Duration::from_secs(90), || {
        let events = simulate(50, 12);
        // Streams a failed run may have left on these subjects.
        fresh_stream("block_cut_block");
        fresh_stream("block_cut_event");
        let source = ForwarderOptions {
            batching: Batching::PerBlock,
            max_batch_events: 30,
            ..fresh_stream("block_cut_src")
        };
        let (fwd, _) = JetStreamForwarder::connect(url(), source.clone(), None).unwrap();
        run_bus(&events, fwd, source.subscription());
        let raw = raw_messages(&source);
        // Everything before block 25, and the first three messages of block 25.
        let first_of_25 = raw
            .iter()
            .position(|m| m.header(HEADER_BLOCK) == Some("25"))
            .unwrap();
        let cut = first_of_25 + 3;
        assert_eq!(
            raw[cut].header(HEADER_BLOCK),
            Some("25"),
            "block 25 has > 3 messages"
        );
        for (name, batching) in [
            ("block_cut_block", Batching::PerBlock),
            ("block_cut_event", Batching::PerEvent),
        ] {
            let options = ForwarderOptions {
                batching,
                max_batch_events: 30,
                subject_prefix: source.subject_prefix.clone(),
                ..fresh_stream(name)
            };
            // The source stream owns the subjects: drop it while this one exists.
            fresh_stream("block_cut_src");
            store_raw(&options, &raw[..cut]);
            let (fwd, status) = JetStreamForwarder::connect(url(), options.clone(), None).unwrap();
            run_bus(&events, fwd, options.subscription());
            let s = status.snapshot();
            assert_eq!(s.duplicates, 0, "{name}");
            assert_clean(&status, events.last().map(|e| e.sequence));
            check_batched(&options, &events);
            if batching == Batching::PerEvent {
                let after = raw_messages(&options);
                assert!(after[cut..]
                    .iter()
                    .all(|m| m.header(HEADER_BATCH).is_none()));
            }
            fresh_stream(name);
        }
    });
}

/// A stream written per event, stopped halfway, resumed per block: once each, in order.
#[test]
fn per_event_stream_resumed_per_block() {
    let _servers = use_servers();
    with_deadline("per event then per block", Duration::from_secs(60), || {
        let options = fresh_stream("event_then_block");
        let events = simulate(60, 9);
        let half = events.len() / 2;
        let (mut fwd, _) = JetStreamForwarder::connect(url(), options.clone(), None).unwrap();
        for e in &events[..half] {
            fwd.forward(e, false).unwrap();
        }
        fwd.flush().unwrap();
        drop(fwd);
        let options = ForwarderOptions {
            batching: Batching::PerBlock,
            ..options
        };
        let (fwd, status) = JetStreamForwarder::connect(url(), options.clone(), None).unwrap();
        assert_eq!(fwd.resume_after(), Some(events[half - 1].sequence));
        run_bus(&events, fwd, options.subscription());
        let s = status.snapshot();
        assert_eq!(s.skipped, half as u64);
        assert_clean(&status, events.last().map(|e| e.sequence));
        check_batched(&options, &events);
        let raw = raw_messages(&options);
        assert!(raw[..half].iter().all(|m| m.header(HEADER_BATCH).is_none()));
        assert!(raw[half..].iter().all(|m| m.header(HEADER_BATCH).is_some()));
    });
}

/// A block sent again by a second forwarder after the first stored it (the second one read
/// the stream before): the server drops it by its `Nats-Msg-Id`, the stream holds it once.
#[test]
fn a_resent_block_is_deduplicated() {
    let _servers = use_servers();
    with_deadline("re-sent block", Duration::from_secs(60), || {
        let options = ForwarderOptions {
            batching: Batching::PerBlock,
            ..fresh_stream("block_dedup")
        };
        let events = simulate(30, 2);
        let block = |h: u64| events.iter().filter(move |e| e.block_height == h);
        let (mut a, a_status) = JetStreamForwarder::connect(url(), options.clone(), None).unwrap();
        for e in events.iter().filter(|e| e.block_height < 20) {
            a.forward(e, false).unwrap();
        }
        a.flush().unwrap();
        let (mut b, b_status) = JetStreamForwarder::connect(url(), options.clone(), None).unwrap();
        let before = a_status.snapshot().acked_messages;
        for e in block(20) {
            a.forward(e, false).unwrap();
        }
        a.flush().unwrap();
        let block_messages = a_status.snapshot().acked_messages - before;
        assert!(block_messages > 3);
        drop(a);
        // b read the stream before block 20 was stored: it sends block 20 again, then the
        // rest.
        for e in events.iter().filter(|e| e.block_height >= 20) {
            b.forward(e, false).unwrap();
        }
        b.flush().unwrap();
        drop(b);
        let s = b_status.snapshot();
        assert_eq!(s.error, None);
        assert_eq!(s.duplicates, block_messages, "{s:?}");
        check_batched(&options, &events);
    });
}

/// A batch whose body is cut short, or whose header announces another count than its body
/// holds: `ringbus tail` stops with a typed error naming the message.
#[test]
fn a_corrupt_batch_is_a_typed_error() {
    let _servers = use_servers();
    with_deadline("corrupt batch", Duration::from_secs(60), || {
        let events = simulate(5, 1);
        for name in ["cut", "miscounted", "garbage"] {
            fresh_stream(&format!("block_corrupt_{name}"));
        }
        let source = ForwarderOptions {
            batching: Batching::PerBlock,
            ..fresh_stream("block_corrupt_src")
        };
        let (fwd, _) = JetStreamForwarder::connect(url(), source.clone(), None).unwrap();
        run_bus(&events, fwd, source.subscription());
        let raw = raw_messages(&source);
        fresh_stream("block_corrupt_src");
        let i = raw
            .iter()
            .position(|m| {
                m.header(HEADER_BATCH)
                    .is_some_and(|c| c.parse::<u32>().unwrap() >= 3)
            })
            .unwrap();

        let mut cut = raw[i].clone();
        cut.payload.truncate(cut.payload.len() - 5);
        let mut miscounted = raw[i].clone();
        let count: u32 = miscounted.header(HEADER_BATCH).unwrap().parse().unwrap();
        miscounted
            .headers
            .insert(HEADER_BATCH, (count - 1).to_string().as_str());
        let mut garbage = raw[i].clone();
        for b in garbage.payload.iter_mut().skip(1).step_by(7) {
            *b = 0xff;
        }
        for (name, bad) in [
            ("cut", cut),
            ("miscounted", miscounted),
            ("garbage", garbage),
        ] {
            let options = ForwarderOptions {
                subject_prefix: source.subject_prefix.clone(),
                ..fresh_stream(&format!("block_corrupt_{name}"))
            };
            let mut messages = raw[..i].to_vec();
            messages.push(bad);
            store_raw(&options, &messages);
            let err = tail(
                &url(),
                &TailOptions {
                    stream: options.stream.clone(),
                    subject_prefix: options.subject_prefix.clone(),
                    idle_exit: Some(Duration::from_millis(1500)),
                    ..TailOptions::default()
                },
                |_| ControlFlow::Continue(()),
            )
            .unwrap_err();
            let ok = match name {
                "cut" => matches!(
                    err,
                    RemoteError::BadBatch {
                        source: BatchError::Truncated { .. },
                        ..
                    }
                ),
                "miscounted" => matches!(
                    err,
                    RemoteError::BadBatch {
                        source: BatchError::Mismatch { .. },
                        ..
                    }
                ),
                _ => matches!(
                    err,
                    RemoteError::BadBatch {
                        source: BatchError::Undecodable { .. }
                            | BatchError::Truncated { .. }
                            | BatchError::Count { .. }
                            | BatchError::Mismatch { .. },
                        ..
                    }
                ),
            };
            assert!(ok, "{name}: {err:?}");
            assert!(
                matches!(err, RemoteError::BadBatch { stream_sequence, .. } if stream_sequence == i as u64 + 1),
                "{err:?}"
            );
            assert!(err.to_string().contains("bad batch"), "{err}");
            fresh_stream(&format!("block_corrupt_{name}"));
        }
    });
}

fn identity(seed: u64) -> ringbus_events::StreamIdentity {
    ringbus_sim::SimConfig {
        blocks: 60,
        seed,
        ..ringbus_sim::SimConfig::default()
    }
    .identity()
}

/// A stored message: subject, `Nats-Msg-Id`, body.
type Stored = (String, Option<String>, Vec<u8>);

/// The stream's description and every message.
fn stream_state(stream: &str) -> (Option<String>, Vec<Stored>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let description = rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats_connect().await);
        let mut s = js.get_stream(stream).await.unwrap();
        s.info().await.unwrap().config.description.clone()
    });
    let messages = stream_raw(stream)
        .into_iter()
        .map(|m| {
            let id = m.header("Nats-Msg-Id").map(str::to_string);
            (m.subject, id, m.payload)
        })
        .collect();
    (description, messages)
}

/// The forwarder that creates the stream records its event stream in the description; a
/// forwarder of another event stream, or of one of unknown identity, is refused at connect
/// and the stream is unchanged; its own resumes.
#[test]
fn the_stream_records_its_event_stream_and_refuses_another() {
    let _servers = use_servers();
    with_deadline(
        "JetStream: stream identity",
        Duration::from_secs(60),
        || {
            let options = fresh_stream("identity");
            let events = simulate(20, 42);
            let (fwd, status) =
                JetStreamForwarder::connect(url(), options.clone(), Some(&identity(42))).unwrap();
            run_bus(&events, fwd, topic_sets::ALL_EVENTS);
            assert_clean(&status, events.last().map(|e| e.sequence));
            let before = stream_state(&options.stream);
            assert_eq!(before.0, Some(format!("ringbus stream {}", identity(42))));

            for other in [Some(identity(43)), None] {
                let err = JetStreamForwarder::connect(url(), options.clone(), other.as_ref())
                    .unwrap_err();
                let RemoteError::ForeignStream(f) = &err else {
                    panic!("{err}")
                };
                assert_eq!(f.incoming, other);
                assert!(err.to_string().contains(&options.stream), "{err}");
                assert_eq!(stream_state(&options.stream), before);
            }
            let (fwd, _) =
                JetStreamForwarder::connect(url(), options.clone(), Some(&identity(42))).unwrap();
            assert_eq!(fwd.resume_after(), events.last().map(|e| e.sequence));
        },
    );
}

/// A stream that holds events without an identity (written before identities) refuses an
/// identified event stream; an empty stream without one takes the first forwarder's.
#[test]
fn a_stream_without_an_identity_is_adopted_only_when_empty() {
    let _servers = use_servers();
    with_deadline("JetStream: old streams", Duration::from_secs(60), || {
        let options = fresh_stream("identity_old");
        let events = simulate(10, 42);
        let (fwd, _) = JetStreamForwarder::connect(url(), options.clone(), None).unwrap();
        run_bus(&events, fwd, topic_sets::ALL_EVENTS);
        let before = stream_state(&options.stream);
        assert_eq!(before.0, None);
        let err =
            JetStreamForwarder::connect(url(), options.clone(), Some(&identity(42))).unwrap_err();
        assert!(
            matches!(&err, RemoteError::ForeignStream(f) if f.held == ringbus_consumers::HeldStream::Unidentified),
            "{err}"
        );
        assert_eq!(stream_state(&options.stream), before);

        let empty = fresh_stream("identity_empty");
        let (fwd, _) = JetStreamForwarder::connect(url(), empty.clone(), None).unwrap();
        drop(fwd);
        assert_eq!(stream_state(&empty.stream), (None, Vec::new()));
        let (fwd, _) =
            JetStreamForwarder::connect(url(), empty.clone(), Some(&identity(43))).unwrap();
        drop(fwd);
        assert_eq!(
            stream_state(&empty.stream).0,
            Some(format!("ringbus stream {}", identity(43)))
        );
    });
}
