//! The latest blocks the producer published, recorded by the producer once per block (an
//! uncontended lock per block, nothing per event), read by the live server.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

/// One published block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublishedBlock {
    /// Its height.
    pub height: u64,
    /// The sequence of its `BeginBlock`.
    pub first: u64,
    /// The sequence of its `EndBlock`.
    pub last: u64,
    /// Transactions in it (its `TxResult` events).
    pub transactions: u64,
}

impl PublishedBlock {
    /// Events in it, `BeginBlock` to `EndBlock`.
    pub fn events(&self) -> u64 {
        self.last - self.first + 1
    }
}

/// How many blocks are kept: more than any reader asks for (the live server shows the
/// latest 10, the run's summary the last one).
const KEPT: usize = 64;

/// The latest [`KEPT`] blocks published, oldest first. Cheap to clone (shared).
#[derive(Clone, Debug, Default)]
pub(crate) struct BlockHistory(Arc<Mutex<VecDeque<PublishedBlock>>>);

impl BlockHistory {
    pub(crate) fn push(&self, block: PublishedBlock) {
        let mut blocks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if blocks.len() == KEPT {
            blocks.pop_front();
        }
        blocks.push_back(block);
    }

    /// The latest `n` blocks, newest first.
    pub(crate) fn latest(&self, n: usize) -> Vec<PublishedBlock> {
        let blocks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        blocks.iter().rev().take(n).copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(height: u64, first: u64, last: u64) -> PublishedBlock {
        PublishedBlock {
            height,
            first,
            last,
            transactions: 1,
        }
    }

    #[test]
    fn the_latest_blocks_newest_first() {
        let h = BlockHistory::default();
        assert!(h.latest(1).is_empty());
        h.push(block(1, 0, 9));
        h.push(block(2, 10, 19));
        assert_eq!(h.latest(1), [block(2, 10, 19)]);
        assert_eq!(h.latest(5), [block(2, 10, 19), block(1, 0, 9)]);
        assert_eq!(block(2, 10, 19).events(), 10);
    }

    #[test]
    fn only_the_latest_blocks_are_kept() {
        let h = BlockHistory::default();
        for i in 0..(KEPT as u64 + 10) {
            h.push(block(i + 1, i * 10, i * 10 + 9));
        }
        assert_eq!(h.latest(usize::MAX).len(), KEPT);
        assert_eq!(h.latest(1)[0].height, KEPT as u64 + 10);
        assert_eq!(h.latest(usize::MAX)[KEPT - 1].height, 11, "the oldest kept");
    }
}
