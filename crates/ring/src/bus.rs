//! The bus handle: subscribe, stop, observe, and wait for the end.

use crate::cursor::StreamEnd;
use crate::error::{ConfigError, ShutdownError};
use crate::handler::{run_gating, run_tap, EventHandler};
use crate::key::SlotKey;
use crate::membership::Joined;
use crate::metrics::{Metrics, ProducerMetrics};
use crate::poller::Poller;
use crate::reader::{KeyFilter, Reader};
use crate::shared::Shared;
use crate::subscription::{ConsumerId, ConsumerKind, Subscription};
use crate::sync::{self, Arc};
use crate::tap::Tap;
use crate::thread::{ConsumerThread, SpawnHook};
use std::sync::atomic::Ordering::Relaxed;

/// The handle that manages a bus's consumers: subscribe, stop, snapshot, join.
///
/// ```
/// use ringbus_ring::{RingBus, Subscription, Topic};
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
///
/// let total = Arc::new(AtomicU64::new(0));
/// let (mut producer, bus) = RingBus::builder::<u64>().capacity(64).build().unwrap();
/// let sum = Arc::clone(&total);
/// bus.spawn(Subscription::new("sum"), move |event: &u64, _seq: u64, _eob: bool| {
///     sum.fetch_add(*event, Ordering::Relaxed);
///     Ok(())
/// })
/// .unwrap();
/// for i in 1..=100 {
///     producer.publish(Topic::new(0), |slot| *slot = i);
/// }
/// drop(producer); // close: consumers drain everything published, then stop
/// let report = bus.join().unwrap();
/// assert_eq!(total.load(Ordering::Relaxed), 5050);
/// assert_eq!(report.consumer("sum").unwrap().handled, 100);
/// ```
#[derive(Debug)]
pub struct Bus<T, K: SlotKey = ()> {
    pub(crate) shared: Arc<Shared<T, K>>,
    /// Pollers declared on the builder, until taken.
    declared_pollers: Vec<Poller<T, K>>,
    /// How managed consumers' threads are started (`None`: `std::thread`).
    spawn_hook: Option<SpawnHook>,
}

impl<T: Send + Sync + 'static, K: SlotKey> Bus<T, K> {
    pub(crate) fn new(shared: Arc<Shared<T, K>>, spawn_hook: Option<SpawnHook>) -> Self {
        Bus {
            shared,
            declared_pollers: Vec::new(),
            spawn_hook,
        }
    }

    fn reader(&self, sub: &Subscription, managed: bool) -> Result<Reader<T, K>, ConfigError> {
        if !managed && sub.has_thread_settings() {
            return Err(ConfigError::NotManaged(sub.name.clone()));
        }
        let keys = KeyFilter::of(sub)?;
        let joined: Joined = self.shared.join(sub, managed)?;
        Ok(Reader::new(
            Arc::clone(&self.shared),
            joined,
            sub.name.clone(),
            sub.all_topics(),
            keys,
            sub.wait.unwrap_or(self.shared.config.strategy),
        ))
    }

    fn check_dynamic(&self) -> Result<(), ConfigError> {
        if self.shared.config.dynamic {
            Ok(())
        } else {
            Err(ConfigError::MembershipFixed)
        }
    }

    fn check_gating(sub: &Subscription) -> Result<(), ConfigError> {
        match sub.kind {
            ConsumerKind::Gating => Ok(()),
            ConsumerKind::Tap(_) => Err(ConfigError::WrongKind(sub.name.clone())),
        }
    }

    /// Starts a gating consumer on a thread of its own; from now on it gates the producer.
    pub fn spawn<H: EventHandler<T>>(
        &self,
        subscription: Subscription,
        handler: H,
    ) -> Result<ConsumerId, ConfigError> {
        self.check_dynamic()?;
        self.spawn_gating(subscription, handler)
    }

    pub(crate) fn spawn_declared<H: EventHandler<T>>(
        &self,
        sub: Subscription,
        handler: H,
    ) -> Result<(), ConfigError> {
        self.spawn_gating(sub, handler).map(|_| ())
    }

    fn spawn_gating<H: EventHandler<T>>(
        &self,
        sub: Subscription,
        handler: H,
    ) -> Result<ConsumerId, ConfigError> {
        Self::check_gating(&sub)?;
        let thread_name = Self::thread_name(&sub)?;
        let reader = self.reader(&sub, true)?;
        self.start_thread(reader, thread_name, sub.core, move |reader| {
            run_gating(reader, handler)
        })
    }

    /// The name of a managed consumer's thread, checked before the consumer joins.
    fn thread_name(sub: &Subscription) -> Result<String, ConfigError> {
        let name = sub.thread_name.clone().unwrap_or_else(|| sub.name.clone());
        if name.contains('\0') {
            return Err(ConfigError::InvalidThreadName {
                name: sub.name.clone(),
                thread_name: name,
            });
        }
        Ok(name)
    }

    /// Starts a lossy tap on a thread of its own: its handler gets copies of the events,
    /// and [`EventHandler::on_lagged`] when it was detached for falling behind.
    pub fn spawn_tap<H: EventHandler<T>>(
        &self,
        subscription: Subscription,
        handler: H,
    ) -> Result<ConsumerId, ConfigError>
    where
        T: Clone,
    {
        self.check_dynamic()?;
        if !matches!(subscription.kind, ConsumerKind::Tap(_)) {
            return Err(ConfigError::WrongKind(subscription.name.clone()));
        }
        let thread_name = Self::thread_name(&subscription)?;
        let reader = self.reader(&subscription, true)?;
        self.start_thread(reader, thread_name, subscription.core, move |reader| {
            run_tap(reader, handler)
        })
    }

    /// Starts a managed consumer's thread (through the spawn hook, if the bus has one) and
    /// waits until it runs, named and pinned.
    fn start_thread(
        &self,
        reader: Reader<T, K>,
        thread_name: String,
        core: Option<usize>,
        body: impl FnOnce(Reader<T, K>) + Send + 'static,
    ) -> Result<ConsumerId, ConfigError> {
        let id = reader.id;
        let name = reader.name.clone();
        let (thread, started) = ConsumerThread::new(
            name.clone(),
            thread_name,
            core,
            Box::new(move || body(reader)),
        );
        let spawned = match &self.spawn_hook {
            Some(hook) => (hook.0)(thread),
            None => thread.spawn(),
        };
        // On every error below the consumer's reader has been dropped unrun: it has left.
        let handle = spawned.map_err(|e| ConfigError::Spawn {
            name: name.clone(),
            reason: e.to_string(),
        })?;
        match started.recv() {
            Ok(Ok(())) => {}
            Ok(Err(core)) => {
                // It ends at once, without running the consumer.
                let _ = handle.join();
                return Err(ConfigError::NoSuchCore { name, core });
            }
            // The hook dropped the thread's `ConsumerThread` without running it; what its
            // own thread does is none of ours to wait for.
            Err(_) => {
                return Err(ConfigError::Spawn {
                    name,
                    reason: "the spawn hook did not run the consumer".to_owned(),
                })
            }
        }
        // `join` and `stop` find the thread from here on. Neither can be waiting for it
        // already: `join` takes the bus by value, and `stop` needs the id returned below.
        sync::lock(&self.shared.members).threads.push((id, handle));
        Ok(id)
    }

    /// Adds a gating consumer that the calling code drives.
    pub fn subscribe(&self, subscription: Subscription) -> Result<Poller<T, K>, ConfigError> {
        self.check_dynamic()?;
        Self::check_gating(&subscription)?;
        Ok(Poller::new(self.reader(&subscription, false)?))
    }

    /// Adds a lossy tap that the calling code drives.
    pub fn tap(&self, subscription: Subscription) -> Result<Tap<T, K>, ConfigError>
    where
        T: Clone,
    {
        self.check_dynamic()?;
        if !matches!(subscription.kind, ConsumerKind::Tap(_)) {
            return Err(ConfigError::WrongKind(subscription.name.clone()));
        }
        Ok(Tap::new(self.reader(&subscription, false)?))
    }

    /// Adds a gating consumer that async code drives ([`AsyncPoller`](crate::AsyncPoller)).
    /// A poller declared on the builder becomes one with [`Poller::into_async`].
    #[cfg(feature = "async")]
    pub fn subscribe_async(
        &self,
        subscription: Subscription,
    ) -> Result<crate::AsyncPoller<T, K>, ConfigError> {
        self.subscribe(subscription).map(Poller::into_async)
    }

    /// Adds a lossy tap that async code drives ([`AsyncTap`](crate::AsyncTap)).
    #[cfg(feature = "async")]
    pub fn tap_async(
        &self,
        subscription: Subscription,
    ) -> Result<crate::AsyncTap<T, K>, ConfigError>
    where
        T: Clone,
    {
        self.tap(subscription).map(Tap::into_async)
    }

    pub(crate) fn add_declared_poller(&mut self, sub: Subscription) -> Result<(), ConfigError> {
        let poller = Poller::new(self.reader(&sub, false)?);
        self.declared_pollers.push(poller);
        Ok(())
    }

    /// Takes a poller declared on the builder. Until taken it gates the producer.
    pub fn take_poller(&mut self, name: &str) -> Option<Poller<T, K>> {
        let i = self
            .declared_pollers
            .iter()
            .position(|p| p.name() == name)?;
        Some(self.declared_pollers.swap_remove(i))
    }

    /// Stops a consumer.
    ///
    /// A managed one (a handler or managed tap) stops at its next batch, and this waits for
    /// its thread: it calls `on_shutdown` with [`ShutdownReason::Stopped`], stops gating the
    /// producer, and leaves. A poller or tap the user drives cannot be stopped under its
    /// caller's feet (it may hold a batch): its next poll, or the one it is waiting in,
    /// returns [`PollError::Stopped`] and it leaves then; until then it still gates.
    ///
    /// [`ShutdownReason::Stopped`]: crate::ShutdownReason::Stopped
    /// [`PollError::Stopped`]: crate::PollError::Stopped
    ///
    /// ```
    /// use ringbus_ring::{PollError, RingBus, Subscription};
    /// let (_producer, bus) = RingBus::builder::<u64>().build().unwrap();
    /// let mut poller = bus.subscribe(Subscription::new("p")).unwrap();
    /// bus.stop(poller.id()).unwrap();
    /// assert_eq!(poller.poll().unwrap_err(), PollError::Stopped);
    /// ```
    pub fn stop(&self, id: ConsumerId) -> Result<(), ConfigError> {
        let handle = {
            // Under the membership lock, so the entry cannot be left and taken over by
            // another consumer between the lookup and the stop request.
            let mut members = sync::lock(&self.shared.members);
            let index = self
                .shared
                .find(&members, id)
                .ok_or(ConfigError::UnknownConsumer)?;
            // Relaxed: the wake-up below (a fence and the waker's lock) publishes it.
            self.shared.cursors[index].stop.store(true, Relaxed);
            members
                .threads
                .iter()
                .position(|(t, _)| *t == id)
                .map(|i| members.threads.swap_remove(i).1)
        };
        self.shared.wake_everyone();
        if let Some(handle) = handle {
            // A panic inside the thread was caught and recorded by the consumer loop.
            let _ = handle.join();
        }
        Ok(())
    }

    /// A snapshot of the producer and every consumer.
    pub fn metrics(&self) -> Metrics {
        let stats = &self.shared.producer_stats;
        // Relaxed: a snapshot, not a synchronisation point.
        let producer = ProducerMetrics {
            published: self.shared.published.load(Relaxed),
            waits: stats.waits.load(Relaxed),
            wait_ns: stats.wait_ns.load(Relaxed),
            full: stats.full.load(Relaxed),
            detached_taps: stats.detached.load(Relaxed),
            closed: self.shared.closed.load(Relaxed) != StreamEnd::Open,
            failed: self.shared.closed.load(Relaxed) == StreamEnd::Aborted,
        };
        let (consumers, departed_forgotten) = self.shared.consumer_metrics();
        Metrics {
            capacity: self.shared.capacity(),
            wait_strategy: self.shared.config.strategy,
            producer,
            consumers,
            departed_forgotten,
        }
    }

    /// Whether the producer has closed the bus (or failed: see [`Bus::producer_failed`]).
    pub fn is_closed(&self) -> bool {
        self.shared.stream_end() != StreamEnd::Open
    }

    /// Whether the producer panicked or called [`Producer::abort`](crate::Producer::abort).
    pub fn producer_failed(&self) -> bool {
        self.shared.stream_end() == StreamEnd::Aborted
    }

    /// Waits for every managed consumer to finish (they finish once the producer is closed
    /// and they have drained every published event, or when they fail or are stopped), then
    /// reports. Pollers never taken from the builder leave first.
    ///
    /// Returns the final metrics, or a [`ShutdownError`] if the producer failed (panicked or
    /// aborted) or any consumer failed.
    pub fn join(mut self) -> Result<Metrics, ShutdownError> {
        self.declared_pollers.clear();
        loop {
            let handle = sync::lock(&self.shared.members).threads.pop();
            match handle {
                // A panic inside the thread was caught and recorded by the consumer loop.
                Some((_, handle)) => drop(handle.join()),
                None => break,
            }
        }
        let report = self.metrics();
        let failures = report.failures();
        let producer_failed = report.producer.failed;
        if failures.is_empty() && !producer_failed {
            Ok(report)
        } else {
            Err(ShutdownError {
                producer_failed,
                failures,
                report: Box::new(report),
            })
        }
    }
}
