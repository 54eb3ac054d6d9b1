//! The NATS JetStream forwarder and the stream reader (async-nats on a small tokio runtime
//! owned by the consumer's thread).

mod batch;
mod forwarder;
mod tail;

pub use batch::{
    Batching, HEADER_BATCH, HEADER_BLOCK, HEADER_BLOCK_END, HEADER_FIRST, HEADER_LAST,
};
pub use forwarder::{
    ForwarderOptions, ForwarderStats, ForwarderStatus, JetStreamForwarder, MessageFormat,
};
pub use tail::{tail, TailItem, TailOptions};

use crate::{RemoteError, ServiceUrl};
use ringbus_consumers::Backoff;
use std::path::Path;
use std::time::{Duration, Instant};

/// Header naming the event's topic (`Trade`, `Account`, ...).
pub const HEADER_TOPIC: &str = "Ringbus-Topic";
/// Header naming the body's encoding: `postcard` (the event log's record body) or `json`
/// (the JSON line of `ringbus dump`).
pub const HEADER_FORMAT: &str = "Ringbus-Format";

/// A runtime on the calling thread, for one-shot stream operations (`tail`, deleting a
/// stream) made from synchronous code.
pub(crate) fn one_shot_runtime() -> Result<tokio::runtime::Runtime, RemoteError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RemoteError::Runtime)
}

/// Connects, retrying until `since + timeout`. With `ca_file` TLS is required and the
/// server's certificate must chain to it; `tls://` URLs require TLS against the system's
/// roots (or `ca_file`). A TLS failure is not retried.
pub(crate) async fn connect(
    url: &ServiceUrl,
    ca_file: Option<&Path>,
    timeout: Duration,
    since: Instant,
) -> Result<async_nats::Client, RemoteError> {
    if let Some(path) = ca_file {
        // async-nats reads the file only once connected; a bad one is reported up front.
        crate::tls::ca_roots(path)?;
    }
    let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(1));
    loop {
        // Credentials go to the client apart from the address, which it may log.
        let (address, credentials) = url.split_credentials();
        let mut options = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(2))
            .ping_interval(Duration::from_secs(2))
            .client_capacity(16 * 1024)
            .name("ringbus");
        options = match credentials {
            Some((user, Some(password))) => options.user_and_password(user, password),
            Some((token, None)) => options.token(token),
            None => options,
        };
        if let Some(path) = ca_file {
            options = options
                .add_root_certificates(path.to_path_buf())
                .require_tls(true);
        }
        match options.connect(address.as_str()).await {
            Ok(client) => return Ok(client),
            Err(e)
                if e.kind() == async_nats::ConnectErrorKind::Tls
                    || crate::tls::is_tls_error(&e) =>
            {
                return Err(RemoteError::NatsTls {
                    url: url.clone(),
                    source: Box::new(e),
                })
            }
            Err(e) if since.elapsed() < timeout => {
                tracing::debug!(url = %url, %e, "NATS not reachable yet; retrying");
            }
            Err(e) => {
                return Err(RemoteError::NatsConnect {
                    url: url.clone(),
                    waited: since.elapsed(),
                    source: Box::new(e),
                })
            }
        }
        tokio::time::sleep(backoff.next_pause()).await;
    }
}

/// The event sequence in a stored message's `Nats-Msg-Id`.
pub(crate) fn message_event_sequence(
    headers: Option<&async_nats::HeaderMap>,
    stream_sequence: u64,
) -> Result<u64, RemoteError> {
    headers
        .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
        .and_then(|v| v.as_str().parse().ok())
        .ok_or_else(|| RemoteError::BadMessage {
            stream_sequence,
            reason: "no numeric Nats-Msg-Id header: not written by a ringbus forwarder".into(),
        })
}
