//! The event-log format, byte by byte (all integers little-endian):
//!
//! ```text
//! file     := header record*
//! header   := magic[8] = "RBUSEVLG"  version: u32 = 2  id_len: u32  id_crc: u32  identity[id_len]
//! identity := the stream's identity, canonical text (ASCII); empty (id_len 0) if unknown
//! id_crc   := CRC-32 (IEEE, as computed by crc32fast) of identity
//! record   := len: u32  crc: u32  body[len]
//! body     := postcard encoding of one Event
//! crc      := CRC-32 of body
//! ```
//!
//! A version 1 file (written before stream identities) has the 12-byte header
//! `magic version = 1` and the same records; it is still read, and its identity is unknown.
//!
//! A record's number is its index in the file, from 0; its offset is the byte offset of its
//! `len` field from the start of the file (the first record is at the header's length:
//! [`header_len`]).

use crate::{Event, StreamIdentity};

/// The first eight bytes of every event log.
///
/// ```
/// let log = ringbus_events::EventLogWriter::new(Vec::new(), None)?.into_inner()?;
/// assert_eq!(log[..8], ringbus_events::log::format::MAGIC);
/// # Ok::<(), ringbus_events::LogError>(())
/// ```
pub const MAGIC: [u8; 8] = *b"RBUSEVLG";

/// The format version this build writes (bytes 8..12 of the header).
///
/// ```
/// use ringbus_events::log::format::FORMAT_VERSION;
/// let log = ringbus_events::EventLogWriter::new(Vec::new(), None)?.into_inner()?;
/// assert_eq!(log[8..12], FORMAT_VERSION.to_le_bytes());
/// # Ok::<(), ringbus_events::LogError>(())
/// ```
pub const FORMAT_VERSION: u32 = 2;

/// The oldest format version this build reads: version 1, the header without an identity.
pub const OLDEST_READABLE_VERSION: u32 = 1;

/// Bytes of the header of a version 1 log (magic and version), and of the part every
/// version starts with.
pub const V1_HEADER_LEN: u64 = 12;

/// Bytes of a version 2 header before the identity: magic, version, identity length and
/// checksum.
pub const V2_FIXED_LEN: u64 = 20;

/// The largest identity a reader accepts. A canonical identity takes well under this, so a
/// larger length can only be a corrupt length field.
pub const MAX_IDENTITY_LEN: u32 = 1024;

/// Bytes in the header of a log this build writes for `identity`: the offset of the first
/// record.
///
/// ```
/// use ringbus_events::log::format::header_len;
/// use ringbus_events::{BlockHash, Event, EventLogWriter, StreamIdentity};
/// let id = StreamIdentity::new("sim", BlockHash(1), 2, "")?;
/// let mut w = EventLogWriter::new(Vec::new(), Some(&id))?;
/// assert_eq!(w.append(&Event::default())?, header_len(Some(&id)));
/// assert_eq!(header_len(None), 20);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn header_len(identity: Option<&StreamIdentity>) -> u64 {
    V2_FIXED_LEN + identity.map_or(0, |id| id.to_string().len() as u64)
}

/// Bytes in a record's frame before its body: length and checksum.
///
/// ```
/// use ringbus_events::log::format::{header_len, FRAME_LEN};
/// use ringbus_events::{Event, EventLogWriter};
/// let mut w = EventLogWriter::new(Vec::new(), None)?;
/// w.append(&Event::default())?;
/// let log = w.into_inner()?;
/// let start = header_len(None) as usize;
/// let body_len = u32::from_le_bytes(log[start..start + 4].try_into().unwrap()) as usize;
/// assert_eq!(log.len(), start + FRAME_LEN + body_len);
/// # Ok::<(), ringbus_events::LogError>(())
/// ```
pub const FRAME_LEN: usize = 8;

/// The largest body a reader accepts. An encoded [`Event`] takes at most ~120 bytes, so a
/// larger length can only be a corrupt length field; refusing it early also bounds what a
/// reader allocates for a corrupt file.
///
/// ```
/// use ringbus_events::{log::format::MAX_BODY_LEN, EventLogReader, LogError};
/// let mut log = b"RBUSEVLG\x02\0\0\0\0\0\0\0\0\0\0\0".to_vec();
/// log.extend_from_slice(&(MAX_BODY_LEN + 1).to_le_bytes());
/// log.extend_from_slice(&[0; 4]);
/// let err = EventLogReader::new(&log[..])?.next().unwrap().unwrap_err();
/// assert!(matches!(err, LogError::RecordTooLarge { record: 0, offset: 20, .. }));
/// # Ok::<(), LogError>(())
/// ```
pub const MAX_BODY_LEN: u32 = 1024;

/// The file header of a log of `identity` (`None`: unknown).
pub(crate) fn header(identity: Option<&StreamIdentity>) -> Vec<u8> {
    let text = identity.map(|id| id.to_string()).unwrap_or_default();
    let mut h = Vec::with_capacity(V2_FIXED_LEN as usize + text.len());
    h.extend_from_slice(&MAGIC);
    h.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    // A canonical identity is under MAX_IDENTITY_LEN bytes (tested), so it fits in u32.
    h.extend_from_slice(&(text.len() as u32).to_le_bytes());
    h.extend_from_slice(&crc32fast::hash(text.as_bytes()).to_le_bytes());
    h.extend_from_slice(text.as_bytes());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{MAX_CHAIN_ID_LEN, MAX_CONFIG_LEN};
    use crate::BlockHash;

    #[test]
    fn the_longest_identity_fits_the_header_limit() {
        let id = StreamIdentity::new(
            "c".repeat(MAX_CHAIN_ID_LEN),
            BlockHash(u64::MAX),
            u64::MAX,
            "x".repeat(MAX_CONFIG_LEN),
        )
        .unwrap();
        assert!(id.to_string().len() <= MAX_IDENTITY_LEN as usize);
    }
}
