//! The JetStream forwarder and the stream reader against a real nats-server (started by
//! `scripts/services.sh start`).

mod common;

use common::*;
use ringbus_events::{topic_sets, Event, EventTopic};
use ringbus_remote::{
    tail, ForwarderOptions, ForwarderStatus, JetStreamForwarder, MessageFormat, RemoteError,
    ServiceUrl, TailItem, TailOptions,
};
use ringbus_ring::{RingBus, Subscription};
use ringbus_sim::EventSink;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Duration;

fn url() -> ServiceUrl {
    ServiceUrl::new(NATS_URL)
}

/// The server a test's options point at: the TLS one when they carry a CA file.
fn server_of(options: &ForwarderOptions) -> ServiceUrl {
    ServiceUrl::new(if options.ca_file.is_some() {
        NATS_TLS_URL
    } else {
        NATS_URL
    })
}

/// Options for a stream of this test's own (deleted first), subjects `t_<name>.<Topic>`.
fn fresh_stream(name: &str) -> ForwarderOptions {
    fresh_stream_on(name, None)
}

/// [`fresh_stream`] on the plain server (`ca_file: None`) or the TLS one with that CA.
fn fresh_stream_on(name: &str, ca_file: Option<PathBuf>) -> ForwarderOptions {
    let stream = format!("TEST_{}", name.to_uppercase());
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
                .connect(NATS_TLS_URL)
                .await
                .unwrap(),
        };
        let js = async_nats::jetstream::new(client);
        let _ = js.delete_stream(&stream).await;
    });
    ForwarderOptions {
        stream,
        subject_prefix: format!("t_{name}"),
        ca_file,
        ..ForwarderOptions::default()
    }
}

async fn async_nats_connect() -> async_nats::Client {
    async_nats::connect(NATS_URL).await.unwrap()
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
    let (mut producer, bus) = RingBus::builder::<Event>()
        .capacity(4096)
        .handler(Subscription::new("nats").topics(topics), forwarder)
        .build()
        .unwrap();
    for chunk in events.chunks(64) {
        EventSink::publish(&mut producer, chunk).unwrap();
    }
    drop(producer);
    bus.join().unwrap();
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
        let (fwd, status) = JetStreamForwarder::connect(url(), options.clone()).unwrap();
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
        let (fwd, status) = JetStreamForwarder::connect(url(), options.clone()).unwrap();
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
        let (mut fwd, status) = JetStreamForwarder::connect(url(), options.clone()).unwrap();
        for e in &events[..half] {
            fwd.forward(e, false).unwrap();
        }
        fwd.flush().unwrap();
        drop(fwd);
        assert_eq!(
            status.snapshot().acked_through,
            Some(events[half - 1].sequence)
        );

        let (fwd, status) = JetStreamForwarder::connect(url(), options.clone()).unwrap();
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
/// event once, in order (checked event by event).
#[test]
fn nats_killed_and_restarted_mid_run() {
    let _servers = fault_servers();
    with_deadline("NATS killed mid-run", Duration::from_secs(120), || {
        let options = ForwarderOptions {
            reconnect_timeout: Duration::from_secs(60),
            ack_timeout: Duration::from_secs(2),
            ..fresh_stream("kill")
        };
        let events = simulate(200, 31);
        let (fwd, status) = JetStreamForwarder::connect(url(), options.clone()).unwrap();
        let (mut producer, bus) = RingBus::builder::<Event>()
            .capacity(1024)
            .handler(
                Subscription::new("nats").topics(topic_sets::ALL_EVENTS),
                fwd,
            )
            .build()
            .unwrap();
        // Kill the server while the forwarder has messages in flight: once a third of the
        // run is acknowledged.
        let watch = status.clone();
        let third = events[events.len() / 3].sequence;
        let killer = std::thread::spawn(move || {
            while watch.snapshot().acked_through.is_none_or(|a| a < third) {
                std::thread::sleep(Duration::from_millis(1));
            }
            services(&["kill-nats"]);
            let at_kill = watch.snapshot().acked_through;
            std::thread::sleep(Duration::from_millis(300));
            services(&["start-nats"]);
            at_kill
        });
        for chunk in events.chunks(64) {
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
        check_stream(&options, &events);
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
    let err = JetStreamForwarder::connect(url.clone(), options).unwrap_err();
    let shown = format!("{err} {err:?} {url} {url:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
}

/// Over TLS (the second server, TLS required, verified against the test CA): the stream
/// holds every event once, in order.
#[test]
fn every_event_once_in_order_over_tls() {
    let _servers = use_servers();
    with_deadline("forward a run over TLS", Duration::from_secs(90), || {
        let options = fresh_stream_on("tls", Some(test_ca()));
        let events = simulate(150, 9);
        let (fwd, status) =
            JetStreamForwarder::connect(ServiceUrl::new(NATS_TLS_URL), options.clone()).unwrap();
        run_bus(&events, fwd, topic_sets::ALL_EVENTS);
        assert_clean(&status, events.last().map(|e| e.sequence));
        let s = status.snapshot();
        assert_eq!(s.acked, events.len() as u64);
        assert_eq!(s.duplicates, 0);
        check_stream(&options, &events);

        // A CA file on a nats:// URL asks for TLS too: the same server, the same stream.
        let plain_scheme = ServiceUrl::new(NATS_TLS_URL.replace("tls://", "nats://"));
        let (fwd, status) = JetStreamForwarder::connect(plain_scheme, options.clone()).unwrap();
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
            let url = ServiceUrl::new("tls://user:s3cret@127.0.0.1:54223");
            for ca_file in [Some(other.clone()), None] {
                let options = ForwarderOptions {
                    ca_file: ca_file.clone(),
                    ..ForwarderOptions::default()
                };
                let start = std::time::Instant::now();
                let err = JetStreamForwarder::connect(url.clone(), options).unwrap_err();
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
            let err = JetStreamForwarder::connect(url, options).unwrap_err();
            assert!(
                matches!(&err, RemoteError::CaFile { path, .. } if *path == missing),
                "{err:?}"
            );
        },
    );
}
