//! A gating consumer waited on from async code.

use crate::error::PollError;
use crate::key::SlotKey;
use crate::poller::Batch;
use crate::reader::{Idle, Reader};
use crate::subscription::ConsumerId;
use crate::task_wait::TaskWait;
use futures_core::{FusedStream, Stream};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A gating consumer that async code drives: the [`Poller`](crate::Poller) of a task.
///
/// It never blocks its executor's thread. While nothing is readable it yields to the executor
/// or registers its task's waker with the bus, as its wait strategy says (spinning strategies
/// only yield; `Blocking` registers at once; the default, `Adaptive`, yields for up to 5 ms
/// and then registers); the producer (or, for a dependent, an upstream's release) wakes it. A
/// registered task costs the producer what a parked thread costs: nothing until it is
/// registered.
///
/// Two ways to read, usable from any executor:
///
/// * [`AsyncPoller::batch`] (or [`AsyncPoller::poll_batch`]) returns the readable events as a
///   [`Batch`] borrowed from the ring, exactly as [`Poller::poll`](crate::Poller::poll) does:
///   no copy; dropping the batch releases it.
/// * As a [`Stream`] (for `T: Clone`) it yields `(sequence, event)` copies of the events of
///   its topics, in order. The stream holds each readable range until it has yielded the
///   whole range and is polled again, so an event counts as processed (the producer may reuse
///   its slot, dependents see it) once the caller has asked for what follows it. After the
///   producer closes the bus it yields every remaining event, then ends (`None`); every other
///   end ([`PollError::ProducerFailed`], [`PollError::Stopped`], [`PollError::UpstreamGone`],
///   [`PollError::Failed`]) is yielded once as an `Err`, then the stream ends.
///
/// ```
/// use futures_util::StreamExt;
/// use ringbus_ring::{RingBus, Subscription, Topic, TopicSet};
///
/// let (mut producer, bus) = RingBus::builder::<u64>().capacity(64).build().unwrap();
/// let mut odd = bus
///     .subscribe_async(Subscription::new("odd").topics(TopicSet::of(&[Topic::new(1)])))
///     .unwrap();
/// let runtime = tokio::runtime::Runtime::new().unwrap();
/// let reader = runtime.spawn(async move {
///     let mut seen = Vec::new();
///     while let Some(item) = odd.next().await {
///         let (_sequence, event) = item.unwrap();
///         seen.push(event);
///     }
///     seen // the stream ended: the producer closed the bus
/// });
/// for i in 0..6u64 {
///     producer.publish(Topic::new((i % 2) as u8), |slot| *slot = i);
/// }
/// drop(producer);
/// assert_eq!(runtime.block_on(reader).unwrap(), [1, 3, 5]);
/// ```
///
/// Waiting is cancel-safe: dropping a [`batch`](AsyncPoller::batch) future or a pending
/// `next()` loses nothing. Dropping the poller (or the task that owns it) leaves the bus at
/// once: it stops gating the producer, and its task is no longer registered. If its thread
/// panics while it holds events (a batch, or a range the stream is going through), it leaves
/// as failed at the first event it had not released, as a [`Poller`](crate::Poller) does.
#[derive(Debug)]
pub struct AsyncPoller<T, K: SlotKey = ()> {
    reader: Reader<T, K>,
    ended: Option<PollError>,
    wait: TaskWait,
    /// The stream's range: it yields the events of `reader.next..held` one at a time and holds
    /// the whole range (releases none of it) until it has gone through it.
    held: u64,
    /// The stream's next sequence to look at, in `reader.next..=held`.
    at: u64,
    /// Events the stream yielded from `reader.next..at`.
    yielded: u64,
    /// The stream has ended (returned `None` or its final error).
    finished: bool,
}

impl<T, K: SlotKey> AsyncPoller<T, K> {
    pub(crate) fn new(reader: Reader<T, K>, ended: Option<PollError>) -> Self {
        let next = reader.next;
        AsyncPoller {
            reader,
            ended,
            wait: TaskWait::default(),
            held: next,
            at: next,
            yielded: 0,
            finished: false,
        }
    }

    /// Waits for events, then returns them as a batch: the async [`Poller::poll`].
    ///
    /// Ends as [`Poller::poll`] does: after the producer closes, the remaining events and then
    /// [`PollError::Shutdown`] ([`PollError::ProducerFailed`] if it panicked or aborted); after
    /// an upstream stops, what it processed and then [`PollError::UpstreamGone`]; after
    /// [`Bus::stop`](crate::Bus::stop), [`PollError::Stopped`].
    ///
    /// [`Poller::poll`]: crate::Poller::poll
    pub async fn batch(&mut self) -> Result<Batch<'_, T, K>, PollError> {
        let end = std::future::poll_fn(|cx| self.poll_ready(cx)).await?;
        Ok(Batch::new(&mut self.reader, end))
    }

    /// [`AsyncPoller::batch`] as a poll function, for hand-written futures and executors.
    pub fn poll_batch(&mut self, cx: &mut Context<'_>) -> Poll<Result<Batch<'_, T, K>, PollError>> {
        match self.poll_ready(cx) {
            Poll::Ready(Ok(end)) => Poll::Ready(Ok(Batch::new(&mut self.reader, end))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// This consumer's id (to declare dependencies on it, or stop it).
    pub fn id(&self) -> ConsumerId {
        self.reader.id
    }

    /// This consumer's name.
    pub fn name(&self) -> &str {
        &self.reader.name
    }

    /// The next sequence this consumer will release (everything below it is released).
    pub fn sequence(&self) -> u64 {
        self.reader.next
    }

    /// The readable end, once there is one; or the end of this consumer's stream.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<u64, PollError>> {
        self.release_yielded();
        if let Err(e) = self.check_ended() {
            return Poll::Ready(Err(e));
        }
        match self.reader.poll_available(cx, &mut self.wait) {
            Poll::Ready(Ok(end)) => Poll::Ready(Ok(end)),
            Poll::Ready(Err(idle)) => Poll::Ready(Err(self.end(idle))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Releases what the stream has gone through (the caller asked for more, so it is done
    /// with it), keeping the rest of its range.
    fn release_yielded(&mut self) {
        if self.at > self.reader.next {
            self.reader.release(self.at, self.yielded);
            self.yielded = 0;
        }
    }

    /// After a batch (which releases as it likes), the stream goes on from the cursor.
    fn catch_up(&mut self) {
        if self.at < self.reader.next {
            self.at = self.reader.next;
            self.yielded = 0;
        }
        self.held = self.held.max(self.at);
    }

    fn check_ended(&mut self) -> Result<(), PollError> {
        self.reader.check_ended(&mut self.ended)?;
        if self.reader.stop_requested() {
            return Err(self.end(Idle::Stop));
        }
        Ok(())
    }

    #[cold]
    fn end(&mut self, idle: Idle) -> PollError {
        self.reader.forget_task();
        self.reader.leave_after(&idle);
        let err = idle.into_error();
        self.ended = Some(err.clone());
        err
    }
}

// Nothing in it is pinned: the events it holds are plain values, moved out as they are yielded.
impl<T, K: SlotKey> Unpin for AsyncPoller<T, K> {}

impl<T: Clone, K: SlotKey> Stream for AsyncPoller<T, K> {
    type Item = Result<(u64, T), PollError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        this.catch_up();
        loop {
            if this.at < this.held {
                // SAFETY: `at..held` lies below an end this reader observed readable (Acquire
                // loads in `Reader::try_available`) and at or past its cursor, which moves only
                // in `release_yielded` (after the range is gone through) or in a `Batch`, which
                // borrows `self` mutably and so is not alive now.
                let sequence = unsafe { this.reader.next_wanted(this.at, this.held) };
                if sequence < this.held {
                    // SAFETY: as above; the clone completes before the cursor passes
                    // `sequence`, and no reference into the ring leaves this function.
                    let event = unsafe { this.reader.shared.slots.get(sequence) }.clone();
                    this.at = sequence + 1;
                    this.yielded += 1;
                    return Poll::Ready(Some(Ok((sequence, event))));
                }
                this.at = this.held;
            }
            match this.poll_ready(cx) {
                Poll::Ready(Ok(end)) => this.held = end,
                Poll::Ready(Err(end)) => {
                    this.finished = true;
                    return Poll::Ready(match end {
                        PollError::Shutdown => None,
                        other => Some(Err(other)),
                    });
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<T: Clone, K: SlotKey> FusedStream for AsyncPoller<T, K> {
    fn is_terminated(&self) -> bool {
        self.finished
    }
}

impl<T, K: SlotKey> Drop for AsyncPoller<T, K> {
    fn drop(&mut self) {
        // Then the reader leaves (its own `Drop`): cancelled, or its task died.
        self.reader.forget_task();
    }
}
