//! `ringbus-bench` command line.

fn main() {
    println!("ringbus-bench: work in progress");
}
