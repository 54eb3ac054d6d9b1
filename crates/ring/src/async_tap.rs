//! A lossy tap waited on from async code.

use crate::error::PollError;
use crate::key::SlotKey;
use crate::reader::{Idle, Reader};
use crate::subscription::ConsumerId;
use crate::tap::TAP_BATCH;
use crate::task_wait::TaskWait;
use futures_core::{FusedStream, Stream};
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A lossy tap that async code drives: a [`Stream`] of `(sequence, event)` copies that never
/// slows the producer.
///
/// It copies events out of the ring in batches as a [`Tap`](crate::Tap) does and yields them
/// one by one, in order. When it has fallen behind its [`TapPolicy`](crate::TapPolicy) the
/// producer detaches it; it then yields `Err(`[`PollError::Lagged`]`)` with the number of
/// events it missed, once, and goes on from the head. After the producer closes the bus it
/// yields every remaining event, then ends (`None`); every other end
/// ([`PollError::ProducerFailed`], [`PollError::Stopped`], [`PollError::Failed`]) is yielded
/// once as an `Err`, then the stream ends. It waits as an
/// [`AsyncPoller`](crate::AsyncPoller) does: it yields to the executor or registers its
/// task's waker, never blocking the executor's thread.
///
/// ```
/// use futures_util::StreamExt;
/// use ringbus_ring::{PollError, RingBus, Subscription, TapPolicy, Topic};
///
/// let (mut producer, bus) = RingBus::builder::<u64>().capacity(4).build().unwrap();
/// let mut monitor = bus
///     .tap_async(Subscription::new("monitor").lossy(TapPolicy::default()))
///     .unwrap();
/// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// for i in 0..10 {
///     producer.publish(Topic::new(0), |slot| *slot = i); // never waits on the tap
/// }
/// let lagged = runtime.block_on(monitor.next());
/// assert_eq!(lagged, Some(Err(PollError::Lagged { missed: 10 }))); // it goes on from the head
/// producer.publish(Topic::new(0), |slot| *slot = 10);
/// producer.publish(Topic::new(0), |slot| *slot = 11);
/// drop(producer); // the stream ends after the last event
/// let rest: Vec<_> = runtime.block_on(monitor.collect());
/// assert_eq!(rest, [Ok((10, 10)), Ok((11, 11))]);
/// ```
///
/// Dropping it (or the task that owns it) leaves the bus at once.
#[derive(Debug)]
pub struct AsyncTap<T, K: SlotKey = ()> {
    reader: Reader<T, K>,
    /// Copied out and not yet yielded.
    queue: VecDeque<(u64, T)>,
    ended: Option<PollError>,
    wait: TaskWait,
    /// The stream has ended (returned `None` or its final error).
    finished: bool,
}

impl<T: Clone, K: SlotKey> AsyncTap<T, K> {
    pub(crate) fn new(reader: Reader<T, K>, ended: Option<PollError>) -> Self {
        AsyncTap {
            reader,
            queue: VecDeque::with_capacity(TAP_BATCH as usize),
            ended,
            wait: TaskWait::default(),
            finished: false,
        }
    }

    /// This tap's id.
    pub fn id(&self) -> ConsumerId {
        self.reader.id
    }

    /// This tap's name.
    pub fn name(&self) -> &str {
        &self.reader.name
    }

    /// The next sequence this tap will copy out (those before it are copied or missed).
    pub fn sequence(&self) -> u64 {
        self.reader.next
    }

    /// What the stream yields for a wait that ended without events: `Lagged` goes on; every
    /// other end is the stream's last item (`None` for a clean shutdown).
    #[cold]
    fn end(&mut self, idle: Idle) -> Option<Result<(u64, T), PollError>> {
        match idle {
            Idle::End(lagged @ PollError::Lagged { .. }) => Some(Err(lagged)),
            other => {
                self.reader.forget_task();
                self.reader.leave_after(&other);
                let err = other.into_error();
                self.ended = Some(err.clone());
                self.finished = true;
                match err {
                    PollError::Shutdown => None,
                    err => Some(Err(err)),
                }
            }
        }
    }
}

// Nothing in it is pinned: the events it holds are plain values, moved out as they are yielded.
impl<T, K: SlotKey> Unpin for AsyncTap<T, K> {}

impl<T: Clone, K: SlotKey> Stream for AsyncTap<T, K> {
    type Item = Result<(u64, T), PollError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(event) = this.queue.pop_front() {
            return Poll::Ready(Some(Ok(event)));
        }
        if this.finished {
            return Poll::Ready(None);
        }
        loop {
            if let Err(e) = this.reader.check_ended(&mut this.ended) {
                this.finished = true;
                return Poll::Ready(Some(Err(e)));
            }
            match this.reader.copy_out(&mut this.queue) {
                // Possibly only events of other topics: copy on.
                Ok(true) => match this.queue.pop_front() {
                    Some(event) => return Poll::Ready(Some(Ok(event))),
                    None => continue,
                },
                Ok(false) => {}
                Err(idle) => return Poll::Ready(this.end(idle)),
            }
            match this.reader.poll_available(cx, &mut this.wait) {
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(idle)) => return Poll::Ready(this.end(idle)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<T: Clone, K: SlotKey> FusedStream for AsyncTap<T, K> {
    fn is_terminated(&self) -> bool {
        self.finished && self.queue.is_empty()
    }
}

impl<T, K: SlotKey> Drop for AsyncTap<T, K> {
    fn drop(&mut self) {
        // Then the reader leaves (its own `Drop`): cancelled, or its task died.
        self.reader.forget_task();
    }
}
