//! crossbeam-channel fan-out: one bounded channel per consumer.

use crossbeam_channel::{bounded, Receiver, Sender};

use super::channel_fanout::{self, Channel};
use crate::event::Event;
use crate::harness::{RunResult, RunSpec, System};

/// crossbeam-channel, one `bounded(capacity)` channel per consumer.
#[derive(Debug, Default)]
pub struct Crossbeam;

impl Channel for Crossbeam {
    type Tx = Sender<Event>;
    type Rx = Receiver<Event>;

    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        bounded(cap)
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

impl System for Crossbeam {
    fn name(&self) -> &str {
        "crossbeam"
    }

    fn run(&self, spec: &RunSpec) -> Result<RunResult, String> {
        channel_fanout::run::<Crossbeam>(spec)
    }
}
