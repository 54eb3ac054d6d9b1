//! The `ringbus` command line: `run` (the default), `replay`, `dump`, `verify`, `tail`.
//!
//! An invocation is checked whole before anything is written: its flags, its inputs
//! (readable, of the right kind), its outputs (none is an input or another output, by file
//! identity, not spelling), its servers' URLs. Output files are written under temporary
//! names beside their destinations and put in place when complete.

mod args;
mod bench;
mod dump_filter;
mod error;
mod files;
mod interrupt;
mod log_tools;
mod logging;
mod run;
mod serve;
mod summary;
mod tail;
mod values;

pub use bench::BenchLine;
pub use error::{
    error_lines, CliError, InvocationError, EXIT_CONSUMERS, EXIT_DATA, EXIT_INTERRUPTED, EXIT_OK,
    EXIT_RUNTIME, EXIT_USAGE,
};
pub use summary::Summary;

use args::{ReplayArgs, RunArgs, TailArgs};
use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand};
use dump_filter::DumpFilter;
use std::path::PathBuf;
use std::process::ExitCode;

/// The exit codes, as `--help` shows them.
const EXIT_CODES: &str = "\
Exit status:
  0  success
  1  runtime failure: a file could not be read or written, a server refused or could not be reached
  2  usage: the command line is invalid (a flag, a missing input, an output that is an input or
     another output, a URL that can never work); nothing was written
  3  a consumer failed during the run; the outputs of the others were written, the failed
     ones' files are as they were
  4  an event log is damaged (records missing, repeated, out of order, a block cut short) or
     is not an event log, or it holds another stream than a store it is replayed into
  130  interrupted twice (Ctrl-C, SIGTERM): aborted; the outputs not yet put in place are as
       they were

The first Ctrl-C (or SIGTERM) during run or replay ends it at the next block boundary like
its last block: the consumers drain, the outputs are put in place, exit 0.

A file argument `-` is standard input (the log of replay, dump and verify) or standard output
(dump --output, --summary-json).";

/// The event bus of a trading node: simulate a node and watch its events reach the consumers.
#[derive(Debug, Parser)]
#[command(name = "ringbus", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
    /// Only errors and the command's data (dump's and tail's lines, --summary-json, the bench
    /// figures): no progress bar, banner, summary or verify's "ok" line.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Show the libraries' log on stderr (retries, reconnections, warnings): -v info and
    /// ringbus's debug, -vv debug, -vvv trace. RUST_LOG, when set, chooses instead.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate a trading node and run its events through the bus into the consumers (default).
    Run(RunArgs),
    /// Feed an event log back through the bus into the consumers.
    Replay(ReplayArgs),
    /// Print an event log as JSON lines (checked as `verify` checks it: the events before
    /// any damage are printed, then the damage is reported): every event, or those of a
    /// topic, market or party.
    Dump {
        /// The log (`-`: standard input).
        log: PathBuf,
        /// Print at most this many events.
        #[arg(long)]
        limit: Option<u64>,
        /// Write the lines here (`-`: standard output), replaced when complete.
        #[arg(short, long, default_value = "-")]
        output: PathBuf,
        #[command(flatten)]
        filter: DumpFilter,
    },
    /// Check an event log: framing, checksums, sequence continuity (dropped, duplicated and
    /// reordered records), block framing and a complete last block; print its stream
    /// identity.
    Verify {
        /// The log (`-`: standard input).
        log: PathBuf,
    },
    /// Read the JetStream stream written by `run --nats` (from another process or machine)
    /// and print its events as JSON lines.
    Tail(TailArgs),
}

impl Cli {
    /// Parses `args` (the program's name first) like [`Parser::try_parse_from`], and refuses
    /// `run`'s options before a subcommand (`ringbus --blocks 5 replay x`): they would be
    /// ignored. `-q` and `-v` go anywhere.
    pub fn try_parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut command = Cli::command();
        let matches = command.try_get_matches_from_mut(args)?;
        if let Some((name, _)) = matches.subcommand() {
            let misplaced: Vec<String> = command
                .get_arguments()
                .filter(|a| !a.is_global_set())
                .filter(|a| {
                    matches.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine)
                })
                .map(|a| format!("--{}", a.get_long().unwrap_or(a.get_id().as_str())))
                .collect();
            if !misplaced.is_empty() {
                return Err(command.error(
                    ErrorKind::ArgumentConflict,
                    format!(
                        "{} before the subcommand '{name}': give options after it",
                        misplaced.join(", ")
                    ),
                ));
            }
        }
        Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))
    }
}

/// Parses the process's arguments, runs, prints errors (one line per cause); the process's
/// exit code (see [`CliError::exit_code`]).
pub fn main() -> ExitCode {
    let cli = Cli::try_parse_args(std::env::args_os()).unwrap_or_else(|e| e.exit());
    logging::init(cli.verbose, cli.quiet);
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut lines = error_lines(&e).into_iter();
            if let Some(first) = lines.next() {
                eprintln!("error: {first}");
            }
            for line in lines {
                eprintln!("  caused by: {line}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// Runs a parsed command line.
pub fn execute(cli: Cli) -> Result<(), CliError> {
    let quiet = cli.quiet;
    match cli.command {
        None => run::run(cli.run, quiet),
        Some(Command::Run(args)) => run::run(args, quiet),
        Some(Command::Replay(args)) => run::replay(args, quiet),
        Some(Command::Dump {
            log,
            limit,
            output,
            filter,
        }) => log_tools::dump(&log, limit, &output, &filter),
        Some(Command::Verify { log }) => log_tools::verify(&log, quiet),
        Some(Command::Tail(args)) => tail::tail(args),
    }
}
