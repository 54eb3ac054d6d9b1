//! Property tests: whatever bytes the reader is given, it never panics, never reads past
//! damage, and everything it does return was really written.

mod common;

use common::*;
use proptest::prelude::*;
use ringbus_events::*;
use ringbus_testkit::damage::{apply, damage, Damage};

/// Reads everything; returns the events before the first error and the error.
fn drain(bytes: &[u8]) -> (Vec<Event>, Option<LogError>) {
    let r = recover(bytes);
    if let Ok(reader) = EventLogReader::new(bytes) {
        match verify(reader) {
            Ok(s) => {
                assert!(r.error.is_none());
                assert_eq!(s.records, r.events.len() as u64);
            }
            Err(e) => {
                // The whole-stream rules (sequences from 0, block framing, a complete last
                // block) may refuse the log before the damage recover() sees, never after;
                // at the same record it is the same damage, at the same offset.
                let intact = r.events.len() as u64;
                assert!(e.record().is_none_or(|record| record <= intact), "{e}");
                if let Some(re) = r.error.as_ref().filter(|re| re.record() == e.record()) {
                    assert_eq!(e.offset(), re.offset(), "{e} / {re}");
                }
            }
        }
        assert_agree(bytes);
    }
    (r.events, r.error)
}

/// `verify` and `dump` agree on `bytes`: both accept, or both refuse with the same error
/// at the same record and offset, `dump` having written exactly the events before it.
fn assert_agree(bytes: &[u8]) -> Option<LogError> {
    let verified = EventLogReader::new(bytes).and_then(verify);
    let mut out = Vec::new();
    let dumped = EventLogReader::new(bytes)
        .map_err(DumpError::Log)
        .and_then(|r| dump(r, &mut out, None));
    let lines = out.iter().filter(|b| **b == b'\n').count() as u64;
    match (verified, dumped) {
        (Ok(summary), Ok(n)) => {
            assert_eq!((summary.records, lines), (n, n));
            None
        }
        (Err(v), Err(DumpError::Log(d))) => {
            assert_eq!(
                std::mem::discriminant(&v),
                std::mem::discriminant(&d),
                "{v} / {d}"
            );
            assert_eq!(
                (v.record(), v.offset()),
                (d.record(), d.offset()),
                "{v} / {d}"
            );
            assert_eq!(v.to_string(), d.to_string());
            assert_eq!(
                Some(lines),
                v.record().or(Some(0)),
                "dump wrote the events before {v}"
            );
            Some(v)
        }
        (v, d) => panic!("verify and dump disagree: {v:?} / {d:?}"),
    }
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
        let mut bytes = b"RBUSEVLG\x02\0\0\0\0\0\0\0\0\0\0\0".to_vec();
        bytes.extend_from_slice(&body);
        let (read, error) = drain(&bytes);
        // A record takes at least 9 bytes; a non-empty random tail is damage somewhere.
        prop_assert!(read.len() <= body.len() / 9);
        prop_assert!(body.is_empty() || error.is_some() || !read.is_empty());
    }

    /// A damaged log: `verify` and `dump` agree and neither panics; record-level damage is
    /// named as what it is.
    #[test]
    fn damaged_logs_get_the_same_verdict_from_verify_and_dump(
        seed in any::<u64>(),
        sizes in proptest::collection::vec(0usize..6, 1..4),
        damage in damage(),
    ) {
        let events = framed(&sizes, 0, seed);
        let bytes = log_bytes(&events);
        let offsets = record_offsets(&events);
        let damaged = apply(&damage, &bytes, &offsets);
        let (_, _) = drain(&damaged);
        let verdict = assert_agree(&damaged);
        let n = events.len();
        match (&damage, &verdict) {
            (_, None) => {
                // Only damage that changed nothing, or a cut at a block boundary, passes.
                let ends = events.iter().enumerate()
                    .filter(|(_, e)| e.topic() == EventTopic::EndBlock)
                    .map(|(i, _)| offsets[i + 1] as usize);
                prop_assert!(
                    damaged == bytes
                        || damaged.len() == offsets[0] as usize
                        || (bytes.starts_with(&damaged) && ends.clone().any(|end| end == damaged.len())),
                    "{damage:?} passed"
                );
            }
            (Damage::Drop(i), Some(e)) => {
                let i = i.index(n);
                let expected_ok = if i == n - 1 {
                    matches!(e, LogError::IncompleteBlock { .. })
                } else {
                    matches!(e, LogError::MissingRecords { record, .. } if *record == i as u64)
                };
                prop_assert!(expected_ok, "drop {i}: {e}");
            }
            (Damage::Duplicate(i, at), Some(e)) => {
                let (i, at) = (i.index(n), at.index(n + 1));
                prop_assert!(matches!(e, LogError::DuplicateRecord { sequence, .. } if *sequence == i as u64), "copy of {i} at {at}: {e}");
            }
            (Damage::Swap(i, j), Some(e)) => {
                let (i, j) = (i.index(n).min(j.index(n)), i.index(n).max(j.index(n)));
                prop_assert!(matches!(e, LogError::ReorderedRecords { record, expected_at: Some(at), .. }
                    if *record == i as u64 && *at == j as u64), "swap {i} {j}: {e}");
            }
            (_, Some(_)) => {}
        }
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
        prop_assert_eq!(error.is_none(), cut as u64 >= offsets[0] && offsets.contains(&(cut as u64)));
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
            if first_damaged as u64 >= offsets[0] {
                prop_assert_eq!(e.record(), Some(read.len() as u64));
            }
        } else {
            // Flips that cancelled each other out.
            prop_assert_eq!(read.len(), events.len());
        }
    }
}
