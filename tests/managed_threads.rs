//! Managed consumers' threads as the user asks for them: named (the consumer's name by
//! default, cut for Linux's 15-byte `comm`), pinned to a core, started by a spawn hook; and
//! the typed errors when that cannot be.

use ringbus::{
    ConfigError, ConsumerThread, EventHandler, HandlerError, RingBus, Subscription, TapPolicy,
    Topic,
};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// The operating system's names of this process's threads.
fn task_names() -> BTreeSet<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|comm| comm.trim_end_matches('\n').to_owned())
        .collect()
}

/// Field 39 of `/proc/thread-self/stat`: the CPU the calling thread last ran on.
fn current_cpu() -> usize {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    // The name (field 2) is in parentheses and may hold spaces: count from after it.
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    after_name.split(' ').nth(36).unwrap().parse().unwrap()
}

/// The CPUs the calling thread may run on, as `/proc/thread-self/status` lists them.
fn allowed_cpus() -> String {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("Cpus_allowed_list:"))
        .unwrap();
    line["Cpus_allowed_list:".len()..].trim().to_owned()
}

/// Reports what its thread looks like from inside: its Rust name and the CPUs it may run on
/// in `on_start`, and the CPU it runs each event on.
struct Probe {
    names: mpsc::Sender<Option<String>>,
    allowed: Arc<Mutex<String>>,
    cpus: Arc<Mutex<Vec<usize>>>,
}

impl EventHandler<u64> for Probe {
    fn on_start(&mut self) {
        let name = std::thread::current().name().map(str::to_owned);
        let _ = self.names.send(name);
        *self.allowed.lock().unwrap() = allowed_cpus();
    }

    fn on_event(&mut self, _: &u64, _: u64, _: bool) -> Result<(), HandlerError> {
        self.cpus.lock().unwrap().push(current_cpu());
        Ok(())
    }
}

type Probed = (
    Probe,
    mpsc::Receiver<Option<String>>,
    Arc<Mutex<String>>,
    Arc<Mutex<Vec<usize>>>,
);

fn probe() -> Probed {
    let (names, received) = mpsc::channel();
    let allowed = Arc::new(Mutex::new(String::new()));
    let cpus = Arc::new(Mutex::new(Vec::new()));
    let probe = Probe {
        names,
        allowed: Arc::clone(&allowed),
        cpus: Arc::clone(&cpus),
    };
    (probe, received, allowed, cpus)
}

#[test]
#[cfg(target_os = "linux")]
fn managed_threads_carry_their_names_for_the_operating_system() {
    let (store, store_name, ..) = probe();
    let (risk, risk_name, ..) = probe();
    let (long, long_name, ..) = probe();
    let (tap, tap_name, ..) = probe();
    let (producer, bus) = RingBus::builder::<u64>()
        .handler(Subscription::new("store"), store)
        .handler(Subscription::new("risk").thread_name("risk-engine"), risk)
        .handler(Subscription::new("jetstream-forwarder-main"), long)
        .build()
        .unwrap();
    bus.spawn_tap(
        // 'é' takes two bytes: the 15th byte falls inside the first one.
        Subscription::new("monitör-tap-xéé").lossy(TapPolicy::default()),
        tap,
    )
    .unwrap();
    // Spawning returns once the thread runs, named.
    let names = task_names();
    for expected in ["store", "risk-engine", "jetstream-forwa", "monitör-tap-x"] {
        assert!(names.contains(expected), "{expected:?} not in {names:?}");
    }
    // The Rust name is the whole name.
    let name = |rx: mpsc::Receiver<Option<String>>| rx.recv().unwrap().unwrap();
    assert_eq!(name(store_name), "store");
    assert_eq!(name(risk_name), "risk-engine");
    assert_eq!(name(long_name), "jetstream-forwarder-main");
    assert_eq!(name(tap_name), "monitör-tap-xéé");
    drop(producer);
    bus.join().unwrap();
}

#[test]
#[cfg(target_os = "linux")]
fn a_pinned_consumer_runs_on_its_core() {
    let cores = core_affinity::get_core_ids().unwrap();
    for core in cores.iter().map(|c| c.id) {
        let (handler, _, allowed, cpus) = probe();
        let (mut producer, bus) = RingBus::builder::<u64>()
            .handler(Subscription::new("pinned").pin_to_core(core), handler)
            .build()
            .unwrap();
        for i in 0..1000 {
            producer.publish(Topic::new(0), |e| *e = i);
        }
        drop(producer);
        bus.join().unwrap();
        assert_eq!(*allowed.lock().unwrap(), core.to_string());
        let cpus = cpus.lock().unwrap();
        assert_eq!(cpus.len(), 1000);
        assert!(
            cpus.iter().all(|&cpu| cpu == core),
            "pinned to {core}, ran on {:?}",
            cpus.iter().collect::<BTreeSet<_>>()
        );
    }
}

#[test]
fn a_core_the_system_lacks_is_a_typed_error_and_leaves_nothing_behind() {
    let nothing = |_: &u64, _: u64, _: bool| -> Result<(), HandlerError> { Ok(()) };
    for core in [1023, 4095, usize::MAX] {
        let err = RingBus::builder::<u64>()
            .handler(Subscription::new("nowhere").pin_to_core(core), nothing)
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            ConfigError::NoSuchCore {
                name: "nowhere".into(),
                core
            }
        );
    }
    let (mut producer, bus) = RingBus::builder::<u64>().capacity(4).build().unwrap();
    let err = bus
        .spawn(Subscription::new("nowhere").pin_to_core(4095), nothing)
        .unwrap_err();
    assert!(matches!(err, ConfigError::NoSuchCore { core: 4095, .. }));
    // The refused consumer does not gate the producer.
    for i in 0..16 {
        producer.publish(Topic::new(0), |e| *e = i);
    }
    // Nor is its name taken.
    bus.spawn(Subscription::new("nowhere"), nothing).unwrap();
    drop(producer);
    bus.join().unwrap();
}

#[test]
fn thread_settings_are_refused_where_there_is_no_managed_thread() {
    let err = RingBus::builder::<u64>()
        .poller(Subscription::new("p").pin_to_core(0))
        .build()
        .unwrap_err();
    assert_eq!(err, ConfigError::NotManaged("p".into()));
    let (_producer, bus) = RingBus::builder::<u64>().build().unwrap();
    let named = Subscription::new("q").thread_name("q-thread");
    assert_eq!(
        bus.subscribe(named.clone()).unwrap_err(),
        ConfigError::NotManaged("q".into())
    );
    assert_eq!(
        bus.subscribe_async(named.clone()).unwrap_err(),
        ConfigError::NotManaged("q".into())
    );
    let tap = named.lossy(TapPolicy::default());
    assert_eq!(
        bus.tap(tap.clone()).unwrap_err(),
        ConfigError::NotManaged("q".into())
    );
    assert_eq!(
        bus.tap_async(tap).unwrap_err(),
        ConfigError::NotManaged("q".into())
    );
    let nul = Subscription::new("r").thread_name("r\0");
    assert_eq!(
        bus.spawn(nul, |_: &u64, _: u64, _: bool| Ok(()))
            .unwrap_err(),
        ConfigError::InvalidThreadName {
            name: "r".into(),
            thread_name: "r\0".into()
        }
    );
    assert!(
        bus.metrics().consumers.is_empty(),
        "a refused consumer joined"
    );
}

#[test]
fn a_spawn_hook_starts_every_managed_thread() {
    let started = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&started);
    let (hooked_tx, hooked) = mpsc::channel();
    let hooked_tx = Mutex::new(hooked_tx);
    let (mut producer, bus) = RingBus::builder::<u64>()
        .spawn_hook(move |thread: ConsumerThread| {
            seen.fetch_add(1, Ordering::Relaxed);
            hooked_tx
                .lock()
                .unwrap()
                .send((
                    thread.consumer().to_owned(),
                    thread.name().to_owned(),
                    thread.core(),
                ))
                .unwrap();
            thread
                .builder()
                .stack_size(1 << 20)
                .spawn(move || thread.run())
        })
        .handler(
            Subscription::new("declared").thread_name("declared-thread"),
            |_: &u64, _: u64, _: bool| Ok(()),
        )
        .build()
        .unwrap();
    bus.spawn(
        Subscription::new("later"),
        |_: &u64, _: u64, _: bool| Ok(()),
    )
    .unwrap();
    assert_eq!(started.load(Ordering::Relaxed), 2);
    assert_eq!(
        hooked.try_iter().collect::<Vec<_>>(),
        [
            ("declared".into(), "declared-thread".into(), None),
            ("later".into(), "later".into(), None)
        ]
    );
    producer.publish(Topic::new(0), |e| *e = 1);
    drop(producer);
    let report = bus.join().unwrap();
    assert_eq!(report.consumer("declared").unwrap().handled, 1);
    assert_eq!(report.consumer("later").unwrap().handled, 1);
}

#[test]
fn a_spawn_hook_that_fails_or_never_runs_the_consumer_is_a_spawn_error() {
    let refuses = RingBus::builder::<u64>()
        .spawn_hook(|_thread: ConsumerThread| Err(std::io::Error::other("no threads today")))
        .handler(Subscription::new("h"), |_: &u64, _: u64, _: bool| Ok(()))
        .build()
        .unwrap_err();
    assert_eq!(
        refuses,
        ConfigError::Spawn {
            name: "h".into(),
            reason: "no threads today".into()
        }
    );
    let (mut producer, bus) = RingBus::builder::<u64>()
        .capacity(4)
        .spawn_hook(|thread: ConsumerThread| {
            // Starts a thread, but drops the consumer instead of running it.
            Ok(std::thread::spawn(move || drop(thread)))
        })
        .build()
        .unwrap();
    let err = bus
        .spawn(Subscription::new("h"), |_: &u64, _: u64, _: bool| Ok(()))
        .unwrap_err();
    assert!(
        matches!(err, ConfigError::Spawn { ref name, .. } if name == "h"),
        "{err}"
    );
    for i in 0..16 {
        producer.publish(Topic::new(0), |e| *e = i);
    }
}
