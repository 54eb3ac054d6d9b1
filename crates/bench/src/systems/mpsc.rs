//! std::sync::mpsc::sync_channel fan-out: one bounded channel per consumer.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use super::channel_fanout::{self, Channel};
use crate::event::Event;
use crate::harness::{RunResult, RunSpec, System};

/// `std::sync::mpsc::sync_channel(capacity)`, one per consumer.
#[derive(Debug, Default)]
pub struct StdMpsc;

impl Channel for StdMpsc {
    type Tx = SyncSender<Event>;
    type Rx = Receiver<Event>;

    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        sync_channel(cap)
    }

    #[inline]
    fn send(tx: &Self::Tx, e: Event) -> bool {
        tx.send(e).is_ok()
    }

    #[inline]
    fn recv(rx: &Self::Rx) -> Option<Event> {
        rx.recv().ok()
    }
}

impl System for StdMpsc {
    fn name(&self) -> &str {
        "std-mpsc"
    }

    fn run(&self, spec: &RunSpec) -> Result<RunResult, String> {
        channel_fanout::run::<StdMpsc>(spec)
    }
}
