//! Why a stream is refused before it starts: an HTTP status and a message saying why.

use super::filter::FilterError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ringbus_ring::ConfigError;

/// A refused stream request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StreamError {
    /// The query asks for something the stream cannot give (400).
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// `from` (or `Last-Event-ID`) is no longer in the ring (400).
    #[error("from={requested} is no longer in the ring: the oldest sequence a stream can start at is {oldest}")]
    FromGone {
        /// The sequence asked for.
        requested: u64,
        /// The oldest one that could be started at.
        oldest: u64,
    },
    /// `from` is past what has been published (400).
    #[error("from={requested} is not published yet: the next sequence is {next}")]
    FromFuture {
        /// The sequence asked for.
        requested: u64,
        /// The next sequence to be published.
        next: u64,
    },
    /// `Last-Event-ID` is not a sequence number (400).
    #[error("Last-Event-ID `{0}` is not a sequence number")]
    LastEventId(String),
    /// The server already serves its most clients (503).
    #[error("this node serves at most {0} stream clients at once; try again later")]
    TooManyClients(usize),
    /// The bus has no room for another consumer (503).
    #[error("the bus has no room for another consumer ({0} at most); try again later")]
    BusFull(usize),
    /// The node's run has ended: there is nothing left to stream (503).
    #[error("the bus is closed: the node's run has ended")]
    Closed,
    /// The bus refused the tap for a reason that is the server's fault (500).
    #[error("the bus refused the stream's tap: {0}")]
    Join(ConfigError),
}

impl StreamError {
    /// What a tap's join error means to the client.
    pub(crate) fn joining(err: ConfigError) -> StreamError {
        match err {
            ConfigError::StartNotInRing { requested, oldest } => {
                StreamError::FromGone { requested, oldest }
            }
            ConfigError::StartInFuture { requested, next } => {
                StreamError::FromFuture { requested, next }
            }
            ConfigError::TooManyConsumers(max) => StreamError::BusFull(max),
            ConfigError::Closed => StreamError::Closed,
            other => StreamError::Join(other),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            StreamError::Filter(_)
            | StreamError::FromGone { .. }
            | StreamError::FromFuture { .. }
            | StreamError::LastEventId(_) => StatusCode::BAD_REQUEST,
            StreamError::TooManyClients(_) | StreamError::BusFull(_) | StreamError::Closed => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            StreamError::Join(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for StreamError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(%status, "stream refused: {self}");
        }
        (status, format!("{self}\n")).into_response()
    }
}
