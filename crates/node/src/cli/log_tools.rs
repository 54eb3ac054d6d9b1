//! `dump` and `verify`: an event log (a file or standard input) read and printed or checked.

use super::error::CliError;
use super::files::{self, is_std, Files};
use crate::AtomicFile;
use ringbus_events::{verify as verify_records, EventLogReader, JsonLinesWriter, SequencePolicy};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// How standard input and output are named in messages.
const STDIN: &str = "standard input";
const STDOUT: &str = "standard output";

/// The log at `path` (`-`: standard input), its header read.
fn open_log(path: &Path) -> Result<EventLogReader<Box<dyn BufRead>>, CliError> {
    let source: Box<dyn BufRead> = if is_std(path) {
        Box::new(std::io::stdin().lock())
    } else {
        let file = File::open(path).map_err(CliError::io("opening", path))?;
        Box::new(BufReader::with_capacity(1 << 16, file))
    };
    EventLogReader::new(source).map_err(|source| CliError::Log {
        path: shown(path).into(),
        source,
    })
}

/// `path` as messages name it.
fn shown(path: &Path) -> &Path {
    if is_std(path) {
        Path::new(STDIN)
    } else {
        path
    }
}

pub(super) fn dump(path: &Path, limit: Option<u64>, output: &Path) -> Result<(), CliError> {
    let mut files = Files::default();
    files.event_log(files::LOG, path);
    files.output(files::DUMP_OUTPUT, output);
    files.check()?;
    if is_std(output) {
        let stdout = std::io::stdout();
        let out = BufWriter::new(stdout.lock());
        return match write_lines(path, limit, out, Path::new(STDOUT)) {
            // The reader went away (`| head`): not a failure.
            Err(CliError::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
                Ok(())
            }
            r => r,
        };
    }
    files.create_output_dirs()?;
    let file = AtomicFile::new(output).map_err(CliError::io("creating a file beside", output))?;
    let out = File::create(file.path()).map_err(CliError::io("creating", output))?;
    write_lines(path, limit, BufWriter::with_capacity(1 << 16, out), output)?;
    file.commit()
        .map_err(CliError::io("putting in place", output))
}

/// Writes the log's events as JSON lines to `out` (named `out_name`) and flushes it.
fn write_lines(
    path: &Path,
    limit: Option<u64>,
    out: impl Write,
    out_name: &Path,
) -> Result<(), CliError> {
    let reader = open_log(path)?.with_policy(SequencePolicy::Increasing);
    let mut out = JsonLinesWriter::new(out);
    let write_err = |source| CliError::Io {
        action: "writing",
        path: out_name.to_path_buf(),
        source,
    };
    for (i, event) in reader.enumerate() {
        if limit.is_some_and(|l| i as u64 >= l) {
            break;
        }
        let event = event.map_err(|source| CliError::Log {
            path: shown(path).into(),
            source,
        })?;
        if let Err(e) = out.write(&event) {
            return Err(write_err(e));
        }
    }
    out.flush().map_err(write_err)
}

pub(super) fn verify(path: &Path, quiet: bool) -> Result<(), CliError> {
    let mut files = Files::default();
    files.event_log(files::LOG, path);
    files.check()?;
    let summary = verify_records(open_log(path)?).map_err(|source| CliError::Log {
        path: shown(path).into(),
        source,
    })?;
    if quiet {
        return Ok(());
    }
    let sequences = match (summary.first_sequence, summary.last_sequence) {
        (Some(first), Some(last)) => format!("sequences {first}..={last}"),
        _ => "no events".to_string(),
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{}: ok: {} records, {} bytes, {sequences}, {} blocks, {} failed transactions",
        shown(path).display(),
        summary.records,
        summary.bytes,
        summary.blocks,
        summary.failed_txs
    );
    Ok(())
}
