//! The JetStream forwarder: a cursor-owning consumer that publishes each event (or, batched,
//! each block's events of a topic) to `<prefix>.<Topic>` with pipelined acknowledgements.

use super::batch::{encode_record, BatchHeader, Batching, Resume, Span};
use super::{connect, HEADER_FORMAT, HEADER_TOPIC};
use crate::{RemoteError, ServiceUrl};
use async_nats::jetstream::{self, context::PublishAckFuture, stream};
use async_nats::HeaderMap;
use ringbus_consumers::{admit, Admission, Backoff, ForeignStream, HeldStream, StoreError};
use ringbus_events::{to_json_line, topic_sets, Event, EventTopic, StreamIdentity};
use ringbus_ring::{EventHandler, HandlerError, ShutdownReason, TopicSet};
use std::collections::HashMap;
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
    /// Topics to forward (the others are skipped). With [`Batching::PerBlock`] the
    /// forwarder also needs `EndBlock` events to close blocks promptly, forwarded or not:
    /// subscribe it to [`ForwarderOptions::subscription`].
    pub topics: TopicSet,
    /// Body encoding.
    pub format: MessageFormat,
    /// One message per event (the default) or per block and topic.
    pub batching: Batching,
    /// [`Batching::PerBlock`]: most events in one message; a topic with more in a block
    /// is sent in parts.
    pub max_batch_events: usize,
    /// [`Batching::PerBlock`]: most body bytes in one message (`None`: the server's
    /// `max_payload` less 4 KiB for the headers, or 1 MiB if the server says nothing).
    pub max_batch_bytes: Option<usize>,
    /// Most messages (and, with [`Batching::PerBlock`], most events in them) published and
    /// not yet acknowledged; when reached, the older half of the acknowledgements is awaited
    /// (pipelining in batches).
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
            batching: Batching::PerEvent,
            max_batch_events: 4096,
            max_batch_bytes: None,
            max_in_flight: 16 * 1024,
            ack_timeout: Duration::from_secs(3),
            reconnect_timeout: Duration::from_secs(60),
            duplicate_window: Duration::from_secs(120),
            ca_file: None,
        }
    }
}

impl ForwarderOptions {
    /// The topics the forwarder's subscription needs: [`ForwarderOptions::topics`], and
    /// with [`Batching::PerBlock`] also `EndBlock` (which closes a block; it is forwarded
    /// only if `topics` has it). Without it a block is sent when the next block's first
    /// event arrives, and the last block at shutdown without its end mark.
    ///
    /// ```
    /// use ringbus_events::{topic_sets, EventTopic};
    /// use ringbus_remote::{Batching, ForwarderOptions};
    /// let trades = ForwarderOptions {
    ///     topics: topic_sets::of(&[EventTopic::Trade]),
    ///     batching: Batching::PerBlock,
    ///     ..ForwarderOptions::default()
    /// };
    /// assert!(trades.subscription().contains(EventTopic::EndBlock.ring_topic()));
    /// ```
    pub fn subscription(&self) -> TopicSet {
        match self.batching {
            Batching::PerEvent => self.topics,
            Batching::PerBlock => self.topics.with(EventTopic::EndBlock.ring_topic()),
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
    /// Messages acknowledged as stored (= `acked` without batching).
    pub acked_messages: u64,
    /// Acknowledgements that said "duplicate" (a re-sent message the stream already held).
    pub duplicates: u64,
    /// Connections made after the first.
    pub reconnects: u64,
    /// Events sent again after a reconnect.
    pub resent: u64,
    /// The last event acknowledged (with batching: the highest event sequence in an
    /// acknowledged message; a block is stored whole once its last message is).
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
    /// The server's `max_payload` (0 if it did not say).
    max_payload: usize,
}

/// A message to send, or sent and awaiting its acknowledgement.
#[derive(Clone, Debug)]
struct Outgoing {
    span: Span,
    kind: OutKind,
}

#[derive(Clone, Debug)]
enum OutKind {
    /// One event, encoded when sent.
    Event(Event),
    /// A batch, encoded when its block closed; shared, not copied, by each (re-)send.
    Batch {
        header: BatchHeader,
        body: bytes::Bytes,
    },
}

impl Outgoing {
    fn count(&self) -> u64 {
        match &self.kind {
            OutKind::Event(_) => 1,
            OutKind::Batch { header, .. } => u64::from(header.count),
        }
    }
}

/// [`Batching::PerBlock`]: the open block's forwarded events, by topic in the order of each
/// topic's first event.
#[derive(Debug, Default)]
struct OpenBlock {
    height: Option<u64>,
    topics: Vec<(EventTopic, Vec<Event>)>,
    index: HashMap<EventTopic, usize>,
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
/// With [`Batching::PerBlock`] the unit is a message holding a block's events of one topic
/// (see [`Batching`]); resuming then also reads the unmarked batches at the stream's end, so
/// a stream cut inside a block is completed without duplicates.
///
/// Errors during shutdown (the last acknowledgements) are reported in
/// [`ForwarderStats::error`], since `on_shutdown` cannot return one.
///
/// The JetStream stream records the identity of the event stream it holds in its
/// description (`ringbus stream <identity>`), set when the forwarder creates it (or finds it
/// empty without one); a forwarder of another event stream is refused with
/// [`RemoteError::ForeignStream`] before it publishes anything.
pub struct JetStreamForwarder {
    rt: tokio::runtime::Runtime,
    url: ServiceUrl,
    options: ForwarderOptions,
    /// The stream of the events forwarded (`None`: unknown).
    identity: Option<StreamIdentity>,
    link: Option<Link>,
    /// Messages made and not yet acknowledged, in order; the first `in_flight.len()` of
    /// them are sent.
    held: VecDeque<Outgoing>,
    in_flight: VecDeque<PublishAckFuture>,
    acked_through: Option<u64>,
    /// The last message acknowledged: after a reconnect the stream must still hold it.
    last_acked: Option<Span>,
    /// What the stream held at start (those events are skipped).
    resume: Resume,
    stats: ForwarderStats,
    status: ForwarderStatus,
    body: Vec<u8>,
    block: OpenBlock,
    /// The server's `max_payload` (0 if it did not say).
    max_payload: usize,
    scratch: Vec<u8>,
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
    /// if missing, checks that it holds the event stream `identity` (`None`: unknown;
    /// [`RemoteError::ForeignStream`] if it holds another), and reads its last event to
    /// resume after it.
    pub fn connect(
        url: ServiceUrl,
        options: ForwarderOptions,
        identity: Option<&StreamIdentity>,
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
            identity: identity.cloned(),
            link: None,
            held: VecDeque::new(),
            in_flight: VecDeque::new(),
            acked_through: None,
            last_acked: None,
            resume: Resume::default(),
            stats: ForwarderStats::default(),
            status: status.clone(),
            body: Vec::with_capacity(256),
            block: OpenBlock::default(),
            max_payload: 0,
            scratch: Vec::with_capacity(256),
        };
        let (link, resume) = f.rt.block_on(open_link(
            &f.url,
            &f.options,
            f.identity.as_ref(),
            Instant::now(),
        ))?;
        f.max_payload = link.max_payload;
        f.link = Some(link);
        let last = resume.last;
        f.resume = resume;
        f.acked_through = last;
        f.stats.resumed_after = last;
        f.stats.acked_through = last;
        f.publish_stats();
        Ok((f, status))
    }

    /// Deletes the stream named in `options` if it exists: the next forwarder starts an
    /// empty one. For benchmarks and fresh runs only.
    pub fn delete_stream(url: &ServiceUrl, options: &ForwarderOptions) -> Result<(), RemoteError> {
        let rt = super::one_shot_runtime()?;
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

    /// The event this forwarder resumes after: the last event of the stream's last message
    /// at start. (When the stream ends inside a block written with [`Batching::PerBlock`],
    /// the block's other events not yet in the stream are sent too.)
    pub fn resume_after(&self) -> Option<u64> {
        self.resume.last
    }

    /// The counters.
    pub fn stats(&self) -> &ForwarderStats {
        &self.stats
    }

    /// Accepts one event; sends what is held when `flush` is set or enough is held.
    ///
    /// With [`Batching::PerBlock`] events are held until their block closes: at its
    /// `EndBlock`, or when an event of another block arrives.
    pub fn forward(&mut self, event: &Event, flush: bool) -> Result<(), RemoteError> {
        let per_block = self.options.batching == Batching::PerBlock;
        if per_block && self.block.height.is_some_and(|h| h != event.block_height) {
            self.close_block(true)?;
        }
        if self.resume.covers(&Span::of(event)) {
            self.stats.skipped += 1;
        } else if self.options.topics.contains(event.ring_topic()) {
            if per_block {
                self.block.push(event);
            } else {
                self.held.push_back(Outgoing {
                    span: Span::of(event),
                    kind: OutKind::Event(*event),
                });
            }
        }
        if per_block && event.topic() == EventTopic::EndBlock {
            self.close_block(true)?;
        }
        if flush || self.held.len() - self.in_flight.len() >= 512 {
            self.pump(false)?;
        }
        Ok(())
    }

    /// Sends everything held and waits until every event is acknowledged. With
    /// [`Batching::PerBlock`] the open block's events so far are sent too, without the
    /// block-end mark (the block's later events follow in further messages).
    pub fn flush(&mut self) -> Result<(), RemoteError> {
        self.close_block(false)?;
        self.pump(true)
    }

    /// Turns the open block into messages (in `held`): per topic, in the order of each
    /// topic's first event, split at `max_batch_events` and the payload limit; the last one
    /// marked as the block's end if `complete`.
    fn close_block(&mut self, complete: bool) -> Result<(), RemoteError> {
        let Some(height) = self.block.height.take() else {
            return Ok(());
        };
        self.block.index.clear();
        let max_events = self.options.max_batch_events.clamp(1, u32::MAX as usize);
        let max_bytes = self
            .options
            .max_batch_bytes
            .unwrap_or(match self.max_payload {
                0 => 1 << 20,
                p => p.saturating_sub(4096).max(4096),
            });
        let first_new = self.held.len();
        for (topic, events) in self.block.topics.iter_mut() {
            let mut start = 0;
            self.body.clear();
            for (i, e) in events.iter().enumerate() {
                let before = self.body.len();
                encode_record(e, self.options.format, &mut self.body, &mut self.scratch).map_err(
                    |source| RemoteError::Encode {
                        sequence: e.sequence,
                        source,
                    },
                )?;
                let full = i - start == max_events || self.body.len() > max_bytes;
                if full && i > start {
                    // This record starts the next part.
                    let next = self.body.split_off(before);
                    push_batch(
                        &mut self.held,
                        *topic,
                        height,
                        &events[start..i],
                        &mut self.body,
                    );
                    self.body = next;
                    start = i;
                }
            }
            if start < events.len() {
                push_batch(
                    &mut self.held,
                    *topic,
                    height,
                    &events[start..],
                    &mut self.body,
                );
            }
            events.clear();
        }
        self.block.topics.clear();
        if complete && self.held.len() > first_new {
            if let Some(OutKind::Batch { header, .. }) = self.held.back_mut().map(|m| &mut m.kind) {
                header.block_end = true;
            }
        }
        Ok(())
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

    /// Marks the first `acked` held messages acknowledged.
    fn ack(&mut self, acked: usize) {
        for _ in 0..acked {
            if let Some(m) = self.held.pop_front() {
                self.acked_through = self.acked_through.max(Some(m.span.last));
                self.last_acked = Some(m.span);
                self.stats.acked += m.count();
                self.stats.acked_messages += 1;
            }
        }
    }

    async fn pump_once(
        link: &mut Option<Link>,
        options: &ForwarderOptions,
        held: &VecDeque<Outgoing>,
        in_flight: &mut VecDeque<PublishAckFuture>,
        body: &mut Vec<u8>,
        stats: &mut ForwarderStats,
        all: bool,
    ) -> Result<usize, (usize, crate::BoxError)> {
        let Some(link) = link.as_mut() else {
            return Err((0, "not connected".into()));
        };
        let mut acked = 0;
        // Events in the sent messages (batches: bounds the held bodies' memory too).
        let mut events_in_flight = match options.batching {
            Batching::PerEvent => in_flight.len() as u64,
            Batching::PerBlock => held.iter().take(in_flight.len()).map(Outgoing::count).sum(),
        };
        // Awaits the oldest `n` acknowledgements, in order.
        async fn await_acks(
            in_flight: &mut VecDeque<PublishAckFuture>,
            held: &VecDeque<Outgoing>,
            n: usize,
            acked: &mut usize,
            events_in_flight: &mut u64,
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
                *events_in_flight -= held[*acked].count();
                *acked += 1;
            }
            Ok(())
        }
        // Held messages [0, acked) are acknowledged, [acked, acked + in_flight) are sent.
        let limit = options.max_in_flight.max(2);
        while acked + in_flight.len() < held.len() {
            if in_flight.len() >= limit || events_in_flight >= limit as u64 {
                let n = in_flight.len().div_ceil(2);
                let r = await_acks(in_flight, held, n, &mut acked, &mut events_in_flight, stats);
                if let Err(e) = r.await {
                    return Err((acked, e));
                }
            }
            let message = &held[acked + in_flight.len()];
            let topic = message.span.topic;
            let subject = format!("{}.{}", options.subject_prefix, topic.name());
            let publish = match &message.kind {
                OutKind::Event(event) => {
                    body.clear();
                    match options.format {
                        MessageFormat::Postcard => {
                            postcard::to_io(event, &mut *body).map_err(|e| (acked, e.into()))?;
                        }
                        MessageFormat::Json => {
                            body.extend_from_slice(to_json_line(event).as_bytes())
                        }
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
                        // Absent means postcard: one header less for the server to parse per
                        // message.
                        headers.insert(HEADER_FORMAT, options.format.name());
                    }
                    jetstream::message::PublishMessage::build()
                        .payload(body.clone().into())
                        .headers(headers)
                }
                OutKind::Batch { header, body } => jetstream::message::PublishMessage::build()
                    .payload(body.clone())
                    .headers(header.headers(options.format, link.last_stream_seq)),
            };
            match link.js.send_publish(subject, publish).await {
                Ok(fut) => {
                    in_flight.push_back(fut);
                    events_in_flight += message.count();
                }
                Err(e) => return Err((acked, e.into())),
            }
            link.last_stream_seq += 1;
            stats.published += 1;
        }
        if all {
            let n = in_flight.len();
            let r = await_acks(in_flight, held, n, &mut acked, &mut events_in_flight, stats);
            if let Err(e) = r.await {
                return Err((acked, e));
            }
        }
        Ok(acked)
    }

    /// After a failure: a new connection, the end of the stream, and the held messages
    /// after it marked unsent.
    fn recover(&mut self, since: Instant) -> Result<(), RemoteError> {
        self.in_flight.clear();
        self.link = None;
        let (link, resume) = self.rt.block_on(open_link(
            &self.url,
            &self.options,
            self.identity.as_ref(),
            since,
        ))?;
        self.stats.reconnects += 1;
        if self.last_acked.is_some_and(|span| !resume.covers(&span)) {
            return Err(RemoteError::ResumeGap {
                stream_last: resume.last,
                held_from: self.held.front().map_or(0, |m| m.span.first),
            });
        }
        // Held messages the stream already has (sent, stored, acknowledgement lost).
        while self.held.front().is_some_and(|m| resume.covers(&m.span)) {
            self.ack(1);
        }
        self.stats.resent += self.held.iter().map(Outgoing::count).sum::<u64>();
        tracing::info!(stream_last = ?resume.last, resend = self.held.len(), "reconnected to JetStream");
        self.max_payload = link.max_payload;
        self.link = Some(link);
        Ok(())
    }
}

/// Connects, gets or creates the stream, checks the event stream it holds, and reads its
/// last stream sequence and what its end holds.
async fn open_link(
    url: &ServiceUrl,
    options: &ForwarderOptions,
    identity: Option<&StreamIdentity>,
    since: Instant,
) -> Result<(Link, Resume), RemoteError> {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
    loop {
        match try_open_link(url, options, identity, since).await {
            Ok(x) => return Ok(x),
            Err(
                e @ (RemoteError::NatsConnect { .. }
                | RemoteError::NatsTls { .. }
                | RemoteError::CaFile { .. }
                | RemoteError::BadMessage { .. }
                | RemoteError::BadBatch { .. }
                | RemoteError::ForeignStream(_)
                | RemoteError::Corrupt(_)),
            ) => return Err(e),
            Err(e) if since.elapsed() >= options.reconnect_timeout => return Err(e),
            Err(e) => tracing::debug!(error = %e, "JetStream not ready yet; retrying"),
        }
        tokio::time::sleep(backoff.next_pause()).await;
    }
}

async fn try_open_link(
    url: &ServiceUrl,
    options: &ForwarderOptions,
    identity: Option<&StreamIdentity>,
    since: Instant,
) -> Result<(Link, Resume), RemoteError> {
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
    let max_payload = client.server_info().max_payload;
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
            description: identity.map(describe),
            ..Default::default()
        })
        .await
        .map_err(|e| js_err("creating the stream")(Box::new(e)))?;
    let info = stream
        .info()
        .await
        .map_err(|e| js_err("reading the stream's state")(Box::new(e)))?
        .clone();
    let held = held_stream(info.config.description.as_deref(), info.state.messages)?;
    match admit(&held, identity) {
        Admission::Same | Admission::Unchecked => {}
        Admission::Record(id) => {
            let config = stream::Config {
                description: Some(describe(&id)),
                ..info.config.clone()
            };
            js.update_stream(&config)
                .await
                .map_err(|e| js_err("recording the event stream's identity")(Box::new(e)))?;
        }
        Admission::Refuse => {
            return Err(RemoteError::from(ForeignStream {
                store: format!("the JetStream stream {} at {url}", options.stream),
                held,
                incoming: identity.cloned(),
            }))
        }
    }
    let state = &info.state;
    let (last_stream_seq, first_stream_seq) = (state.last_sequence, state.first_sequence);
    let resume = Resume::read(last_stream_seq, first_stream_seq, |s| {
        let stream = &stream;
        async move {
            stream
                .get_raw_message(s)
                .await
                .map(|m| m.headers)
                .map_err(|e| js_err("reading the stream's last messages")(Box::new(e)))
        }
    })
    .await?;
    Ok((
        Link {
            js,
            last_stream_seq,
            max_payload,
        },
        resume,
    ))
}

/// The start of the description of a stream that records the identity of its events.
const DESCRIPTION_PREFIX: &str = "ringbus stream ";

/// The stream description that records `identity`.
fn describe(identity: &StreamIdentity) -> String {
    format!("{DESCRIPTION_PREFIX}{identity}")
}

/// What a stream holds, from its description and its message count. The identity is
/// recorded when the stream is created, so an empty stream with one holds that stream.
fn held_stream(description: Option<&str>, messages: u64) -> Result<HeldStream, RemoteError> {
    match description.and_then(|d| d.strip_prefix(DESCRIPTION_PREFIX)) {
        Some(text) => text.parse().map(HeldStream::Stream).map_err(|source| {
            RemoteError::Corrupt(StoreError::CorruptIdentity {
                text: text.to_string(),
                source,
            })
        }),
        None if messages == 0 => Ok(HeldStream::Empty),
        None => Ok(HeldStream::Unidentified),
    }
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

    fn on_shutdown(&mut self, _reason: &ShutdownReason) {
        // `flush` sends the open block, if any, without its end mark: the input ended
        // inside a block.
        if let Err(e) = self.flush() {
            tracing::error!(error = %e, "JetStream forwarder: the last acknowledgements failed");
            self.status.update(|s| s.error = Some(e.to_string()));
        }
        self.publish_stats();
    }
}

impl OpenBlock {
    fn push(&mut self, event: &Event) {
        self.height = Some(event.block_height);
        let topic = event.topic();
        let i = *self.index.entry(topic).or_insert_with(|| {
            self.topics.push((topic, Vec::new()));
            self.topics.len() - 1
        });
        self.topics[i].1.push(*event);
    }
}

/// Appends a batch message of `events` (one topic and block, bus order; `body` their
/// encoding, taken) to `held`.
fn push_batch(
    held: &mut VecDeque<Outgoing>,
    topic: EventTopic,
    height: u64,
    events: &[Event],
    body: &mut Vec<u8>,
) {
    let span = Span {
        topic,
        height,
        first: events[0].sequence,
        last: events[events.len() - 1].sequence,
    };
    let header = BatchHeader {
        span,
        count: events.len() as u32,
        block_end: false,
    };
    held.push_back(Outgoing {
        span,
        kind: OutKind::Batch {
            header,
            body: std::mem::take(body).into(),
        },
    });
}
