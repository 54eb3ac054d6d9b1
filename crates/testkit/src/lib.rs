//! Shared by the workspace's integration tests: the real servers (started by `scripts/services.sh start`
//! once per test binary; the script is idempotent and serialises concurrent callers with a
//! lock of its own), a fresh database or stream per test, a lock that keeps fault tests
//! (which restart a server) apart from the others, simulated events, and deadlines.
#![allow(dead_code)]

use ringbus_events::{Event, EventLogReader};
use ringbus_remote::ServiceUrl;
use ringbus_ring::{EventHandler, RingBus, Subscription};
use ringbus_sim::{EventSink, SimConfig, Simulator};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

// The plain tests say sslmode=disable: the server offers TLS, which the default (prefer)
// would take and verify against the system's roots, which do not hold the test CA.
pub const PG_ADMIN_URL: &str = "postgres://ringbus:ringbus@127.0.0.1:55432/ringbus?sslmode=disable";
pub const NATS_URL: &str = "nats://127.0.0.1:54222";
/// The second nats-server of `scripts/services.sh`, TLS required.
pub const NATS_TLS_URL: &str = "tls://127.0.0.1:54223";

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

fn services_dir() -> String {
    std::env::var("RINGBUS_SERVICES_DIR").unwrap_or("/tmp/ringbus-services".into())
}

/// The CA `scripts/services.sh` made for the test servers' certificate.
pub fn test_ca() -> PathBuf {
    PathBuf::from(services_dir()).join("tls/ca.crt")
}

/// [`OTHER_CA_PEM`] in a file (kept while the returned directory lives).
pub fn other_ca() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other-ca.crt");
    std::fs::write(&path, OTHER_CA_PEM).unwrap();
    (dir, path)
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `scripts/services.sh ARGS`, failing the test with the script's output.
pub fn services(args: &[&str]) {
    let script = repo_root().join("scripts/services.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "scripts/services.sh {} failed ({}):\n{}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes sure PostgreSQL and nats-server run (installs them on a fresh machine).
pub fn ensure_services() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| services(&["start"]));
}

/// Fault tests restart servers: they take this lock exclusively, the other tests shared,
/// across threads and processes (a file lock, for runners that use one process per test).
#[derive(Debug)]
pub struct ServerLock {
    _guard: Box<dyn std::any::Any>,
}

/// An in-process reader-writer lock (threads of one test binary) in front of a file lock
/// (other processes). fd-lock's guards borrow their lock, so each call leaks one small lock
/// object to make its guard `'static`.
fn shared_lock(exclusive: bool) -> ServerLock {
    static INPROC: OnceLock<std::sync::RwLock<()>> = OnceLock::new();
    let inproc = INPROC.get_or_init(|| std::sync::RwLock::new(()));
    let dir = services_dir();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(format!("{dir}/tests.lock"))
        .unwrap();
    let lock: &'static mut fd_lock::RwLock<std::fs::File> =
        Box::leak(Box::new(fd_lock::RwLock::new(file)));
    if exclusive {
        let g = inproc.write().unwrap_or_else(|e| e.into_inner());
        let f = lock.write().expect("file lock");
        ServerLock {
            _guard: Box::new((f, g)),
        }
    } else {
        let g = inproc.read().unwrap_or_else(|e| e.into_inner());
        let f = lock.read().expect("file lock");
        ServerLock {
            _guard: Box::new((f, g)),
        }
    }
}

/// For tests that only use the servers.
pub fn use_servers() -> ServerLock {
    ensure_services();
    shared_lock(false)
}

/// For tests that restart or kill a server.
pub fn fault_servers() -> ServerLock {
    ensure_services();
    shared_lock(true)
}

/// A fresh database named after the test (dropped and created), and its URL (plain).
pub fn fresh_database(name: &str) -> ServiceUrl {
    fresh_database_ssl(name, "disable")
}

/// A fresh database named after the test and this test process (so two `cargo test` runs
/// in one checkout never share one), and its URL with this `sslmode`. The first call of a
/// process drops the databases of test processes that no longer run.
pub fn fresh_database_ssl(name: &str, sslmode: &str) -> ServiceUrl {
    let db = format!("ringbus_test_{name}_{}", std::process::id());
    let mut admin = postgres::Client::connect(PG_ADMIN_URL, postgres::NoTls)
        .unwrap_or_else(|e| panic!("connecting to {PG_ADMIN_URL}: {e:?}"));
    sweep_databases(&mut admin);
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .unwrap();
    ServiceUrl::new(format!(
        "postgres://ringbus:ringbus@127.0.0.1:55432/{db}?sslmode={sslmode}"
    ))
}

/// Drops the `ringbus_test_<name>_<pid>` databases of test processes gone, and the older
/// `ringbus_test_<name>` ones (once a process).
fn sweep_databases(admin: &mut postgres::Client) {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(|| {
        let rows = admin
            .query(
                "SELECT datname FROM pg_database WHERE datname LIKE 'ringbus_test_%'",
                &[],
            )
            .unwrap();
        for row in rows {
            let name: String = row.get(0);
            // Names without a process id are from before they had one.
            let legacy = name
                .rsplit_once('_')
                .is_none_or(|(_, pid)| pid.parse::<u32>().is_err());
            if legacy || process_gone(&name) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    });
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
    let (mut producer, bus) = RingBus::builder::<Event>()
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

/// A stored message as the server holds it.
#[derive(Clone, Debug)]
pub struct Raw {
    pub subject: String,
    pub headers: async_nats::HeaderMap,
    pub payload: Vec<u8>,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.as_str())
    }
}

/// Every message of `stream` on the plain server, in stream order, with its headers.
pub fn stream_raw(stream: &str) -> Vec<Raw> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(NATS_URL).await.unwrap());
        let mut stream = js.get_stream(stream).await.unwrap();
        let last = stream.info().await.unwrap().state.last_sequence;
        let mut out = Vec::new();
        for seq in 1..=last {
            let m = stream.get_raw_message(seq).await.unwrap();
            out.push(Raw {
                subject: m.subject.to_string(),
                headers: m.headers,
                payload: m.payload.to_vec(),
            });
        }
        out
    })
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
            "{what}: no result after {:?} (deadline {limit:?}); see `scripts/services.sh status` and the server logs under /tmp/ringbus-services",
            start.elapsed()
        ),
    }
}

/// `name` with this test process's id: two test processes (two `cargo test` runs in one
/// checkout) never share a stream. [`sweep_streams`] deletes those of processes gone.
pub fn per_process(name: &str) -> String {
    format!("{name}_{}", std::process::id())
}

/// Deletes the streams named by [`per_process`] (`TEST_..._<pid>`) of test processes that no
/// longer run, on the server at `url` (the TLS one with `ca`): once per process and server.
pub fn sweep_streams(url: &'static str, ca: Option<PathBuf>) {
    static SWEPT: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut swept = SWEPT.lock().unwrap_or_else(|e| e.into_inner());
    if swept.contains(&url) {
        return;
    }
    swept.push(url);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use futures_util::StreamExt;
        let mut options = async_nats::ConnectOptions::new();
        if let Some(ca) = ca {
            options = options.add_root_certificates(ca).require_tls(true);
        }
        let js = async_nats::jetstream::new(options.connect(url).await.unwrap());
        let names: Vec<String> = js
            .stream_names()
            .filter_map(|n| async move { n.ok() })
            .collect()
            .await;
        for name in names {
            if name.starts_with("TEST_") && process_gone(&name) {
                let _ = js.delete_stream(&name).await;
            }
        }
    });
}
