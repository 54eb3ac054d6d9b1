//! The server: its own small runtime beside the bus, started and stopped by the node.

use crate::error::LiveError;
use crate::state::LiveState;
use crate::status::NodeStatus;
use crate::{metrics, page, stream, EventBus};
use axum::Router;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::watch;

/// How a live server listens and whom it serves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LiveConfig {
    /// Where to listen; port 0 picks a free port ([`LiveServer::local_addr`] tells which).
    pub addr: SocketAddr,
    /// Stream clients served at once; one more is refused with 503.
    pub max_clients: usize,
    /// Known markets: ids `0..markets` (a filter on another is refused with 400).
    pub markets: u16,
    /// Known parties: ids `0..parties` (a filter on another is refused with 400).
    pub parties: u32,
    /// Worker threads of the server's runtime.
    pub threads: usize,
    /// How long a WebSocket client may take to accept one batch of messages before it is
    /// disconnected: a client that stops reading would otherwise hold its place among
    /// `max_clients` for ever (its tap, detached, costs the producer nothing).
    pub send_timeout: std::time::Duration,
}

impl LiveConfig {
    /// Listens on `addr`, for a stream of `markets` markets and `parties` parties, with the
    /// default limits.
    pub fn new(addr: SocketAddr, markets: u16, parties: u32) -> Self {
        LiveConfig {
            addr,
            max_clients: 512,
            markets,
            parties,
            // One: on a small machine the server's threads take cores from the producer.
            threads: 1,
            send_timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// A running live server: serves until [`LiveServer::shutdown`] (or drop).
#[derive(Debug)]
pub struct LiveServer {
    local_addr: SocketAddr,
    closing: watch::Sender<bool>,
    thread: Option<JoinHandle<Result<(), LiveError>>>,
}

impl LiveServer {
    /// Binds `config.addr` and starts serving `bus` and `node` on a runtime of its own.
    ///
    /// A bind error is returned here, before anything runs.
    pub fn start(
        config: LiveConfig,
        bus: Arc<EventBus>,
        node: Arc<dyn NodeStatus>,
    ) -> Result<LiveServer, LiveError> {
        let addr = config.addr;
        let bind = |source| LiveError::Bind { addr, source };
        let listener = std::net::TcpListener::bind(addr).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let local_addr = listener.local_addr().map_err(bind)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.threads.max(1))
            .thread_name("ringbus-live")
            .enable_io()
            .enable_time()
            .build()
            .map_err(LiveError::Runtime)?;
        let (closing, closed) = watch::channel(false);
        let state = LiveState {
            bus,
            node,
            config: Arc::new(config),
            clients: Arc::new(AtomicUsize::new(0)),
            sessions: Arc::new(AtomicUsize::new(0)),
            closing: closed.clone(),
            sampler: Arc::default(),
        };
        let sampling = state.clone();
        let sessions = Arc::clone(&state.sessions);
        let app = router(state);
        let thread = std::thread::Builder::new()
            .name("ringbus-live".into())
            .spawn(move || {
                let served = runtime.block_on(async move {
                    tokio::spawn(crate::status::sample_each_second(sampling));
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    let mut closed = closed;
                    let served = axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            // Either a shutdown, or the server's handle was dropped.
                            let _ = closed.wait_for(|closing| *closing).await;
                        })
                        .await;
                    goodbyes(&sessions).await;
                    served
                });
                // Streams close on `closing`; anything still running after this is dropped.
                runtime.shutdown_timeout(std::time::Duration::from_secs(2));
                served.map_err(|e| LiveError::Server(e.to_string()))
            })
            .map_err(LiveError::Runtime)?;
        Ok(LiveServer {
            local_addr,
            closing,
            thread: Some(thread),
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, closes every stream (its tap leaves the bus) and waits for the
    /// server's threads to end.
    pub fn shutdown(mut self) -> Result<(), LiveError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), LiveError> {
        self.closing.send_replace(true);
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| LiveError::Server("the server's thread panicked".into()))?,
            None => Ok(()),
        }
    }
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        // A server dropped without `shutdown` still lets its clients' taps go.
        let _ = self.stop();
    }
}

/// How long a shutdown waits for WebSocket sessions to send their close frames.
const GOODBYE: Duration = Duration::from_secs(2);

/// Waits, at most [`GOODBYE`], until every WebSocket session has ended: the graceful shutdown
/// waits for HTTP connections only, and stopping the runtime drops whatever task still runs,
/// which would cut a session before its close frame.
async fn goodbyes(sessions: &AtomicUsize) {
    let deadline = tokio::time::Instant::now() + GOODBYE;
    // Relaxed: a count to wait on; what a session wrote is its socket's, not ours to read.
    while sessions.load(Relaxed) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Every endpoint: each part of the server contributes its routes.
fn router(state: LiveState) -> Router {
    Router::new()
        .merge(stream::routes())
        .merge(metrics::routes())
        .merge(page::routes())
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::NodeSnapshot;
    use ringbus_events::Event;
    use ringbus_ring::RingBus;

    struct NoNode;
    impl NodeStatus for NoNode {
        fn snapshot(&self) -> NodeSnapshot {
            NodeSnapshot::default()
        }
    }

    fn bus() -> Arc<EventBus> {
        let (_producer, bus) = RingBus::routed::<Event>().capacity(64).build().unwrap();
        Arc::new(bus)
    }

    fn config(addr: SocketAddr) -> LiveConfig {
        LiveConfig::new(addr, 4, 100)
    }

    #[test]
    fn starts_on_a_free_port_and_shuts_down() {
        let server = LiveServer::start(
            config("127.0.0.1:0".parse().unwrap()),
            bus(),
            Arc::new(NoNode),
        )
        .unwrap();
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0);
        std::net::TcpStream::connect(addr).unwrap();
        server.shutdown().unwrap();
        assert!(std::net::TcpStream::connect(addr).is_err());
    }

    #[test]
    fn an_address_in_use_is_refused_before_anything_runs() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let err = LiveServer::start(config(addr), bus(), Arc::new(NoNode)).unwrap_err();
        assert!(
            matches!(err, LiveError::Bind { addr: a, .. } if a == addr),
            "{err}"
        );
        assert!(err.to_string().contains(&addr.to_string()));
    }
}
