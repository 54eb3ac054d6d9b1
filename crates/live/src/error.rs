//! What can go wrong starting or stopping the server.

use std::net::SocketAddr;

/// The live server could not start or did not stop cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    /// The address could not be bound (in use, not local, no permission).
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server's runtime or thread could not be started.
    #[error("cannot start the live server's runtime")]
    Runtime(#[source] std::io::Error),
    /// The server stopped with an error, or its thread panicked.
    #[error("the live server failed: {0}")]
    Server(String),
}
