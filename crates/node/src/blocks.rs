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

/// How many blocks are kept: enough to map any consumer still within a large ring's reach to
/// the block it last finished (blocks hold tens to hundreds of events).
const KEPT: usize = 4096;

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

    /// The height of the last block wholly before `next` (a consumer's next sequence to
    /// read: it has finished every block ending before it). `None`: no block has ended
    /// before it, or that block is older than the history.
    pub(crate) fn finished_before(&self, next: u64) -> Option<u64> {
        let blocks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // Ordered by sequence: the blocks ending before `next` are a prefix.
        let i = blocks.partition_point(|b| b.last < next);
        let first_kept = blocks.front()?;
        if i == 0 {
            // Inside the oldest block kept: it finished the one before (heights follow each
            // other). Before it: no longer known.
            return (first_kept.first <= next)
                .then(|| first_kept.height.checked_sub(1))
                .flatten()
                .filter(|h| *h > 0);
        }
        Some(blocks[i - 1].height)
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
    fn a_consumer_has_finished_the_blocks_ending_before_its_next_sequence() {
        let h = BlockHistory::default();
        assert_eq!(h.finished_before(10), None);
        h.push(block(1, 0, 9));
        h.push(block(2, 10, 19));
        assert_eq!(h.finished_before(0), None);
        assert_eq!(h.finished_before(9), None);
        assert_eq!(h.finished_before(10), Some(1));
        assert_eq!(h.finished_before(19), Some(1));
        assert_eq!(h.finished_before(20), Some(2));
        assert_eq!(h.finished_before(1_000), Some(2));
        assert_eq!(h.latest(1), [block(2, 10, 19)]);
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
        // A consumer still inside a block no longer kept: unknown, not a wrong height.
        assert_eq!(h.finished_before(5), None);
        assert_eq!(h.finished_before(105), Some(10));
    }
}
