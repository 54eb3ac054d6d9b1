//! `dump` and `verify`: an event log (a file or standard input) read and printed or checked.

use super::dump_filter::DumpFilter;
use super::error::CliError;
use super::files::{self, is_std, Files};
use crate::AtomicFile;
use ringbus_events::{dump_selected, verify as verify_records, DumpError, EventLogReader};
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

pub(super) fn dump(
    path: &Path,
    limit: Option<u64>,
    output: &Path,
    filter: &DumpFilter,
) -> Result<(), CliError> {
    let mut files = Files::default();
    files.event_log(files::LOG, path);
    files.output(files::DUMP_OUTPUT, output);
    files.check()?;
    if is_std(output) {
        let stdout = std::io::stdout();
        let out = BufWriter::new(stdout.lock());
        return match write_lines(path, limit, filter, out, Path::new(STDOUT)) {
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
    write_lines(
        path,
        limit,
        filter,
        BufWriter::with_capacity(1 << 16, out),
        output,
    )?;
    file.commit()
        .map_err(CliError::io("putting in place", output))
}

/// Writes the log's events that `filter` selects as JSON lines to `out` (named `out_name`)
/// and flushes it, with `verify`'s rules: the events before any damage, then the damage.
fn write_lines(
    path: &Path,
    limit: Option<u64>,
    filter: &DumpFilter,
    out: impl Write,
    out_name: &Path,
) -> Result<(), CliError> {
    match dump_selected(open_log(path)?, out, limit, |e| filter.selects(e)) {
        Ok(_) => Ok(()),
        Err(DumpError::Log(source)) => Err(CliError::Log {
            path: shown(path).into(),
            source,
        }),
        Err(DumpError::Write(source)) => Err(CliError::Io {
            action: "writing",
            path: out_name.to_path_buf(),
            source,
        }),
    }
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
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}: ok: {summary}", shown(path).display());
    Ok(())
}
