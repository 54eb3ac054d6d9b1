//! The files of an invocation, checked before anything is written: inputs readable and of
//! the right kind; outputs not directories, not read-only, and none of them an input or
//! another output, by file identity (another spelling, a link), not by spelling.

use super::error::{CliError, InvocationError};
use crate::atomic_file::{with_suffix, SQLITE_COMPANIONS};
use crate::FileIdentity;
use ringbus_events::log::format::MAGIC;
use ringbus_events::EventLogReader;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

pub(super) const REPLAYED_LOG: &str = "the event log to replay";
pub(super) const LOG: &str = "the event log";
pub(super) const DB: &str = "the database (--db)";
const DB_COMPANION: &str = "a file SQLite keeps beside the database (--db)";
pub(super) const EVENT_LOG: &str = "the event log to write (--event-log)";
pub(super) const SUMMARY: &str = "the summary (--summary-json)";
pub(super) const DUMP_OUTPUT: &str = "the output (--output)";
pub(super) const PG_CA: &str = "the PostgreSQL CA file (--postgres-ca)";
pub(super) const NATS_CA: &str = "the NATS CA file (--nats-ca)";

/// Whether `path` is `-` (standard input or output).
pub(super) fn is_std(path: &Path) -> bool {
    path.as_os_str() == "-"
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Any readable file.
    File,
    /// An event log: its header is read.
    EventLog,
    /// An output file, replaced whole.
    Output,
    /// An event log, replaced whole: an existing file is replaced only if it is one.
    LogOutput,
    /// A SQLite database, replaced whole: an existing file is replaced only if it is one.
    DbOutput,
    /// A SQLite database written in place (resumed): a SQLite file if it exists.
    ResumedDb,
}

/// The files an invocation reads and writes, with what each is for.
#[derive(Debug, Default)]
pub(super) struct Files {
    files: Vec<(&'static str, PathBuf, Kind)>,
}

impl Files {
    /// An input file (`-`: standard input).
    pub(super) fn input(&mut self, role: &'static str, path: &Path) {
        self.files.push((role, path.to_path_buf(), Kind::File));
    }

    /// An event log to read (`-`: standard input).
    pub(super) fn event_log(&mut self, role: &'static str, path: &Path) {
        self.files.push((role, path.to_path_buf(), Kind::EventLog));
    }

    /// An output, replaced whole when complete (`-`: standard output).
    pub(super) fn output(&mut self, role: &'static str, path: &Path) {
        self.files.push((role, path.to_path_buf(), Kind::Output));
    }

    /// An event log to write, replaced whole when complete.
    pub(super) fn log_output(&mut self, role: &'static str, path: &Path) {
        self.files.push((role, path.to_path_buf(), Kind::LogOutput));
    }

    /// A SQLite database: built anew and put in place (`fresh`), or resumed in place. Its
    /// companion files (`-wal`, `-shm`, `-journal`) are outputs too.
    pub(super) fn database(&mut self, role: &'static str, path: &Path, fresh: bool) {
        let kind = if fresh {
            Kind::DbOutput
        } else {
            Kind::ResumedDb
        };
        self.files.push((role, path.to_path_buf(), kind));
        for suffix in SQLITE_COMPANIONS {
            self.files
                .push((DB_COMPANION, with_suffix(path, suffix), Kind::Output));
        }
    }

    /// Adds `other`'s files.
    pub(super) fn extend(&mut self, other: Files) {
        self.files.extend(other.files);
    }

    /// Checks the files: inputs exist and are readable files; no two are one file (unless
    /// both are inputs); then each is of its kind (an event log's header, an existing
    /// output's kind). The most telling error comes first.
    pub(super) fn check(&self) -> Result<(), CliError> {
        for (role, path, kind) in &self.files {
            if is_input(*kind) && !is_std(path) {
                check_readable(role, path)?;
            }
        }
        self.check_distinct()?;
        for (role, path, kind) in &self.files {
            if !is_std(path) {
                check_kind(role, path, *kind)?;
            }
        }
        Ok(())
    }

    fn check_distinct(&self) -> Result<(), CliError> {
        let mut ids = Vec::with_capacity(self.files.len());
        for (role, path, kind) in &self.files {
            ids.push(match (is_std(path), is_input(*kind)) {
                (true, true) => FileIdentity::stdin().ok(),
                (true, false) => FileIdentity::stdout().ok(),
                (false, _) => Some(FileIdentity::of(path).map_err(|source| {
                    InvocationError::Unresolvable {
                        role,
                        path: path.clone(),
                        source,
                    }
                })?),
            });
        }
        for (i, (role, path, kind)) in self.files.iter().enumerate() {
            let Some(id) = &ids[i] else { continue };
            for (j, (first_role, first, first_kind)) in self.files[..i].iter().enumerate() {
                // Two inputs may be one file (one CA for both servers).
                if is_input(*kind) && is_input(*first_kind) {
                    continue;
                }
                if ids[j].as_ref().is_some_and(|other| other.same_as(id)) {
                    return Err(InvocationError::SameFile {
                        first_role,
                        first: first.clone(),
                        second_role: role,
                        second: path.clone(),
                    }
                    .into());
                }
            }
        }
        Ok(())
    }

    /// Creates the directories the outputs go in (after [`check`](Self::check)).
    pub(super) fn create_output_dirs(&self) -> Result<(), CliError> {
        for (_, path, kind) in &self.files {
            if is_input(*kind) || is_std(path) {
                continue;
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(CliError::io("creating the directory", dir))?;
            }
        }
        Ok(())
    }
}

fn is_input(kind: Kind) -> bool {
    matches!(kind, Kind::File | Kind::EventLog)
}

/// An input exists, is a file and opens for reading.
fn check_readable(role: &'static str, path: &Path) -> Result<(), CliError> {
    let unreadable = |source| InvocationError::Unreadable {
        role,
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if !meta.is_file() {
        return Err(InvocationError::NotAFile {
            role,
            path: path.to_path_buf(),
        }
        .into());
    }
    File::open(path).map_err(unreadable)?;
    Ok(())
}

/// A file is of the kind its role needs: an input event log has an event-log header; an
/// existing output is no directory, is writable, and is of the kind written into it.
fn check_kind(role: &'static str, path: &Path, kind: Kind) -> Result<(), CliError> {
    if kind == Kind::File {
        return Ok(());
    }
    if kind == Kind::EventLog {
        let file = File::open(path).map_err(|source| InvocationError::Unreadable {
            role,
            path: path.to_path_buf(),
            source,
        })?;
        EventLogReader::new(std::io::BufReader::new(file)).map_err(|source| CliError::Log {
            path: path.to_path_buf(),
            source,
        })?;
        return Ok(());
    }
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(()); // Created by the run.
    };
    let path_buf = || path.to_path_buf();
    if meta.is_dir() {
        return Err(InvocationError::OutputIsDirectory {
            role,
            path: path_buf(),
        }
        .into());
    }
    if meta.permissions().readonly() {
        return Err(InvocationError::OutputReadOnly {
            role,
            path: path_buf(),
        }
        .into());
    }
    // A mistyped path must not replace or write into a file of another kind.
    let expected = match kind {
        Kind::ResumedDb | Kind::DbOutput if !starts_with(path, SQLITE_MAGIC) => {
            Some("a SQLite database")
        }
        Kind::LogOutput if !starts_with(path, &MAGIC) => Some("an event log"),
        _ => None,
    };
    match expected {
        Some(expected) => Err(InvocationError::OtherKind {
            role,
            path: path_buf(),
            expected,
        }
        .into()),
        None => Ok(()),
    }
}

const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

/// Whether `path` is an empty file or starts with `magic`.
fn starts_with(path: &Path, magic: &[u8]) -> bool {
    let mut head = Vec::with_capacity(magic.len());
    match File::open(path).and_then(|f| f.take(magic.len() as u64).read_to_end(&mut head)) {
        Ok(0) => true,
        Ok(_) => head == magic,
        Err(_) => false,
    }
}
