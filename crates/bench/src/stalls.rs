//! What the machine takes from threads that never wait: the floor under every latency.
//!
//! One thread per thread of the scenario spins on the clock and records every gap between
//! two reads longer than [`THRESHOLD_NS`]: time the thread did not run (timer interrupts, the
//! hypervisor taking the virtual core, another process). Thread 0 stands for the producer,
//! the others for consumers.
//!
//! From those stalls comes a floor ([`floor`]): the latency a consumer that costs nothing
//! would see, with the producer publishing at a paced rate on thread 0's time and the
//! consumer handling each event at once on its own thread's time. An event waits while its
//! consumer's thread is stalled and the producer's is not; a stall of both delays nothing,
//! and once the ring is full the producer waits too and stamps its events when it can
//! publish them, after the stall.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::check::new_histogram;

/// Gaps between two clock reads shorter than this are the loop's own cost, not a stall.
pub const THRESHOLD_NS: u64 = 250;

/// What one probe measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stalls {
    /// Spinning threads, each on its own core when pinned.
    pub threads: usize,
    /// How long each thread spun.
    pub window_ms: f64,
    /// Share of the threads' time spent in stalls, %.
    pub stalled_pct: f64,
    /// Share of the consumers' stall time during which the producer's thread was stalled too,
    /// %: stalls of the whole machine rather than of one core.
    pub shared_pct: f64,
    /// Stalls per second, per thread.
    pub per_sec_per_thread: f64,
    /// Median stall, ns.
    pub median_ns: u64,
    /// Longest stall, ns.
    pub max_ns: u64,
    /// The paced rate the floor is for, events/s.
    pub rate: f64,
    /// The ring capacity the floor is for, events.
    pub capacity: usize,
    /// p99 of a consumer that costs nothing, on these stalls ([`floor`]), ns; `None` when it
    /// is below [`THRESHOLD_NS`].
    pub floor_p99_ns: Option<u64>,
}

/// One gap in a thread's run: when it began (ns since the probe's start) and how long it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    /// Start, ns since the probe began.
    pub at: u64,
    /// Length, ns.
    pub len: u64,
}

impl Stall {
    fn end(&self) -> u64 {
        self.at + self.len
    }
}

/// Stalls kept per thread at most (a machine that stalls this often is reported as it is).
const MAX_STALLS: usize = 1 << 20;

/// Spins `threads` threads (at least 2: a producer and a consumer) on the clock for `window`,
/// pinned to the harness's producer and consumer cores when `pin`, and sums up their stalls;
/// the floor is for a producer paced at `rate` into a ring of `capacity` events.
pub fn probe(threads: usize, window: Duration, pin: bool, rate: f64, capacity: usize) -> Stalls {
    let threads = threads.max(2);
    let start = std::sync::Barrier::new(threads);
    let began = Instant::now();
    let per_thread: Vec<Vec<Stall>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|slot| {
                let start = &start;
                s.spawn(move || {
                    if pin {
                        crate::pin::pin_current(slot);
                    }
                    start.wait();
                    spin(began, window)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a stall probe thread panicked"))
            .collect()
    });
    let window_ns = window.as_nanos() as u64;
    let mut lengths = new_histogram();
    for st in per_thread.iter().flatten() {
        lengths.saturating_record(st.len);
    }
    let stalled: u64 = per_thread.iter().flatten().map(|s| s.len).sum();
    let (producer, consumers) = per_thread.split_first().expect("two threads at least");
    let consumer_stalled: u64 = consumers.iter().flatten().map(|s| s.len).sum();
    let shared: u64 = consumers.iter().map(|c| overlap(c, producer)).sum();
    let mut delays = Delays::default();
    for c in consumers {
        delays.add(producer, c, window_ns, rate, capacity);
    }
    Stalls {
        threads,
        window_ms: window.as_secs_f64() * 1e3,
        stalled_pct: stalled as f64 / (window_ns as f64 * threads as f64) * 100.0,
        shared_pct: shared as f64 / consumer_stalled.max(1) as f64 * 100.0,
        per_sec_per_thread: lengths.len() as f64 / window.as_secs_f64() / threads as f64,
        median_ns: if lengths.is_empty() {
            0
        } else {
            lengths.value_at_quantile(0.5)
        },
        max_ns: lengths.max(),
        rate,
        capacity,
        floor_p99_ns: delays.quantile(0.99),
    }
}

/// One thread: its gaps over [`THRESHOLD_NS`] between two clock reads, for `window`.
fn spin(began: Instant, window: Duration) -> Vec<Stall> {
    let mut stalls = Vec::with_capacity(4096);
    let mut last = Instant::now();
    let until = last + window;
    loop {
        let now = Instant::now();
        let len = now.duration_since(last).as_nanos() as u64;
        if len > THRESHOLD_NS && stalls.len() < MAX_STALLS {
            let at = last.duration_since(began).as_nanos() as u64;
            stalls.push(Stall { at, len });
        }
        last = now;
        if now >= until {
            return stalls;
        }
    }
}

/// Time of `a`'s stalls during which `b` was stalled too (both in order of time).
fn overlap(a: &[Stall], b: &[Stall]) -> u64 {
    let mut total = 0;
    let mut j = 0;
    for s in a {
        while j < b.len() && b[j].end() <= s.at {
            j += 1;
        }
        for o in b[j..].iter().take_while(|o| o.at < s.end()) {
            total += s.end().min(o.end()).saturating_sub(s.at.max(o.at));
        }
    }
    total
}

/// The waits of simulated events: how many waited nothing, and the others, kept exact (a
/// few hundred thousand at most) rather than in a 3-digit latency histogram.
#[derive(Default)]
struct Delays {
    none: u64,
    waits: Vec<u64>,
}

impl Delays {
    /// Events due every `1 / rate` over `window_ns`: published when the producer's thread
    /// runs, handled when the consumer's thread runs, the first `capacity` of a consumer
    /// stall waiting for its end and the rest published after it.
    fn add(
        &mut self,
        producer: &[Stall],
        consumer: &[Stall],
        window_ns: u64,
        rate: f64,
        capacity: usize,
    ) {
        let events = (window_ns as f64 * rate / 1e9) as u64;
        let (mut p, mut c) = (0, 0);
        let mut held_in = (usize::MAX, 0usize);
        for k in 0..events {
            let mut t = (k as f64 * 1e9 / rate) as u64;
            while p < producer.len() && producer[p].end() <= t {
                p += 1;
            }
            if p < producer.len() && producer[p].at <= t {
                t = producer[p].end();
            }
            while c < consumer.len() && consumer[c].end() <= t {
                c += 1;
            }
            match consumer.get(c).filter(|s| s.at <= t) {
                Some(s) => {
                    if held_in.0 != c {
                        held_in = (c, 0);
                    }
                    held_in.1 += 1;
                    if held_in.1 <= capacity {
                        self.waits.push(s.end() - t);
                    } else {
                        self.none += 1;
                    }
                }
                None => self.none += 1,
            }
        }
    }

    /// The `q` quantile of the waits, or `None` when it is below [`THRESHOLD_NS`].
    fn quantile(&mut self, q: f64) -> Option<u64> {
        let all = self.none + self.waits.len() as u64;
        let rank = (q * all as f64).ceil() as u64;
        if all == 0 || rank <= self.none {
            return None;
        }
        self.waits.sort_unstable();
        let i = (rank - self.none - 1) as usize;
        self.waits.get(i).copied().filter(|&w| w > THRESHOLD_NS)
    }
}

/// The `q` quantile of the wait of events paced at `rate` over `window_ns`, published on the
/// time of a thread with `producer` stalls into a ring of `capacity`, handled at once on the
/// time of a thread with `consumer` stalls ([`Stall`]s in order of time). `None` when it is
/// below [`THRESHOLD_NS`], which the stalls do not see.
pub fn floor(
    producer: &[Stall],
    consumer: &[Stall],
    window_ns: u64,
    rate: f64,
    capacity: usize,
    q: f64,
) -> Option<u64> {
    let mut d = Delays::default();
    d.add(producer, consumer, window_ns, rate, capacity);
    d.quantile(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    const US: u64 = 1_000;

    fn stall(at: u64, len: u64) -> Stall {
        Stall { at, len }
    }

    #[test]
    fn a_consumer_stall_delays_the_events_published_during_it() {
        // 10 ms at 1 M/s: 10 000 events. The consumer stalls 400 us: 400 events wait, from
        // 400 us down to 1 us; the 100 that wait longest (1%) wait more than 300 us.
        let c = [stall(2 * MS, 400 * US)];
        let f = floor(&[], &c, 10 * MS, 1e6, 100_000, 0.99).unwrap();
        assert!((300 * US..=301 * US).contains(&f), "{f}");
        // A stall of 0.5% of the time leaves the p99 under the stalls.
        let c = [stall(2 * MS, 50 * US)];
        assert_eq!(floor(&[], &c, 10 * MS, 1e6, 100_000, 0.99), None);
    }

    #[test]
    fn a_stall_of_both_threads_delays_nothing() {
        let both = [stall(2 * MS, 400 * US)];
        assert_eq!(floor(&both, &both, 10 * MS, 1e6, 100_000, 0.99), None);
        assert_eq!(overlap(&both, &both), 400 * US);
        // The producer back first: only what it publishes before the consumer's end waits.
        let p = [stall(2 * MS, 300 * US)];
        let f = floor(&p, &both, 10 * MS, 1e6, 100_000, 0.999).unwrap();
        assert!(f <= 100 * US, "{f}");
        assert_eq!(overlap(&both, &p), 300 * US);
    }

    #[test]
    fn a_full_ring_holds_the_rest_of_a_long_stall_back() {
        // A stall of 1 ms with a ring of 50 events: 50 of 10 000 events (0.5%) wait.
        let c = [stall(2 * MS, MS)];
        assert_eq!(floor(&[], &c, 10 * MS, 1e6, 50, 0.99), None);
        // With a ring of 1024 they are 1024 (10%): 1% wait more than 900 us.
        let f = floor(&[], &c, 10 * MS, 1e6, 1024, 0.99).unwrap();
        assert!((899 * US..=901 * US).contains(&f), "{f}");
    }

    #[test]
    fn a_probe_accounts_for_every_thread_and_its_window() {
        let s = probe(2, Duration::from_millis(20), false, 1e6, 1024);
        assert_eq!(s.threads, 2);
        assert!((s.window_ms - 20.0).abs() < 1e-9);
        assert!((0.0..=100.0).contains(&s.stalled_pct), "{s:?}");
        assert!((0.0..=100.0).contains(&s.shared_pct), "{s:?}");
        assert!(s.median_ns <= s.max_ns);
        if let Some(f) = s.floor_p99_ns {
            assert!(f <= s.max_ns, "{s:?}");
        }
    }
}
