//! Damaged logs: truncation at every byte, flipped bits, spliced records, bad headers.
//! Each is reported with the right record number and offset, and the intact prefix is kept.

mod common;

use common::*;
use ringbus_events::*;
use std::io::{self, Read, Write};

fn read_all(bytes: &[u8]) -> (Vec<Event>, Option<LogError>) {
    let mut events = Vec::new();
    let reader = match EventLogReader::new(bytes) {
        Ok(r) => r,
        Err(e) => return (events, Some(e)),
    };
    for item in reader {
        match item {
            Ok(e) => events.push(e),
            Err(e) => return (events, Some(e)),
        }
    }
    (events, None)
}

#[test]
fn truncation_at_every_byte_keeps_the_intact_prefix() {
    let events = every_topic(100, 1);
    let bytes = log_bytes(&events);
    let offsets = record_offsets(&events);
    let header_len = offsets[0];
    for cut in 0..=bytes.len() {
        let (read, error) = read_all(&bytes[..cut]);
        let recovered = recover(&bytes[..cut]);
        let cut = cut as u64;
        if cut < header_len {
            assert!(
                matches!(error, Some(LogError::TruncatedHeader { available, needed }) if available == cut && needed == if cut < 12 { 12 } else if cut < 20 { 20 } else { header_len }),
                "cut at {cut}: {error:?}"
            );
            assert!(read.is_empty() && recovered.events.is_empty());
            assert_eq!(recovered.intact_len, 0);
            continue;
        }
        // Records wholly before the cut are intact.
        let intact = offsets.iter().skip(1).filter(|end| **end <= cut).count();
        assert_eq!(read, events[..intact], "cut at {cut}");
        assert_eq!(recovered.events, events[..intact]);
        assert_eq!(recovered.intact_len, offsets[intact]);
        if cut == offsets[intact] {
            assert!(
                error.is_none() && recovered.is_clean(),
                "clean cut at {cut}: {error:?}"
            );
        } else {
            let offset = offsets[intact];
            match error {
                Some(LogError::Truncated {
                    record,
                    offset: o,
                    available,
                    ..
                }) => {
                    assert_eq!(
                        (record, o, available),
                        (intact as u64, offset, cut - offset)
                    );
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
            let e = recovered.error.expect("damage reported");
            assert_eq!((e.record(), e.offset()), (Some(intact as u64), offset));
        }
    }
}

#[test]
fn every_flipped_bit_of_a_record_is_caught_at_that_record() {
    let events = every_topic(0, 2);
    let bytes = log_bytes(&events);
    let offsets = record_offsets(&events);
    for record in 0..events.len() {
        let (start, end) = (offsets[record] as usize, offsets[record + 1] as usize);
        for byte in start..end {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[byte] ^= 1 << bit;
                let (read, error) = read_all(&damaged);
                assert_eq!(read, events[..record], "byte {byte} bit {bit}");
                let error = error.expect("damage must be reported");
                assert_eq!(error.record(), Some(record as u64), "{error}");
                assert_eq!(error.offset(), offsets[record]);
                if byte >= start + 4 {
                    // The checksum or the body itself changed.
                    assert!(
                        matches!(error, LogError::ChecksumMismatch { .. }),
                        "{error}"
                    );
                } else {
                    // The length changed: too large, past the end, or the wrong bytes.
                    assert!(
                        matches!(
                            error,
                            LogError::ChecksumMismatch { .. }
                                | LogError::Truncated { .. }
                                | LogError::RecordTooLarge { .. }
                        ),
                        "{error}"
                    );
                }
            }
        }
    }
}

#[test]
fn header_damage_is_named() {
    let bytes = log_bytes(&every_topic(0, 3));
    let mut bad_magic = bytes.clone();
    bad_magic[3] ^= 0x20;
    assert!(matches!(
        EventLogReader::new(&bad_magic[..]),
        Err(LogError::BadMagic { .. })
    ));
    let mut bad_version = bytes.clone();
    bad_version[8] = 3;
    let err = EventLogReader::new(&bad_version[..]).unwrap_err();
    assert!(matches!(
        err,
        LogError::UnsupportedVersion {
            found: 3,
            supported: 2
        }
    ));
    assert!(err.to_string().contains("version 3"));
    assert_eq!(err.offset(), 8);

    // The identity: its length, its checksum, its bytes, its text.
    let mut long = bytes.clone();
    long[14] = 0x10;
    let err = EventLogReader::new(&long[..]).unwrap_err();
    let text_len = identity().to_string().len() as u32;
    assert!(
        matches!(err, LogError::IdentityTooLong { len, max: 1024 } if len == text_len | 0x10_0000),
        "{err}"
    );
    let mut shorter = bytes.clone();
    shorter[12] -= 1;
    let err = EventLogReader::new(&shorter[..]).unwrap_err();
    assert!(matches!(err, LogError::IdentityChecksum { .. }), "{err}");
    assert_eq!((err.record(), err.offset()), (None, 12));
    let mut flipped = bytes.clone();
    flipped[30] ^= 1;
    let err = EventLogReader::new(&flipped[..]).unwrap_err();
    assert!(matches!(err, LogError::IdentityChecksum { .. }), "{err}");
    // A header whose checksum is right but whose text is no identity.
    let text = b"chain=a genesis=1 seed=1";
    let mut bad = b"RBUSEVLG\x02\0\0\0".to_vec();
    bad.extend_from_slice(&(text.len() as u32).to_le_bytes());
    bad.extend_from_slice(&crc32fast::hash(text).to_le_bytes());
    bad.extend_from_slice(text);
    let err = EventLogReader::new(&bad[..]).unwrap_err();
    assert!(matches!(err, LogError::BadIdentity { .. }), "{err}");
    assert!(err.to_string().contains("genesis"), "{err}");
    assert!(matches!(
        EventLogReader::new(&b"{\"sequence\":1}"[..]),
        Err(LogError::BadMagic { .. })
    ));
}

#[test]
fn a_missing_or_repeated_record_is_a_sequence_error() {
    let events = framed(&[4], 0, 4);
    let bytes = log_bytes(&events);
    let o: Vec<usize> = record_offsets(&events)
        .iter()
        .map(|x| *x as usize)
        .collect();

    // Drop record 2.
    let mut missing = bytes[..o[2]].to_vec();
    missing.extend_from_slice(&bytes[o[3]..]);
    let (read, error) = read_all(&missing);
    assert_eq!(read, events[..2]);
    assert!(
        matches!(error, Some(LogError::MissingRecords { record: 2, offset, expected: 2, found: 3 }) if offset == o[2] as u64),
        "{error:?}"
    );
    assert!(error
        .unwrap()
        .to_string()
        .contains("sequences 2..=2 are missing"));
    let err = verify(EventLogReader::new(&missing[..]).unwrap()).unwrap_err();
    assert_eq!((err.record(), err.offset()), (Some(2), o[2] as u64));

    // A filtered log may skip sequences, but never go back.
    let lax: Vec<_> = EventLogReader::new(&missing[..])
        .unwrap()
        .with_policy(SequencePolicy::Increasing)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(lax.len(), 5);
    let mut repeated = bytes[..o[3]].to_vec();
    repeated.extend_from_slice(&bytes[o[2]..]);
    let err = EventLogReader::new(&repeated[..])
        .unwrap()
        .with_policy(SequencePolicy::Increasing)
        .find_map(Result::err)
        .unwrap();
    assert!(matches!(
        err,
        LogError::SequenceNotIncreasing {
            record: 3,
            previous: 2,
            found: 2,
            ..
        }
    ));
    // A whole stream names the repeated record as what it is.
    let (_, err) = read_all(&repeated);
    assert!(
        matches!(
            err,
            Some(LogError::DuplicateRecord {
                record: 3,
                sequence: 2,
                copy_of: Some(2),
                ..
            })
        ),
        "{err:?}"
    );
}

/// The log of `events` with its records rearranged: `order` lists the original record
/// numbers to write, in order (so it can drop, repeat and move records).
fn rearranged(events: &[Event], order: &[usize]) -> Vec<u8> {
    let bytes = log_bytes(events);
    let o = record_offsets(events);
    let mut out = bytes[..o[0] as usize].to_vec();
    for &i in order {
        out.extend_from_slice(&bytes[o[i] as usize..o[i + 1] as usize]);
    }
    out
}

/// The first error reading `bytes` as a whole stream, as `verify` reports it.
fn verdict(bytes: &[u8]) -> Option<LogError> {
    verify(EventLogReader::new(bytes).unwrap()).err()
}

#[test]
fn dropped_duplicated_moved_records_and_broken_blocks_are_named_as_what_they_are() {
    // Two blocks: records 0..=5 (sequences 0..=5) and 6..=10 (6..=10).
    let events = framed(&[4, 3], 0, 9);
    let n = events.len();
    let all: Vec<usize> = (0..n).collect();
    let o = record_offsets(&events);
    let without = |i: usize| -> Vec<usize> { all.iter().copied().filter(|&r| r != i).collect() };
    let with_copy = |i: usize, at: usize| -> Vec<usize> {
        let mut order = all.clone();
        order.insert(at, i);
        order
    };
    let swapped = |i: usize, j: usize| -> Vec<usize> {
        let mut order = all.clone();
        order.swap(i, j);
        order
    };

    assert!(verdict(&rearranged(&events, &all)).is_none());

    let e = verdict(&rearranged(&events, &without(3))).unwrap();
    assert!(
        matches!(
            e,
            LogError::MissingRecords {
                record: 3,
                expected: 3,
                found: 4,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.offset(), o[3]);
    assert!(e.to_string().contains("dropped"), "{e}");

    // A copy right after the original, later, and earlier.
    let e = verdict(&rearranged(&events, &with_copy(3, 4))).unwrap();
    assert!(
        matches!(
            e,
            LogError::DuplicateRecord {
                record: 4,
                sequence: 3,
                copy_of: Some(3),
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("duplicated"), "{e}");
    let e = verdict(&rearranged(&events, &with_copy(2, 8))).unwrap();
    assert!(
        matches!(
            e,
            LogError::DuplicateRecord {
                record: 8,
                sequence: 2,
                copy_of: Some(2),
                ..
            }
        ),
        "{e}"
    );
    let e = verdict(&rearranged(&events, &with_copy(7, 2))).unwrap();
    assert!(
        matches!(
            e,
            LogError::DuplicateRecord {
                record: 2,
                sequence: 7,
                copy_of: Some(8),
                ..
            }
        ),
        "{e}"
    );

    // Two records swapped, next to each other and apart.
    let e = verdict(&rearranged(&events, &swapped(2, 3))).unwrap();
    assert!(
        matches!(
            e,
            LogError::ReorderedRecords {
                record: 2,
                expected: 2,
                found: 3,
                expected_at: Some(3),
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("out of order"), "{e}");
    let e = verdict(&rearranged(&events, &swapped(1, 9))).unwrap();
    assert!(
        matches!(
            e,
            LogError::ReorderedRecords {
                record: 1,
                expected: 1,
                found: 9,
                expected_at: Some(9),
                ..
            }
        ),
        "{e}"
    );

    // A whole stream starts at sequence 0.
    let e = verdict(&log_bytes(&framed(&[2], 5, 9))).unwrap();
    assert!(
        matches!(
            e,
            LogError::MissingRecords {
                record: 0,
                expected: 0,
                found: 5,
                ..
            }
        ),
        "{e}"
    );

    // The first record dropped: records are missing at the start.
    let e = verdict(&rearranged(&events, &without(0))).unwrap();
    assert!(
        matches!(
            e,
            LogError::MissingRecords {
                record: 0,
                expected: 0,
                found: 1,
                ..
            }
        ),
        "{e}"
    );
    // A whole stream starts with a block.
    let mut unframed = framed(&[2], 0, 9);
    unframed.remove(0);
    unframed.iter_mut().for_each(|e| e.sequence -= 1);
    let e = verdict(&log_bytes(&unframed)).unwrap();
    assert!(
        matches!(
            e,
            LogError::Framing {
                record: 0,
                source: FramingError::OutsideBlock { sequence: 0, .. },
                ..
            }
        ),
        "{e}"
    );

    // Cut at a record boundary inside a block (here: the last EndBlock dropped).
    for cut in [3, 7, n - 1] {
        let e = verdict(&rearranged(&events, &all[..cut])).unwrap();
        let height = if cut < 6 { 1 } else { 2 };
        assert!(
            matches!(e, LogError::IncompleteBlock { record, height: h, last_sequence, .. }
                if record == cut as u64 && h == height && last_sequence + 1 == cut as u64),
            "cut {cut}: {e}"
        );
        assert_eq!(e.offset(), o[cut]);
        assert!(
            e.to_string().contains("block") && e.to_string().contains("incomplete"),
            "{e}"
        );
    }
    // ... but at a block boundary it is a shorter, whole log.
    assert!(verdict(&rearranged(&events, &all[..6])).is_none());
    assert!(verdict(&rearranged(&events, &[])).is_none());

    // The plain reader checks only sequences: it reads a cut log to its end.
    let cut = rearranged(&events, &all[..3]);
    assert_eq!(
        EventLogReader::new(&cut[..])
            .unwrap()
            .filter(Result::is_ok)
            .count(),
        3
    );
}

/// A version 1 log (12-byte header) of one record with `body`.
fn frame(body: &[u8]) -> Vec<u8> {
    let mut bytes = b"RBUSEVLG\x01\0\0\0".to_vec();
    bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    bytes.extend_from_slice(body);
    bytes
}

#[test]
fn a_well_framed_body_that_is_not_an_event_is_named() {
    let (_, err) = read_all(&frame(&[0xff; 5]));
    assert!(
        matches!(
            err,
            Some(LogError::Undecodable {
                record: 0,
                offset: 12,
                ..
            })
        ),
        "{err:?}"
    );
    let (_, err) = read_all(&frame(&[]));
    assert!(
        matches!(err, Some(LogError::Undecodable { record: 0, .. })),
        "{err:?}"
    );

    let mut body = postcard::to_allocvec(&Event::default()).unwrap();
    body.push(0);
    let (_, err) = read_all(&frame(&body));
    assert!(
        matches!(
            err,
            Some(LogError::TrailingBytes {
                record: 0,
                offset: 12,
                extra: 1
            })
        ),
        "{err:?}"
    );

    let mut huge = frame(&[]);
    huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    let (_, err) = read_all(&huge);
    assert!(
        matches!(
            err,
            Some(LogError::RecordTooLarge {
                record: 0,
                len: u32::MAX,
                ..
            })
        ),
        "{err:?}"
    );
}

#[test]
fn a_crashed_log_is_recovered_and_resumed_byte_identically() {
    let events = stream(40, 1_000, 5);
    let full = log_bytes(&events);
    let offsets = record_offsets(&events);
    let mut crashed = full[..offsets[17] as usize + 5].to_vec();

    let recovery = recover(&crashed[..]);
    assert_eq!(recovery.events.len(), 17);
    let point = recovery.resume_point();
    assert_eq!(
        point,
        ResumePoint {
            records: 17,
            bytes: offsets[17],
            last_sequence: Some(1_016)
        }
    );

    crashed.truncate(point.bytes as usize);
    let mut w = EventLogWriter::resume(crashed, point);
    w.append_all(&events[17..]).unwrap();
    assert_eq!(w.into_inner().unwrap(), full);
}

/// Accepts `limit` bytes, then fails.
struct FailingWriter {
    written: Vec<u8>,
    limit: usize,
}

impl Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.limit.saturating_sub(self.written.len());
        if room == 0 {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
        }
        let n = room.min(buf.len());
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failed_write_poisons_the_writer_and_recovery_finds_the_partial_record() {
    let events = stream(5, 0, 6);
    let offsets = record_offsets(&events);
    let limit = offsets[3] as usize + 3;
    let mut w = EventLogWriter::new(
        FailingWriter {
            written: Vec::new(),
            limit,
        },
        Some(&identity()),
    )
    .unwrap();
    w.append_all(&events[..3]).unwrap();
    let err = w.append(&events[3]).unwrap_err();
    assert!(
        matches!(err, LogError::Io { offset, .. } if offset == offsets[3]),
        "{err}"
    );
    let err = w.append(&events[3]).unwrap_err();
    assert!(matches!(err, LogError::Poisoned { record: 3, .. }), "{err}");
    let written = &w.get_ref().written;
    let r = recover(&written[..]);
    assert_eq!(r.events, events[..3]);
    assert!(matches!(
        r.error,
        Some(LogError::Truncated { record: 3, .. })
    ));
}

/// Yields `ok` bytes, then an I/O error.
struct FailingReader<'a> {
    data: &'a [u8],
    ok: usize,
}

impl Read for FailingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ok == 0 {
            return Err(io::Error::other("device gone"));
        }
        let n = buf.len().min(self.ok).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.ok -= n;
        Ok(n)
    }
}

#[test]
fn a_read_error_is_reported_at_the_record_being_read() {
    let events = stream(4, 0, 7);
    let bytes = log_bytes(&events);
    let offsets = record_offsets(&events);
    let reader = EventLogReader::new(FailingReader {
        data: &bytes,
        ok: offsets[2] as usize + 1,
    })
    .unwrap();
    let items: Vec<_> = reader.collect();
    assert_eq!(items.len(), 3);
    assert!(matches!(&items[2], Err(LogError::Io { offset, .. }) if *offset == offsets[2]));
}
