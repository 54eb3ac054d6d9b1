//! `GET /stream`: the bus's events, live, as JSON, to WebSocket and Server-Sent Events
//! clients.
//!
//! A request with a WebSocket upgrade gets a WebSocket; any other gets an event stream
//! (`text/event-stream`, what a browser's `EventSource` asks for). The query filters it
//! (`topics`, `market`, `party`) and may start it earlier (`from`); see docs/live.md.
//!
//! Each client is a lossy tap joined before the response: bad input is refused (400), a full
//! house too (503), and nothing a client does can slow the producer. A client that falls
//! behind is detached by the producer and told `{"missed":N}`; it goes on from the head.

mod client;
mod error;
mod feed;
mod filter;
mod sse;
mod websocket;

use crate::state::LiveState;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use client::ClientSlot;
use error::StreamError;
use feed::Feed;
use filter::{FilterError, StreamFilter};

/// The routes of this part, merged into the server's router.
pub(crate) fn routes() -> Router<LiveState> {
    Router::new().route("/stream", get(stream))
}

async fn stream(
    State(state): State<LiveState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let websocket = asks_for_websocket(&headers);
    let send_timeout = state.config.send_timeout;
    let upgrade = match upgrade {
        Ok(upgrade) => Some(upgrade),
        // A broken handshake is refused as axum words it; anything else is an event stream.
        Err(rejection) if websocket => return rejection.into_response(),
        Err(_) => None,
    };
    match open(&state, query, &headers, upgrade.is_none()) {
        Ok(feed) => match upgrade {
            Some(upgrade) => upgrade
                .max_message_size(websocket::MAX_INCOMING)
                .max_frame_size(websocket::MAX_INCOMING)
                .on_upgrade({
                    let session = websocket::Session::begin(&state.sessions);
                    move |socket| async move {
                        websocket::serve(socket, feed, send_timeout).await;
                        drop(session);
                    }
                }),
            None => sse::serve(feed),
        },
        Err(err) => err.into_response(),
    }
}

/// Checks the request and joins the client's tap: from here on it misses nothing.
fn open(
    state: &LiveState,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: &HeaderMap,
    event_stream: bool,
) -> Result<Feed, StreamError> {
    let Query(pairs) = query.map_err(|e| FilterError::Malformed(e.body_text()))?;
    let config = &state.config;
    let mut filter = StreamFilter::parse(&pairs, config.markets, config.parties)?;
    if event_stream && filter.from.is_none() {
        filter.from = resume_after(headers)?;
    }
    let slot = ClientSlot::take(&state.clients, config.max_clients)
        .ok_or(StreamError::TooManyClients(config.max_clients))?;
    Feed::join(
        &state.bus,
        |name| filter.subscription(name),
        slot,
        state.closing.clone(),
    )
    .map_err(StreamError::joining)
}

/// An `EventSource` reconnecting sends the id of the last event it had: start after it.
fn resume_after(headers: &HeaderMap) -> Result<Option<u64>, StreamError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    filter::parse_sequence(&text)
        .map(|last| Some(last.saturating_add(1)))
        .ok_or_else(|| StreamError::LastEventId(text.into_owned()))
}

/// Whether the request asks to upgrade to a WebSocket (`Upgrade: websocket`).
fn asks_for_websocket(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::UPGRADE)
        .iter()
        .any(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}
