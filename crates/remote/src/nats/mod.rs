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
    // A URL that can never work fails now rather than after the reconnect timeout.
    let (addresses, credentials) = server_addresses(url)?;
    let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(1));
    loop {
        let mut options = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(2))
            .ping_interval(Duration::from_secs(2))
            .client_capacity(16 * 1024)
            .name("ringbus");
        options = match credentials.clone() {
            Some((user, Some(password))) => options.user_and_password(user, password),
            Some((token, None)) => options.token(token),
            None => options,
        };
        if let Some(path) = ca_file {
            options = options
                .add_root_certificates(path.to_path_buf())
                .require_tls(true);
        }
        match options.connect(addresses.as_slice()).await {
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

/// The servers of a NATS URL (a comma-separated list of them), without user-info, and the
/// first user-info found: credentials go to the client apart from the addresses, which it
/// may log.
type Credentials = Option<(String, Option<String>)>;

fn server_addresses(
    url: &ServiceUrl,
) -> Result<(Vec<async_nats::ServerAddr>, Credentials), RemoteError> {
    let invalid = |reason: String| RemoteError::NatsUrl {
        url: url.clone(),
        reason,
    };
    let (stripped, credentials) = url.split_credentials();
    let addresses = stripped
        .split(',')
        .map(|part| {
            let address: async_nats::ServerAddr =
                part.trim().parse().map_err(|e: std::io::Error| {
                    // The client's message for a URL that does not parse names the URL
                    // crate's reason after a prefix of its own.
                    let reason = e.to_string();
                    invalid(
                        reason
                            .strip_prefix("NATS server URL is invalid: ")
                            .unwrap_or(&reason)
                            .to_string(),
                    )
                })?;
            if address.is_websocket() {
                // Without the client's websockets feature it would speak plain NATS to a
                // WebSocket endpoint.
                return Err(invalid(format!(
                    "{}:// (WebSocket) is not supported by this build; use nats:// or tls://",
                    address.scheme()
                )));
            }
            if address.host().is_empty() {
                return Err(invalid("no host".into()));
            }
            Ok(address)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((addresses, credentials))
}

impl ServiceUrl {
    /// Checks, without connecting, that this is a NATS URL the client can connect with
    /// (`nats://` or `tls://`, or a bare `host:port`; a comma-separated list of them): a
    /// scheme or host that can never work is refused at once.
    ///
    /// ```
    /// use ringbus_remote::{RemoteError, ServiceUrl};
    /// assert!(ServiceUrl::new("nats://127.0.0.1:4222").check_nats().is_ok());
    /// assert!(ServiceUrl::new("127.0.0.1:4222,nats://other:4222").check_nats().is_ok());
    /// let err = ServiceUrl::new("http://nowhere").check_nats().unwrap_err();
    /// assert!(matches!(err, RemoteError::NatsUrl { .. }), "{err}");
    /// assert!(ServiceUrl::new("nats://no where:4222").check_nats().is_err());
    /// assert!(ServiceUrl::new("ws://127.0.0.1:8080").check_nats().is_err());
    /// ```
    pub fn check_nats(&self) -> Result<(), RemoteError> {
        server_addresses(self).map(drop)
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
