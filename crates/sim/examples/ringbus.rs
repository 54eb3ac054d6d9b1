//! The `ringbus` command line from this crate alone (`cargo run -p ringbus-sim --example ringbus -- ...`);
//! the workspace's root binary `ringbus` calls the same `ringbus_sim::cli::main`.
fn main() -> std::process::ExitCode {
    ringbus_sim::cli::main()
}
