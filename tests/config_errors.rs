//! Every `ConfigError` reachable from the public API is a typed error, never a panic; and a
//! refused configuration leaves nothing half-built behind.

mod common;

use common::*;
use ringbus::{
    Bus, ConfigError, Dependency, HandlerError, PollError, PublishError, RingBus, ShutdownReason,
    StartAt, Subscription, TapPolicy, Topic, TopicSet,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn noop(_: &Ev, _: u64, _: bool) -> Result<(), HandlerError> {
    Ok(())
}

fn build_err(builder: ringbus::Builder<Ev>) -> ConfigError {
    builder.build().expect_err("build must fail")
}

#[test]
fn capacity_zero_not_power_of_two_and_too_large() {
    let b = || RingBus::builder::<Ev>();
    assert_eq!(build_err(b().capacity(0)), ConfigError::ZeroCapacity);
    assert_eq!(
        build_err(b().capacity(1000)),
        ConfigError::NotPowerOfTwo(1000)
    );
    assert_eq!(build_err(b().capacity(3)), ConfigError::NotPowerOfTwo(3));
    // 2^40 slots of a 64-byte event (plus its tag): refused before allocating anything.
    assert_eq!(
        build_err(b().capacity(1 << 40)),
        ConfigError::TooLarge {
            capacity: 1 << 40,
            slot_bytes: 65
        }
    );
    assert!(matches!(
        build_err(b().capacity(1 << 62)),
        ConfigError::TooLarge { .. }
    ));
    // usize::MAX is not a power of two; the largest power of two overflows the byte count.
    assert_eq!(
        build_err(b().capacity(usize::MAX)),
        ConfigError::NotPowerOfTwo(usize::MAX)
    );
    assert!(matches!(
        build_err(b().capacity(1 << (usize::BITS - 1))),
        ConfigError::TooLarge { .. }
    ));
    // The smallest rings are fine.
    for capacity in [1, 2] {
        RingBus::builder::<Ev>().capacity(capacity).build().unwrap();
    }
}

#[test]
fn max_consumers_and_replay_window() {
    let b = || RingBus::builder::<Ev>().capacity(16);
    assert_eq!(
        build_err(b().max_consumers(0)),
        ConfigError::InvalidMaxConsumers(0)
    );
    assert_eq!(
        build_err(b().max_consumers(4097)),
        ConfigError::InvalidMaxConsumers(4097)
    );
    assert_eq!(
        build_err(b().replay_window(16)),
        ConfigError::InvalidReplayWindow {
            window: 16,
            capacity: 16
        }
    );
    assert_eq!(
        build_err(b().replay_window(100)),
        ConfigError::InvalidReplayWindow {
            window: 100,
            capacity: 16
        }
    );
    b().replay_window(15).build().unwrap();
    b().replay_window(0).build().unwrap();
    // Capacity 1: the default window (0) is fine, a window of 1 is not.
    assert_eq!(
        build_err(RingBus::builder::<Ev>().capacity(1).replay_window(1)),
        ConfigError::InvalidReplayWindow {
            window: 1,
            capacity: 1
        }
    );
}

#[test]
fn empty_topic_set_on_builder_and_subscribe() {
    let empty = || Subscription::new("none").topics(TopicSet::empty());
    assert_eq!(
        build_err(RingBus::builder::<Ev>().poller(empty())),
        ConfigError::EmptyTopicSet("none".into())
    );
    assert_eq!(
        build_err(RingBus::builder::<Ev>().handler(empty(), noop)),
        ConfigError::EmptyTopicSet("none".into())
    );
    let (_producer, bus) = RingBus::builder::<Ev>().build().unwrap();
    assert_eq!(
        bus.subscribe(empty()).unwrap_err(),
        ConfigError::EmptyTopicSet("none".into())
    );
    assert_eq!(
        bus.spawn(empty(), noop).unwrap_err(),
        ConfigError::EmptyTopicSet("none".into())
    );
    assert_eq!(
        bus.tap(empty().lossy(TapPolicy::default())).unwrap_err(),
        ConfigError::EmptyTopicSet("none".into())
    );
}

#[test]
fn duplicate_names() {
    let err = build_err(
        RingBus::builder::<Ev>()
            .poller(Subscription::new("x"))
            .handler(Subscription::new("x"), noop),
    );
    assert_eq!(err, ConfigError::DuplicateName("x".into()));
    let (_producer, bus) = RingBus::builder::<Ev>()
        .poller(Subscription::new("x"))
        .build()
        .unwrap();
    assert_eq!(
        bus.subscribe(Subscription::new("x")).unwrap_err(),
        ConfigError::DuplicateName("x".into())
    );
    let y = bus.subscribe(Subscription::new("y")).unwrap();
    assert_eq!(
        bus.tap(Subscription::new("y").lossy(TapPolicy::default()))
            .unwrap_err(),
        ConfigError::DuplicateName("y".into())
    );
    // Once it left, the name is free again.
    drop(y);
    bus.subscribe(Subscription::new("y")).unwrap();
}

#[test]
fn unknown_dependency() {
    let err = build_err(RingBus::builder::<Ev>().poller(Subscription::new("a").after("ghost")));
    assert_eq!(
        err,
        ConfigError::UnknownDependency {
            consumer: "a".into(),
            dependency: "ghost".into()
        }
    );
    let (_producer, bus) = RingBus::builder::<Ev>().build().unwrap();
    assert_eq!(
        bus.subscribe(Subscription::new("b").after("ghost"))
            .unwrap_err(),
        ConfigError::UnknownDependency {
            consumer: "b".into(),
            dependency: "ghost".into()
        }
    );
    // Joining a running bus, a consumer cannot depend on itself: it does not exist yet.
    assert!(matches!(
        bus.subscribe(Subscription::new("self").after("self")),
        Err(ConfigError::UnknownDependency { .. })
    ));
    // A departed consumer's id names nobody.
    let gone = bus.subscribe(Subscription::new("gone")).unwrap();
    let id = gone.id();
    drop(gone);
    assert!(matches!(
        bus.subscribe(Subscription::new("c").after(id)),
        Err(ConfigError::UnknownDependency { .. })
    ));
    assert!(matches!(
        bus.subscribe(Subscription::new("c").after("gone")),
        Err(ConfigError::UnknownDependency { .. })
    ));
    // Even when a new consumer reuses its table entry.
    let _reuse = bus.subscribe(Subscription::new("reuse")).unwrap();
    assert!(matches!(
        bus.subscribe(Subscription::new("c").after(id)),
        Err(ConfigError::UnknownDependency { .. })
    ));
}

#[test]
fn dependency_cycles_including_a_self_cycle() {
    let err = build_err(
        RingBus::builder::<Ev>()
            .poller(Subscription::new("a").after("b"))
            .poller(Subscription::new("b").after("c"))
            .poller(Subscription::new("c").after("a")),
    );
    match err {
        ConfigError::DependencyCycle(cycle) => {
            assert_eq!(cycle.len(), 4, "{cycle:?}");
            assert_eq!(cycle.first(), cycle.last(), "{cycle:?}");
            for n in ["a", "b", "c"] {
                assert!(cycle.iter().any(|c| c == n), "{cycle:?}");
            }
        }
        other => panic!("{other:?}"),
    }
    let err =
        build_err(RingBus::builder::<Ev>().handler(Subscription::new("me").after("me"), noop));
    assert_eq!(
        err,
        ConfigError::DependencyCycle(vec!["me".into(), "me".into()])
    );
    // A cycle behind a valid prefix.
    let err = build_err(
        RingBus::builder::<Ev>()
            .poller(Subscription::new("root"))
            .poller(Subscription::new("x").after("root").after("y"))
            .poller(Subscription::new("y").after("x")),
    );
    assert!(matches!(err, ConfigError::DependencyCycle(_)), "{err:?}");
}

#[test]
fn dependency_on_a_consumer_of_another_bus() {
    let (_p1, bus1) = RingBus::builder::<Ev>().build().unwrap();
    let (_p2, bus2) = RingBus::builder::<Ev>().build().unwrap();
    let other = bus1.subscribe(Subscription::new("other")).unwrap();
    let err = bus2
        .subscribe(Subscription::new("mine").after(other.id()))
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::ForeignDependency {
            consumer: "mine".into()
        }
    );
    let err = bus2
        .spawn(
            Subscription::new("mine").after(Dependency::Id(other.id())),
            noop,
        )
        .unwrap_err();
    assert!(matches!(err, ConfigError::ForeignDependency { .. }));
    // On a builder, no id of the bus being built exists yet.
    let err =
        build_err(RingBus::builder::<Ev>().poller(Subscription::new("mine").after(other.id())));
    assert_eq!(
        err,
        ConfigError::ForeignDependency {
            consumer: "mine".into()
        }
    );
}

#[test]
fn depends_on_a_tap_and_wrong_kinds() {
    let (_producer, bus) = RingBus::builder::<Ev>().capacity(16).build().unwrap();
    let tap = bus
        .tap(Subscription::new("tap").lossy(TapPolicy::default()))
        .unwrap();
    assert_eq!(
        bus.subscribe(Subscription::new("x").after("tap"))
            .unwrap_err(),
        ConfigError::DependsOnTap {
            consumer: "x".into(),
            dependency: "tap".into()
        }
    );
    assert!(matches!(
        bus.subscribe(Subscription::new("x").after(tap.id())),
        Err(ConfigError::DependsOnTap { .. })
    ));
    // Taps go through `tap`/`spawn_tap`, gating consumers through the others.
    let lossy = || Subscription::new("l").lossy(TapPolicy::default());
    assert_eq!(
        bus.subscribe(lossy()).unwrap_err(),
        ConfigError::WrongKind("l".into())
    );
    assert_eq!(
        bus.spawn(lossy(), noop).unwrap_err(),
        ConfigError::WrongKind("l".into())
    );
    assert_eq!(
        bus.tap(Subscription::new("g")).unwrap_err(),
        ConfigError::WrongKind("g".into())
    );
    assert_eq!(
        bus.spawn_tap(Subscription::new("g"), noop).unwrap_err(),
        ConfigError::WrongKind("g".into())
    );
    assert_eq!(
        build_err(RingBus::builder::<Ev>().poller(lossy())),
        ConfigError::WrongKind("l".into())
    );
    assert_eq!(
        build_err(RingBus::builder::<Ev>().handler(lossy(), noop)),
        ConfigError::WrongKind("l".into())
    );
}

#[test]
fn invalid_tap_lag() {
    let (_producer, bus) = RingBus::builder::<Ev>().capacity(16).build().unwrap();
    for lag in [0, 17, u64::MAX] {
        let err = bus
            .tap(Subscription::new("t").lossy(TapPolicy::default().lag(lag)))
            .unwrap_err();
        assert_eq!(
            err,
            ConfigError::InvalidTapLag {
                name: "t".into(),
                max_lag: lag,
                capacity: 16
            }
        );
        assert!(matches!(
            bus.spawn_tap(
                Subscription::new("t").lossy(TapPolicy::default().lag(lag)),
                noop
            ),
            Err(ConfigError::InvalidTapLag { .. })
        ));
    }
    for lag in [1, 16] {
        bus.tap(Subscription::new(format!("ok{lag}")).lossy(TapPolicy::default().lag(lag)))
            .unwrap();
    }
}

#[test]
fn too_many_consumers() {
    let err = build_err(
        RingBus::builder::<Ev>()
            .max_consumers(2)
            .poller(Subscription::new("a"))
            .poller(Subscription::new("b"))
            .poller(Subscription::new("c")),
    );
    assert_eq!(err, ConfigError::TooManyConsumers(2));
    let (_producer, bus) = RingBus::builder::<Ev>().max_consumers(2).build().unwrap();
    let a = bus.subscribe(Subscription::new("a")).unwrap();
    let _b = bus
        .tap(Subscription::new("b").lossy(TapPolicy::default()))
        .unwrap();
    assert_eq!(
        bus.subscribe(Subscription::new("c")).unwrap_err(),
        ConfigError::TooManyConsumers(2)
    );
    assert_eq!(
        bus.spawn(Subscription::new("c"), noop).unwrap_err(),
        ConfigError::TooManyConsumers(2)
    );
    // Leaving frees the entry.
    drop(a);
    bus.subscribe(Subscription::new("c")).unwrap();
}

#[test]
fn membership_fixed() {
    let (_producer, bus) = RingBus::builder::<Ev>()
        .dynamic_membership(false)
        .poller(Subscription::new("declared"))
        .build()
        .unwrap();
    assert_eq!(
        bus.subscribe(Subscription::new("x")).unwrap_err(),
        ConfigError::MembershipFixed
    );
    assert_eq!(
        bus.spawn(Subscription::new("x"), noop).unwrap_err(),
        ConfigError::MembershipFixed
    );
    let lossy = Subscription::new("t").lossy(TapPolicy::default());
    assert_eq!(
        bus.tap(lossy.clone()).unwrap_err(),
        ConfigError::MembershipFixed
    );
    assert_eq!(
        bus.spawn_tap(lossy, noop).unwrap_err(),
        ConfigError::MembershipFixed
    );
}

#[test]
fn start_in_the_future_and_no_longer_in_the_ring() {
    let (mut producer, bus) = RingBus::builder::<Ev>().capacity(16).build().unwrap();
    publish_n(&mut producer, 40);
    let err = bus
        .subscribe(Subscription::new("f").start_at(StartAt::Sequence(41)))
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::StartInFuture {
            requested: 41,
            next: 40
        }
    );
    match bus
        .subscribe(Subscription::new("old").start_at(StartAt::Sequence(0)))
        .unwrap_err()
    {
        ConfigError::StartNotInRing { requested, oldest } => {
            assert_eq!(requested, 0);
            assert!(oldest > 0 && oldest <= 40 - 8, "oldest {oldest}");
        }
        other => panic!("{other:?}"),
    }
    // Starting exactly at the next sequence is allowed.
    let p = bus
        .subscribe(Subscription::new("now").start_at(StartAt::Sequence(40)))
        .unwrap();
    assert_eq!(p.sequence(), 40);
}

#[test]
fn unknown_consumer_and_closed() {
    let (producer, bus) = RingBus::builder::<Ev>().build().unwrap();
    let (_p2, bus2) = RingBus::builder::<Ev>().build().unwrap();
    // A poller can be stopped (its next poll says so); after it has left its id is dead.
    let mut poller = bus.subscribe(Subscription::new("p")).unwrap();
    bus.stop(poller.id()).unwrap();
    assert_eq!(poller.poll().unwrap_err(), PollError::Stopped);
    assert_eq!(bus.stop(poller.id()), Err(ConfigError::UnknownConsumer));
    // An id of another bus.
    let id = bus.spawn(Subscription::new("h"), noop).unwrap();
    assert_eq!(bus2.stop(id), Err(ConfigError::UnknownConsumer));
    bus.stop(id).unwrap();
    // Already stopped.
    assert_eq!(bus.stop(id), Err(ConfigError::UnknownConsumer));
    drop(poller);
    // After the producer closed the bus, nothing can subscribe.
    drop(producer);
    assert_eq!(
        bus.subscribe(Subscription::new("late")).unwrap_err(),
        ConfigError::Closed
    );
    assert_eq!(
        bus.spawn(Subscription::new("late"), noop).unwrap_err(),
        ConfigError::Closed
    );
    assert_eq!(
        bus.tap(Subscription::new("late").lossy(TapPolicy::default()))
            .unwrap_err(),
        ConfigError::Closed
    );
    bus.join().unwrap();
}

#[test]
fn batch_too_large() {
    let (mut producer, _bus) = RingBus::builder::<Ev>().capacity(8).build().unwrap();
    let fill = |_: usize, _: &mut Ev| Topic::new(0);
    assert_eq!(
        producer.publish_batch(9, fill).unwrap_err(),
        PublishError::BatchTooLarge {
            requested: 9,
            capacity: 8
        }
    );
    assert_eq!(
        producer.try_publish_batch(9, fill).unwrap_err(),
        PublishError::BatchTooLarge {
            requested: 9,
            capacity: 8
        }
    );
    assert_eq!(producer.next_sequence(), 0, "nothing was published");
    assert_eq!(producer.publish_batch(8, fill).unwrap(), 0..8);
}

/// A handler that counts its `on_shutdown` calls and its drop.
struct Counted {
    shutdowns: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
}

impl ringbus::EventHandler<Ev> for Counted {
    fn on_event(&mut self, _: &Ev, _: u64, _: bool) -> Result<(), HandlerError> {
        Ok(())
    }
    fn on_shutdown(&mut self, _reason: &ShutdownReason) {
        self.shutdowns.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// "Nothing is half-built when one is returned": when `build` fails after it has started
/// the thread of a declared handler (here: the second consumer does not fit the table),
/// that thread must end (and drop its handler) rather than wait forever on a bus nobody can
/// publish to or close.
#[test]
fn failed_build_leaves_no_handler_thread_behind() {
    let shutdowns = Arc::new(AtomicUsize::new(0));
    let drops = Arc::new(AtomicUsize::new(0));
    let err = build_err(
        RingBus::builder::<Ev>()
            .max_consumers(1)
            .handler(
                Subscription::new("first"),
                Counted {
                    shutdowns: shutdowns.clone(),
                    drops: drops.clone(),
                },
            )
            .poller(Subscription::new("second")),
    );
    assert_eq!(err, ConfigError::TooManyConsumers(1));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while drops.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the handler of a bus whose build failed is still alive on its thread after 5 s \
         (on_shutdown calls: {})",
        shutdowns.load(Ordering::SeqCst)
    );
}

#[allow(dead_code)]
fn _bus_is_send_and_sync(bus: Bus<Ev>) -> impl Send + Sync {
    bus
}
