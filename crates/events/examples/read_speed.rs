//! How fast the event-log reader reads a log from memory: the best of 15 passes.
//!
//! `cargo run --release -p ringbus-events --example read_speed -- LOG [whole]`: with `whole`,
//! the log is read with the whole-stream checks of `verify` (`EventLogReader::whole_stream`).
//! Instruction counts, steadier than time on a shared machine:
//! `valgrind --tool=callgrind target/release/examples/read_speed LOG`.

use ringbus_events::EventLogReader;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: read_speed LOG [whole]")?;
    let whole = args.next().as_deref() == Some("whole");
    let bytes = std::fs::read(&path)?;
    let (mut best, mut records) = (f64::MAX, 0u64);
    for _ in 0..15 {
        let start = Instant::now();
        let reader = EventLogReader::new(&bytes[..])?;
        let reader = if whole { reader.whole_stream() } else { reader };
        records = 0;
        for event in reader {
            std::hint::black_box(event?);
            records += 1;
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "{path} (whole stream: {whole}): {records} records, best {:.1} ms, {:.2} M records/s",
        best * 1e3,
        records as f64 / best / 1e6
    );
    Ok(())
}
