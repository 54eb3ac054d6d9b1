//! A WebSocket client's session: its feed out as text messages, one event each; anything it
//! sends but control frames closes it.

use super::feed::{End, Feed, Message};
use axum::extract::ws::{close_code, CloseFrame, Message as WsMessage, WebSocket};
use futures_util::SinkExt;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// The largest message a client may send: it is expected to send none, so a flood is cut
/// short instead of buffered.
pub(crate) const MAX_INCOMING: usize = 4096;

/// A WebSocket session counted in the server's `sessions` from its upgrade until its goodbye
/// is sent (or it is dropped), so that a shutdown can wait for it.
pub(crate) struct Session(Arc<AtomicUsize>);

impl Session {
    pub(crate) fn begin(sessions: &Arc<AtomicUsize>) -> Session {
        // Relaxed: a count the shutdown waits on (`server::goodbyes`).
        sessions.fetch_add(1, Relaxed);
        Session(Arc::clone(sessions))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Relaxed: as in `begin`.
        self.0.fetch_sub(1, Relaxed);
    }
}

/// Serves `feed` on `socket` until the feed ends, the client leaves or sends data, or a batch
/// waits longer than `send_timeout` for the client to take it (then the connection is dropped:
/// a client that does not read cannot be told goodbye either).
pub(crate) async fn serve(mut socket: WebSocket, mut feed: Feed, send_timeout: Duration) {
    let mut batch = Vec::new();
    let end = loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                // Gone, or a broken frame: nothing more can be said to it.
                None | Some(Err(_)) => return,
                // It said goodbye: answer in kind, below.
                Some(Ok(WsMessage::Close(_))) => break None,
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                Some(Ok(WsMessage::Text(_) | WsMessage::Binary(_))) => {
                    break Some((close_code::UNSUPPORTED, "this stream takes no messages".to_owned()));
                }
            },
            end = feed.next(&mut batch) => {
                match tokio::time::timeout(send_timeout, send(&mut socket, &mut batch)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return,
                    Err(_) => {
                        tracing::info!(?send_timeout, "a stream client took no messages: disconnected");
                        return;
                    }
                }
                match end {
                    None => continue,
                    Some(end) => break Some((close_code(&end), end.reason())),
                }
            }
        }
    };
    // Leave the bus before the goodbye, which a stalled client may never take.
    drop(feed);
    match end {
        Some((code, reason)) => {
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            let _ = socket.send(WsMessage::Close(Some(frame))).await;
        }
        // Flushes the close frame the protocol queued in answer to the client's.
        None => {
            let _ = socket.close().await;
        }
    }
}

/// Sends the batch's messages with one flush.
async fn send(socket: &mut WebSocket, batch: &mut Vec<Message>) -> Result<(), axum::Error> {
    if batch.is_empty() {
        return Ok(());
    }
    for message in batch.drain(..) {
        socket
            .feed(WsMessage::Text(message.into_text().into()))
            .await?;
    }
    socket.flush().await
}

fn close_code(end: &End) -> u16 {
    match end {
        End::BusClosed => close_code::NORMAL,
        End::ServerClosing => close_code::AWAY,
        End::Failed(_) => close_code::ERROR,
    }
}
