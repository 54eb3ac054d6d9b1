//! The height of the last block a store committed, published by the store's writer after
//! each successful commit and read from any thread (the live server's `/status`, `/metrics`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// A handle on the height of the last block a store committed. Cheap to clone and to read
/// (two atomic loads, no lock); only the store's writer moves it, and only once a commit
/// succeeded: a block being staged, refused or retried leaves it where it was.
///
/// ```
/// use ringbus_consumers::MemoryStores;
/// use ringbus_events::{BeginBlock, EndBlock, Event};
/// use ringbus_ring::EventHandler;
/// let (mut stores, _view) = MemoryStores::new();
/// let committed = stores.committed_height();
/// assert_eq!(committed.get(), None, "nothing committed yet");
/// stores.on_event(&Event::new(BeginBlock { height: 7, ..Default::default() }), 0, false)?;
/// assert_eq!(committed.get(), None, "a staged block is not committed");
/// stores.on_event(&Event::new(EndBlock { height: 7, ..Default::default() }), 1, false)?;
/// assert_eq!(committed.get(), Some(7));
/// # Ok::<(), ringbus_ring::HandlerError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct CommittedHeight(Arc<Committed>);

/// A flag rather than a reserved height for "nothing committed yet": every `u64` is a
/// height a stream may frame.
#[derive(Debug, Default)]
struct Committed {
    /// Set once, with the first height, and never cleared.
    any: AtomicBool,
    /// The latest height; meaningful once `any` is set.
    height: AtomicU64,
}

impl CommittedHeight {
    /// A handle starting at `resumed`: the height a store already held when its writer was
    /// made (`None`: nothing committed yet).
    pub(crate) fn starting_at(resumed: Option<u64>) -> Self {
        let handle = CommittedHeight::default();
        if let Some(height) = resumed {
            handle.set(height);
        }
        handle
    }

    /// The height of the last block the store committed (`None`: none yet).
    pub fn get(&self) -> Option<u64> {
        // Acquire pairs with `set`'s Release: a reader that sees the flag sees a height
        // stored before it (the first, or a later one).
        self.0
            .any
            .load(Ordering::Acquire)
            .then(|| self.0.height.load(Ordering::Acquire))
    }

    /// Publishes `height` as committed (after the commit succeeded).
    pub(crate) fn set(&self, height: u64) {
        self.0.height.store(height, Ordering::Release);
        self.0.any.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_until_set_then_the_latest_height_on_every_clone() {
        let handle = CommittedHeight::starting_at(None);
        let reader = handle.clone();
        assert_eq!(reader.get(), None);
        handle.set(0);
        assert_eq!(reader.get(), Some(0), "height 0 is a height, not 'none'");
        handle.set(u64::MAX);
        assert_eq!(reader.get(), Some(u64::MAX));
        assert_eq!(CommittedHeight::starting_at(Some(12)).get(), Some(12));
    }
}
