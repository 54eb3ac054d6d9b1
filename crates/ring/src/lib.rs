//! A lock-free single-producer event ring with cursor-owning, topic-filtering consumers:
//! the engine of `ringbus`, the event bus of a trading node.
//!
//! The producer writes each event **once**, in place, into a slot of a power-of-two ring.
//! Every consumer owns a cursor, reads only the topics it asked for, in order and in
//! batches, and the ring is the only buffer. Nothing here knows about trading: the event
//! type is yours.
//!
//! # Quick start
//!
//! ```
//! use ringbus_ring::{PollError, RingBus, Subscription, Topic, TopicSet};
//!
//! const ORDER: Topic = Topic::new(1);
//! const TRADE: Topic = Topic::new(2);
//!
//! #[derive(Default)]
//! struct Event {
//!     id: u64,
//!     price: i64,
//! }
//!
//! // A ring of 1024 slots; a managed handler counting trades; a poller for orders.
//! let trades = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
//! let counter = trades.clone();
//! let (mut producer, mut bus) = RingBus::builder::<Event>()
//!     .capacity(1024)
//!     .handler(
//!         Subscription::new("trades").topics(TopicSet::of(&[TRADE])),
//!         move |_e: &Event, _seq: u64, _end_of_batch: bool| {
//!             counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
//!             Ok(())
//!         },
//!     )
//!     .poller(Subscription::new("orders").topics(TopicSet::of(&[ORDER])))
//!     .build()?;
//! let mut orders = bus.take_poller("orders").unwrap();
//!
//! // Write in place: no allocation, no move of the event per publish.
//! producer.publish(ORDER, |e| { e.id = 1; e.price = 100 });
//! // A cascade becomes visible all at once.
//! producer.publish_batch(2, |i, e| { e.id = 2 + i as u64; TRADE })?;
//! drop(producer); // closes the bus
//!
//! let mut ids = Vec::new();
//! loop {
//!     match orders.poll() {
//!         Ok(batch) => ids.extend(batch.iter().map(|(_seq, e)| e.id)),
//!         Err(PollError::Shutdown) => break,
//!         Err(e) => panic!("{e}"),
//!     }
//! }
//! assert_eq!(ids, [1]);
//! bus.join()?;
//! assert_eq!(trades.load(std::sync::atomic::Ordering::Relaxed), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Consumers
//!
//! * A **handler** ([`EventHandler`], or a closure) runs on a thread the bus manages; it is
//!   called per event with the sequence and an end-of-batch flag, plus `on_start` and
//!   `on_shutdown`.
//! * A **poller** ([`Poller`]) is driven by your thread: [`Poller::poll`] returns the
//!   available batch; dropping the batch releases it.
//! * A **lossy tap** ([`Tap`], or [`Bus::spawn_tap`]) never slows the producer (below).
//! * With the `async` feature, an **async poller** or **async tap** is driven by a task of
//!   any executor (below).
//!
//! A consumer's [`TopicSet`] is checked against a per-slot tag: events of other topics cost
//! it no handler call and no read of the payload (and, on a bus with keys, its key filter
//! against a per-slot key: see below). `Subscription::after` makes a consumer see
//! an event only after another has processed it (pipelines, diamonds); the producer is held
//! back only by the consumers at the ends of the chains.
//!
//! # Managed threads
//!
//! A handler's (or managed tap's) thread is named after its consumer, or as
//! [`Subscription::thread_name`] says, so `top`, `perf` and a crash dump say which consumer is
//! which (Linux keeps the first 15 bytes, cut at a character boundary);
//! [`Subscription::pin_to_core`] pins it to a core before it runs; and
//! [`Builder::spawn_hook`] starts every managed thread of the bus the user's way (priorities,
//! stack sizes: see [`ConsumerThread`]). A core the system lacks is
//! [`ConfigError::NoSuchCore`], when the consumer is started.
//!
//! # Async
//!
#![cfg_attr(
    feature = "async",
    doc = r#"With the `async` feature (off by default: the engine's default build has no async
dependency), [`Bus::subscribe_async`] and [`Bus::tap_async`] (or [`Poller::into_async`],
[`Tap::into_async`]) give consumers for async code: [`AsyncPoller`] and [`AsyncTap`] are
[`futures_core::Stream`]s of `(sequence, event)` copies, and [`AsyncPoller::batch`] lends
a batch from the ring without a copy, from any executor. They keep every guarantee of the
blocking ones: order, topic filter, gating (or, for a tap, `Lagged` with the number
missed), and the end of the stream: a clean shutdown ends the stream (`None`); a producer
failure, a stop or a departed upstream is yielded once as an `Err` first.

A waiting task never blocks its executor's thread: it spins and yields as its wait
strategy says, then registers its waker with the bus's wake-up protocol, exactly where a
thread would park, so publishing pays for it only while it is registered. Dropping the
stream (or cancelling its task) leaves the bus at once.

```
use futures_util::StreamExt;
use ringbus_ring::{PollError, RingBus, Subscription, Topic, TopicSet};

const TRADE: Topic = Topic::new(2);
let (mut producer, bus) = RingBus::builder::<u64>().capacity(1024).build().unwrap();
let mut trades = bus
    .subscribe_async(Subscription::new("api").topics(TopicSet::of(&[TRADE])))
    .unwrap();
let runtime = tokio::runtime::Runtime::new().unwrap();
let api = runtime.spawn(async move {
    let mut sizes = Vec::new();
    while let Some(trade) = trades.next().await {
        match trade {
            Ok((_sequence, size)) => sizes.push(size),
            Err(PollError::ProducerFailed) => break, // the producer crashed
            Err(other) => panic!("{other}"),
        }
    }
    sizes // `None`: the producer closed the bus and every trade was seen
});
producer.publish(TRADE, |e| *e = 5);
producer.publish(Topic::new(1), |e| *e = 0); // another topic: not delivered
producer.publish(TRADE, |e| *e = 7);
drop(producer);
assert_eq!(runtime.block_on(api).unwrap(), [5, 7]);
```
"#
)]
#![cfg_attr(
    not(feature = "async"),
    doc = "With the `async` feature (off by default: the engine's default build has no async \
           dependency), `Bus::subscribe_async` and `Bus::tap_async` give consumers for async \
           code: `Stream`s usable from any executor, registered with the bus's wake-up protocol \
           while they wait.\n"
)]
//!
//! # Keys: filtering beyond topics
//!
//! An event type that tells its own topic and a small key ([`Routed`], [`SlotKey`]) gets a
//! bus that stores the key beside each topic tag ([`RingBus::routed`]).
//! [`Producer::publish_event`] takes topic and key from the event, so neither can disagree
//! with it (as do its in-place, batch, non-blocking and bounded forms: below), and a
//! subscription may filter on keys ([`Subscription::keys`]): a consumer of
//! one market or one party skips the others' events reading their tag and key only. A key
//! may be a digest; when it cannot tell, the event decides ([`Routed::matches`]), so filtering
//! stays exact. A bus without keys is `Bus<T, ()>`, the default, and pays nothing for them.
//!
//! ```
//! use ringbus_ring::{KeyMatch, RingBus, Routed, SlotKey, Subscription, Topic, TopicSet};
//!
//! /// Which market an order book event is about.
//! #[derive(Clone, Copy, Debug, Default, PartialEq)]
//! struct Market(u16);
//! impl SlotKey for Market {
//!     type Filter = Market;
//!     fn check(&self, wanted: &Market) -> KeyMatch { KeyMatch::exact(self == wanted) }
//! }
//!
//! #[derive(Clone, Copy, Debug, Default)]
//! enum Book { #[default] Open, Quote { market: u16, px: u64 } }
//! impl Routed for Book {
//!     type Key = Market;
//!     fn topic(&self) -> Topic {
//!         match self { Book::Open => Topic::new(0), Book::Quote { .. } => Topic::new(1) }
//!     }
//!     fn key(&self) -> Market {
//!         match self { Book::Open => Market(0), Book::Quote { market, .. } => Market(*market) }
//!     }
//!     fn matches(&self, wanted: &Market) -> bool { self.key() == *wanted }
//! }
//!
//! let (mut producer, bus) = RingBus::routed::<Book>().build()?;
//! // Quotes of market 7, and every `Open` whatever its key.
//! let mut seven = bus.subscribe(
//!     Subscription::new("market 7")
//!         .topics(TopicSet::of(&[Topic::new(1)]))
//!         .keys(Market(7))
//!         .always(TopicSet::of(&[Topic::new(0)])),
//! )?;
//! producer.publish_events([
//!     Book::Open,
//!     Book::Quote { market: 3, px: 99 },
//!     Book::Quote { market: 7, px: 101 },
//! ])?;
//! assert_eq!(seven.poll()?.iter().map(|(seq, _)| seq).collect::<Vec<_>>(), [0, 2]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Backpressure
//!
//! A gating consumer a whole ring behind makes the producer wait, by the bus's
//! [`WaitStrategy`]. Nothing is ever dropped for a gating consumer.
//! [`Producer::try_publish`] returns [`PublishError::Full`] instead of waiting, and
//! [`Producer::publish_timeout`] and [`Producer::publish_batch_timeout`] wait at most a
//! given time.
//!
//! The typed publishes have the same forms: [`Producer::try_publish_event`],
//! [`Producer::try_publish_event_with`], [`Producer::try_publish_events`] and
//! [`Producer::try_publish_events_with`] do not wait, [`Producer::publish_event_timeout`],
//! [`Producer::publish_event_with_timeout`], [`Producer::publish_events_timeout`] and
//! [`Producer::publish_events_with_timeout`] wait at most `timeout`. A refused publish writes
//! nothing; the forms that move events in hand them back in a [`NotPublished`], so a producer
//! that sheds load or retries loses none.
//!
//! # Waiting
//!
//! The default, [`WaitStrategy::Adaptive`], spins, then yields, then parks once the bus has
//! been quiet for 5 ms (1 ms for a consumer whose stream went quiet in the last 100 ms): it
//! keeps working with more threads than cores, rides out a producer's hiccup without parking,
//! and a quiet bus costs no CPU. Publishing and releasing pay nothing for parking while nobody
//! is parked (on Linux the barrier that makes parking lose no wake-up is paid by the thread
//! about to park, with `membarrier`), so the default is as fast as the spinning strategies. Each
//! consumer may wait its own way ([`Subscription::wait_strategy`]): a store writer can park
//! while a latency-critical consumer of the same bus spins.
//!
//! # Slow consumers
//!
//! A consumer subscribed with [`Subscription::lossy`] is a tap: when it falls more than its
//! [`TapPolicy`] lag behind (or, at the ring's edge, once the producer has waited its
//! `max_wait` on it) the producer *detaches* it and goes on. The tap's next read returns
//! [`PollError::Lagged`] with the number of events it missed, and it continues from the
//! head. Taps copy events out of the ring under a flag the producer respects, so a tap
//! never sees a torn event. Consumers may join a running bus ([`Bus::subscribe`],
//! [`Bus::spawn`], [`Bus::tap`]) at the next event or, with [`StartAt::Sequence`], at an
//! earlier one still in the ring; they leave by being dropped or [`Bus::stop`]ped, and stop
//! gating at once. [`Bus::metrics`] shows every consumer's position, lag and state.
//!
//! # Shutdown
//!
//! Dropping the [`Producer`] (or [`Producer::close`]) closes the bus. Every consumer then
//! drains every published event: handlers get `on_shutdown` with
//! [`ShutdownReason::Closed`], pollers and taps get [`PollError::Shutdown`] after the last
//! event. [`Bus::join`] waits for managed threads. [`Bus::stop`] stops one consumer: a
//! handler at its next batch, a poller or tap at its next poll ([`PollError::Stopped`]).
//!
//! Every wait has a bounded form: [`Poller::poll_timeout`], [`Tap::poll_timeout`],
//! [`Producer::publish_timeout`] and [`Producer::publish_event_timeout`] return a `Timeout`
//! error that ends nothing.
//!
//! # Failure
//!
//! What each kind of failure does; in every case the producer never waits on a consumer that
//! has gone, and [`Bus::metrics`] and [`Bus::join`] report it.
//!
//! * **A handler** that returns an error or panics stops *that consumer only*: the events
//!   before the failing one count as processed, it stops gating the producer at once, its
//!   failure (sequence and cause) is kept, and consumers that depend on it drain what it
//!   processed and then stop too ([`PollError::UpstreamGone`]). After an error it gets
//!   `on_shutdown` ([`ShutdownReason::HandlerError`]); after a panic it does not (its state
//!   is suspect). A panic in `on_start`, `on_lagged` or `on_shutdown` fails it the same way.
//! * **A poller** whose thread panics while it holds a [`Batch`] releases nothing of the
//!   batch it had not released ([`Batch::release_to`]): it fails at the first unreleased
//!   sequence, so dependents never see an event it may not have finished. A poller dropped
//!   by a panicking thread fails likewise; a later poll returns [`PollError::Failed`].
//! * **A tap** whose event type's `Clone` panics while it copies fails with the panic's
//!   message (a managed tap's thread ends; a polled tap's caller gets the panic). The copy
//!   is the only user code that can run while the producer waits on a tap (when it detaches
//!   one mid-copy), and the tap lets the producer go on as it unwinds.
//! * **The producer**, if it panics or calls [`Producer::abort`], ends the stream as failed:
//!   consumers still drain every event it published, then see
//!   [`PollError::ProducerFailed`] (handlers [`ShutdownReason::ProducerFailed`]), and
//!   [`Bus::join`] returns an error with `producer_failed`. A store writer can tell a crash
//!   from the end of the stream and leave a half-written unit uncommitted. A panic inside a
//!   `publish_batch` fill publishes nothing of that batch.
//!
//! Bad configuration is a [`ConfigError`], never a panic. The event type must be
//! [`BusEvent`] (`Send + Sync + 'static`); the compiler names that bound when it is not.

#![deny(unsafe_op_in_unsafe_fn, missing_docs, missing_debug_implementations)]
#![warn(clippy::undocumented_unsafe_blocks)]

#[cfg(feature = "async")]
mod async_poller;
#[cfg(feature = "async")]
mod async_tap;
#[cfg(all(test, feature = "async", not(loom)))]
mod async_tests;
mod barrier;
mod builder;
mod bus;
mod cursor;
#[cfg(all(test, not(loom)))]
mod engine_tests;
mod error;
mod handler;
mod key;
#[cfg(all(test, not(loom)))]
mod key_tests;
#[cfg(all(test, loom))]
mod loom_models;
mod membership;
mod metrics;
mod poller;
mod producer;
mod reader;
mod shared;
mod slots;
mod subscription;
mod sync;
mod tap;
#[cfg(feature = "async")]
mod task_wait;
mod thread;
mod topic;
#[cfg(all(test, not(loom)))]
mod typed_publish_tests;
mod wait;

#[cfg(feature = "async")]
pub use async_poller::AsyncPoller;
#[cfg(feature = "async")]
pub use async_tap::AsyncTap;
pub use builder::{Builder, Built, BusEvent, RingBus};
pub use bus::Bus;
pub use error::{
    ConfigError, ConsumerFailure, FailureCause, HandlerError, NotPublished, OutOfBatch, PollError,
    PublishError, ShutdownError,
};
pub use handler::{EventHandler, ShutdownReason};
pub use key::{KeyMatch, Routed, SlotKey};
pub use metrics::{ConsumerMetrics, ConsumerState, Metrics, ProducerMetrics};
pub use poller::{Batch, Poller};
pub use producer::Producer;
pub use subscription::{ConsumerId, ConsumerKind, Dependency, StartAt, Subscription, TapPolicy};
pub use tap::Tap;
pub use thread::ConsumerThread;
pub use topic::{Topic, TopicOutOfRange, TopicSet};
pub use wait::WaitStrategy;
