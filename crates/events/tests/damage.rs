//! Damaged logs: truncation at every byte, flipped bits, spliced records, bad headers.
//! Each is reported with the right record number and offset, and the intact prefix is kept.

mod common;

use common::*;
use ringbus_events::log::format::HEADER_LEN;
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
    for cut in 0..=bytes.len() {
        let (read, error) = read_all(&bytes[..cut]);
        let recovered = recover(&bytes[..cut]);
        let cut = cut as u64;
        if cut < HEADER_LEN {
            assert!(
                matches!(error, Some(LogError::TruncatedHeader { available }) if available == cut)
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
    bad_version[8] = 2;
    let err = EventLogReader::new(&bad_version[..]).unwrap_err();
    assert!(matches!(
        err,
        LogError::UnsupportedVersion {
            found: 2,
            supported: 1
        }
    ));
    assert!(err.to_string().contains("version 2"));
    assert!(matches!(
        EventLogReader::new(&b"{\"sequence\":1}"[..]),
        Err(LogError::BadMagic { .. })
    ));
}

#[test]
fn a_missing_or_repeated_record_is_a_sequence_error() {
    let events = stream(6, 50, 4);
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
        matches!(error, Some(LogError::SequenceGap { record: 2, offset, expected: 52, found: 53 }) if offset == o[2] as u64),
        "{error:?}"
    );
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
            previous: 52,
            found: 52,
            ..
        }
    ));
}

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
    let mut w = EventLogWriter::new(FailingWriter {
        written: Vec::new(),
        limit,
    })
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
