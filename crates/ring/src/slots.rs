//! The ring's memory: one topic tag, one key and one event per slot, allocated once and
//! reused.
//!
//! This is the only module that touches raw memory or implements `Send`/`Sync`. Everything
//! else in the crate is built on the six `unsafe fn`s below (the `unsafe` blocks elsewhere
//! only call them), and each states the part of the cursor protocol (in `producer.rs`,
//! `reader.rs`, `tap.rs`) that makes it sound.
//!
//! Tags live apart from events so that a consumer filtering by topic never touches the
//! payload of an event it did not ask for. On a bus without keys (`K = ()`) they have an
//! array of their own, which a one-topic consumer scans 64 tags per cache line, eight at a
//! time; that bus has an empty key array and never touches it. On a bus with keys (`K`, see
//! `key.rs`) each tag sits beside its slot's key, in one array of `Tagged`: a consumer
//! filtering by key reads both in one place, and a publish writes the two to one line
//! rather than two (a line more per publish costs single publishes up to a quarter of their
//! throughput: `docs/decisions/tag-beside-key.md`).

use crate::error::ConfigError;
use crate::key::SlotKey;
use crate::sync::UnsafeCell;
use crate::topic::Topic;

/// Refuse rings whose slots alone would need more than this many bytes (1 TiB): a
/// configuration error, not an attempt to allocate.
const MAX_RING_BYTES: usize = 1 << 40;

/// A slot's key and topic tag, side by side (a bus with keys).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
struct Tagged<K> {
    key: K,
    topic: Topic,
}

/// Slots of a power-of-two ring.
pub(crate) struct Slots<T, K: SlotKey = ()> {
    /// Invariant: `values.len() == mask + 1`, a power of two; if `K::STORED`, `keys.len()`
    /// is the same and `tags` is empty, else `tags.len()` is the same and `keys` is empty.
    tags: Box<[UnsafeCell<Topic>]>,
    keys: Box<[UnsafeCell<Tagged<K>>]>,
    values: Box<[UnsafeCell<T>]>,
    mask: u64,
}

// SAFETY: moving the slots to another thread moves the `T`s in them: they must be `Send`.
// Keys are `Send + Sync` (`SlotKey`).
unsafe impl<T: Send, K: SlotKey> Send for Slots<T, K> {}

// SAFETY: the producer thread writes slots through `&Slots` (so `T: Send`: values created on
// one thread are mutated on another) while consumer threads read the same `T`s at the same
// time through `&T` (so `T: Sync`). The cursor protocol guarantees no slot is written while
// it is read; see the `# Safety` sections below. Keys are `Send + Sync` (`SlotKey`) and
// follow the same protocol as tags.
unsafe impl<T: Send + Sync, K: SlotKey> Sync for Slots<T, K> {}

impl<T, K: SlotKey> Slots<T, K> {
    /// Allocates `capacity` slots, each filled by `factory`.
    pub(crate) fn new(
        capacity: usize,
        mut factory: impl FnMut() -> T,
    ) -> Result<Self, ConfigError> {
        if capacity == 0 {
            return Err(ConfigError::ZeroCapacity);
        }
        if !capacity.is_power_of_two() {
            return Err(ConfigError::NotPowerOfTwo(capacity));
        }
        let tag_bytes = if K::STORED {
            std::mem::size_of::<Tagged<K>>()
        } else {
            std::mem::size_of::<Topic>()
        };
        let slot_bytes = std::mem::size_of::<T>().max(1) + tag_bytes;
        let too_large = ConfigError::TooLarge {
            capacity,
            slot_bytes,
        };
        match capacity.checked_mul(slot_bytes) {
            Some(bytes) if bytes <= MAX_RING_BYTES => {}
            _ => return Err(too_large),
        }
        let mut tags = Vec::new();
        let mut keys = Vec::new();
        if K::STORED {
            keys.try_reserve_exact(capacity)
                .map_err(|_| too_large.clone())?;
            keys.resize_with(capacity, || UnsafeCell::new(Tagged::default()));
        } else {
            tags.try_reserve_exact(capacity)
                .map_err(|_| too_large.clone())?;
            tags.resize_with(capacity, || UnsafeCell::new(Topic::new(0)));
        }
        let mut values = Vec::new();
        values.try_reserve_exact(capacity).map_err(|_| too_large)?;
        for _ in 0..capacity {
            values.push(UnsafeCell::new(factory()));
        }
        Ok(Slots {
            tags: tags.into_boxed_slice(),
            keys: keys.into_boxed_slice(),
            values: values.into_boxed_slice(),
            mask: capacity as u64 - 1,
        })
    }

    /// The number of slots.
    #[inline]
    pub(crate) fn capacity(&self) -> u64 {
        self.mask + 1
    }

    #[inline(always)]
    fn index(&self, sequence: u64) -> usize {
        (sequence & self.mask) as usize
    }

    /// Fills the slot of `sequence` in place with `fill`, then tags it with the topic and
    /// keys it with the key `fill` returns.
    ///
    /// # Safety
    /// The caller is the single producer, `sequence` is claimed and not yet published, and
    /// every reader that could still read this slot's previous occupant (`sequence -
    /// capacity`) has released it: its cursor, observed with an Acquire load, is past it.
    #[inline(always)]
    pub(crate) unsafe fn write(&self, sequence: u64, fill: impl FnOnce(&mut T) -> (Topic, K)) {
        let i = self.index(sequence);
        // SAFETY: per this function's contract no other thread accesses slot `i` now, so this
        // `&mut T` is the only reference to the event until the producer publishes `sequence`
        // with a Release store.
        let (topic, key) = self.values[i].with_mut(|value| fill(unsafe { &mut *value }));
        // The tag is a line written per event beyond the event's and the cursor's, what
        // single publishes pay over a disruptor (docs/decisions/topic-tag-store.md); beside
        // the key, the two share it.
        if K::STORED {
            // SAFETY: as above, for the key and tag (`keys.len() == capacity` when
            // `K::STORED`). They are written before the publish's Release store, and read
            // after the matching Acquire load (`Slots::key`, `Slots::topic`).
            self.keys[i].with_mut(|slot| unsafe { *slot = Tagged { key, topic } });
        } else {
            // SAFETY: as above, for the tag (`tags.len() == capacity` when not `K::STORED`).
            self.tags[i].with_mut(|tag| unsafe { *tag = topic });
        }
    }

    /// The topic tag of the published event `sequence`.
    ///
    /// # Safety
    /// `sequence` was published (the caller observed the publishing cursor past it with an
    /// Acquire load, which pairs with the producer's Release store) and the caller has not
    /// released it, so the producer cannot overwrite it.
    #[inline(always)]
    pub(crate) unsafe fn topic(&self, sequence: u64) -> Topic {
        let i = self.index(sequence);
        if K::STORED {
            // SAFETY: per this function's contract the slot is not being written; the key
            // array has `capacity` entries when `K::STORED`.
            return self.keys[i].with(|slot| unsafe { (*slot).topic });
        }
        // SAFETY: per this function's contract the slot is not being written; the tag array
        // has `capacity` entries when not `K::STORED`.
        self.tags[i].with(|tag| unsafe { *tag })
    }

    /// The key of the published event `sequence` (`K::default()` for a bus that stores none).
    ///
    /// # Safety
    /// As for [`Slots::topic`].
    #[inline(always)]
    pub(crate) unsafe fn key(&self, sequence: u64) -> K {
        if !K::STORED {
            return K::default();
        }
        // SAFETY: per this function's contract the slot is not being written; the key array
        // has `capacity` entries when `K::STORED`.
        self.keys[self.index(sequence)].with(|slot| unsafe { (*slot).key })
    }

    /// The published event `sequence`.
    ///
    /// # Safety
    /// As for [`Slots::topic`]; and the returned reference must not outlive the caller's hold
    /// on the sequence (the caller releases it only after the last use of the reference).
    #[inline(always)]
    pub(crate) unsafe fn get(&self, sequence: u64) -> &T {
        // SAFETY: per this function's contract the slot is published and not being written,
        // and stays so while the reference lives.
        self.values[self.index(sequence)].with(|value| unsafe { &*value })
    }
}

impl<T, K: SlotKey> Slots<T, K> {
    /// The first sequence in `from..to` whose tag is `topic`, or `to` if none is.
    ///
    /// On a bus without keys, reads the tags eight at a time (one 64-bit load, a SWAR byte
    /// compare), so a consumer of a rare topic steps over foreign events at a fraction of a
    /// cycle each; with keys, tag by tag beside them.
    ///
    /// # Safety
    /// As for [`Slots::topic`], for every sequence in `from..to`.
    #[inline]
    pub(crate) unsafe fn find_topic(&self, from: u64, to: u64, topic: Topic) -> u64 {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGHS: u64 = 0x8080_8080_8080_8080;
        let pattern = ONES * u64::from(topic.get());
        let mut sequence = from;
        while sequence < to {
            let start = self.index(sequence);
            // The run of slots from `start` to the end of `to` or of the array, whichever
            // comes first (a range may wrap around the ring).
            let run = (to - sequence).min(self.capacity() - start as u64) as usize;
            let mut i = 0;
            if !cfg!(loom) && !K::STORED {
                // `Topic` is a transparent `u8` and the shim's `UnsafeCell` is transparent
                // outside loom, so the tags (of a bus without keys) are `capacity` contiguous
                // bytes; the pointer
                // comes from the whole slice, so it may address any of them.
                let tags = self.tags.as_ptr().cast::<u8>();
                while i + 8 <= run {
                    // SAFETY: `start + i + 8 <= start + run <= capacity`: in bounds.
                    let at = unsafe { tags.add(start + i) }.cast::<[u8; 8]>();
                    // SAFETY: in bounds (above); the eight tags are published and not
                    // released by the caller (this function's contract), so nothing writes
                    // them during the read.
                    let word = u64::from_le_bytes(unsafe { at.read_unaligned() });
                    let diff = word ^ pattern;
                    // A byte of `diff` is zero where the tag matches; the lowest flagged
                    // byte of this expression is exactly the lowest zero byte.
                    let zero = diff.wrapping_sub(ONES) & !diff & HIGHS;
                    if zero != 0 {
                        return sequence + i as u64 + u64::from(zero.trailing_zeros() / 8);
                    }
                    i += 8;
                }
            }
            while i < run {
                let at = sequence + i as u64;
                // SAFETY: per this function's contract.
                if unsafe { self.topic(at) } == topic {
                    return at;
                }
                i += 1;
            }
            sequence += run as u64;
        }
        to
    }

    /// Which slots of the block that starts at `from` pass `wanted`: bit `j` of the mask is
    /// sequence `from + j`. The block is the first 64 slots of `from..to`, cut at the end of
    /// the array (a range may wrap around the ring); its length is returned with the mask.
    ///
    /// The keys and tags of the block are read as one contiguous slice and `wanted` is asked
    /// of every slot with no branch on its answer, so a consumer filtering on keys steps over
    /// foreign events in bulk (a simple predicate compiles to vector compares) rather than
    /// slot by slot.
    ///
    /// # Safety
    /// As for [`Slots::topic`], for every sequence in `from..to`; `from < to`; `K::STORED`.
    #[inline]
    pub(crate) unsafe fn wanted_block(
        &self,
        from: u64,
        to: u64,
        wanted: impl Fn(Topic, K) -> bool,
    ) -> (u64, u64) {
        debug_assert!(K::STORED && from < to);
        let start = self.index(from);
        let len = (to - from).min(64).min(self.capacity() - start as u64) as usize;
        let mut bits = 0u64;
        if cfg!(loom) {
            for j in 0..len {
                let at = from + j as u64;
                // SAFETY: per this function's contract.
                let tag = unsafe { self.topic(at) };
                // SAFETY: as above.
                let key = unsafe { self.key(at) };
                bits |= u64::from(wanted(tag, key)) << j;
            }
            return (bits, len as u64);
        }
        // The shim's `UnsafeCell` is transparent outside loom, so the keys are `capacity`
        // contiguous `Tagged<K>`s; the pointer comes from the whole slice, so it may address
        // any of them.
        let keys = self.keys.as_ptr().cast::<Tagged<K>>();
        // SAFETY: `start + len <= capacity` (`len` is cut at the end of the array, and
        // `keys.len() == capacity` when `K::STORED`): in bounds.
        let keys_at = unsafe { keys.add(start) };
        // SAFETY: `len` keys from `keys_at` are in bounds (above), initialised, and published
        // and not released by the caller (this function's contract), so nothing writes them
        // while this shared slice lives (until this returns).
        let keys = unsafe { std::slice::from_raw_parts(keys_at, len) };
        if let Ok(keys) = <&[Tagged<K>; 64]>::try_from(keys) {
            // A whole block: a fixed trip count, which the compiler vectorizes into one flag
            // byte per slot, then eight flags to eight bits at a time (the multiply moves
            // byte `j`'s low bit to bit `56 + j`; no two terms overlap, so nothing carries).
            let mut flags = [0u8; 64];
            for (flag, slot) in flags.iter_mut().zip(keys) {
                *flag = u8::from(wanted(slot.topic, slot.key));
            }
            for (i, eight) in flags.chunks_exact(8).enumerate() {
                let word = u64::from_le_bytes(eight.try_into().unwrap_or([0; 8]));
                bits |= (word.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * i);
            }
        } else {
            for (j, slot) in keys.iter().enumerate() {
                bits |= u64::from(wanted(slot.topic, slot.key)) << j;
            }
        }
        (bits, len as u64)
    }
}

impl<T, K: SlotKey> std::fmt::Debug for Slots<T, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slots")
            .field("capacity", &self.capacity())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::key::KeyMatch;

    /// Slots without keys.
    type Plain<T> = Slots<T, ()>;

    /// A stored key for the tests.
    #[derive(Clone, Copy, Debug, Default, PartialEq)]
    struct Desk(u32);

    impl SlotKey for Desk {
        type Filter = u32;
        fn check(&self, wanted: &u32) -> KeyMatch {
            KeyMatch::exact(self.0 == *wanted)
        }
    }

    #[test]
    fn capacity_must_be_a_power_of_two() {
        assert_eq!(
            Plain::new(0, || 0u8).unwrap_err(),
            ConfigError::ZeroCapacity
        );
        assert_eq!(
            Plain::new(3, || 0u8).unwrap_err(),
            ConfigError::NotPowerOfTwo(3)
        );
        assert!(Plain::new(1, || 0u8).is_ok());
        assert_eq!(Plain::new(8, || 0u8).unwrap().capacity(), 8);
    }

    #[test]
    fn a_ring_too_large_for_memory_is_refused_before_allocating() {
        let err = Plain::new(1 << 40, || [0u8; 64]).unwrap_err();
        assert!(
            matches!(err, ConfigError::TooLarge { capacity, slot_bytes: 65 } if capacity == 1 << 40)
        );
    }

    #[test]
    fn find_topic_agrees_with_a_slot_by_slot_scan_across_the_wrap() {
        find_topic_agrees_on(Plain::new(32, || 0u8).unwrap(), |_| ());
    }

    #[test]
    fn find_topic_agrees_on_a_bus_with_keys_too() {
        let slots = Slots::<u8, Desk>::new(32, || 0u8).unwrap();
        find_topic_agrees_on(slots, |seq| Desk(seq as u32));
    }

    /// Writes sequences of five topics into 32 slots and checks `find_topic` over every range
    /// of the ring against a plain search, as the ring wraps.
    fn find_topic_agrees_on<K: SlotKey>(slots: Slots<u8, K>, key: impl Fn(u64) -> K) {
        let tag = |seq: u64| Topic::new(((seq * 7919) % 5) as u8);
        let last = if cfg!(miri) { 36 } else { 80 };
        for seq in 0..last {
            // SAFETY: single-threaded test: nothing else reads or writes the slots.
            unsafe { slots.write(seq, |_| (tag(seq), key(seq))) };
            if seq < 31 {
                continue;
            }
            let oldest = seq + 1 - 32;
            for from in oldest..=seq {
                for to in from..=seq + 1 {
                    for t in 0..6u8 {
                        let wanted = Topic::new(t);
                        let expected = (from..to).find(|&s| tag(s) == wanted).unwrap_or(to);
                        // SAFETY: as above.
                        let found = unsafe { slots.find_topic(from, to, wanted) };
                        assert_eq!(found, expected, "{from}..{to} topic {t}");
                    }
                }
            }
        }
    }

    #[test]
    fn wanted_block_agrees_with_a_slot_by_slot_scan_across_the_wrap() {
        let capacity = if cfg!(miri) { 128 } else { 256 };
        let slots = Slots::<u8, Desk>::new(capacity, || 0u8).unwrap();
        let tag = |seq: u64| Topic::new(((seq * 7919) % 3) as u8);
        let desk = |seq: u64| Desk(((seq * 104_729) % 5) as u32);
        let last = capacity as u64 + 70;
        for seq in 0..last {
            // SAFETY: single-threaded test: nothing else reads or writes the slots.
            unsafe { slots.write(seq, |_| (tag(seq), desk(seq))) };
        }
        let oldest = last - capacity as u64;
        let step = if cfg!(miri) { 7 } else { 1 };
        for from in (oldest..last).step_by(step) {
            for to in [from + 1, from + 9, from + 63, from + 64, from + 65, last] {
                let to = to.min(last);
                if to <= from {
                    continue;
                }
                for d in 0..6u32 {
                    let wanted = |t: Topic, k: Desk| t != Topic::new(0) && k == Desk(d);
                    // SAFETY: as above.
                    let (bits, len) = unsafe { slots.wanted_block(from, to, wanted) };
                    // The block: up to 64 slots, never past `to` or the end of the array.
                    let array_end = (from / capacity as u64 + 1) * capacity as u64;
                    assert_eq!(len, (to - from).min(64).min(array_end - from));
                    let expected = (0..len)
                        .filter(|&j| wanted(tag(from + j), desk(from + j)))
                        .fold(0u64, |bits, j| bits | 1 << j);
                    assert_eq!(bits, expected, "{from}..{to} desk {d}");
                }
            }
        }
    }

    #[test]
    fn slots_wrap_by_mask_with_their_tags_and_keys() {
        let slots = Slots::<u32, Desk>::new(4, || 0u32).unwrap();
        for seq in 0..10u64 {
            // SAFETY: single-threaded test: nothing else reads or writes the slots.
            unsafe {
                slots.write(seq, |v| {
                    *v = seq as u32;
                    (Topic::new(seq as u8), Desk(100 + seq as u32))
                })
            };
            // SAFETY: as above.
            let topic = unsafe { slots.topic(seq) };
            // SAFETY: as above.
            let key = unsafe { slots.key(seq) };
            // SAFETY: as above.
            let value = unsafe { *slots.get(seq) };
            assert_eq!(
                (topic.get(), key, value),
                (seq as u8, Desk(100 + seq as u32), seq as u32)
            );
        }
    }

    #[test]
    fn keys_count_in_the_size_check_and_unit_keys_take_no_memory() {
        // A `Desk` (4 bytes) and its tag take 8 bytes beside the event's 64.
        let err = Slots::<[u8; 64], Desk>::new(1 << 40, || [0u8; 64]).unwrap_err();
        assert!(matches!(err, ConfigError::TooLarge { slot_bytes: 72, .. }));
        let plain = Plain::new(8, || 0u8).unwrap();
        assert_eq!((plain.tags.len(), plain.keys.len()), (8, 0));
        let keyed = Slots::<u8, Desk>::new(8, || 0u8).unwrap();
        assert_eq!((keyed.tags.len(), keyed.keys.len()), (0, 8));
        // SAFETY: nothing was published; a unit key is never read from memory.
        assert_eq!(unsafe { plain.key(3) }, ());
    }
}
