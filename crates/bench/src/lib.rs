//! `ringbus-bench`: the peer comparison, sweeps and latency report of ringbus.
//!
//! Every system runs a producer and its consumers on real threads started together on a
//! [`std::sync::Barrier`]; every consumer checks order, count and a payload checksum
//! ([`check`]) before a figure counts; every run has a deadline ([`harness::produce`]) and is
//! watched ([`harness::run_guarded`]) so that a collapsed system is reported, never waited on.

pub mod charts;
pub mod check;
pub mod cpu;
pub mod event;
pub mod harness;
pub mod measure;
pub mod pin;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod sweep;
pub mod systems;
pub mod topics;
pub mod trace;
