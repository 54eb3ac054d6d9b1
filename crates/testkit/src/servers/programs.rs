//! The server programs: found on this machine, or installed by `scripts/services.sh install`
//! (Debian's packages) when one is missing.

use super::{execute, StartError};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Where the programs the test servers need are.
#[derive(Clone, Debug)]
pub(crate) struct Programs {
    /// The directory of `postgres`, `initdb` and `pg_ctl`.
    pub pg_bin: PathBuf,
    pub nats_server: PathBuf,
    pub openssl: PathBuf,
}

/// The programs, installing what is missing first (once a process).
pub(crate) fn programs() -> Result<Programs, StartError> {
    static FOUND: Mutex<Option<Programs>> = Mutex::new(None);
    let mut found = FOUND.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = &*found {
        return Ok(p.clone());
    }
    let p = match find() {
        Ok(p) => p,
        Err(_) => {
            let script = repo_root().join("scripts/services.sh");
            execute(Command::new("bash").arg(&script).arg("install"))?;
            find().map_err(|missing| StartError::Missing {
                missing: missing.join(", "),
            })?
        }
    };
    *found = Some(p.clone());
    Ok(p)
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The programs, or the names of those missing.
fn find() -> Result<Programs, Vec<&'static str>> {
    let pg_bin = postgres_bin();
    let nats_server = on_path("nats-server");
    let openssl = on_path("openssl");
    match (pg_bin, nats_server, openssl) {
        (Some(pg_bin), Some(nats_server), Some(openssl)) => Ok(Programs {
            pg_bin,
            nats_server,
            openssl,
        }),
        (pg, nats, openssl) => Err([
            (pg.is_none(), "PostgreSQL (postgres, initdb, pg_ctl)"),
            (nats.is_none(), "nats-server"),
            (openssl.is_none(), "openssl"),
        ]
        .into_iter()
        .filter_map(|(missing, name)| missing.then_some(name))
        .collect()),
    }
}

/// Debian's newest `/usr/lib/postgresql/<version>/bin`, else the directory of `pg_ctl` on
/// the PATH; either must hold the three programs.
fn postgres_bin() -> Option<PathBuf> {
    let complete = |dir: &Path| {
        ["postgres", "initdb", "pg_ctl"]
            .iter()
            .all(|p| dir.join(p).is_file())
    };
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| complete(bin))
        .collect();
    debian.sort();
    debian.pop().map(|(_, bin)| bin).or_else(|| {
        on_path("pg_ctl")?
            .parent()
            .filter(|d| complete(d))
            .map(Path::to_path_buf)
    })
}

/// `program` in a directory of the PATH, or of /usr/sbin (where Debian puts nats-server, and
/// which a user's PATH often lacks).
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}
