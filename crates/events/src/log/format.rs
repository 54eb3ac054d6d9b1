//! The event-log format, byte by byte (all integers little-endian):
//!
//! ```text
//! file    := header record*
//! header  := magic[8] = "RBUSEVLG"  version: u32 = 1
//! record  := len: u32  crc: u32  body[len]
//! body    := postcard encoding of one Event
//! crc     := CRC-32 (IEEE, as computed by crc32fast) of body
//! ```
//!
//! A record's number is its index in the file, from 0; its offset is the byte offset of its
//! `len` field from the start of the file (the first record is at [`HEADER_LEN`]).

use crate::Event;

/// The first eight bytes of every event log.
///
/// ```
/// let log = ringbus_events::EventLogWriter::new(Vec::new())?.into_inner()?;
/// assert_eq!(log[..8], ringbus_events::log::format::MAGIC);
/// # Ok::<(), ringbus_events::LogError>(())
/// ```
pub const MAGIC: [u8; 8] = *b"RBUSEVLG";

/// The format version this build writes and reads (bytes 8..12 of the header).
///
/// ```
/// use ringbus_events::log::format::FORMAT_VERSION;
/// let log = ringbus_events::EventLogWriter::new(Vec::new())?.into_inner()?;
/// assert_eq!(log[8..12], FORMAT_VERSION.to_le_bytes());
/// # Ok::<(), ringbus_events::LogError>(())
/// ```
pub const FORMAT_VERSION: u32 = 1;

/// Bytes in the file header: magic and version. The first record starts here.
///
/// ```
/// use ringbus_events::{log::format::HEADER_LEN, Event, EventLogWriter};
/// let mut w = EventLogWriter::new(Vec::new())?;
/// assert_eq!(w.append(&Event::default())?, HEADER_LEN);
/// # Ok::<(), ringbus_events::LogError>(())
/// ```
pub const HEADER_LEN: u64 = 12;

/// Bytes in a record's frame before its body: length and checksum.
///
/// ```
/// use ringbus_events::log::format::{FRAME_LEN, HEADER_LEN};
/// use ringbus_events::{Event, EventLogWriter};
/// let mut w = EventLogWriter::new(Vec::new())?;
/// w.append(&Event::default())?;
/// let log = w.into_inner()?;
/// let body_len = u32::from_le_bytes(log[12..16].try_into().unwrap()) as usize;
/// assert_eq!(log.len(), HEADER_LEN as usize + FRAME_LEN + body_len);
/// # Ok::<(), ringbus_events::LogError>(())
/// ```
pub const FRAME_LEN: usize = 8;

/// The largest body a reader accepts. An encoded [`Event`] takes at most ~120 bytes, so a
/// larger length can only be a corrupt length field; refusing it early also bounds what a
/// reader allocates for a corrupt file.
///
/// ```
/// use ringbus_events::{log::format::MAX_BODY_LEN, EventLogReader, LogError};
/// let mut log = b"RBUSEVLG\x01\0\0\0".to_vec();
/// log.extend_from_slice(&(MAX_BODY_LEN + 1).to_le_bytes());
/// log.extend_from_slice(&[0; 4]);
/// let err = EventLogReader::new(&log[..])?.next().unwrap().unwrap_err();
/// assert!(matches!(err, LogError::RecordTooLarge { record: 0, offset: 12, .. }));
/// # Ok::<(), LogError>(())
/// ```
pub const MAX_BODY_LEN: u32 = 1024;

/// The file header.
pub(crate) fn header() -> [u8; HEADER_LEN as usize] {
    let mut h = [0; HEADER_LEN as usize];
    h[..8].copy_from_slice(&MAGIC);
    h[8..].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h
}

/// Encodes `event` as one framed record into the front of `buf` and returns the record's
/// bytes. `buf` must hold `FRAME_LEN + MAX_BODY_LEN` bytes.
pub(crate) fn encode_record<'a>(
    event: &Event,
    buf: &'a mut [u8],
) -> Result<&'a [u8], postcard::Error> {
    let (frame, rest) = buf.split_at_mut(FRAME_LEN);
    let limit = rest.len().min(MAX_BODY_LEN as usize);
    let body_len = postcard::to_slice(event, &mut rest[..limit])?.len();
    let crc = crc32fast::hash(&rest[..body_len]);
    // body_len <= MAX_BODY_LEN, which fits in u32.
    frame[..4].copy_from_slice(&(body_len as u32).to_le_bytes());
    frame[4..].copy_from_slice(&crc.to_le_bytes());
    Ok(&buf[..FRAME_LEN + body_len])
}
