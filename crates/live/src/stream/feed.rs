//! One client's feed: its tap on the bus, turned into the messages both transports send.

use super::client::ClientSlot;
use crate::EventBus;
use futures_util::Stream;
use ringbus_events::{to_json_line, Event, EventKey};
use ringbus_ring::{AsyncTap, ConfigError, PollError, Subscription};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::{Context, Poll};
use tokio::sync::watch;

/// The most messages taken from the tap before they are sent: the server's memory per client
/// stays bounded, and a client's messages go out while the producer goes on.
const BATCH: usize = 256;

/// What a client receives, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Message {
    /// One event as JSON (the events crate's JSON line, without its newline).
    Event {
        /// Its sequence on the bus.
        sequence: u64,
        /// The event.
        json: String,
    },
    /// The client fell behind and was detached: this many sequences went by unseen; it goes
    /// on from the head.
    Missed(u64),
}

impl Message {
    /// The message's text: the event, or `{"missed":N}`.
    pub(crate) fn into_text(self) -> String {
        match self {
            Message::Event { json, .. } => json,
            Message::Missed(missed) => format!(r#"{{"missed":{missed}}}"#),
        }
    }
}

/// Why a feed ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// The producer closed the bus and every event was sent.
    BusClosed,
    /// The server is shutting down.
    ServerClosing,
    /// The stream ended early (the producer failed, or the tap was stopped).
    Failed(PollError),
}

impl End {
    /// What the client is told.
    pub(crate) fn reason(&self) -> String {
        match self {
            End::BusClosed => "the bus closed: every event was sent".to_owned(),
            End::ServerClosing => "the server is shutting down".to_owned(),
            End::Failed(err) => err.to_string(),
        }
    }
}

/// Names each client's tap uniquely (a bus refuses two consumers of one name).
static TAPS: AtomicU64 = AtomicU64::new(0);

/// A client's tap, its place among the clients, and the server's closing signal.
#[derive(Debug)]
pub(crate) struct Feed {
    tap: AsyncTap<Event, EventKey>,
    closing: watch::Receiver<bool>,
    _slot: ClientSlot,
}

impl Feed {
    /// Joins `bus` with `subscription` (named here) for the client holding `slot`.
    pub(crate) fn join(
        bus: &EventBus,
        subscription: impl Fn(String) -> Subscription,
        slot: ClientSlot,
        closing: watch::Receiver<bool>,
    ) -> Result<Feed, ConfigError> {
        let name = format!("stream-{}", TAPS.fetch_add(1, Relaxed));
        let sub = subscription(name.clone());
        let tap = match bus.tap_async(sub) {
            // A bus whose advancing sides do not signal cannot wake a parked task: wait as
            // the bus's consumers do instead.
            Err(ConfigError::UnsignalledPark { .. }) => {
                let mut sub = subscription(name);
                sub = sub.wait_strategy(bus.metrics().wait_strategy);
                bus.tap_async(sub)?
            }
            joined => joined?,
        };
        Ok(Feed {
            tap,
            closing,
            _slot: slot,
        })
    }

    /// Waits for the next messages and appends them to `out` (at most `BATCH`, all that are
    /// ready), or for the end. Messages before an end are appended with it.
    pub(crate) async fn next(&mut self, out: &mut Vec<Message>) -> Option<End> {
        let Feed { tap, closing, .. } = self;
        tokio::select! {
            biased;
            _ = closing.wait_for(|closing| *closing) => Some(End::ServerClosing),
            end = Batch { tap, out } => end,
        }
    }
}

/// Takes every message ready, up to `BATCH`; pending until there is one or the end.
struct Batch<'a> {
    tap: &'a mut AsyncTap<Event, EventKey>,
    out: &'a mut Vec<Message>,
}

impl std::future::Future for Batch<'_> {
    type Output = Option<End>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<End>> {
        let Batch { tap, out } = self.get_mut();
        while out.len() < BATCH {
            let message = match Pin::new(&mut **tap).poll_next(cx) {
                Poll::Ready(Some(Ok((sequence, event)))) => Message::Event {
                    sequence,
                    json: to_json_line(&event),
                },
                Poll::Ready(Some(Err(PollError::Lagged { missed }))) => Message::Missed(missed),
                Poll::Ready(Some(Err(err))) => return Poll::Ready(Some(End::Failed(err))),
                Poll::Ready(None) => return Poll::Ready(Some(End::BusClosed)),
                Poll::Pending if out.is_empty() => return Poll::Pending,
                Poll::Pending => break,
            };
            out.push(message);
        }
        Poll::Ready(None)
    }
}
