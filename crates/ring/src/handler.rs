//! Consumers on threads the bus manages: the handler trait and the loop that drives it.

use crate::cursor::Done;
use crate::error::{ConsumerFailure, FailureCause, HandlerError, PollError};
use crate::key::SlotKey;
use crate::reader::{Idle, Reader};
use crate::tap::TAP_BATCH;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// A consumer the bus runs on a thread of its own. It may keep whatever state it likes.
///
/// `on_event` gets each event of the consumer's topics in sequence order, with its sequence
/// and whether it is the last one of the batch the consumer is working through (a store
/// writer can flush there). Returning an error, or panicking, stops this consumer only: it
/// stops gating the producer, and its failure is reported by `Bus::metrics` and `Bus::join`.
/// Events before the one that failed count as handled (consumers declared after it see
/// them); the failed one and the rest do not.
///
/// ```
/// use ringbus_ring::{EventHandler, HandlerError};
/// struct Sum(u64);
/// impl EventHandler<u64> for Sum {
///     fn on_event(&mut self, event: &u64, _seq: u64, _end_of_batch: bool) -> Result<(), HandlerError> {
///         self.0 += event;
///         Ok(())
///     }
///     fn on_shutdown(&mut self, reason: &ringbus_ring::ShutdownReason) {
///         // A store would commit only at a clean end, not after a producer crash.
///         if reason.is_complete() {
///             println!("sum = {}", self.0);
///         }
///     }
/// }
/// ```
///
/// A closure `FnMut(&T, u64, bool) -> Result<(), HandlerError>` is a handler too.
pub trait EventHandler<T>: Send + 'static {
    /// Called once on the consumer's thread before the first event.
    fn on_start(&mut self) {}

    /// Called for each event of the consumer's topics.
    fn on_event(
        &mut self,
        event: &T,
        sequence: u64,
        end_of_batch: bool,
    ) -> Result<(), HandlerError>;

    /// Called once when the consumer stops, with why: after the last event when the producer
    /// closed ([`ShutdownReason::Closed`]) or failed ([`ShutdownReason::ProducerFailed`]:
    /// every event it published was delivered, but the stream ended early), when stopped by
    /// `Bus::stop`, after a consumer it depends on stopped, or after `on_event` returned an
    /// error. Not called after a panic (the handler's state is suspect then).
    fn on_shutdown(&mut self, reason: &ShutdownReason) {
        let _ = reason;
    }

    /// For lossy taps: called when the tap was detached and `missed` events went by.
    fn on_lagged(&mut self, missed: u64) {
        let _ = missed;
    }
}

impl<T, F> EventHandler<T> for F
where
    F: FnMut(&T, u64, bool) -> Result<(), HandlerError> + Send + 'static,
{
    fn on_event(
        &mut self,
        event: &T,
        sequence: u64,
        end_of_batch: bool,
    ) -> Result<(), HandlerError> {
        self(event, sequence, end_of_batch)
    }
}

/// Why a managed consumer stops: what [`EventHandler::on_shutdown`] is told.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShutdownReason {
    /// The producer closed the bus, and the consumer has handled every event of its topics.
    Closed,
    /// The producer panicked or called [`Producer::abort`](crate::Producer::abort): every
    /// event it published was delivered, but the stream ended early, so the last unit of
    /// work (a block, a transaction) may be incomplete.
    ProducerFailed,
    /// [`Bus::stop`](crate::Bus::stop) stopped the consumer.
    Stopped,
    /// A consumer this one depends on stopped; it has handled everything that one did.
    UpstreamGone {
        /// The upstream consumer.
        name: String,
        /// Whether it failed (rather than left).
        failed: bool,
    },
    /// `on_event` returned an error.
    HandlerError,
}

impl ShutdownReason {
    /// Whether the stream ended as the producer meant it to, with everything delivered.
    pub fn is_complete(&self) -> bool {
        matches!(self, ShutdownReason::Closed)
    }

    fn of(idle: &Idle) -> ShutdownReason {
        match idle {
            Idle::End(PollError::Shutdown) => ShutdownReason::Closed,
            Idle::End(PollError::ProducerFailed) => ShutdownReason::ProducerFailed,
            Idle::End(PollError::UpstreamGone { name, failed }) => ShutdownReason::UpstreamGone {
                name: name.clone(),
                failed: *failed,
            },
            _ => ShutdownReason::Stopped,
        }
    }
}

/// How a batch ended early.
enum Stopped {
    Error(u64, HandlerError),
    Panic(u64, Box<dyn Any + Send>),
}

/// The life of a managed gating consumer.
pub(crate) fn run_gating<T, K: SlotKey, H: EventHandler<T>>(
    mut reader: Reader<T, K>,
    mut handler: H,
) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| handler.on_start())) {
        return panicked_between_events(&mut reader, payload);
    }
    loop {
        if reader.stop_requested() {
            return finish(&mut reader, Idle::Stop, &mut handler);
        }
        let end = match reader.wait_available() {
            Ok(end) => end,
            Err(idle) => return finish(&mut reader, idle, &mut handler),
        };
        let start = reader.next;
        match deliver(&reader, &mut handler, start, end) {
            Ok(handled) => reader.release(end, handled),
            Err((handled, stopped)) => {
                let at = match &stopped {
                    Stopped::Error(at, _) | Stopped::Panic(at, _) => *at,
                };
                if at > start {
                    reader.release(at, handled);
                }
                return fail(&mut reader, stopped, Some(&mut handler));
            }
        }
    }
}

/// Calls the handler for the events of its topics in `start..end`. Returns how many it
/// handled, or where and how it stopped (with how many it handled before).
fn deliver<T, K: SlotKey, H: EventHandler<T>>(
    reader: &Reader<T, K>,
    handler: &mut H,
    start: u64,
    end: u64,
) -> Result<u64, (u64, Stopped)> {
    let slots = &reader.shared.slots;
    let mut handled = 0;
    let mut current = start;
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<(), HandlerError> {
        // One iterator for the batch: with a key filter it keeps its block scan between
        // events; without one it steps through the reader's topics.
        // SAFETY: `start..end` is below the readable end observed with Acquire loads and at or
        // past our cursor, which moves only after this batch (`Reader::release`).
        let mut wanted = unsafe { reader.wanted(start, end) };
        let mut next = wanted.next();
        while let Some(sequence) = next {
            // One event of look-ahead, to know which matching event ends the batch.
            next = wanted.next();
            current = sequence;
            // SAFETY: as above.
            handler.on_event(unsafe { slots.get(sequence) }, sequence, next.is_none())?;
            handled += 1;
        }
        Ok(())
    }));
    match outcome {
        Ok(Ok(())) => Ok(handled),
        Ok(Err(error)) => Err((handled, Stopped::Error(current, error))),
        Err(payload) => Err((handled, Stopped::Panic(current, payload))),
    }
}

/// The life of a managed lossy tap.
pub(crate) fn run_tap<T: Clone, K: SlotKey, H: EventHandler<T>>(
    mut reader: Reader<T, K>,
    mut handler: H,
) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| handler.on_start())) {
        return panicked_between_events(&mut reader, payload);
    }
    let mut buffer: Vec<(u64, T)> = Vec::with_capacity(TAP_BATCH as usize);
    loop {
        if reader.stop_requested() {
            return finish(&mut reader, Idle::Stop, &mut handler);
        }
        // `T::clone` is user code: a panic in it has left the bus already (as failed, with its
        // message); catching it here ends this thread quietly.
        let copied = catch_unwind(AssertUnwindSafe(|| reader.copy_out(&mut buffer)));
        let Ok(copied) = copied else {
            return;
        };
        match copied {
            Ok(true) => {}
            Ok(false) => match reader.wait_available() {
                Ok(_) => continue,
                Err(idle) => return finish(&mut reader, idle, &mut handler),
            },
            Err(Idle::End(PollError::Lagged { missed })) => {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| handler.on_lagged(missed))) {
                    return panicked_between_events(&mut reader, payload);
                }
                continue;
            }
            Err(idle) => return finish(&mut reader, idle, &mut handler),
        }
        let mut current = 0;
        let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<(), HandlerError> {
            let last = buffer.len().saturating_sub(1);
            for (i, (sequence, event)) in buffer.iter().enumerate() {
                current = *sequence;
                handler.on_event(event, *sequence, i == last)?;
            }
            Ok(())
        }));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                return fail(
                    &mut reader,
                    Stopped::Error(current, error),
                    Some(&mut handler),
                )
            }
            Err(payload) => {
                return fail(
                    &mut reader,
                    Stopped::Panic(current, payload),
                    None::<&mut H>,
                )
            }
        }
    }
}

/// The stream ended for this consumer: say goodbye to the handler, then leave.
fn finish<T, K: SlotKey, H: EventHandler<T>>(
    reader: &mut Reader<T, K>,
    idle: Idle,
    handler: &mut H,
) {
    let reason = ShutdownReason::of(&idle);
    let shutdown = catch_unwind(AssertUnwindSafe(|| handler.on_shutdown(&reason)));
    match shutdown {
        Err(payload) => {
            let failure = failure(
                reader,
                reader.next,
                FailureCause::Panicked(panic_message(&*payload)),
            );
            reader.leave(Done::Failed, Some(failure));
        }
        Ok(()) => reader.leave_after(&idle),
    }
}

/// A handler call outside any event (`on_start`, `on_lagged`) panicked: the consumer fails at
/// the next sequence it would have read.
fn panicked_between_events<T, K: SlotKey>(reader: &mut Reader<T, K>, payload: Box<dyn Any + Send>) {
    let at = reader.next;
    fail(reader, Stopped::Panic(at, payload), None::<&mut NoHandler>);
}

/// Stands for the handler where `fail` must not call it.
struct NoHandler;

impl<T> EventHandler<T> for NoHandler {
    fn on_event(&mut self, _: &T, _: u64, _: bool) -> Result<(), HandlerError> {
        Ok(())
    }
}

/// The handler failed at `sequence`: record why, then leave (it stops gating at once).
fn fail<T, K: SlotKey, H: EventHandler<T>>(
    reader: &mut Reader<T, K>,
    stopped: Stopped,
    handler: Option<&mut H>,
) {
    // After a panic the handler's state is suspect: no on_shutdown (as documented).
    let (sequence, cause, handler) = match stopped {
        Stopped::Error(at, error) => (at, FailureCause::Error(Arc::from(error)), handler),
        Stopped::Panic(at, payload) => (at, FailureCause::Panicked(panic_message(&*payload)), None),
    };
    if let Some(handler) = handler {
        // Its own panic in on_shutdown must not hide the first failure.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            handler.on_shutdown(&ShutdownReason::HandlerError)
        }));
    }
    let failure = failure(reader, sequence, cause);
    reader.leave(Done::Failed, Some(failure));
}

fn failure<T, K: SlotKey>(
    reader: &Reader<T, K>,
    sequence: u64,
    cause: FailureCause,
) -> ConsumerFailure {
    ConsumerFailure {
        name: reader.name.clone(),
        sequence,
        cause,
    }
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}
