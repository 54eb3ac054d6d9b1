//! Building a bus: the ring, its settings, and the consumers declared up front.

use crate::barrier::Barriers;
use crate::bus::Bus;
use crate::error::ConfigError;
use crate::handler::EventHandler;
use crate::key::{Routed, SlotKey};
use crate::producer::Producer;
use crate::reader::KeyFilter;
use crate::shared::{Config, Confirm, Shared};
use crate::slots::Slots;
use crate::subscription::{ConsumerKind, Dependency, Subscription};
use crate::sync::Arc;
use crate::thread::{ConsumerThread, SpawnHook};
use crate::wait::WaitStrategy;
use std::collections::HashMap;

/// Departed consumers' figures a bus keeps unless told otherwise.
const DEFAULT_DEPARTED_KEPT: usize = 1024;

/// What an event type must be: shared between the producer's thread, which writes it in
/// place, and the consumers' threads, which read it at the same time.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a bus event: it must be `Send + Sync + 'static`",
    label = "not `Send + Sync + 'static`",
    note = "the producer writes events on its thread while consumers read them on theirs; \
            wrap non-thread-safe parts (e.g. `Rc` -> `Arc`, `RefCell` -> `Mutex`) or keep them out of the event"
)]
pub trait BusEvent: Send + Sync + 'static {}

impl<T: Send + Sync + 'static> BusEvent for T {}

/// The entry point: `RingBus::builder::<Event>()`.
#[derive(Debug)]
pub struct RingBus;

impl RingBus {
    /// A builder for a bus of `T` events, with the defaults: capacity 1024, the adaptive wait
    /// strategy, at most 64 consumers at once, consumers may join and leave while it runs.
    ///
    /// Events are written on the producer's thread and read on the consumers' at the same
    /// time, so `T` must be [`BusEvent`]: `Send + Sync + 'static`.
    ///
    /// ```compile_fail,E0277
    /// // `Rc` is neither `Send` nor `Sync`: error[E0277]: `Rc<u64>` cannot be a bus event
    /// let builder = ringbus_ring::RingBus::builder::<std::rc::Rc<u64>>();
    /// ```
    pub fn builder<T: BusEvent>() -> Builder<T> {
        fn no_keys<T>(_: &T, _: &()) -> bool {
            true
        }
        Builder::new(no_keys::<T>)
    }

    /// A builder for a bus of [`Routed`] events, with the same defaults as
    /// [`RingBus::builder`]: every slot also stores the event's key (`T::Key`) beside its
    /// topic tag, [`Producer::publish_event`] takes both from the event, and subscriptions may
    /// filter on keys ([`Subscription::keys`]).
    ///
    /// ```
    /// use ringbus_ring::{KeyMatch, RingBus, Routed, SlotKey, Subscription, Topic};
    ///
    /// #[derive(Clone, Copy, Debug, Default, PartialEq)]
    /// struct Venue(u8);
    /// impl SlotKey for Venue {
    ///     type Filter = Venue;
    ///     fn check(&self, wanted: &Venue) -> KeyMatch { KeyMatch::exact(self == wanted) }
    /// }
    /// #[derive(Default)]
    /// struct Quote { venue: u8, px: u64 }
    /// impl Routed for Quote {
    ///     type Key = Venue;
    ///     fn topic(&self) -> Topic { Topic::new(3) }
    ///     fn key(&self) -> Venue { Venue(self.venue) }
    ///     fn matches(&self, wanted: &Venue) -> bool { self.venue == wanted.0 }
    /// }
    ///
    /// let (mut producer, bus) = RingBus::routed::<Quote>().capacity(64).build()?;
    /// let mut one = bus.subscribe(Subscription::new("venue 1").keys(Venue(1)))?;
    /// producer.publish_event(Quote { venue: 2, px: 99 });
    /// producer.publish_event(Quote { venue: 1, px: 100 });
    /// let batch = one.poll()?;
    /// assert_eq!(batch.iter().map(|(_, q)| q.px).collect::<Vec<_>>(), [100]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [`Producer::publish_event`]: crate::Producer::publish_event
    pub fn routed<T: BusEvent + Routed>() -> Builder<T, T::Key> {
        Builder::new(T::matches)
    }
}

/// What [`Builder::build`] returns: the producer and the bus handle.
pub type Built<T, K = ()> = (Producer<T, K>, Bus<T, K>);

type Spawner<T, K> = Box<dyn FnOnce(&Bus<T, K>, Subscription) -> Result<(), ConfigError> + Send>;

enum Declared<T, K: SlotKey> {
    Handler(Subscription, Spawner<T, K>),
    Poller(Subscription),
}

impl<T, K: SlotKey> Declared<T, K> {
    fn subscription(&self) -> &Subscription {
        match self {
            Declared::Handler(sub, _) | Declared::Poller(sub) => sub,
        }
    }
}

/// Settings and build-time consumers of a bus; [`Builder::build`] checks them all.
///
/// ```
/// use ringbus_ring::{ConfigError, RingBus, Subscription, WaitStrategy};
/// let err = RingBus::builder::<u64>().capacity(1000).build().unwrap_err();
/// assert_eq!(err, ConfigError::NotPowerOfTwo(1000));
///
/// let err = RingBus::builder::<u64>()
///     .poller(Subscription::new("a").after("b"))
///     .poller(Subscription::new("b").after("a"))
///     .build()
///     .unwrap_err();
/// assert!(matches!(err, ConfigError::DependencyCycle(_)));
/// ```
pub struct Builder<T, K: SlotKey = ()> {
    capacity: usize,
    strategy: WaitStrategy,
    max_consumers: usize,
    departed_kept: usize,
    replay_window: Option<usize>,
    dynamic: bool,
    declared: Vec<Declared<T, K>>,
    spawn_hook: Option<SpawnHook>,
    confirm: Confirm<T, K>,
}

impl<T, K: SlotKey> std::fmt::Debug for Builder<T, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("capacity", &self.capacity)
            .field("strategy", &self.strategy)
            .field("max_consumers", &self.max_consumers)
            .field("departed_kept", &self.departed_kept)
            .field("replay_window", &self.replay_window)
            .field("dynamic", &self.dynamic)
            .field("spawn_hook", &self.spawn_hook.is_some())
            .field(
                "consumers",
                &self
                    .declared
                    .iter()
                    .map(|d| d.subscription().name.clone())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl<T: Send + Sync + 'static, K: SlotKey> Builder<T, K> {
    fn new(confirm: Confirm<T, K>) -> Self {
        Builder {
            capacity: 1024,
            strategy: WaitStrategy::default(),
            max_consumers: 64,
            departed_kept: DEFAULT_DEPARTED_KEPT,
            replay_window: None,
            dynamic: true,
            declared: Vec::new(),
            spawn_hook: None,
            confirm,
        }
    }

    /// Ring capacity: a power of two, the only buffering there is. Default 1024.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// How consumers wait for events and the producer for space. Default: adaptive.
    pub fn wait_strategy(mut self, strategy: WaitStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// The most consumers present at once (1..=4096). Default 64.
    pub fn max_consumers(mut self, max: usize) -> Self {
        self.max_consumers = max;
        self
    }

    /// How many departed consumers' final figures the bus keeps for [`Bus::metrics`] and
    /// [`Bus::join`]: the most recent ones, a failed consumer's before any that left cleanly.
    /// Default 1024. A bus whose consumers come and go for as long as it runs (a live node's
    /// stream clients) keeps bounded memory; [`Metrics::departed_forgotten`] counts the
    /// figures let go.
    ///
    /// [`Bus::metrics`]: crate::Bus::metrics
    /// [`Bus::join`]: crate::Bus::join
    /// [`Metrics::departed_forgotten`]: crate::Metrics::departed_forgotten
    pub fn departed_kept(mut self, kept: usize) -> Self {
        self.departed_kept = kept;
        self
    }

    /// How many recent events a consumer can always join back to (`StartAt::Sequence`).
    /// The producer re-reads cursors at least every `capacity - window` events to keep that
    /// promise (a batch larger than `capacity - window` shrinks the window while it is
    /// written). Default: half the capacity.
    pub fn replay_window(mut self, window: usize) -> Self {
        self.replay_window = Some(window);
        self
    }

    /// Whether consumers may join after `build` (default `true`). With `false`, only the
    /// consumers declared here exist, and the producer skips the membership check on its
    /// slow path.
    pub fn dynamic_membership(mut self, dynamic: bool) -> Self {
        self.dynamic = dynamic;
        self
    }

    /// Starts the threads of managed consumers (handlers and managed taps, declared here or
    /// spawned later) with `hook` instead of `std::thread::spawn`: a thread factory, for
    /// priorities, stack sizes or a runtime's own threads. The hook must start a thread that
    /// calls [`ConsumerThread::run`] and return its handle (or the error that kept it from
    /// starting one: the consumer is then refused with [`ConfigError::Spawn`]). See
    /// [`ConsumerThread`].
    pub fn spawn_hook(
        mut self,
        hook: impl Fn(ConsumerThread) -> std::io::Result<std::thread::JoinHandle<()>>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        self.spawn_hook = Some(SpawnHook(std::sync::Arc::new(hook)));
        self
    }

    /// Declares a gating consumer run by `handler` on a thread the bus manages.
    pub fn handler<H: EventHandler<T>>(mut self, subscription: Subscription, handler: H) -> Self {
        let spawner: Spawner<T, K> =
            Box::new(move |bus: &Bus<T, K>, sub: Subscription| bus.spawn_declared(sub, handler));
        self.declared.push(Declared::Handler(subscription, spawner));
        self
    }

    /// Declares a gating consumer the user drives; fetch it with [`Bus::take_poller`].
    pub fn poller(mut self, subscription: Subscription) -> Self {
        self.declared.push(Declared::Poller(subscription));
        self
    }

    /// Builds the bus, its slots filled with `T::default()`.
    pub fn build(self) -> Result<Built<T, K>, ConfigError>
    where
        T: Default,
    {
        self.build_with(T::default)
    }

    /// Builds the bus, its slots filled by `factory` (called `capacity` times, now: slots
    /// are never allocated again).
    pub fn build_with(self, factory: impl FnMut() -> T) -> Result<Built<T, K>, ConfigError> {
        if !(1..=4096).contains(&self.max_consumers) {
            return Err(ConfigError::InvalidMaxConsumers(self.max_consumers));
        }
        if self.declared.len() > self.max_consumers {
            return Err(ConfigError::TooManyConsumers(self.max_consumers));
        }
        let order = self.check_declared()?;
        let slots = Slots::new(self.capacity, factory)?;
        let window = self.replay_window.unwrap_or(self.capacity / 2);
        if window >= self.capacity {
            return Err(ConfigError::InvalidReplayWindow {
                window,
                capacity: self.capacity,
            });
        }
        let barriers = Barriers::available();
        // With asymmetric barriers a signal is a compiler fence and a load: every bus signals,
        // so any consumer may choose to park. With symmetric ones a signal is a SeqCst fence
        // per publish, paid only if the bus's strategy, or a declared consumer's, parks.
        let signals = barriers == Barriers::Asymmetric
            || self.strategy.may_park()
            || self
                .declared
                .iter()
                .any(|d| d.subscription().wait.is_some_and(WaitStrategy::may_park));
        let config = Config {
            strategy: self.strategy,
            signals,
            barriers,
            replay_window: window as u64,
            dynamic: self.dynamic,
            bus_id: next_bus_id(),
            departed_kept: self.departed_kept,
        };
        let shared = Arc::new(Shared::new(slots, self.confirm, self.max_consumers, config));
        let mut bus = Bus::new(Arc::clone(&shared), self.spawn_hook);
        let mut declared: Vec<Option<Declared<T, K>>> =
            self.declared.into_iter().map(Some).collect();
        let added = order
            .into_iter()
            .try_for_each(|i| match declared[i].take() {
                Some(Declared::Poller(sub)) => bus.add_declared_poller(sub),
                Some(Declared::Handler(sub, spawn)) => spawn(&bus, sub),
                None => Ok(()),
            });
        let producer = Producer::new(shared);
        if let Err(error) = added {
            // Nothing half-built survives: closing the bus ends the handler threads already
            // started (they see an empty, closed stream), and joining waits for them.
            drop(producer);
            let _ = bus.join();
            return Err(error);
        }
        Ok((producer, bus))
    }

    /// Checks names, kinds and dependencies; returns an order in which every consumer comes
    /// after those it depends on.
    fn check_declared(&self) -> Result<Vec<usize>, ConfigError> {
        let mut by_name = HashMap::new();
        for (i, d) in self.declared.iter().enumerate() {
            let sub = d.subscription();
            if by_name.insert(sub.name.clone(), i).is_some() {
                return Err(ConfigError::DuplicateName(sub.name.clone()));
            }
            if matches!(sub.kind, ConsumerKind::Tap(_)) {
                return Err(ConfigError::WrongKind(sub.name.clone()));
            }
            if matches!(d, Declared::Poller(_)) && sub.has_thread_settings() {
                return Err(ConfigError::NotManaged(sub.name.clone()));
            }
            if sub.all_topics().is_empty() {
                return Err(ConfigError::EmptyTopicSet(sub.name.clone()));
            }
            KeyFilter::<K>::of(sub)?;
        }
        let mut deps: Vec<Vec<usize>> = Vec::with_capacity(self.declared.len());
        for d in &self.declared {
            let sub = d.subscription();
            let mut edges = Vec::new();
            for dep in &sub.after {
                match dep {
                    Dependency::Name(name) => match by_name.get(name) {
                        Some(&j) => edges.push(j),
                        None => {
                            return Err(ConfigError::UnknownDependency {
                                consumer: sub.name.clone(),
                                dependency: name.clone(),
                            })
                        }
                    },
                    // No id of this bus exists before it is built.
                    Dependency::Id(_) => {
                        return Err(ConfigError::ForeignDependency {
                            consumer: sub.name.clone(),
                        })
                    }
                }
            }
            deps.push(edges);
        }
        topological_order(&deps).map_err(|cycle| {
            ConfigError::DependencyCycle(
                cycle
                    .into_iter()
                    .map(|i| self.declared[i].subscription().name.clone())
                    .collect(),
            )
        })
    }
}

/// Orders nodes so each follows its dependencies, or returns a cycle (first node repeated
/// at the end).
fn topological_order(deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        n: usize,
        deps: &[Vec<usize>],
        marks: &mut [Mark],
        path: &mut Vec<usize>,
        order: &mut Vec<usize>,
    ) -> Result<(), Vec<usize>> {
        match marks[n] {
            Mark::Done => return Ok(()),
            Mark::Open => {
                let from = path.iter().position(|&p| p == n).unwrap_or(0);
                let mut cycle = path[from..].to_vec();
                cycle.push(n);
                return Err(cycle);
            }
            Mark::New => {}
        }
        marks[n] = Mark::Open;
        path.push(n);
        for &d in &deps[n] {
            visit(d, deps, marks, path, order)?;
        }
        path.pop();
        marks[n] = Mark::Done;
        order.push(n);
        Ok(())
    }
    let mut marks = vec![Mark::New; deps.len()];
    let mut order = Vec::with_capacity(deps.len());
    for n in 0..deps.len() {
        visit(n, deps, &mut marks, &mut Vec::new(), &mut order)?;
    }
    Ok(order)
}

fn next_bus_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    // Relaxed: only uniqueness matters.
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::topological_order;

    #[test]
    fn orders_a_diamond_and_finds_cycles() {
        // 0 <- 1, 0 <- 2, {1,2} <- 3
        let order = topological_order(&[vec![], vec![0], vec![0], vec![1, 2]]).unwrap();
        let pos = |n| order.iter().position(|&x| x == n).unwrap();
        assert!(pos(0) < pos(1) && pos(0) < pos(2) && pos(1) < pos(3) && pos(2) < pos(3));
        assert_eq!(
            topological_order(&[vec![1], vec![2], vec![0]]).unwrap_err(),
            vec![0, 1, 2, 0]
        );
        assert_eq!(topological_order(&[vec![0]]).unwrap_err(), vec![0, 0]);
    }
}
