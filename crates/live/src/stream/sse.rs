//! A Server-Sent Events client's session: its feed as `data:` events, one event each, with
//! the bus sequence as the event id (a reconnecting `EventSource` resumes after it).

use super::feed::{Feed, Message};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, StreamExt};
use std::convert::Infallible;

/// Serves `feed` as an event stream: it ends with an `end` event saying why.
pub(crate) fn serve(feed: Feed) -> Response {
    let events = stream::unfold(Some(feed), |feed| async move {
        let mut feed = feed?;
        let mut batch = Vec::new();
        let end = feed.next(&mut batch).await;
        let mut events: Vec<Result<SseEvent, Infallible>> =
            batch.into_iter().map(|m| Ok(sse_event(m))).collect();
        let feed = match end {
            None => Some(feed),
            Some(end) => {
                // Leave the bus before the last words.
                drop(feed);
                events.push(Ok(SseEvent::default().event("end").data(end.reason())));
                None
            }
        };
        Some((stream::iter(events), feed))
    })
    .flatten();
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn sse_event(message: Message) -> SseEvent {
    match message {
        Message::Event { sequence, json } => {
            SseEvent::default().id(sequence.to_string()).data(json)
        }
        missed @ Message::Missed(_) => SseEvent::default().data(missed.into_text()),
    }
}
