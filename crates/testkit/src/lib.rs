//! Shared by the workspace's integration tests: the real servers (PostgreSQL, nats-server with
//! JetStream, a second nats-server that requires TLS), each started by the first test of a
//! process that asks for it, on free ports, and stopped when the process ends however it
//! ends (see [`servers`]); a lock that keeps fault tests (which restart a server) apart from the others;
//! a fresh database or stream per test; simulated events; deadlines; a page in headless
//! Chromium ([`browser`]); a `ringbus` process serving ([`Served`]).

pub mod browser;
pub mod damage;
mod databases;
mod served;
pub mod servers;
mod streams;

pub use databases::{fresh_database, fresh_database_ssl};
pub use served::Served;
pub use servers::{
    fault_nats, fault_postgres, nats, nats_tls, postgres, run_dir, use_servers, Nats, NatsControl,
    PgControl, Postgres, ServerLock, StartError,
};
pub use streams::{per_process, stream_raw, sweep_streams, Raw};

use ringbus_events::{Event, EventLogReader};
use ringbus_ring::{EventHandler, RingBus, Subscription};
use ringbus_sim::{EventSink, SimConfig, Simulator};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A CA that signed nothing of the test servers' (made once with openssl, valid to 2126).
pub const OTHER_CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBrDCCAVGgAwIBAgIUArEGRwE8H9DrKNVzJ6MIFIp25YgwCgYIKoZIzj0EAwIw
IjEgMB4GA1UEAwwXbm90IHRoZSByaW5nYnVzIHRlc3QgQ0EwIBcNMjYxMTMwMTAy
OTI1WhgPMjEyNjExMDYxMDI5MjVaMCIxIDAeBgNVBAMMF25vdCB0aGUgcmluZ2J1
cyB0ZXN0IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFSBY4nfHswoOEAvO
wcfyTHhR1XSiJSNmWc1wnKgFhhryyzX/r7orR2Y7VylRRy85txYVbRH0ZL3010E8
E/U7RaNjMGEwHQYDVR0OBBYEFL+iSWs5INVae/MnqVSDJZH9xFldMB8GA1UdIwQY
MBaAFL+iSWs5INVae/MnqVSDJZH9xFldMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0P
AQH/BAQDAgEGMAoGCCqGSM49BAMCA0kAMEYCIQDTMqg5l7MKVj2GPWNg2Wfpa/If
QCfE2ILRzuO7k/NuvQIhAMKMicQbKodB6UylSlz3ZZxhx9OSz0uDN6eI9O6kcI0M
-----END CERTIFICATE-----
";

/// [`OTHER_CA_PEM`] in a file (kept while the returned directory lives).
pub fn other_ca() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other-ca.crt");
    std::fs::write(&path, OTHER_CA_PEM).unwrap();
    (dir, path)
}

/// Whether `name` ends in `_<pid>` of a process other than this one that no longer runs.
fn process_gone(name: &str) -> bool {
    name.rsplit_once('_')
        .and_then(|(_, pid)| pid.parse::<u32>().ok())
        .is_some_and(|pid| {
            pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        })
}

/// The events of a simulation of `blocks` blocks (seeded), numbered from 0.
pub fn simulate(blocks: u64, seed: u64) -> Vec<Event> {
    let mut sim = Simulator::new(SimConfig {
        blocks,
        seed,
        ..SimConfig::default()
    });
    let mut out = Vec::new();
    while !sim.is_done() {
        sim.step(&mut out).unwrap();
    }
    out
}

/// Every event of the event log at `path`.
pub fn read_log(path: &Path) -> Vec<Event> {
    EventLogReader::new(std::fs::File::open(path).unwrap())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Publishes `events` (in batches of 64) through a bus of 4096 slots whose one consumer is
/// `handler`, subscribed as `subscription`, and waits for it to finish.
pub fn run_through(
    events: &[Event],
    subscription: Subscription,
    handler: impl EventHandler<Event> + 'static,
) {
    let (mut producer, bus) = RingBus::routed::<Event>()
        .capacity(4096)
        .handler(subscription, handler)
        .build()
        .unwrap();
    for chunk in events.chunks(64) {
        EventSink::publish(&mut producer, chunk).unwrap();
    }
    drop(producer);
    bus.join().unwrap();
}

/// Runs `f` on a thread and fails the test if it takes longer than `limit`, naming `what`.
pub fn with_deadline<T: Send + 'static>(
    what: &str,
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let start = Instant::now();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(v)) => v,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!(
            "{what}: no result after {:?} (deadline {limit:?}); the servers' logs are in {}",
            start.elapsed(),
            run_dir().map_or("(no server started)".into(), |d| d.display().to_string())
        ),
    }
}
