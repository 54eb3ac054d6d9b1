//! What every consumer shares: its cursor, its topics, its dependencies, and how it waits.

use crate::cursor::{ConsumerCursor, FAILED, FINISHED, LEFT, RUNNING, SEQUENCE};
use crate::error::{ConsumerFailure, PollError};
use crate::membership::{failed, Joined};
use crate::shared::Shared;
use crate::subscription::ConsumerId;
use crate::sync::{fence, Arc};
use crate::topic::TopicSet;
use crate::wait::wait_for;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};

/// A consumer's read position and the rules for advancing it.
#[derive(Debug)]
pub(crate) struct Reader<T> {
    pub(crate) shared: Arc<Shared<T>>,
    pub(crate) id: ConsumerId,
    pub(crate) name: String,
    pub(crate) index: usize,
    /// The next sequence to read; mirrors the cursor, which only this reader writes.
    pub(crate) next: u64,
    /// A known upper bound of what is readable, so a consumer with a backlog does not
    /// re-read `published` per batch.
    available: u64,
    pub(crate) topics: TopicSet,
    pub(crate) all_topics: bool,
    upstream: Box<[(usize, String)]>,
    /// Whether the bus asked this (managed) reader to stop.
    stoppable: bool,
    /// Set once the reader has left the table.
    gone: bool,
}

/// Why a wait ended without events.
#[derive(Debug)]
pub(crate) enum Idle {
    /// The stream ended (or an upstream stopped) for this reader.
    End(PollError),
    /// The bus asked this managed reader to stop.
    Stop,
}

impl<T> Reader<T> {
    pub(crate) fn new(
        shared: Arc<Shared<T>>,
        joined: Joined,
        name: String,
        topics: TopicSet,
        stoppable: bool,
    ) -> Self {
        Reader {
            shared,
            id: joined.id,
            name,
            index: joined.index,
            next: joined.start,
            available: joined.start,
            all_topics: topics.is_all(),
            topics,
            upstream: joined.upstream.into_boxed_slice(),
            stoppable,
            gone: false,
        }
    }

    #[inline]
    pub(crate) fn cursor(&self) -> &ConsumerCursor {
        &self.shared.cursors[self.index]
    }

    /// The end of what is readable now (exclusive), if anything is; or why nothing ever will be.
    #[inline]
    pub(crate) fn try_available(&mut self) -> Result<Option<u64>, Idle> {
        if self.available > self.next {
            return Ok(Some(self.available));
        }
        // Acquire: pairs with the producer's Release store; the slot writes below `end` are
        // visible to us.
        let mut end = self.shared.published.load(Acquire);
        for (u, _) in self.upstream.iter() {
            // Acquire: pairs with the upstream's Release store of its cursor: it has finished
            // with (and whatever it did for) every event below.
            end = end.min(self.shared.cursors[*u].sequence.load(Acquire) & SEQUENCE);
        }
        if end > self.next {
            self.available = end;
            return Ok(Some(end));
        }
        self.idle()
    }

    /// Whether the bus asked this managed reader to stop (checked once per batch).
    #[inline]
    pub(crate) fn stop_requested(&self) -> bool {
        // Relaxed: the bus sets it and then wakes us; a late sight costs one more batch.
        self.stoppable && self.cursor().stop.load(Relaxed)
    }

    #[cold]
    fn idle(&mut self) -> Result<Option<u64>, Idle> {
        if self.stop_requested() {
            return Err(Idle::Stop);
        }
        for (u, name) in self.upstream.iter() {
            let up = &self.shared.cursors[*u];
            // Acquire: pairs with the Release store in `leave`: its final cursor is visible.
            let done = up.done.load(Acquire);
            if done != RUNNING
                && done != FINISHED
                && up.sequence.load(Acquire) & SEQUENCE <= self.next
            {
                return Err(Idle::End(PollError::UpstreamGone {
                    name: name.clone(),
                    failed: failed(done),
                }));
            }
        }
        // Acquire: pairs with the producer's Release store on close: `published` is final.
        if self.shared.closed.load(Acquire) {
            // Acquire: as in `try_available`.
            let last = self.shared.published.load(Acquire);
            let mut end = last;
            for (u, _) in self.upstream.iter() {
                // Acquire: as in `try_available`.
                end = end.min(self.shared.cursors[*u].sequence.load(Acquire) & SEQUENCE);
            }
            if end > self.next {
                self.available = end;
                return Ok(Some(end));
            }
            if self.next >= last {
                return Err(Idle::End(PollError::Shutdown));
            }
        }
        Ok(None)
    }

    /// Forgets the cached readable end (after a tap rejoins elsewhere).
    pub(crate) fn reset_available(&mut self) {
        self.available = self.next;
    }

    /// Waits, by the bus's strategy, until events are readable; returns their end.
    pub(crate) fn wait_available(&mut self) -> Result<u64, Idle> {
        if let Some(end) = self.try_available()? {
            return Ok(end);
        }
        let shared = Arc::clone(&self.shared);
        let waker = if self.upstream.is_empty() {
            &shared.data_waker
        } else {
            &shared.upstream_waker
        };
        wait_for(shared.config.strategy, waker, || {
            self.try_available().transpose()
        })
    }

    /// Releases every sequence below `end` to the producer, counting what was delivered.
    #[inline]
    pub(crate) fn release(&mut self, end: u64, handled: u64) {
        let skipped = (end - self.next) - handled;
        let cursor = &self.shared.cursors[self.index];
        // Relaxed: statistics, written by this thread only.
        cursor
            .handled
            .store(cursor.handled.load(Relaxed) + handled, Relaxed);
        if skipped != 0 {
            cursor
                .skipped
                .store(cursor.skipped.load(Relaxed) + skipped, Relaxed);
        }
        self.next = end;
        // Release: our reads of every slot below `end` happen before the producer's Acquire
        // load of this cursor (and so before it overwrites them), and before a dependent's.
        cursor.sequence.store(end, Release);
        self.signal_release();
    }

    /// Wakes a producer waiting for space and dependents waiting for us.
    #[inline]
    pub(crate) fn signal_release(&self) {
        if self.shared.config.may_park {
            fence(SeqCst);
            self.shared.space_waker.notify_after_fence();
            self.shared.upstream_waker.notify_after_fence();
        }
    }

    /// Leaves the table (once): `FINISHED`, `FAILED` with a failure, or `LEFT`.
    pub(crate) fn leave(&mut self, done: u8, failure: Option<ConsumerFailure>) {
        if !self.gone {
            self.gone = true;
            self.shared.leave(self.index, done, failure);
        }
    }

    /// Leaves according to how the stream ended for this reader.
    pub(crate) fn leave_after(&mut self, end: &Idle) {
        match end {
            Idle::End(PollError::Shutdown) => self.leave(FINISHED, None),
            Idle::End(PollError::UpstreamGone { name, failed }) => {
                let failure = ConsumerFailure {
                    name: self.name.clone(),
                    sequence: self.next,
                    cause: crate::error::FailureCause::UpstreamGone {
                        name: name.clone(),
                        failed: *failed,
                    },
                };
                self.leave(FAILED, Some(failure));
            }
            Idle::End(PollError::Lagged { .. }) | Idle::Stop => self.leave(LEFT, None),
        }
    }
}

impl<T> Drop for Reader<T> {
    fn drop(&mut self) {
        self.leave(LEFT, None);
    }
}
