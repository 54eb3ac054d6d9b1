//! Ctrl-C (SIGINT), SIGTERM and SIGHUP during `run` and `replay`: the first ends the run
//! at the next block boundary like its last block (the consumers drain, the outputs are put
//! in place, the summary is printed, exit 0); a second aborts at once (exit 130: the
//! outputs not yet put in place stay as they were).

use super::error::{CliError, EXIT_INTERRUPTED};
use crate::StopSignal;
use std::sync::{Mutex, OnceLock, PoisonError};

/// The run the next signal stops (`None`: none is running, so a signal aborts), and
/// whether to say so on stderr.
static CURRENT: Mutex<Option<(StopSignal, bool)>> = Mutex::new(None);
/// Whether the process's handler is installed (once per process: `ctrlc` allows one).
static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

/// A run listening for the signals; dropping it stops listening (a signal then aborts).
#[derive(Debug)]
pub(super) struct Listening(());

/// Makes the signals request `stop` until the returned guard is dropped. `quiet`: say
/// nothing on the first signal.
pub(super) fn stop_on_signal(stop: &StopSignal, quiet: bool) -> Result<Listening, CliError> {
    INSTALLED
        .get_or_init(|| ctrlc::set_handler(on_signal).map_err(|e| e.to_string()))
        .clone()
        .map_err(CliError::Signals)?;
    *CURRENT.lock().unwrap_or_else(PoisonError::into_inner) = Some((stop.clone(), quiet));
    Ok(Listening(()))
}

impl Drop for Listening {
    fn drop(&mut self) {
        *CURRENT.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

fn on_signal() {
    let current = CURRENT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    match current {
        Some((stop, quiet)) if !stop.is_requested() => {
            stop.request();
            if !quiet {
                eprintln!(
                    "stopping after the current block: the consumers drain and the outputs \
                     are put in place (interrupt again to abort)"
                );
            }
        }
        _ => {
            eprintln!(
                "error: interrupted again: aborted; the outputs not yet put in place are as \
                 they were (temporary files may be left beside them)"
            );
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    }
}
