//! `ringbus-bench`: the peer comparison, sweeps and latency report of ringbus.
//!
//! Every system runs a producer and its consumers on real threads started together on a
//! [`std::sync::Barrier`]; every consumer checks order, count and a payload checksum
//! ([`check`]) before a figure counts; every run has a deadline ([`harness::produce`]) and is
//! watched ([`harness::run_guarded`]) so that a collapsed system is reported, never waited on.
//!
//! What a report gives to choose a system with:
//!
//! - **The default.** `ringbus-default` is the bus built the obvious way,
//!   `RingBus::builder().build()`, without `.wait_strategy(...)` (so it follows whatever the
//!   engine's default is); its rows carry `"default": true`, every other row `false`. The other
//!   ringbus rows are named by strategy, one per entry of `WaitStrategy::ALL` other than
//!   `WaitStrategy::default()` ([`systems::ringbus::Ringbus::all`]).
//! - **Throughput and latency**: min / median / max events/s over the runs; latency
//!   percentiles of all runs merged, and the min / median / max of each run's own p99. Latency
//!   runs aim at 200 000 samples each (20 000 with `--quick`) within a time cap (2 s, bursts
//!   with pauses 1 s; quick 250 / 100 ms); the samples of each run are in the JSON.
//! - **CPU cost** ([`cpu`]): process CPU seconds (user + system, every thread) per million
//!   events, taken with `getrusage(RUSAGE_SELF)` before and after each measured run
//!   (`cpu_s_per_m_events`, with the producer thread's share apart); and the CPU used while
//!   idle (`idle_cpu_pct_per_consumer`): after the runs, one short run whose producer, once
//!   every consumer has drained, publishes nothing for 100 ms (`--idle-ms`) while the process
//!   CPU is measured, reported as % of one core per consumer ([`harness::IdleProbe`]).
//! - **The machine's floor** ([`stalls`]): after each round of a paced latency scenario,
//!   one thread per thread of the scenario spins on the clock for 200 ms (50 with `--quick`)
//!   and records the gaps it did not run; from the producer's and the consumer's gaps comes
//!   the p99 of a consumer that costs nothing (`machine_stalls`, `floor_p99_ns_per_round`,
//!   and `machine_floor_ns` on the p99 target). A p99 target under that floor is the
//!   machine's to miss, not the bus's.
//! - **`--pin`** ([`pin`]): producer on the first core, consumer *i* on core *i + 1*, round
//!   robin; ringbus handlers through `Subscription::pin_to_core`, the disruptor's threads
//!   through its own `pin_at_core`, the other consumers (channels, bus, ringbus pollers and
//!   tokio workers) on their threads. Recorded as `settings.pinned` and in the report header.

pub mod buffering;
pub mod charts;
pub mod check;
pub mod cpu;
pub mod event;
pub mod harness;
pub mod measure;
pub mod pin;
pub mod report;
pub mod scenario;
pub mod stalls;
pub mod stats;
pub mod sweep;
pub mod systems;
pub mod topics;
pub mod trace;
