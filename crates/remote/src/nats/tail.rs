//! Reading the stream from another process: an ordered consumer from the stream's start
//! (or its end), filtered to one topic or all; per-event and batched messages alike.

use super::batch::{self, json_position, Stored};
use super::{connect, MessageFormat, HEADER_FORMAT};
use crate::{RemoteError, ServiceUrl};
use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt;
use ringbus_events::{Event, EventTopic};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What [`tail`] reads.
#[derive(Clone, Debug)]
pub struct TailOptions {
    /// The stream.
    pub stream: String,
    /// The subject prefix the forwarder used.
    pub subject_prefix: String,
    /// One topic, or every topic (`None`).
    pub topic: Option<EventTopic>,
    /// Only messages stored after the reader started (`false`: from the stream's start).
    pub new_only: bool,
    /// Stop when nothing arrived for this long (`None`: follow forever).
    pub idle_exit: Option<Duration>,
    /// How long to try to connect.
    pub connect_timeout: Duration,
    /// PEM file of the CA(s) the server's certificate must chain to; setting it requires TLS
    /// (as does a `tls://` URL, which without it trusts the system's roots).
    pub ca_file: Option<PathBuf>,
}

impl Default for TailOptions {
    fn default() -> Self {
        TailOptions {
            stream: "RINGBUS".into(),
            subject_prefix: "ringbus".into(),
            topic: None,
            new_only: false,
            idle_exit: None,
            connect_timeout: Duration::from_secs(10),
            ca_file: None,
        }
    }
}

/// One event of the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TailItem {
    /// The stream sequence of the message holding it.
    pub stream_sequence: u64,
    /// Its event's sequence (`Nats-Msg-Id`, or read from a batch).
    pub event_sequence: u64,
    /// Its subject.
    pub subject: String,
    /// The event, decoded (postcard bodies).
    pub event: Option<Event>,
    /// The JSON line (JSON bodies).
    pub json: Option<String>,
}

/// Reads the stream in order and hands each event to `each` until it breaks, the stream
/// stays idle for [`TailOptions::idle_exit`], or an error. Returns the events handed over.
///
/// Batched messages ([`Batching::PerBlock`](crate::Batching::PerBlock)) are checked
/// against their headers ([`RemoteError::BadBatch`]) and handed over event by event. A
/// reader of one topic gets each message's events as it arrives, in that topic's order. A
/// reader of all topics gets the events in bus order: a block's batches are held until its
/// last message ([`HEADER_BLOCK_END`](crate::HEADER_BLOCK_END)), a message of another
/// block, an idle stream or the stream's end, then handed over sorted by sequence.
///
/// ```no_run
/// use ringbus_remote::{tail, ServiceUrl, TailOptions};
/// use std::ops::ControlFlow;
/// let url = ServiceUrl::new("nats://127.0.0.1:54222");
/// let options = TailOptions { topic: Some(ringbus_events::EventTopic::Trade), ..TailOptions::default() };
/// tail(&url, &options, |item| {
///     println!("{:?}", item.event);
///     ControlFlow::Continue(())
/// })?;
/// # Ok::<(), ringbus_remote::RemoteError>(())
/// ```
pub fn tail(
    url: &ServiceUrl,
    options: &TailOptions,
    mut each: impl FnMut(TailItem) -> ControlFlow<()>,
) -> Result<u64, RemoteError> {
    let rt = super::one_shot_runtime()?;
    rt.block_on(async {
        let js_err = |what| move |e: crate::BoxError| RemoteError::JetStream { what, source: e };
        let client = connect(
            url,
            options.ca_file.as_deref(),
            options.connect_timeout,
            Instant::now(),
        )
        .await?;
        let js = jetstream::new(client);
        let stream = js
            .get_stream(&options.stream)
            .await
            .map_err(|e| js_err("opening the stream")(Box::new(e)))?;
        let filter_subject = match options.topic {
            Some(t) => format!("{}.{}", options.subject_prefix, t.name()),
            None => format!("{}.>", options.subject_prefix),
        };
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject,
                deliver_policy: if options.new_only {
                    consumer::DeliverPolicy::New
                } else {
                    consumer::DeliverPolicy::All
                },
                ..Default::default()
            })
            .await
            .map_err(|e| js_err("creating a reader")(Box::new(e)))?;
        let mut messages = consumer
            .messages()
            .await
            .map_err(|e| js_err("reading")(Box::new(e)))?;
        let mut count = 0;
        // All topics: a block's events held until the block is complete, and its height.
        let mut pending: Vec<TailItem> = Vec::new();
        let mut pending_height: Option<u64> = None;
        macro_rules! hand {
            ($item:expr) => {{
                count += 1;
                if each($item).is_break() {
                    return Ok(count);
                }
            }};
        }
        macro_rules! release {
            () => {{
                pending.sort_by_key(|i| i.event_sequence);
                for item in std::mem::take(&mut pending) {
                    hand!(item);
                }
            }};
        }
        loop {
            let next = match options.idle_exit {
                Some(idle) => match tokio::time::timeout(idle, messages.next()).await {
                    Ok(m) => m,
                    Err(_) => {
                        release!();
                        return Ok(count);
                    }
                },
                None if !pending.is_empty() => {
                    // Following: a block still open after a while is handed over as it is.
                    match tokio::time::timeout(Duration::from_secs(2), messages.next()).await {
                        Ok(m) => m,
                        Err(_) => {
                            release!();
                            continue;
                        }
                    }
                }
                None => messages.next().await,
            };
            let Some(message) = next else {
                release!();
                return Ok(count);
            };
            let message = message.map_err(|e| js_err("reading")(Box::new(e)))?;
            let info = message
                .info()
                .map_err(|e| js_err("reading a message's metadata")(e))?;
            let stream_sequence = info.stream_sequence;
            let stored = Stored::read(message.headers.as_ref(), stream_sequence)?;
            let bad = |reason: String| RemoteError::BadMessage {
                stream_sequence,
                reason,
            };
            let format = match message
                .headers
                .as_ref()
                .and_then(|h| h.get(HEADER_FORMAT))
                .map_or("postcard", |v| v.as_str())
            {
                "postcard" => MessageFormat::Postcard,
                "json" => MessageFormat::Json,
                other => return Err(bad(format!("unknown {HEADER_FORMAT} {other:?}"))),
            };
            let subject = message.subject.to_string();
            match stored {
                Stored::Event(event_sequence) => {
                    let (event, json) = match format {
                        MessageFormat::Postcard => (
                            Some(
                                postcard::from_bytes::<Event>(&message.payload)
                                    .map_err(|e| bad(format!("undecodable body: {e}")))?,
                            ),
                            None,
                        ),
                        MessageFormat::Json => (
                            None,
                            Some(
                                String::from_utf8(message.payload.to_vec())
                                    .map_err(|e| bad(format!("body is not UTF-8: {e}")))?,
                            ),
                        ),
                    };
                    let item = TailItem {
                        stream_sequence,
                        event_sequence,
                        subject,
                        event,
                        json,
                    };
                    if pending.is_empty() {
                        hand!(item);
                        continue;
                    }
                    // After batches of an open block (a stream resumed per event): one more
                    // of the block, or the next block's first.
                    let (height, topic) = match (&item.event, &item.json) {
                        (Some(e), _) => (e.block_height, e.topic()),
                        (None, Some(j)) => {
                            let (_, h, t) = json_position(j.trim_end())
                                .map_err(|e| bad(format!("undecodable JSON body: {e}")))?;
                            (h, t)
                        }
                        (None, None) => return Err(bad("an event message without a body".into())),
                    };
                    if pending_height != Some(height) {
                        release!();
                        hand!(item);
                    } else {
                        pending.push(item);
                        if topic == EventTopic::EndBlock {
                            release!();
                        }
                    }
                }
                Stored::Batch(header) => {
                    let records =
                        batch::decode(&header, format, &message.payload).map_err(|source| {
                            RemoteError::BadBatch {
                                stream_sequence,
                                source,
                            }
                        })?;
                    let items = records.into_iter().map(|r| TailItem {
                        stream_sequence,
                        event_sequence: r.sequence,
                        subject: subject.clone(),
                        event: r.event,
                        json: r.json,
                    });
                    if options.topic.is_some() {
                        for item in items {
                            hand!(item);
                        }
                        continue;
                    }
                    if pending_height.is_some_and(|h| h != header.span.height) {
                        release!();
                    }
                    pending_height = Some(header.span.height);
                    pending.extend(items);
                    if header.block_end {
                        release!();
                    }
                }
            }
        }
    })
}
