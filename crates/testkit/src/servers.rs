//! The servers of the integration tests: PostgreSQL, nats-server with JetStream, and a second
//! nats-server that requires TLS.
//!
//! Each is started by the first test of a process that asks for it ([`postgres`], [`nats`],
//! [`nats_tls`]), on free ports, with its data and log in the process's run directory
//! ([`run_dir()`]). When the process ends, however it ends (its tests done, a panic that
//! aborts, SIGKILL), the servers stop and the directory goes: Rust's test harness has no hook
//! after the last test, so a watchdog, a bash process of its own, waits on a pipe that only the
//! test process holds and that the kernel closes when that process ends. Missing programs are
//! installed first by `scripts/services.sh install`.
//!
//! Fault tests get a server's control from [`fault_postgres`] or [`fault_nats`] (restart,
//! kill, start again), with the lock that keeps them apart from the other tests.
//!
//! A server named by the environment is used instead, and never stopped or restarted (the
//! fault tests then skip, saying why):
//!
//! | variables | the server |
//! | --- | --- |
//! | `RINGBUS_TEST_POSTGRES_URL`, `RINGBUS_TEST_POSTGRES_CA` | PostgreSQL: a `postgres://` URL of a role that may create databases; plain connections and TLS accepted, with password authentication; its certificate signed by that CA |
//! | `RINGBUS_TEST_NATS_URL` | nats-server with JetStream |
//! | `RINGBUS_TEST_NATS_TLS_URL`, `RINGBUS_TEST_NATS_TLS_CA` | nats-server with JetStream and TLS required, its certificate signed by that CA |

mod nats;
mod postgres;
mod programs;
mod run_dir;
mod tls;

pub use nats::{Nats, NatsControl};
pub use postgres::{PgControl, Postgres};

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

const ENV_POSTGRES_URL: &str = "RINGBUS_TEST_POSTGRES_URL";
const ENV_POSTGRES_CA: &str = "RINGBUS_TEST_POSTGRES_CA";
const ENV_NATS_URL: &str = "RINGBUS_TEST_NATS_URL";
const ENV_NATS_TLS_URL: &str = "RINGBUS_TEST_NATS_TLS_URL";
const ENV_NATS_TLS_CA: &str = "RINGBUS_TEST_NATS_TLS_CA";

/// Why a test server could not be had.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}):\n{output}")]
    Command {
        command: String,
        status: String,
        output: String,
    },
    #[error("still missing after `scripts/services.sh install`: {missing}")]
    Missing { missing: String },
    #[error("{name}: {problem}")]
    Environment { name: &'static str, problem: String },
    #[error("{what}; its log ({}) ends:\n{tail}", log.display())]
    Server {
        what: String,
        log: PathBuf,
        tail: String,
    },
    #[error("PostgreSQL on port {port}: {source}")]
    Postgres {
        port: u16,
        source: ::postgres::Error,
    },
}

/// The PostgreSQL server of this test process.
pub fn postgres() -> &'static Postgres {
    static SERVER: OnceLock<Result<Postgres, String>> = OnceLock::new();
    started(&SERVER, || {
        match std::env::var(ENV_POSTGRES_URL) {
            Ok(url) => named_ca(ENV_POSTGRES_CA).and_then(|ca| Postgres::named(&url, ca)),
            Err(_) => programs::programs().and_then(|p| Postgres::start(run_dir::run_dir(), &p)),
        }
        .map_err(|e| format!("the tests' PostgreSQL: {e}"))
    })
}

/// The plain nats-server of this test process.
pub fn nats() -> &'static Nats {
    static SERVER: OnceLock<Result<Nats, String>> = OnceLock::new();
    started(&SERVER, || {
        match std::env::var(ENV_NATS_URL) {
            Ok(url) => Ok(Nats::named(url, None)),
            Err(_) => programs::programs()
                .and_then(|p| Nats::start(run_dir::run_dir(), &p, "nats", false)),
        }
        .map_err(|e| format!("the tests' nats-server: {e}"))
    })
}

/// The nats-server of this test process that requires TLS ([`Nats::ca`] is its CA).
pub fn nats_tls() -> &'static Nats {
    static SERVER: OnceLock<Result<Nats, String>> = OnceLock::new();
    started(&SERVER, || {
        match std::env::var(ENV_NATS_TLS_URL) {
            Ok(url) => named_ca(ENV_NATS_TLS_CA).map(|ca| Nats::named(url, Some(ca))),
            Err(_) => programs::programs()
                .and_then(|p| Nats::start(run_dir::run_dir(), &p, "nats-tls", true)),
        }
        .map_err(|e| format!("the tests' nats-server with TLS: {e}"))
    })
}

/// The server of `cell`, started by `start` on the first call. A server that failed to
/// start fails every test that asks for it, with the same message, without a second try.
fn started<T>(
    cell: &'static OnceLock<Result<T, String>>,
    start: impl FnOnce() -> Result<T, String>,
) -> &'static T {
    match cell.get_or_init(start) {
        Ok(server) => server,
        Err(e) => panic!("{e}"),
    }
}

/// The CA file that the variable `name` must name beside a server's URL.
fn named_ca(name: &'static str) -> Result<PathBuf, StartError> {
    let path = std::env::var_os(name).map(PathBuf::from);
    match path {
        Some(path) if path.is_file() => Ok(path),
        Some(path) => Err(StartError::Environment {
            name,
            problem: format!("{} is not a file", path.display()),
        }),
        None => Err(StartError::Environment {
            name,
            problem: "not set: the TLS tests need the CA that signed the server's certificate"
                .into(),
        }),
    }
}

/// The directory of this process's servers, their data and logs, if it has started one.
pub fn run_dir() -> Option<&'static Path> {
    run_dir::existing().map(|r| r.path())
}

/// Fault tests restart servers: they hold this lock exclusively, the other tests shared, so
/// that a restart never hits another test of the process. (Each test process has servers of
/// its own, so no lock across processes is needed; servers named by the environment are
/// never restarted.)
#[derive(Debug)]
pub enum ServerLock {
    Shared(RwLockReadGuard<'static, ()>),
    Exclusive(RwLockWriteGuard<'static, ()>),
}

static LOCK: RwLock<()> = RwLock::new(());

/// For tests that only use the servers.
pub fn use_servers() -> ServerLock {
    ServerLock::Shared(LOCK.read().unwrap_or_else(|e| e.into_inner()))
}

fn exclusive() -> ServerLock {
    ServerLock::Exclusive(LOCK.write().unwrap_or_else(|e| e.into_inner()))
}

/// For a test that restarts PostgreSQL: the exclusive lock and the server's control, or
/// `None` (the reason printed) when the server is named by the environment.
pub fn fault_postgres() -> Option<(ServerLock, &'static PgControl)> {
    let lock = exclusive();
    match postgres().control() {
        Some(control) => Some((lock, control)),
        None => skip(ENV_POSTGRES_URL),
    }
}

/// For a test that kills the plain nats-server: the exclusive lock and the server's control,
/// or `None` (the reason printed) when the server is named by the environment.
pub fn fault_nats() -> Option<(ServerLock, &'static NatsControl)> {
    let lock = exclusive();
    match nats().control() {
        Some(control) => Some((lock, control)),
        None => skip(ENV_NATS_URL),
    }
}

fn skip<T>(variable: &str) -> Option<T> {
    // Straight to the standard error: the test harness shows what `eprintln!` prints only
    // for failed tests.
    // The test harness names each test's thread after the test.
    let test = std::thread::current()
        .name()
        .unwrap_or("a fault test")
        .to_string();
    let _ = writeln!(
        std::io::stderr(),
        "{test}: skipped: it restarts its server, which the tests never do to the one named \
         by {variable}; unset {variable} to run it against a server of the tests' own"
    );
    None
}

/// Runs `command`, its standard output on success.
fn execute(command: &mut Command) -> Result<String, StartError> {
    let shown = format!("{command:?}");
    let out = command.output().map_err(|source| StartError::Io {
        what: format!("running {shown}"),
        source,
    })?;
    if !out.status.success() {
        return Err(StartError::Command {
            command: shown,
            status: out.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A port of 127.0.0.1 that is free now.
fn free_port() -> Result<u16, StartError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|source| StartError::Io {
            what: "finding a free port".into(),
            source,
        })
}

/// The last 20 lines of a server's log.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
