//! The threads of managed consumers: their names, their cores, and who starts them.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

/// The longest thread name Linux keeps (`comm`: what `top`, `perf` and `/proc/<pid>/task/*/comm`
/// show); a longer one is cut there, at a character boundary.
pub(crate) const OS_NAME_MAX: usize = 15;

/// The highest core number the affinity calls take (`CPU_SETSIZE` - 1 on Linux; a 64-bit
/// mask on Windows): beyond it there is no such core.
const MAX_CORE: usize = if cfg!(windows) { 63 } else { 1023 };

/// A managed consumer's thread before it starts, as a spawn hook
/// ([`Builder::spawn_hook`](crate::Builder::spawn_hook)) gets it: the hook starts a thread
/// that calls [`ConsumerThread::run`], and returns its handle.
///
/// `run` names the thread for the operating system, pins it to its core if the subscription
/// asked for one ([`Subscription::pin_to_core`](crate::Subscription::pin_to_core)), then runs
/// the consumer. The bus waits until `run` has pinned the thread (or failed to): a spawn
/// that returns `Ok` has its consumer running on its core.
///
/// ```
/// use ringbus_ring::{ConsumerThread, RingBus, Subscription};
/// let (producer, bus) = RingBus::builder::<u64>()
///     .spawn_hook(|thread: ConsumerThread| {
///         // A bigger stack, say; a real-time priority would be set inside, before `run`.
///         thread.builder().stack_size(4 << 20).spawn(move || thread.run())
///     })
///     .handler(Subscription::new("store"), |_: &u64, _: u64, _: bool| Ok(()))
///     .build()
///     .unwrap();
/// drop(producer);
/// bus.join().unwrap();
/// ```
pub struct ConsumerThread {
    consumer: String,
    name: String,
    core: Option<usize>,
    body: Box<dyn FnOnce() + Send>,
    started: mpsc::Sender<Result<(), usize>>,
}

impl std::fmt::Debug for ConsumerThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerThread")
            .field("consumer", &self.consumer)
            .field("name", &self.name)
            .field("core", &self.core)
            .finish_non_exhaustive()
    }
}

/// How the spawner hears that the thread has started: `Ok`, or `Err(core)` if it could not
/// be pinned to `core` (it then ends without running the consumer).
pub(crate) type Started = mpsc::Receiver<Result<(), usize>>;

impl ConsumerThread {
    pub(crate) fn new(
        consumer: String,
        name: String,
        core: Option<usize>,
        body: Box<dyn FnOnce() + Send>,
    ) -> (Self, Started) {
        let (started, receiver) = mpsc::channel();
        let thread = ConsumerThread {
            consumer,
            name,
            core,
            body,
            started,
        };
        (thread, receiver)
    }

    /// The consumer's name.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// The thread's name: the subscription's
    /// [`thread_name`](crate::Subscription::thread_name), or else the consumer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The core the thread will be pinned to, if any.
    pub fn core(&self) -> Option<usize> {
        self.core
    }

    /// A `std::thread::Builder` with the thread's name, for the hook to add to.
    pub fn builder(&self) -> std::thread::Builder {
        std::thread::Builder::new().name(self.name.clone())
    }

    /// Starts a thread the default way (as the bus does without a hook).
    pub fn spawn(self) -> io::Result<JoinHandle<()>> {
        self.builder().spawn(move || self.run())
    }

    /// Runs the consumer on the calling thread, which it first names (for the operating
    /// system too, cut to what it keeps) and pins; returns when the consumer has finished.
    /// Call it on the thread the hook started, once.
    pub fn run(self) {
        set_os_name(&self.name);
        if let Some(core) = self.core {
            if !pin_current(core) {
                // The consumer never runs: its reader, in `body`, leaves as it is dropped.
                let _ = self.started.send(Err(core));
                return;
            }
        }
        let _ = self.started.send(Ok(()));
        (self.body)();
    }
}

/// Pins the calling thread to `core`; false if there is no such core, or this process may not
/// run on it.
fn pin_current(core: usize) -> bool {
    core <= MAX_CORE
        // `core_affinity` indexes a fixed-size set: a panic there is "no such core" too.
        && catch_unwind(AssertUnwindSafe(|| {
            core_affinity::set_for_current(core_affinity::CoreId { id: core })
        }))
        .unwrap_or(false)
}

/// `name` cut to at most [`OS_NAME_MAX`] bytes at a character boundary.
pub(crate) fn os_name(name: &str) -> &str {
    let mut end = name.len().min(OS_NAME_MAX);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// Names the calling thread for the operating system. `std` names it too, but cuts a long
/// name at a byte (possibly inside a character), and a hook may start it unnamed.
#[cfg(all(target_os = "linux", not(miri)))]
fn set_os_name(name: &str) {
    if let Ok(name) = std::ffi::CString::new(os_name(name)) {
        // Only the name the tools show is at stake: nothing to do if it fails.
        let _ = rustix::thread::set_name(&name);
    }
}

#[cfg(not(all(target_os = "linux", not(miri))))]
fn set_os_name(_name: &str) {}

/// A user's way of starting managed consumers' threads (`Builder::spawn_hook`).
#[derive(Clone)]
pub(crate) struct SpawnHook(
    pub(crate) Arc<dyn Fn(ConsumerThread) -> io::Result<JoinHandle<()>> + Send + Sync>,
);

impl std::fmt::Debug for SpawnHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpawnHook")
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        assert_eq!(os_name("store"), "store");
        assert_eq!(os_name("exactly-fifteen"), "exactly-fifteen");
        assert_eq!(os_name("jetstream-forwarder"), "jetstream-forwa");
        // 'é' is two bytes: the 15th byte would split the eighth one.
        assert_eq!(os_name("éééééééé"), "ééééééé");
    }

    #[test]
    #[cfg_attr(miri, ignore = "affinity calls")]
    fn no_such_core_is_refused_without_a_panic() {
        assert!(!std::thread::spawn(|| pin_current(usize::MAX))
            .join()
            .unwrap());
        assert!(!std::thread::spawn(|| pin_current(MAX_CORE)).join().unwrap());
    }
}
