//! The directory of one test process's servers, and the watchdog that removes it.
//!
//! Rust's test harness has no hook that runs after the last test, and a test process may end
//! without unwinding (an abort, a SIGKILL). So the servers are not stopped by the test process
//! itself but by a watchdog (`watchdog.sh`, run by bash): a process of its own that reads a
//! pipe only the test process can write to. When the test process ends, however it ends, the
//! kernel closes that pipe; the watchdog sees the end of file, stops every server of the
//! directory and removes it.

use super::tls::TlsFiles;
use super::StartError;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

const WATCHDOG: &str = include_str!("watchdog.sh");

/// The per-process directory (`<temp dir>/ringbus-test-<pid>-<random>`) with its watchdog.
#[derive(Debug)]
pub(crate) struct RunDir {
    path: PathBuf,
    tls: Mutex<Option<TlsFiles>>,
    /// Never written to: the watchdog waits for this pipe to close, which the kernel does when
    /// the process ends (a static is never dropped before that).
    _watchdog: ChildStdin,
}

static RUN_DIR: OnceLock<RunDir> = OnceLock::new();

/// This process's run directory, made (with its watchdog) on the first call.
pub(crate) fn run_dir() -> &'static RunDir {
    RUN_DIR.get_or_init(|| RunDir::create().unwrap_or_else(|e| panic!("{e}")))
}

/// The run directory if this process has made one.
pub(crate) fn existing() -> Option<&'static RunDir> {
    RUN_DIR.get()
}

impl RunDir {
    fn create() -> Result<Self, StartError> {
        // Readable by all: as root, PostgreSQL runs as the `postgres` user and must reach its
        // data directory inside.
        let dir = tempfile::Builder::new()
            .prefix(&format!("ringbus-test-{}-", std::process::id()))
            .permissions(std::fs::Permissions::from_mode(0o755))
            .tempdir()
            .map_err(|source| StartError::Io {
                what: "creating the run directory".into(),
                source,
            })?;
        let watchdog = Command::new("bash")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("ringbus-test-watchdog")
            .env("RINGBUS_TEST_RUN_DIR", dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|source| StartError::Io {
                what: "starting the watchdog (bash)".into(),
                source,
            })?;
        let stdin = watchdog.stdin.expect("piped");
        Ok(RunDir {
            // From here on the watchdog removes it.
            path: dir.keep(),
            tls: Mutex::new(None),
            _watchdog: stdin,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The run's CA and server certificate (made on the first call).
    pub(crate) fn tls(&self, openssl: &Path) -> Result<TlsFiles, StartError> {
        let mut tls = self.tls.lock().unwrap_or_else(|e| e.into_inner());
        if tls.is_none() {
            *tls = Some(TlsFiles::make(&self.path.join("tls"), openssl)?);
        }
        Ok(tls.clone().expect("made above"))
    }
}
