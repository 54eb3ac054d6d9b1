//! What the command line reports as a failure, its exit code, and how it is printed: once,
//! one line per cause.

use crate::PipelineError;
use ringbus_consumers::StoreError;
use ringbus_events::LogError;
use ringbus_remote::RemoteError;
use std::error::Error;
use std::path::PathBuf;

/// An invocation that cannot work, found before anything was written (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    /// An input does not exist or cannot be read.
    #[error("cannot read {role} {}", path.display())]
    Unreadable {
        /// What the file is for.
        role: &'static str,
        /// The file as given.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An input is a directory or another non-file.
    #[error("{role} {} is not a file", path.display())]
    NotAFile {
        /// What the file is for.
        role: &'static str,
        /// The file as given.
        path: PathBuf,
    },
    /// An existing output is a file of another kind than the one written (a database given
    /// as the event log, a log as the database): it is neither replaced nor written into.
    #[error("{role} {} exists and is not {expected}: it is left as it is", path.display())]
    OtherKind {
        /// What the file is for.
        role: &'static str,
        /// The file as given.
        path: PathBuf,
        /// What it would have to be (`a SQLite database`, `an event log`).
        expected: &'static str,
    },
    /// An output names a directory.
    #[error("{role} {} is a directory, not a file", path.display())]
    OutputIsDirectory {
        /// What the file is for.
        role: &'static str,
        /// The file as given.
        path: PathBuf,
    },
    /// An output exists and is read-only.
    #[error("{role} {} is read-only", path.display())]
    OutputReadOnly {
        /// What the file is for.
        role: &'static str,
        /// The file as given.
        path: PathBuf,
    },
    /// Two files of the invocation are one file (by identity: another spelling, a link).
    #[error(
        "{second_role} {} and {first_role} {} are the same file",
        second.display(),
        first.display()
    )]
    SameFile {
        /// What the first file is for.
        first_role: &'static str,
        /// The first file as given.
        first: PathBuf,
        /// What the second file is for.
        second_role: &'static str,
        /// The second file as given.
        second: PathBuf,
    },
    /// A path whose directory cannot be resolved (a parent that is not a directory, ...).
    #[error("cannot resolve {role} {}", path.display())]
    Unresolvable {
        /// What the file is for.
        role: &'static str,
        /// The file as given.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `--consumers` names a remote consumer without its URL anywhere.
    #[error("--consumers names {consumer} but no URL is given (--{consumer} URL, or {env})")]
    NoUrl {
        /// The consumer.
        consumer: &'static str,
        /// The environment variable that can hold the URL.
        env: &'static str,
    },
    /// A server URL that can never work (a scheme the client does not speak, no host, a
    /// string that does not parse).
    #[error(transparent)]
    Url(RemoteError),
    /// `--positions-per-market` without the positions consumer.
    #[error(
        "--positions-per-market needs the positions consumer, and --consumers does not name it"
    )]
    PositionsPerMarketWithoutPositions,
    /// `--positions-per-market` with `run --bench`, whose layouts are fixed.
    #[error("--positions-per-market does not apply to --bench (its consumer layouts are fixed)")]
    PositionsPerMarketBench,
    /// `replay - --positions-per-market --reset-remote`: the markets of a log on standard
    /// input are known only once it is read, after the servers would have been reset.
    #[error(
        "--positions-per-market with a log on standard input cannot be checked before \
         --reset-remote resets the servers: give the log as a file, or reset in a run of its own"
    )]
    PositionsPerMarketResetFromStdin,
    /// The positions plug-in cannot be split over the stream's markets.
    #[error("--positions-per-market with {input}")]
    PositionsSplit {
        /// The stream (`--markets N`, or the log replayed).
        input: String,
        /// Why.
        #[source]
        source: crate::PositionsSplitError,
    },
    /// `run --bench` without a number of blocks: it generates every event first.
    #[error("--bench needs a number of blocks (--blocks 0 runs until stopped)")]
    BenchWithoutEnd,
}

/// What the command line reports as a failure. Each variant's message says only its own
/// part; the cause is its [`source`](Error::source) (see [`error_lines`]).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The invocation cannot work; nothing was written.
    #[error(transparent)]
    Invocation(#[from] InvocationError),
    /// The pipeline could not run.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// A log is damaged or is not an event log: the first bad record.
    #[error("reading the event log {}", path.display())]
    Log {
        /// The log.
        path: PathBuf,
        /// The damage.
        #[source]
        source: LogError,
    },
    /// A file could not be read or written.
    #[error("{action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Consumers failed during the run: their output files were not put in place (the
    /// previous ones are as they were); the other consumers' were.
    #[error(
        "{} consumer(s) failed: {}{}",
        failures.len(),
        failures.join("; "),
        if not_written.is_empty() {
            String::new()
        } else {
            format!(
                "; not written (as before the run): {}",
                not_written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            )
        }
    )]
    ConsumersFailed {
        /// Each failure.
        failures: Vec<String>,
        /// The outputs of the failed consumers, left as they were.
        not_written: Vec<PathBuf>,
    },
    /// A remote server could not be reached or refused (tail, reset).
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// The handler of Ctrl-C and SIGTERM could not be installed.
    #[error("installing the handler of Ctrl-C and SIGTERM: {0}")]
    Signals(String),
}

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: a runtime failure (a file, a server).
pub const EXIT_RUNTIME: u8 = 1;
/// Exit code: the invocation is invalid (clap's own usage errors use it too).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: a consumer failed during the run.
pub const EXIT_CONSUMERS: u8 = 3;
/// Exit code: an event log is damaged or is not an event log.
pub const EXIT_DATA: u8 = 4;
/// Exit code: interrupted twice (Ctrl-C, SIGTERM): aborted; the outputs not yet put in
/// place are as they were.
pub const EXIT_INTERRUPTED: u8 = 130;

impl CliError {
    /// The process exit code: 2 an invalid invocation, 3 consumers failed, 4 a damaged
    /// log or a log of another stream than a store holds, 1 otherwise (0 is success).
    /// `ringbus --help` lists them.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Invocation(_)
            | CliError::Pipeline(PipelineError::SameFile { .. })
            | CliError::Pipeline(PipelineError::PositionsSplit(_)) => EXIT_USAGE,
            CliError::Log { .. }
            | CliError::Pipeline(PipelineError::Log { .. })
            | CliError::Pipeline(PipelineError::MarketOutsideStream { .. })
            | CliError::Pipeline(PipelineError::Store(StoreError::ForeignStream(_)))
            | CliError::Pipeline(PipelineError::Remote(RemoteError::ForeignStream(_))) => EXIT_DATA,
            CliError::ConsumersFailed { .. } => EXIT_CONSUMERS,
            CliError::Pipeline(_)
            | CliError::Io { .. }
            | CliError::Remote(_)
            | CliError::Signals(_) => EXIT_RUNTIME,
        }
    }

    pub(super) fn io<'a>(
        action: &'static str,
        path: &'a std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Self + 'a {
        move |source| CliError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// `e` and its causes, one line each, each saying only its own part: an error whose message
/// ends with its cause's (`X: cause`) is shown as `X`, and a cause already said is not said
/// again.
///
/// ```
/// use ringbus_node::cli::error_lines;
/// #[derive(Debug, thiserror::Error)]
/// #[error("reading a.rbl: {0}")]
/// struct Outer(#[source] std::io::Error);
/// let e = Outer(std::io::Error::other("checksum mismatch"));
/// assert_eq!(error_lines(&e), ["reading a.rbl", "checksum mismatch"]);
/// ```
pub fn error_lines(e: &(dyn Error + 'static)) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        next = err.source();
        let own = match next.map(|cause| cause.to_string()) {
            Some(cause) if text == cause => String::new(),
            Some(cause) if text.ends_with(&cause) => text[..text.len() - cause.len()]
                .trim_end_matches([':', ' '])
                .to_string(),
            _ => text,
        };
        if !own.is_empty() && !lines.iter().any(|l| l.contains(&own)) {
            lines.push(own);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Embeds(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("middle ({0})")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn each_cause_once() {
        let e = Embeds(Middle(std::io::Error::other("disk full")));
        // "outer: middle (disk full)" → outer; "middle (disk full)" embeds its cause in the
        // middle, so the cause is not repeated after it.
        assert_eq!(error_lines(&e), ["outer", "middle (disk full)"]);
        let log = CliError::Log {
            path: "a.rbl".into(),
            source: LogError::ChecksumMismatch {
                record: 3,
                offset: 200,
                stored: 1,
                computed: 2,
            },
        };
        let lines = error_lines(&log);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0], "reading the event log a.rbl");
        assert_eq!(lines.join("\n").matches("record 3").count(), 1, "{lines:?}");
    }
}
