//! Typed errors: bad configuration, a full ring, the end of a stream, a failed consumer.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

/// The error a handler returns to stop consuming: its consumer is then marked failed.
pub type HandlerError = Box<dyn StdError + Send + Sync + 'static>;

/// A configuration or subscription the bus refuses. Nothing is half-built when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The ring needs at least one slot.
    #[error("ring capacity must be at least 1")]
    ZeroCapacity,
    /// The capacity must be a power of two (sequences map to slots by a mask).
    #[error("ring capacity {0} is not a power of two")]
    NotPowerOfTwo(usize),
    /// The slots would not fit in memory (or could not be allocated).
    #[error("a ring of {capacity} slots of {slot_bytes} bytes does not fit in memory")]
    TooLarge {
        /// The requested number of slots.
        capacity: usize,
        /// Bytes per slot (event, topic tag and key).
        slot_bytes: usize,
    },
    /// The consumer table holds at most this many consumers at once.
    #[error("the bus already has its maximum of {0} consumers")]
    TooManyConsumers(usize),
    /// `max_consumers` must be between 1 and 4096.
    #[error("max_consumers {0} is outside 1..=4096")]
    InvalidMaxConsumers(usize),
    /// The replay window must be smaller than the capacity.
    #[error("replay window {window} must be smaller than the ring capacity {capacity}")]
    InvalidReplayWindow {
        /// The requested window.
        window: usize,
        /// The ring's capacity.
        capacity: usize,
    },
    /// A subscription with no topic would never see an event.
    #[error("consumer {0:?} subscribes to no topic")]
    EmptyTopicSet(String),
    /// A subscription's key filter is not the filter type of the bus's key.
    #[error(
        "consumer {consumer:?} filters keys with a {found}, but this bus's keys take a {expected}"
    )]
    KeyFilterType {
        /// The subscribing consumer.
        consumer: String,
        /// The filter type the bus's key takes (`SlotKey::Filter`).
        expected: &'static str,
        /// The filter type the subscription gave.
        found: &'static str,
    },
    /// Consumer names identify consumers in dependencies and metrics.
    #[error("consumer name {0:?} is already in use")]
    DuplicateName(String),
    /// A dependency names a consumer that does not exist (or has left).
    #[error("consumer {consumer:?} depends on {dependency:?}, which does not exist")]
    UnknownDependency {
        /// The subscribing consumer.
        consumer: String,
        /// The missing dependency.
        dependency: String,
    },
    /// A dependency is a consumer of another bus.
    #[error("consumer {consumer:?} depends on a consumer of another bus")]
    ForeignDependency {
        /// The subscribing consumer.
        consumer: String,
    },
    /// Lossy taps may be detached at any time, so nothing may wait on them.
    #[error("consumer {consumer:?} depends on the lossy tap {dependency:?}")]
    DependsOnTap {
        /// The subscribing consumer.
        consumer: String,
        /// The tap.
        dependency: String,
    },
    /// The declared dependencies form a cycle (listed in order).
    #[error("dependency cycle: {}", .0.join(" -> "))]
    DependencyCycle(Vec<String>),
    /// A tap's `max_lag` must be between 1 and the ring's capacity.
    #[error("tap {name:?}: max_lag {max_lag} must be between 1 and the capacity {capacity}")]
    InvalidTapLag {
        /// The tap.
        name: String,
        /// The requested lag.
        max_lag: u64,
        /// The ring's capacity.
        capacity: u64,
    },
    /// A consumer asked to start at an event that is no longer (or not surely) in the ring.
    #[error("start sequence {requested} is no longer in the ring (oldest joinable: {oldest})")]
    StartNotInRing {
        /// The requested start.
        requested: u64,
        /// The oldest start that was joinable at that moment.
        oldest: u64,
    },
    /// A consumer asked to start at a sequence not yet published.
    #[error("start sequence {requested} is past the next published sequence {next}")]
    StartInFuture {
        /// The requested start.
        requested: u64,
        /// The next sequence to be published.
        next: u64,
    },
    /// The bus was built with fixed membership: consumers are declared on the builder only.
    #[error("this bus was built with fixed membership; declare consumers on the builder")]
    MembershipFixed,
    /// Lossy taps are subscribed with `tap`/`spawn_tap` (their events are copied out, so
    /// they need `T: Clone`); gating consumers with `subscribe`/`spawn`/`poller`/`handler`.
    #[error(
        "consumer {0:?}: lossy taps subscribe with `tap`/`spawn_tap`, gating consumers without"
    )]
    WrongKind(String),
    /// No present consumer has this id.
    #[error("no present consumer has this id")]
    UnknownConsumer,
    /// The operating system (or the bus's spawn hook) refused a thread for a managed
    /// consumer, or the hook did not run it.
    #[error("could not start a thread for consumer {name:?}: {reason}")]
    Spawn {
        /// The consumer.
        name: String,
        /// The operating system's (or the hook's) reason.
        reason: String,
    },
    /// A managed consumer's thread could not be pinned to this core: the system has no such
    /// core, or this process may not run on it.
    #[error("consumer {name:?}: cannot pin its thread to core {core}: no such core, or this process may not run on it")]
    NoSuchCore {
        /// The consumer.
        name: String,
        /// The core asked for.
        core: usize,
    },
    /// A thread name the operating system cannot take: it contains a NUL byte.
    #[error("consumer {name:?}: thread name {thread_name:?} contains a NUL byte")]
    InvalidThreadName {
        /// The consumer.
        name: String,
        /// The thread name asked for.
        thread_name: String,
    },
    /// A core or thread name was given to a consumer that runs on its caller's thread (a
    /// poller, a tap the caller drives, an async consumer): only managed consumers have
    /// threads of their own.
    #[error("consumer {0:?} runs on its caller's thread: a core or thread name is for managed consumers (handler, spawn, spawn_tap)")]
    NotManaged(String),
    /// A consumer asked to park on a bus whose advancing sides do not signal (a bus built with
    /// a spinning strategy where the kernel offers no asymmetric barriers): it could sleep
    /// forever.
    #[error("consumer {name:?} would park ({strategy}) on a bus that does not signal wake-ups; build the bus with a parking strategy")]
    UnsignalledPark {
        /// The consumer.
        name: String,
        /// Its wait strategy.
        strategy: crate::WaitStrategy,
    },
    /// The producer has closed the bus: there is nothing left to subscribe to.
    #[error("the bus is closed")]
    Closed,
}

/// Why `try_publish`, `publish_timeout` or a batch publish did not publish (a typed publish
/// that hands its event back says it in a [`NotPublished`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The ring is full: a gating consumer is a whole ring behind. Nothing was written.
    #[error("the ring is full")]
    Full,
    /// `publish_timeout`: the ring stayed full until the timeout. Nothing was written.
    #[error("the ring stayed full until the timeout")]
    Timeout,
    /// The bus has published the most events its cursors can count (2^62 - 1); it publishes
    /// no more. At a billion events a second this takes 146 years.
    #[error("the bus has published the most events a cursor can count (2^62 - 1)")]
    SequenceExhausted,
    /// A batch larger than the ring can never become visible all at once.
    #[error("a batch of {requested} events does not fit in a ring of {capacity}")]
    BatchTooLarge {
        /// The batch size.
        requested: usize,
        /// The ring's capacity.
        capacity: u64,
    },
}

/// A typed publish that did not publish: why, and what it was given, handed back untouched,
/// so a producer that sheds load or retries later loses nothing.
///
/// `event` is the event given to [`Producer::try_publish_event`] or
/// [`Producer::publish_event_timeout`], or the iterator given to
/// [`Producer::try_publish_events`], from which no event was taken. Its `Debug` does not
/// show the event, so an event type need not be `Debug` to `unwrap` a result; `?` turns it
/// into the bare [`PublishError`], dropping the event.
///
/// ```
/// use ringbus_ring::{NotPublished, PublishError};
/// let refused = NotPublished { error: PublishError::Full, event: 7u64 };
/// assert_eq!(refused.to_string(), "the ring is full");
/// assert_eq!(format!("{refused:?}"), "NotPublished { error: Full, .. }");
/// assert_eq!(PublishError::from(refused), PublishError::Full);
/// ```
///
/// [`Producer::try_publish_event`]: crate::Producer::try_publish_event
/// [`Producer::publish_event_timeout`]: crate::Producer::publish_event_timeout
/// [`Producer::try_publish_events`]: crate::Producer::try_publish_events
#[derive(Clone, PartialEq, Eq)]
pub struct NotPublished<E> {
    /// Why nothing was published.
    pub error: PublishError,
    /// What was not published: the event, or a batch's iterator with every event still in it.
    pub event: E,
}

impl<E> fmt::Debug for NotPublished<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotPublished")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<E> fmt::Display for NotPublished<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<E> StdError for NotPublished<E> {}

impl<E> From<NotPublished<E>> for PublishError {
    fn from(refused: NotPublished<E>) -> Self {
        refused.error
    }
}

/// [`Batch::release_to`](crate::Batch::release_to) was given a sequence outside the batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sequence {sequence} is not in the batch {}..{}", .batch.start, .batch.end)]
pub struct OutOfBatch {
    /// The sequence asked for.
    pub sequence: u64,
    /// The sequences the batch still holds (its end may be released to as well).
    pub batch: std::ops::Range<u64>,
}

/// What ends or interrupts a consumer's stream.
///
/// `Lagged` and `Timeout` interrupt it (poll again); every other variant ends it, and the
/// consumer has left the bus.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PollError {
    /// The producer closed the bus and this consumer has seen every published event.
    #[error("the bus is shut down and every event has been consumed")]
    Shutdown,
    /// The producer panicked or called [`Producer::abort`](crate::Producer::abort): this
    /// consumer has seen every event it published, but the stream ended early (the last
    /// unit of work, a block say, may be incomplete).
    #[error("the producer failed; every event it published has been consumed")]
    ProducerFailed,
    /// [`Bus::stop`](crate::Bus::stop) stopped this consumer.
    #[error("this consumer was stopped")]
    Stopped,
    /// This consumer failed earlier (its thread panicked while it held a batch, or its
    /// event type's `Clone` panicked while a tap copied) and has left the bus.
    #[error("this consumer failed and has left the bus")]
    Failed,
    /// `poll_timeout`: nothing arrived before the timeout. Not an end: poll again.
    #[error("no event arrived before the timeout")]
    Timeout,
    /// A consumer this one depends on stopped (failed or left); this consumer has seen every
    /// event it processed and can go no further.
    #[error("upstream consumer {name:?} {}", if *.failed { "failed" } else { "left" })]
    UpstreamGone {
        /// The upstream consumer.
        name: String,
        /// Whether it failed (rather than left).
        failed: bool,
    },
    /// This lossy tap fell behind and was detached; it has been rejoined at the head.
    #[error("lagged: {missed} events were missed")]
    Lagged {
        /// Sequences published while detached that this tap never saw.
        missed: u64,
    },
}

/// Why a consumer stopped before the end of the stream.
#[derive(Debug, Clone)]
pub enum FailureCause {
    /// Its handler panicked with this message.
    Panicked(String),
    /// Its handler returned this error.
    Error(Arc<dyn StdError + Send + Sync + 'static>),
    /// A consumer it depends on stopped first.
    UpstreamGone {
        /// The upstream consumer.
        name: String,
        /// Whether it failed (rather than left).
        failed: bool,
    },
}

impl fmt::Display for FailureCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureCause::Panicked(msg) => write!(f, "handler panicked: {msg}"),
            FailureCause::Error(err) => write!(f, "handler error: {err}"),
            FailureCause::UpstreamGone { name, failed: true } => {
                write!(f, "upstream consumer {name:?} failed")
            }
            FailureCause::UpstreamGone {
                name,
                failed: false,
            } => {
                write!(f, "upstream consumer {name:?} left")
            }
        }
    }
}

/// A consumer that stopped early: which one, where, and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("consumer {name:?} stopped at sequence {sequence}: {cause}")]
pub struct ConsumerFailure {
    /// The consumer's name.
    pub name: String,
    /// The sequence it did not finish (every event before it was handled).
    pub sequence: u64,
    /// Why it stopped.
    pub cause: FailureCause,
}

/// The bus shut down, but the producer failed or some consumers had failed along the way.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", shutdown_message(*.producer_failed, .failures))]
pub struct ShutdownError {
    /// Whether the producer panicked or aborted (the stream ended early).
    pub producer_failed: bool,
    /// Each failed consumer.
    pub failures: Vec<ConsumerFailure>,
    /// The report of the whole run, failures included (boxed: an error stays small).
    pub report: Box<crate::metrics::Metrics>,
}

fn shutdown_message(producer_failed: bool, failures: &[ConsumerFailure]) -> String {
    let mut parts = Vec::new();
    if producer_failed {
        parts.push("the producer failed (panicked or aborted)".to_owned());
    }
    if !failures.is_empty() {
        let each: Vec<String> = failures.iter().map(|f| f.to_string()).collect();
        parts.push(format!(
            "{} consumer(s) failed: {}",
            failures.len(),
            each.join("; ")
        ));
    }
    parts.join("; ")
}
