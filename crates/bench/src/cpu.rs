//! CPU time of the whole process (every thread, live or ended), for the CPU cost of a run and
//! of idling.

use std::time::Duration;

/// User + system CPU time the process has used so far, all threads included (threads that have
/// ended too), from `getrusage(RUSAGE_SELF)`. `None` if the call fails.
pub fn process_cpu() -> Option<Duration> {
    rusage(libc::RUSAGE_SELF)
}

/// User + system CPU time of the calling thread (`getrusage(RUSAGE_THREAD)`, Linux only).
pub fn thread_cpu() -> Option<Duration> {
    #[cfg(target_os = "linux")]
    {
        rusage(libc::RUSAGE_THREAD)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

fn rusage(who: libc::c_int) -> Option<Duration> {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `ru` points to writable memory of the size of `rusage`; getrusage only writes it.
    let rc = unsafe { libc::getrusage(who, ru.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: getrusage returned 0, so it filled the struct (which was zeroed before anyway).
    let ru = unsafe { ru.assume_init() };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    Some(tv(ru.ru_utime) + tv(ru.ru_stime))
}

/// CPU seconds per million events: `cpu` spent for `events` events.
pub fn s_per_m_events(cpu: Duration, events: u64) -> Option<f64> {
    (events > 0).then(|| cpu.as_secs_f64() / (events as f64 / 1e6))
}

/// CPU used while idle, as a percentage of one core per consumer: `cpu` over `wall` shared by
/// `consumers` threads.
pub fn pct_of_core_per_consumer(cpu: Duration, wall: Duration, consumers: usize) -> Option<f64> {
    let w = wall.as_secs_f64();
    (w > 0.0 && consumers > 0).then(|| cpu.as_secs_f64() / w / consumers as f64 * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn burning_cpu_shows_up_and_is_bounded_by_wall_time() {
        let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
        let c0 = process_cpu().unwrap();
        let t0 = Instant::now();
        let mut x = 0u64;
        while t0.elapsed() < Duration::from_millis(50) {
            for i in 0..1000u64 {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
            }
        }
        let cpu = process_cpu().unwrap() - c0;
        let wall = t0.elapsed();
        std::hint::black_box(x);
        // Other test threads of this process may run meanwhile: bounded by every core busy.
        let slack = Duration::from_millis(20);
        assert!(cpu > Duration::ZERO, "{cpu:?}");
        assert!(
            cpu < wall * ncpu as u32 + slack,
            "{cpu:?} over {wall:?} x {ncpu}"
        );
        let t = thread_cpu();
        if cfg!(target_os = "linux") {
            assert!(t.unwrap() > Duration::ZERO);
        }
    }

    #[test]
    fn per_event_and_idle_figures() {
        assert_eq!(s_per_m_events(Duration::from_secs(2), 4_000_000), Some(0.5));
        assert_eq!(s_per_m_events(Duration::from_secs(2), 0), None);
        let p = pct_of_core_per_consumer(Duration::from_millis(100), Duration::from_millis(100), 2);
        assert!((p.unwrap() - 50.0).abs() < 1e-9);
        assert_eq!(
            pct_of_core_per_consumer(Duration::ZERO, Duration::ZERO, 1),
            None
        );
    }
}
