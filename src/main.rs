//! The `ringbus` command line: simulate a trading node and run its events through the bus.
fn main() -> std::process::ExitCode {
    ringbus_node::cli::main()
}
