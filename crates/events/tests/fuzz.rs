//! Property tests: whatever bytes the reader is given, it never panics, never reads past
//! damage, and everything it does return was really written.

mod common;

use common::*;
use proptest::prelude::*;
use ringbus_events::*;

/// Reads everything; returns the events before the first error and the error.
fn drain(bytes: &[u8]) -> (Vec<Event>, Option<LogError>) {
    let r = recover(bytes);
    // The reader and recover() must agree; verify() must agree on the error position.
    if let Ok(reader) = EventLogReader::new(bytes) {
        match verify(reader) {
            Ok(s) => {
                assert!(r.error.is_none());
                assert_eq!(s.records, r.events.len() as u64);
            }
            Err(e) => {
                let re = r.error.as_ref().expect("recover saw the damage too");
                assert_eq!((e.record(), e.offset()), (re.record(), re.offset()));
            }
        }
    }
    (r.events, r.error)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = drain(&bytes);
    }

    #[test]
    fn arbitrary_records_after_a_valid_header_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut bytes = b"RBUSEVLG\x01\0\0\0".to_vec();
        bytes.extend_from_slice(&body);
        let (read, error) = drain(&bytes);
        // A record takes at least 9 bytes; a non-empty random tail is damage somewhere.
        prop_assert!(read.len() <= body.len() / 9);
        prop_assert!(body.is_empty() || error.is_some() || !read.is_empty());
    }

    #[test]
    fn arbitrary_events_round_trip(seed in any::<u64>(), n in 0usize..64, first in any::<u64>()) {
        let first = first.min(u64::MAX - 64);
        let events = stream(n, first, seed);
        let (read, error) = drain(&log_bytes(&events));
        prop_assert!(error.is_none());
        prop_assert_eq!(read, events);
    }

    #[test]
    fn truncated_logs_keep_exactly_the_whole_records(seed in any::<u64>(), n in 1usize..32, cut in any::<prop::sample::Index>()) {
        let events = stream(n, 0, seed);
        let bytes = log_bytes(&events);
        let offsets = record_offsets(&events);
        let cut = cut.index(bytes.len() + 1);
        let (read, error) = drain(&bytes[..cut]);
        let intact = offsets.iter().skip(1).filter(|end| **end <= cut as u64).count();
        prop_assert_eq!(&read[..], &events[..intact]);
        prop_assert_eq!(error.is_none(), cut >= 12 && offsets.contains(&(cut as u64)));
    }

    #[test]
    fn corrupted_logs_are_never_misread(
        seed in any::<u64>(),
        n in 1usize..16,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4),
    ) {
        let events = stream(n, 0, seed);
        let original = log_bytes(&events);
        let mut bytes = original.clone();
        let offsets = record_offsets(&events);
        for (at, bit) in &flips {
            let at = at.index(bytes.len());
            bytes[at] ^= 1 << bit;
        }
        // Two flips of the same bit cancel out: look at what actually changed.
        let first_damaged = original.iter().zip(&bytes).position(|(a, b)| a != b).unwrap_or(usize::MAX);
        let (read, error) = drain(&bytes);
        // Every event returned is one that was written, in order, and none from a damaged
        // record: the checksum catches every flip of 1 to 3 bits in these short records.
        prop_assert!(read.len() <= events.len());
        prop_assert_eq!(&read[..], &events[..read.len()]);
        let damaged_record = offsets.iter().skip(1).filter(|end| **end <= first_damaged as u64).count();
        prop_assert!(read.len() <= damaged_record);
        if let Some(e) = error {
            if first_damaged >= 12 {
                prop_assert_eq!(e.record(), Some(read.len() as u64));
            }
        } else {
            // Flips that cancelled each other out.
            prop_assert_eq!(read.len(), events.len());
        }
    }
}
