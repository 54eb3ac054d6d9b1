//! The JetStream forwarder: a cursor-owning consumer that publishes each event to
//! `<prefix>.<Topic>` with pipelined acknowledgements.

use super::{connect, message_event_sequence, HEADER_FORMAT, HEADER_TOPIC};
use crate::{RemoteError, ServiceUrl};
use async_nats::jetstream::{self, context::PublishAckFuture, stream};
use async_nats::HeaderMap;
use ringbus_events::{to_json_line, topic_sets, Event, EventTopic};
use ringbus_ring::{EventHandler, HandlerError, TopicSet};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How events are encoded in message bodies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MessageFormat {
    /// The event log's record body (postcard): compact, read back by `ringbus tail`.
    #[default]
    Postcard,
    /// One JSON line, as `ringbus dump` prints it: for readers in other languages.
    Json,
}

impl MessageFormat {
    /// The value of the [`HEADER_FORMAT`] header.
    pub fn name(self) -> &'static str {
        match self {
            MessageFormat::Postcard => "postcard",
            MessageFormat::Json => "json",
        }
    }
}

/// Where and how the forwarder publishes.
#[derive(Clone, Debug)]
pub struct ForwarderOptions {
    /// The stream (created if missing, with subjects `<subject_prefix>.>`).
    pub stream: String,
    /// Subjects are `<subject_prefix>.<Topic>`, e.g. `ringbus.Trade`.
    pub subject_prefix: String,
    /// Topics to forward (the others are skipped).
    pub topics: TopicSet,
    /// Body encoding.
    pub format: MessageFormat,
    /// Most messages published and not yet acknowledged; when reached, the older half of
    /// the acknowledgements is awaited (pipelining in batches).
    pub max_in_flight: usize,
    /// How long an acknowledgement may take before the connection is considered lost.
    pub ack_timeout: Duration,
    /// How long to keep reconnecting after a lost connection before failing.
    pub reconnect_timeout: Duration,
    /// The stream's duplicate window (server-side de-duplication by `Nats-Msg-Id`), set when
    /// the forwarder creates the stream.
    pub duplicate_window: Duration,
    /// PEM file of the CA(s) the server's certificate must chain to; setting it requires TLS
    /// (as does a `tls://` URL, which without it trusts the system's roots).
    pub ca_file: Option<PathBuf>,
}

impl Default for ForwarderOptions {
    fn default() -> Self {
        ForwarderOptions {
            stream: "RINGBUS".into(),
            subject_prefix: "ringbus".into(),
            topics: topic_sets::ALL_EVENTS,
            format: MessageFormat::Postcard,
            max_in_flight: 16 * 1024,
            ack_timeout: Duration::from_secs(3),
            reconnect_timeout: Duration::from_secs(60),
            duplicate_window: Duration::from_secs(120),
            ca_file: None,
        }
    }
}

/// Counters of a forwarder's life, readable from any thread through [`ForwarderStatus`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForwarderStats {
    /// The stream's last event when the forwarder started (it resumes after it).
    pub resumed_after: Option<u64>,
    /// Events skipped at start because the stream already held them.
    pub skipped: u64,
    /// Messages sent (re-sends included).
    pub published: u64,
    /// Events acknowledged as stored.
    pub acked: u64,
    /// Acknowledgements that said "duplicate" (a re-sent event the stream already held).
    pub duplicates: u64,
    /// Connections made after the first.
    pub reconnects: u64,
    /// Events sent again after a reconnect.
    pub resent: u64,
    /// The last event acknowledged.
    pub acked_through: Option<u64>,
    /// Why the forwarder stopped, if it failed (also at shutdown, where a handler cannot
    /// return an error).
    pub error: Option<String>,
}

/// A handle on a running forwarder's counters. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct ForwarderStatus(Arc<Mutex<ForwarderStats>>);

impl ForwarderStatus {
    /// A copy of the counters.
    pub fn snapshot(&self) -> ForwarderStats {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn update(&self, f: impl FnOnce(&mut ForwarderStats)) {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

struct Link {
    js: jetstream::Context,
    /// The stream sequence the next message must follow (`Nats-Expected-Last-Sequence`).
    last_stream_seq: u64,
}

/// An [`EventHandler`] that forwards events to a NATS JetStream stream.
///
/// Each event goes to `<prefix>.<Topic>` with `Nats-Msg-Id: <sequence>` (the server drops a
/// re-sent one within its duplicate window) and `Nats-Expected-Last-Sequence` (a message
/// lands only right after its predecessor, so the stream keeps the bus's order even when a
/// connection dies with messages in flight). Acknowledgements are awaited in batches of
/// half of [`ForwarderOptions::max_in_flight`], and all of them at shutdown. On a lost
/// connection it reconnects, reads the stream's last event and re-sends every held event
/// after it. At start it resumes after the stream's last event: feeding the event log from
/// its start continues where the stream stops.
///
/// Errors during shutdown (the last acknowledgements) are reported in
/// [`ForwarderStats::error`], since `on_shutdown` cannot return one.
pub struct JetStreamForwarder {
    rt: tokio::runtime::Runtime,
    url: ServiceUrl,
    options: ForwarderOptions,
    link: Option<Link>,
    /// Events accepted and not yet acknowledged, in order; the first `in_flight.len()` of
    /// them are sent.
    held: VecDeque<Event>,
    in_flight: VecDeque<PublishAckFuture>,
    acked_through: Option<u64>,
    resume_after: Option<u64>,
    stats: ForwarderStats,
    status: ForwarderStatus,
    body: Vec<u8>,
}

impl std::fmt::Debug for JetStreamForwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStreamForwarder")
            .field("url", &self.url)
            .field("options", &self.options)
            .field("held", &self.held.len())
            .field("in_flight", &self.in_flight.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl JetStreamForwarder {
    /// Connects (retrying for [`ForwarderOptions::reconnect_timeout`]), creates the stream
    /// if missing, and reads its last event to resume after it.
    pub fn connect(
        url: ServiceUrl,
        options: ForwarderOptions,
    ) -> Result<(Self, ForwarderStatus), RemoteError> {
        // One worker thread drives the connection (writes, acknowledgements) while the
        // consumer's thread runs the bus handler: the socket keeps moving between batches.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ringbus-nats")
            .enable_all()
            .build()
            .map_err(RemoteError::Runtime)?;
        let status = ForwarderStatus::default();
        let mut f = JetStreamForwarder {
            rt,
            url,
            options,
            link: None,
            held: VecDeque::new(),
            in_flight: VecDeque::new(),
            acked_through: None,
            resume_after: None,
            stats: ForwarderStats::default(),
            status: status.clone(),
            body: Vec::with_capacity(256),
        };
        let (link, last) =
            f.rt.block_on(open_link(&f.url, &f.options, Instant::now()))?;
        f.link = Some(link);
        f.resume_after = last;
        f.acked_through = last;
        f.stats.resumed_after = last;
        f.stats.acked_through = last;
        f.publish_stats();
        Ok((f, status))
    }

    /// Deletes the stream named in `options` if it exists: the next forwarder starts an
    /// empty one. For benchmarks and fresh runs only.
    pub fn delete_stream(url: &ServiceUrl, options: &ForwarderOptions) -> Result<(), RemoteError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(RemoteError::Runtime)?;
        rt.block_on(async {
            let client = connect(
                url,
                options.ca_file.as_deref(),
                options.reconnect_timeout,
                Instant::now(),
            )
            .await?;
            let js = jetstream::new(client);
            match js.delete_stream(&options.stream).await {
                Ok(_) => Ok(()),
                Err(e)
                    if matches!(
                        e.kind(),
                        jetstream::context::DeleteStreamErrorKind::JetStream(ref j)
                            if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
                    ) =>
                {
                    Ok(())
                }
                Err(e) => Err(RemoteError::JetStream {
                    what: "deleting the stream",
                    source: Box::new(e),
                }),
            }
        })
    }

    /// The event this forwarder resumes after (the stream's last at start).
    pub fn resume_after(&self) -> Option<u64> {
        self.resume_after
    }

    /// The counters.
    pub fn stats(&self) -> &ForwarderStats {
        &self.stats
    }

    /// Accepts one event; sends what is held when `flush` is set or enough is held.
    pub fn forward(&mut self, event: &Event, flush: bool) -> Result<(), RemoteError> {
        if matches!(self.resume_after, Some(last) if event.sequence <= last) {
            self.stats.skipped += 1;
        } else if self.options.topics.contains(event.ring_topic()) {
            self.held.push_back(*event);
        }
        if flush || self.held.len() - self.in_flight.len() >= 512 {
            self.pump(false)?;
        }
        Ok(())
    }

    /// Sends everything held and waits until every event is acknowledged.
    pub fn flush(&mut self) -> Result<(), RemoteError> {
        self.pump(true)
    }

    fn publish_stats(&mut self) {
        self.stats.acked_through = self.acked_through;
        let s = self.stats.clone();
        self.status.update(|st| {
            let error = st.error.take();
            *st = s;
            st.error = st.error.take().or(error);
        });
    }

    /// Sends the unsent held events, awaiting acknowledgements in batches; with `all`, awaits
    /// every one. Recovers from a lost connection until the reconnect timeout.
    fn pump(&mut self, all: bool) -> Result<(), RemoteError> {
        let mut lost_since: Option<Instant> = None;
        loop {
            let result = self.rt.block_on(Self::pump_once(
                &mut self.link,
                &self.options,
                &self.held,
                &mut self.in_flight,
                &mut self.body,
                &mut self.stats,
                all,
            ));
            match result {
                Ok(acked) => {
                    self.ack(acked);
                    self.publish_stats();
                    return Ok(());
                }
                Err((acked, e)) => {
                    self.ack(acked);
                    let since = *lost_since.get_or_insert_with(Instant::now);
                    tracing::warn!(url = %self.url, error = %e, "JetStream publish failed; reconnecting");
                    if since.elapsed() >= self.options.reconnect_timeout {
                        return Err(RemoteError::NatsStalled {
                            acked_through: self.acked_through,
                            waited: since.elapsed(),
                            source: e,
                        });
                    }
                    self.recover(since)?;
                    self.publish_stats();
                }
            }
        }
    }

    /// Marks the first `acked` held events acknowledged (`duplicate` counted in stats).
    fn ack(&mut self, acked: usize) {
        for _ in 0..acked {
            if let Some(e) = self.held.pop_front() {
                self.acked_through = Some(e.sequence);
            }
        }
        self.stats.acked += acked as u64;
    }

    async fn pump_once(
        link: &mut Option<Link>,
        options: &ForwarderOptions,
        held: &VecDeque<Event>,
        in_flight: &mut VecDeque<PublishAckFuture>,
        body: &mut Vec<u8>,
        stats: &mut ForwarderStats,
        all: bool,
    ) -> Result<usize, (usize, crate::BoxError)> {
        let Some(link) = link.as_mut() else {
            return Err((0, "not connected".into()));
        };
        let mut acked = 0;
        // Awaits the oldest `n` acknowledgements, in order.
        async fn await_acks(
            in_flight: &mut VecDeque<PublishAckFuture>,
            n: usize,
            acked: &mut usize,
            stats: &mut ForwarderStats,
        ) -> Result<(), crate::BoxError> {
            for _ in 0..n {
                let Some(fut) = in_flight.pop_front() else {
                    break;
                };
                let ack = fut.await?;
                if ack.duplicate {
                    stats.duplicates += 1;
                }
                *acked += 1;
            }
            Ok(())
        }
        // Held events [0, acked) are acknowledged, [acked, acked + in_flight) are sent.
        while acked + in_flight.len() < held.len() {
            if in_flight.len() >= options.max_in_flight.max(2) {
                let n = in_flight.len() / 2;
                if let Err(e) = await_acks(in_flight, n, &mut acked, stats).await {
                    return Err((acked, e));
                }
            }
            let event = held[acked + in_flight.len()];
            let topic = event.topic();
            let subject = format!("{}.{}", options.subject_prefix, topic.name());
            body.clear();
            match options.format {
                MessageFormat::Postcard => {
                    postcard::to_io(&event, &mut *body).map_err(|e| (acked, e.into()))?;
                }
                MessageFormat::Json => body.extend_from_slice(to_json_line(&event).as_bytes()),
            }
            let mut headers = HeaderMap::new();
            headers.insert(
                async_nats::header::NATS_MESSAGE_ID,
                event.sequence.to_string().as_str(),
            );
            headers.insert(
                async_nats::header::NATS_EXPECTED_LAST_SEQUENCE,
                link.last_stream_seq.to_string().as_str(),
            );
            headers.insert(HEADER_TOPIC, topic.name());
            if options.format != MessageFormat::Postcard {
                // Absent means postcard: one header less for the server to parse per message.
                headers.insert(HEADER_FORMAT, options.format.name());
            }
            let publish = jetstream::message::PublishMessage::build()
                .payload(body.clone().into())
                .headers(headers);
            match link.js.send_publish(subject, publish).await {
                Ok(fut) => in_flight.push_back(fut),
                Err(e) => return Err((acked, e.into())),
            }
            link.last_stream_seq += 1;
            stats.published += 1;
        }
        if all {
            let n = in_flight.len();
            if let Err(e) = await_acks(in_flight, n, &mut acked, stats).await {
                return Err((acked, e));
            }
        }
        Ok(acked)
    }

    /// After a failure: a new connection, the stream's last event, and the held events after
    /// it marked unsent.
    fn recover(&mut self, since: Instant) -> Result<(), RemoteError> {
        self.in_flight.clear();
        self.link = None;
        let (link, last) = self
            .rt
            .block_on(open_link(&self.url, &self.options, since))?;
        self.stats.reconnects += 1;
        if last < self.acked_through {
            return Err(RemoteError::ResumeGap {
                stream_last: last,
                held_from: self.held.front().map_or(0, |e| e.sequence),
            });
        }
        // Held events the stream already has (sent, stored, acknowledgement lost).
        while self.held.front().is_some_and(|e| Some(e.sequence) <= last) {
            let e = self.held.pop_front().expect("front exists");
            self.acked_through = Some(e.sequence);
            self.stats.acked += 1;
        }
        self.stats.resent += self.held.len() as u64;
        tracing::info!(stream_last = ?last, resend = self.held.len(), "reconnected to JetStream");
        self.link = Some(link);
        Ok(())
    }
}

/// Connects, gets or creates the stream, and reads its last stream sequence and last event.
async fn open_link(
    url: &ServiceUrl,
    options: &ForwarderOptions,
    since: Instant,
) -> Result<(Link, Option<u64>), RemoteError> {
    let mut pause = Duration::from_millis(100);
    loop {
        match try_open_link(url, options, since).await {
            Ok(x) => return Ok(x),
            Err(
                e @ (RemoteError::NatsConnect { .. }
                | RemoteError::NatsTls { .. }
                | RemoteError::CaFile { .. }
                | RemoteError::BadMessage { .. }),
            ) => return Err(e),
            Err(e) if since.elapsed() >= options.reconnect_timeout => return Err(e),
            Err(e) => tracing::debug!(error = %e, "JetStream not ready yet; retrying"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

async fn try_open_link(
    url: &ServiceUrl,
    options: &ForwarderOptions,
    since: Instant,
) -> Result<(Link, Option<u64>), RemoteError> {
    let js_err = |what| {
        move |e: Box<dyn std::error::Error + Send + Sync>| RemoteError::JetStream {
            what,
            source: e,
        }
    };
    let client = connect(
        url,
        options.ca_file.as_deref(),
        options.reconnect_timeout,
        since,
    )
    .await?;
    let js = jetstream::ContextBuilder::new()
        .timeout(options.ack_timeout)
        .max_ack_inflight(options.max_in_flight.max(2) * 2)
        .build(client);
    let mut stream = js
        .get_or_create_stream(stream::Config {
            name: options.stream.clone(),
            subjects: vec![format!("{}.>", options.subject_prefix)],
            duplicate_window: options.duplicate_window,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| js_err("creating the stream")(Box::new(e)))?;
    let last_stream_seq = stream
        .info()
        .await
        .map_err(|e| js_err("reading the stream's state")(Box::new(e)))?
        .state
        .last_sequence;
    let last_event = if last_stream_seq == 0 {
        None
    } else {
        let msg = stream
            .get_raw_message(last_stream_seq)
            .await
            .map_err(|e| js_err("reading the stream's last message")(Box::new(e)))?;
        Some(message_event_sequence(Some(&msg.headers), last_stream_seq)?)
    };
    Ok((
        Link {
            js,
            last_stream_seq,
        },
        last_event,
    ))
}

impl EventHandler<Event> for JetStreamForwarder {
    fn on_event(
        &mut self,
        event: &Event,
        _seq: u64,
        end_of_batch: bool,
    ) -> Result<(), HandlerError> {
        let flush = end_of_batch || event.topic() == EventTopic::EndBlock;
        match self.forward(event, flush) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.status.update(|s| s.error = Some(e.to_string()));
                Err(e.into())
            }
        }
    }

    fn on_shutdown(&mut self) {
        if let Err(e) = self.flush() {
            tracing::error!(error = %e, "JetStream forwarder: the last acknowledgements failed");
            self.status.update(|s| s.error = Some(e.to_string()));
        }
        self.publish_stats();
    }
}
