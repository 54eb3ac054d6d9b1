//! `-v`: the libraries' tracing (retries, reconnections, warnings) on stderr.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// The ringbus crates, shown at debug level from `-v` on.
const RINGBUS_CRATES: &[&str] = &[
    "ringbus_ring",
    "ringbus_events",
    "ringbus_consumers",
    "ringbus_remote",
    "ringbus_sim",
    "ringbus_node",
];

/// Installs a subscriber writing to stderr when `-v` is given or RUST_LOG is set (RUST_LOG
/// then chooses the levels): `-v` info, and debug for the ringbus crates; `-vv` debug;
/// `-vvv` trace. Without either, nothing is installed: errors reach the user once, through
/// the command's own message.
pub(super) fn init(verbose: u8, quiet: bool) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => {
            EnvFilter::builder().parse_lossy(directives)
        }
        _ if quiet || verbose == 0 => return,
        _ => EnvFilter::builder().parse_lossy(match verbose {
            1 => RINGBUS_CRATES
                .iter()
                .fold("info".to_string(), |acc, c| format!("{acc},{c}=debug")),
            2 => "debug".to_string(),
            _ => "trace".to_string(),
        }),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
