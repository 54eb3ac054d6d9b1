//! What a consumer asks for when it subscribes: a name, topics, keys, dependencies, and its
//! kind.

use crate::key::AnyFilter;
use crate::topic::TopicSet;
use crate::wait::WaitStrategy;
use std::time::Duration;

/// Identifies a consumer of one bus, for dependencies and for stopping it.
///
/// An id stays unique for the life of its bus: a departed consumer's id never names the next
/// consumer that reuses its table slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConsumerId {
    pub(crate) bus: u64,
    pub(crate) index: u32,
    pub(crate) incarnation: u64,
}

/// A consumer this one must not overtake: by name or by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dependency {
    /// A live consumer (or one declared on the same builder) with this name.
    Name(String),
    /// A live consumer with this id.
    Id(ConsumerId),
}

impl From<&str> for Dependency {
    fn from(name: &str) -> Self {
        Dependency::Name(name.to_owned())
    }
}

impl From<String> for Dependency {
    fn from(name: String) -> Self {
        Dependency::Name(name)
    }
}

impl From<ConsumerId> for Dependency {
    fn from(id: ConsumerId) -> Self {
        Dependency::Id(id)
    }
}

impl std::fmt::Display for Dependency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dependency::Name(n) => f.write_str(n),
            Dependency::Id(id) => write!(f, "consumer #{}.{}", id.index, id.incarnation),
        }
    }
}

/// When a lossy tap is cut loose so that it never slows the producer.
///
/// By default a tap is detached the moment it would make the producer wait (it is a whole
/// ring behind). [`TapPolicy::lag`] detaches it earlier; [`TapPolicy::wait`] lets the
/// producer wait a little for it at the ring's edge first.
///
/// ```
/// use ringbus_ring::TapPolicy;
/// use std::time::Duration;
/// let policy = TapPolicy::default().lag(512).wait(Duration::from_micros(50));
/// assert_eq!(policy.max_lag, Some(512));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TapPolicy {
    /// Detach the tap once it is more than this many events behind the producer
    /// (1..=capacity; `None`: the capacity).
    pub max_lag: Option<u64>,
    /// When the tap is a whole ring behind, the longest the producer waits for it before
    /// detaching it (`None`: not at all). Only meaningful when `max_lag` is the capacity.
    pub max_wait: Option<Duration>,
}

impl TapPolicy {
    /// Detach beyond `max_lag` events behind.
    pub const fn lag(mut self, max_lag: u64) -> Self {
        self.max_lag = Some(max_lag);
        self
    }

    /// At the ring's edge, let the producer wait up to `wait` before detaching.
    pub const fn wait(mut self, wait: Duration) -> Self {
        self.max_wait = Some(wait);
        self
    }
}

/// Whether the producer waits for a consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumerKind {
    /// The producer waits for it: it never misses an event. The default.
    Gating,
    /// A lossy tap: detached when it lags past its policy; told how many events it missed.
    Tap(TapPolicy),
}

/// Where a consumer joining a running bus starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StartAt {
    /// The next event published after the join (for build-time consumers: the first event).
    #[default]
    Next,
    /// This earlier sequence, if its event is still surely in the ring (see `replay_window`).
    Sequence(u64),
}

/// A consumer's subscription: its name, topics, key filter, dependencies, kind and start.
///
/// An event reaches the consumer if its topic is one of the subscription's and its key passes
/// the key filter ([`Subscription::keys`]), or if its topic is one of those it takes
/// [`always`](Subscription::always).
///
/// ```
/// use ringbus_ring::{Subscription, Topic, TopicSet};
/// let store = Subscription::new("store")
///     .topics(TopicSet::of(&[Topic::new(1), Topic::new(2)]))
///     .after("positions");
/// assert_eq!(store.name(), "store");
/// ```
#[derive(Clone, Debug)]
pub struct Subscription {
    pub(crate) name: String,
    pub(crate) topics: TopicSet,
    /// What keys must pass, if anything (checked at join against the bus's key type).
    pub(crate) keys: Option<AnyFilter>,
    /// Topics that reach the consumer whatever their key.
    pub(crate) always: TopicSet,
    pub(crate) after: Vec<Dependency>,
    pub(crate) kind: ConsumerKind,
    pub(crate) start: StartAt,
    /// How this consumer waits (`None`: the bus's strategy).
    pub(crate) wait: Option<WaitStrategy>,
    /// A managed consumer's thread name (`None`: the consumer's name).
    pub(crate) thread_name: Option<String>,
    /// The core a managed consumer's thread is pinned to.
    pub(crate) core: Option<usize>,
}

impl Subscription {
    /// A gating subscription to every topic, named `name` (names are unique per bus).
    pub fn new(name: impl Into<String>) -> Self {
        Subscription {
            name: name.into(),
            topics: TopicSet::all(),
            keys: None,
            always: TopicSet::empty(),
            after: Vec::new(),
            kind: ConsumerKind::Gating,
            start: StartAt::Next,
            wait: None,
            thread_name: None,
            core: None,
        }
    }

    /// How this consumer waits for events, instead of the bus's strategy: a store writer may
    /// park while a latency-critical consumer of the same bus spins.
    ///
    /// ```
    /// use ringbus_ring::{RingBus, Subscription, WaitStrategy};
    /// let (_producer, bus) = RingBus::builder::<u64>().build().unwrap();
    /// let hot = bus
    ///     .subscribe(Subscription::new("risk").wait_strategy(WaitStrategy::BusySpin))
    ///     .unwrap();
    /// let cold = bus
    ///     .subscribe(Subscription::new("store").wait_strategy(WaitStrategy::Blocking))
    ///     .unwrap();
    /// ```
    pub fn wait_strategy(mut self, strategy: WaitStrategy) -> Self {
        self.wait = Some(strategy);
        self
    }

    /// Only events of these topics reach the consumer.
    pub fn topics(mut self, topics: TopicSet) -> Self {
        self.topics = topics;
        self
    }

    /// Only events whose key passes `filter` reach the consumer (besides those of its
    /// [`always`](Subscription::always) topics): it skips the others reading their tag and
    /// key, never the event. `filter` must be the [`SlotKey::Filter`] of the bus's key type
    /// ([`RingBus::routed`]); subscribing with another is a
    /// [`ConfigError::KeyFilterType`].
    ///
    /// [`SlotKey::Filter`]: crate::SlotKey::Filter
    /// [`RingBus::routed`]: crate::RingBus::routed
    /// [`ConfigError::KeyFilterType`]: crate::ConfigError::KeyFilterType
    pub fn keys<F: std::fmt::Debug + Send + Sync + 'static>(mut self, filter: F) -> Self {
        self.keys = Some(AnyFilter::new(filter));
        self
    }

    /// Events of these topics reach the consumer whatever their key: they are added to its
    /// topics and the key filter does not apply to them (the block framing a store commits
    /// on, for a store of one market).
    ///
    /// ```
    /// use ringbus_ring::{Subscription, Topic, TopicSet};
    /// const END_BLOCK: Topic = Topic::new(2);
    /// let sub = Subscription::new("market 3")
    ///     .topics(TopicSet::of(&[Topic::new(5), Topic::new(6)]))
    ///     .keys(3u16)
    ///     .always(TopicSet::of(&[END_BLOCK]));
    /// assert_eq!(sub.all_topics().len(), 3);
    /// ```
    pub fn always(mut self, topics: TopicSet) -> Self {
        self.always = topics;
        self
    }

    /// Every topic that can reach the consumer: its topics and its `always` ones.
    pub fn all_topics(&self) -> TopicSet {
        self.topics.union(self.always)
    }

    /// The consumer sees an event only after `dependency` has processed it.
    pub fn after(mut self, dependency: impl Into<Dependency>) -> Self {
        self.after.push(dependency.into());
        self
    }

    /// Makes the consumer a lossy tap with this policy.
    pub fn lossy(mut self, policy: TapPolicy) -> Self {
        self.kind = ConsumerKind::Tap(policy);
        self
    }

    /// Where to start when joining a running bus.
    pub fn start_at(mut self, start: StartAt) -> Self {
        self.start = start;
        self
    }

    /// Names a managed consumer's thread (a handler's, a managed tap's): by default it has
    /// the consumer's name. Linux keeps the first 15 bytes (cut at a character boundary) for
    /// `top`, `perf` and `/proc/<pid>/task/*/comm`; the full name stays the Rust thread's
    /// (panic messages, debuggers). A name with a NUL byte is refused
    /// ([`ConfigError::InvalidThreadName`](crate::ConfigError::InvalidThreadName)).
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = Some(name.into());
        self
    }

    /// Pins a managed consumer's thread to `core` (a number as the operating system counts
    /// cores, as `core_affinity::get_core_ids` lists them) before it runs. A core the system
    /// does not have, or this process may not use, is refused when the consumer is started
    /// ([`ConfigError::NoSuchCore`](crate::ConfigError::NoSuchCore)).
    ///
    /// ```
    /// use ringbus_ring::{RingBus, Subscription};
    /// let core = core_affinity::get_core_ids().unwrap()[0].id; // a core this process may use
    /// let (producer, bus) = RingBus::builder::<u64>()
    ///     .handler(
    ///         Subscription::new("risk").pin_to_core(core).thread_name("risk-engine"),
    ///         |_: &u64, _: u64, _: bool| Ok(()),
    ///     )
    ///     .build()
    ///     .unwrap();
    /// drop(producer);
    /// bus.join().unwrap();
    /// ```
    ///
    /// A core or thread name on a consumer that runs on its caller's thread (a poller, a tap
    /// the caller drives, an async consumer) is refused
    /// ([`ConfigError::NotManaged`](crate::ConfigError::NotManaged)): pin the caller instead.
    pub fn pin_to_core(mut self, core: usize) -> Self {
        self.core = Some(core);
        self
    }

    /// The consumer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it asks for something only a managed consumer's thread can have.
    pub(crate) fn has_thread_settings(&self) -> bool {
        self.thread_name.is_some() || self.core.is_some()
    }
}
