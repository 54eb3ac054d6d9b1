//! The 64-byte event every system carries, and the deterministic content of event `seq`.

use std::time::Instant;

/// One event: a sequence, a publish timestamp, a topic, a market, a nominal size and payload
/// words.
///
/// 64 bytes and 64-byte aligned, the same for every system, so that each one moves exactly
/// one cache line per event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct Event {
    /// Global sequence assigned by the harness's producer, from 0, gap-free.
    pub seq: u64,
    /// Nanoseconds since the run's [`Clock`] origin when the event was published (0 when
    /// latency is not recorded).
    pub stamp_ns: u64,
    /// Topic number (0..256).
    pub topic: u16,
    /// Market number (what the per-market scenarios route and filter by).
    pub market: u16,
    /// Nominal encoded size in bytes (from the trace, or 64).
    pub size: u32,
    /// Payload words, a pure function of `seq` (see [`payload_for`]).
    pub payload: [u64; 5],
}

const _: () = assert!(std::mem::size_of::<Event>() == 64);
const _: () = assert!(std::mem::align_of::<Event>() == 64);

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The payload words of event `seq`.
#[inline]
pub fn payload_for(seq: u64) -> [u64; 5] {
    let m = seq.wrapping_mul(GOLDEN) ^ 0x5555_5555_5555_5555;
    [
        m,
        m.rotate_left(13) ^ seq,
        m.rotate_left(29).wrapping_add(1),
        !m,
        m ^ seq.rotate_left(32),
    ]
}

/// A digest of the payload words, summed by consumers into their checksum.
#[inline]
pub fn digest(p: &[u64; 5]) -> u64 {
    p[0] ^ p[1].rotate_left(7) ^ p[2].rotate_left(19) ^ p[3].rotate_left(31) ^ p[4].rotate_left(43)
}

impl Event {
    /// Writes the content of event `seq` into this slot.
    #[inline]
    pub fn fill(&mut self, seq: u64, topic: u8, market: u16, size: u32, stamp_ns: u64) {
        self.seq = seq;
        self.stamp_ns = stamp_ns;
        self.topic = u16::from(topic);
        self.market = market;
        self.size = size;
        self.payload = payload_for(seq);
    }

    /// An event built from scratch (for channel systems that send by value).
    #[inline]
    pub fn new(seq: u64, topic: u8, market: u16, size: u32, stamp_ns: u64) -> Self {
        let mut e = Event::default();
        e.fill(seq, topic, market, size, stamp_ns);
        e
    }
}

/// A shared monotonic clock: nanoseconds since a common origin taken before any thread starts.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: Instant,
}

impl Clock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        Clock {
            origin: Instant::now(),
        }
    }

    /// Nanoseconds since the origin.
    #[inline]
    pub fn now_ns(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Event>(), 64);
        assert_eq!(std::mem::align_of::<Event>(), 64);
    }

    #[test]
    fn payload_differs_between_sequences() {
        assert_ne!(digest(&payload_for(1)), digest(&payload_for(2)));
        let e = Event::new(7, 3, 2, 100, 5);
        assert_eq!(e.payload, payload_for(7));
        assert_eq!((e.topic, e.market, e.size, e.stamp_ns), (3, 2, 100, 5));
    }
}
