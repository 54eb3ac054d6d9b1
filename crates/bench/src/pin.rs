//! `--pin`: the producer on the first available core, consumer `i` on the next ones, round
//! robin (`core_affinity`). Slot 0 is the producer, slot `i + 1` consumer `i`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use core_affinity::CoreId;

fn cores() -> &'static [CoreId] {
    static CORES: OnceLock<Vec<CoreId>> = OnceLock::new();
    CORES.get_or_init(|| core_affinity::get_core_ids().unwrap_or_default())
}

/// The core of `slot` (0: producer, `i + 1`: consumer `i`), or `None` when the cores cannot be
/// listed on this platform.
pub fn core_for(slot: usize) -> Option<CoreId> {
    let c = cores();
    (!c.is_empty()).then(|| c[slot % c.len()])
}

/// The slot of consumer `i`.
pub fn consumer_slot(i: usize) -> usize {
    i + 1
}

/// Pins the calling thread to the core of `slot`; warns once on stderr if pinning fails.
pub fn pin_current(slot: usize) -> bool {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let ok = core_for(slot).is_some_and(core_affinity::set_for_current);
    if !ok && !WARNED.swap(true, Ordering::Relaxed) {
        eprintln!("warning: --pin: could not pin a thread (slot {slot}); it runs unpinned");
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_with_the_producer_first() {
        let Some(first) = core_for(0) else { return };
        let n = cores().len();
        assert_eq!(core_for(n), Some(first));
        assert_eq!(core_for(consumer_slot(0)), cores().get(1 % n).copied());
        // Pinning a scratch thread works on Linux.
        let pinned = std::thread::spawn(|| pin_current(consumer_slot(0)))
            .join()
            .unwrap();
        assert!(pinned || !cfg!(target_os = "linux"));
    }
}
