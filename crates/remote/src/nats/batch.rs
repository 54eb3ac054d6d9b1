//! Batched messages ([`Batching::PerBlock`]): a block's events of one topic in one message
//! (or a few parts), their headers, the body's encoding and decoding, and what the end of a
//! stream says about where a forwarder resumes.
//!
//! Postcard body: for each event in bus order, its length as a postcard varint (`u32`) and
//! then the event log's record body (the postcard encoding of the `Event`, the per-event
//! message's body). JSON body: one JSON line per event (`ringbus dump`'s), each ending in
//! `\n`.

use super::{message_event_sequence, MessageFormat, HEADER_FORMAT, HEADER_TOPIC};
use crate::error::BatchError;
use crate::RemoteError;
use async_nats::HeaderMap;
use ringbus_events::{to_json_line, Event, EventTopic};
use std::fmt;
use std::str::FromStr;

/// Header of a batched message: how many events it holds. Its presence marks a batch.
pub const HEADER_BATCH: &str = "Ringbus-Batch";
/// Header of a batched message: the bus sequence of its first event.
pub const HEADER_FIRST: &str = "Ringbus-First";
/// Header of a batched message: the bus sequence of its last event.
pub const HEADER_LAST: &str = "Ringbus-Last";
/// Header of a batched message: the height of the block its events belong to.
pub const HEADER_BLOCK: &str = "Ringbus-Block";
/// Header of the last message of a block (value `1`): every forwarded event of the block
/// is in this message or in the block's messages before it.
pub const HEADER_BLOCK_END: &str = "Ringbus-Block-End";

/// How the forwarder packs events into messages.
///
/// ```
/// use ringbus_remote::Batching;
/// assert_eq!("block".parse::<Batching>(), Ok(Batching::PerBlock));
/// assert_eq!(Batching::default(), Batching::PerEvent);
/// assert_eq!(Batching::PerBlock.to_string(), "block");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Batching {
    /// One message per event, `Nats-Msg-Id: <sequence>`.
    #[default]
    PerEvent,
    /// At a block's end, one message per topic with events in the block (split into parts
    /// past the server's payload limit or [`ForwarderOptions::max_batch_events`]), the
    /// message that closes the block last, marked [`HEADER_BLOCK_END`].
    ///
    /// [`ForwarderOptions::max_batch_events`]: crate::ForwarderOptions::max_batch_events
    PerBlock,
}

impl Batching {
    /// The command line's name: `event` or `block`.
    pub fn name(self) -> &'static str {
        match self {
            Batching::PerEvent => "event",
            Batching::PerBlock => "block",
        }
    }
}

impl fmt::Display for Batching {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Batching {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "event" => Ok(Batching::PerEvent),
            "block" => Ok(Batching::PerBlock),
            other => Err(format!(
                "unknown batching {other:?} (expected event or block)"
            )),
        }
    }
}

/// Which events a message holds: those of `topic` in block `height` with bus sequences in
/// `first..=last` (one event, for a per-event message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub topic: EventTopic,
    pub height: u64,
    pub first: u64,
    pub last: u64,
}

impl Span {
    pub fn of(e: &Event) -> Span {
        Span {
            topic: e.topic(),
            height: e.block_height,
            first: e.sequence,
            last: e.sequence,
        }
    }
}

/// What a batched message's headers say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BatchHeader {
    pub span: Span,
    pub count: u32,
    pub block_end: bool,
}

impl BatchHeader {
    /// `Nats-Msg-Id`: the content's position, `b<height>.<Topic>.<first>-<last>`. Two
    /// messages with one ID hold the same events. (Not a part number: after a restart in
    /// the middle of a block, the block's remaining events would be "part 0" again and be
    /// dropped by the server as a duplicate of the stored part 0.)
    pub fn msg_id(&self) -> String {
        let s = &self.span;
        format!("b{}.{}.{}-{}", s.height, s.topic.name(), s.first, s.last)
    }

    pub fn headers(&self, format: MessageFormat, expected_last_stream_seq: u64) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(async_nats::header::NATS_MESSAGE_ID, self.msg_id().as_str());
        h.insert(
            async_nats::header::NATS_EXPECTED_LAST_SEQUENCE,
            expected_last_stream_seq.to_string().as_str(),
        );
        h.insert(HEADER_TOPIC, self.span.topic.name());
        h.insert(HEADER_BATCH, self.count.to_string().as_str());
        h.insert(HEADER_FIRST, self.span.first.to_string().as_str());
        h.insert(HEADER_LAST, self.span.last.to_string().as_str());
        h.insert(HEADER_BLOCK, self.span.height.to_string().as_str());
        if self.block_end {
            h.insert(HEADER_BLOCK_END, "1");
        }
        if format != MessageFormat::Postcard {
            h.insert(HEADER_FORMAT, format.name());
        }
        h
    }

    /// Reads a batch's headers (`None`: not a batch), checking them against each other.
    pub fn parse(headers: &HeaderMap) -> Result<Option<BatchHeader>, BatchError> {
        let Some(count) = headers.get(HEADER_BATCH) else {
            return Ok(None);
        };
        fn bad(name: &'static str, reason: impl Into<String>) -> BatchError {
            BatchError::Header {
                name,
                reason: reason.into(),
            }
        }
        let get = |name: &'static str| {
            headers
                .get(name)
                .map(|v| v.as_str())
                .ok_or_else(|| bad(name, "missing"))
        };
        let num = |name: &'static str| {
            get(name)?
                .parse::<u64>()
                .map_err(|e| bad(name, format!("not a number: {e}")))
        };
        let count: u32 = count
            .as_str()
            .parse()
            .map_err(|e| bad(HEADER_BATCH, format!("not a count: {e}")))?;
        let topic: EventTopic = get(HEADER_TOPIC)?
            .parse()
            .map_err(|e| bad(HEADER_TOPIC, format!("{e}")))?;
        let (first, last, height) = (num(HEADER_FIRST)?, num(HEADER_LAST)?, num(HEADER_BLOCK)?);
        let block_end = match headers.get(HEADER_BLOCK_END).map(|v| v.as_str()) {
            None => false,
            Some("1") => true,
            Some(other) => return Err(bad(HEADER_BLOCK_END, format!("{other:?}, not 1"))),
        };
        if count == 0 || first > last || u64::from(count) > last - first + 1 {
            return Err(bad(
                HEADER_BATCH,
                format!("{count} events cannot span sequences {first}..={last}"),
            ));
        }
        let header = BatchHeader {
            span: Span {
                topic,
                height,
                first,
                last,
            },
            count,
            block_end,
        };
        let id = get("Nats-Msg-Id")?;
        if id != header.msg_id() {
            return Err(bad(
                "Nats-Msg-Id",
                format!("{id:?}, the other headers say {:?}", header.msg_id()),
            ));
        }
        Ok(Some(header))
    }

    /// Checks one decoded record (`i`, from 0) against the header; `prev` is the record
    /// before it.
    fn check(
        &self,
        i: usize,
        sequence: u64,
        topic: EventTopic,
        height: u64,
        prev: Option<u64>,
    ) -> Result<(), BatchError> {
        let s = &self.span;
        let reason = if i >= self.count as usize {
            Some(format!("more records than the {} announced", self.count))
        } else if topic != s.topic {
            Some(format!("a {topic} event in a {} batch", s.topic))
        } else if height != s.height {
            Some(format!("block {height} in a block {} batch", s.height))
        } else if prev.is_some_and(|p| sequence <= p) {
            Some(format!(
                "not after the record before ({})",
                prev.unwrap_or(0)
            ))
        } else if i == 0 && sequence != s.first {
            Some(format!("the header's first is {}", s.first))
        } else if i + 1 == self.count as usize && sequence != s.last {
            Some(format!("the header's last is {}", s.last))
        } else if sequence < s.first || sequence > s.last {
            Some(format!("outside {}..={}", s.first, s.last))
        } else {
            None
        };
        match reason {
            Some(reason) => Err(BatchError::Mismatch {
                record: i,
                sequence,
                reason,
            }),
            None => Ok(()),
        }
    }
}

/// What a stored message holds, from its headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stored {
    /// One event (`Nats-Msg-Id: <sequence>`).
    Event(u64),
    /// A batch.
    Batch(BatchHeader),
}

impl Stored {
    pub fn read(headers: Option<&HeaderMap>, stream_sequence: u64) -> Result<Stored, RemoteError> {
        let batch = headers
            .map(BatchHeader::parse)
            .transpose()
            .map_err(|source| RemoteError::BadBatch {
                stream_sequence,
                source,
            })?
            .flatten();
        match batch {
            Some(b) => Ok(Stored::Batch(b)),
            None => Ok(Stored::Event(message_event_sequence(
                headers,
                stream_sequence,
            )?)),
        }
    }
}

/// Appends `events` (all of one topic and block, in bus order) to `body` in `format`.
/// `scratch` is a reusable buffer.
pub(crate) fn encode_record(
    event: &Event,
    format: MessageFormat,
    body: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> Result<(), postcard::Error> {
    match format {
        MessageFormat::Postcard => {
            scratch.clear();
            postcard::to_io(event, &mut *scratch)?;
            let len =
                u32::try_from(scratch.len()).map_err(|_| postcard::Error::SerializeBufferFull)?;
            postcard::to_io(&len, &mut *body)?;
            body.extend_from_slice(scratch);
        }
        MessageFormat::Json => {
            body.extend_from_slice(to_json_line(event).as_bytes());
            body.push(b'\n');
        }
    }
    Ok(())
}

/// One event of a decoded batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    pub sequence: u64,
    pub height: u64,
    pub topic: EventTopic,
    /// Postcard bodies.
    pub event: Option<Event>,
    /// JSON bodies: the line, without its `\n`.
    pub json: Option<String>,
}

/// Decodes a batch's body and checks it against its header.
pub(crate) fn decode(
    header: &BatchHeader,
    format: MessageFormat,
    body: &[u8],
) -> Result<Vec<Record>, BatchError> {
    let mut out: Vec<Record> = Vec::with_capacity(header.count as usize);
    let mut rest = body;
    while !rest.is_empty() {
        let i = out.len();
        let record = match format {
            MessageFormat::Postcard => {
                let (len, after) = postcard::take_from_bytes::<u32>(rest).map_err(|e| match e {
                    postcard::Error::DeserializeUnexpectedEnd => BatchError::Truncated {
                        record: i,
                        announced: header.count,
                    },
                    e => BatchError::Undecodable {
                        record: i,
                        reason: format!("length prefix: {e}"),
                    },
                })?;
                let len = len as usize;
                if after.len() < len {
                    return Err(BatchError::Truncated {
                        record: i,
                        announced: header.count,
                    });
                }
                let (bytes, after) = after.split_at(len);
                rest = after;
                let (event, left) = postcard::take_from_bytes::<Event>(bytes).map_err(|e| {
                    BatchError::Undecodable {
                        record: i,
                        reason: e.to_string(),
                    }
                })?;
                if !left.is_empty() {
                    return Err(BatchError::Undecodable {
                        record: i,
                        reason: format!("{} bytes after the event", left.len()),
                    });
                }
                Record {
                    sequence: event.sequence,
                    height: event.block_height,
                    topic: event.topic(),
                    event: Some(event),
                    json: None,
                }
            }
            MessageFormat::Json => {
                let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                    return Err(BatchError::Truncated {
                        record: i,
                        announced: header.count,
                    });
                };
                let (line, after) = rest.split_at(end);
                rest = &after[1..];
                let undecodable = |reason: String| BatchError::Undecodable { record: i, reason };
                let line = std::str::from_utf8(line)
                    .map_err(|e| undecodable(format!("not UTF-8: {e}")))?;
                let (sequence, height, topic) = json_position(line).map_err(undecodable)?;
                Record {
                    sequence,
                    height,
                    topic,
                    event: None,
                    json: Some(line.to_string()),
                }
            }
        };
        header.check(
            i,
            record.sequence,
            record.topic,
            record.height,
            out.last().map(|r| r.sequence),
        )?;
        out.push(record);
    }
    if out.len() != header.count as usize {
        return Err(BatchError::Count {
            found: out.len(),
            announced: header.count,
        });
    }
    Ok(out)
}

/// The sequence, block height and topic of a JSON line.
pub(crate) fn json_position(line: &str) -> Result<(u64, u64, EventTopic), String> {
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let num = |name: &str| {
        v.get(name)
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| format!("no numeric {name:?}"))
    };
    let topic = v
        .get("topic")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| "no \"topic\"".to_string())?
        .parse()
        .map_err(|e| format!("{e}"))?;
    Ok((num("sequence")?, num("block_height")?, topic))
}

/// What the end of the stream holds, for a forwarder that resumes: the events it must not
/// send again.
///
/// Blocks are published in order and a block's messages one after the other, each landing
/// only right after its predecessor (`Nats-Expected-Last-Sequence`). So if the stream ends
/// with messages of block `h` without its [`HEADER_BLOCK_END`] message, every block before
/// `h` is in the stream, and of `h` exactly what those last messages hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Resume {
    /// The last event of the stream's last message.
    pub last: Option<u64>,
    /// Every event at or before this sequence is in the stream.
    pub through_seq: Option<u64>,
    /// Every event of the blocks up to this height is in the stream.
    pub through_block: Option<u64>,
    /// The messages of the incomplete block at the stream's end.
    pub partial: Vec<Span>,
}

impl Resume {
    /// Whether the stream holds every event of `span`.
    pub fn covers(&self, span: &Span) -> bool {
        self.through_seq.is_some_and(|s| span.last <= s)
            || self.through_block.is_some_and(|h| span.height <= h)
            || self.partial.iter().any(|p| {
                p.topic == span.topic
                    && p.height == span.height
                    && p.first <= span.first
                    && span.last <= p.last
            })
    }

    /// Reads the stream backwards from its last message (`get(stream_sequence)` gives a
    /// message's headers) as far as needed.
    pub async fn read<F, Fut>(
        last_stream_seq: u64,
        first_stream_seq: u64,
        mut get: F,
    ) -> Result<Resume, RemoteError>
    where
        F: FnMut(u64) -> Fut,
        Fut: std::future::Future<Output = Result<HeaderMap, RemoteError>>,
    {
        let mut resume = Resume::default();
        if last_stream_seq == 0 {
            return Ok(resume);
        }
        let mut s = last_stream_seq;
        loop {
            let stored = Stored::read(Some(&get(s).await?), s)?;
            if s == last_stream_seq {
                resume.last = Some(match stored {
                    Stored::Event(q) => q,
                    Stored::Batch(b) => b.span.last,
                });
            }
            let open = resume.partial.first().map(|p| p.height);
            match stored {
                Stored::Event(q) => {
                    resume.through_seq = Some(q);
                    break;
                }
                Stored::Batch(b) if b.block_end || open.is_some_and(|h| h != b.span.height) => {
                    resume.through_block = Some(b.span.height);
                    break;
                }
                Stored::Batch(b) => {
                    // Blocks are sent in order: every block before this one is stored.
                    resume.through_block = b.span.height.checked_sub(1);
                    resume.partial.push(b.span);
                }
            }
            if s <= first_stream_seq.max(1) {
                break;
            }
            s -= 1;
        }
        Ok(resume)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringbus_events::{EndBlock, Trade};

    fn events(topic_trade: bool, seqs: &[u64]) -> Vec<Event> {
        seqs.iter()
            .map(|&s| {
                let mut e = if topic_trade {
                    Event::new(Trade::default())
                } else {
                    Event::new(EndBlock::default())
                };
                e.sequence = s;
                e.block_height = 7;
                e
            })
            .collect()
    }

    fn header_of(events: &[Event], block_end: bool) -> BatchHeader {
        BatchHeader {
            span: Span {
                topic: events[0].topic(),
                height: 7,
                first: events[0].sequence,
                last: events[events.len() - 1].sequence,
            },
            count: events.len() as u32,
            block_end,
        }
    }

    fn body(events: &[Event], format: MessageFormat) -> Vec<u8> {
        let (mut body, mut scratch) = (Vec::new(), Vec::new());
        for e in events {
            encode_record(e, format, &mut body, &mut scratch).unwrap();
        }
        body
    }

    #[test]
    fn a_batch_round_trips_in_both_formats() {
        let ev = events(true, &[3, 5, 9]);
        let h = header_of(&ev, false);
        let back = decode(
            &h,
            MessageFormat::Postcard,
            &body(&ev, MessageFormat::Postcard),
        )
        .unwrap();
        assert_eq!(
            back.iter().map(|r| r.event.unwrap()).collect::<Vec<_>>(),
            ev
        );
        let back = decode(&h, MessageFormat::Json, &body(&ev, MessageFormat::Json)).unwrap();
        let lines: Vec<String> = ev.iter().map(to_json_line).collect();
        assert_eq!(
            back.iter()
                .map(|r| r.json.clone().unwrap())
                .collect::<Vec<_>>(),
            lines
        );
        assert_eq!(
            back.iter().map(|r| r.sequence).collect::<Vec<_>>(),
            [3, 5, 9]
        );
        let parsed = BatchHeader::parse(&h.headers(MessageFormat::Postcard, 4)).unwrap();
        assert_eq!(parsed, Some(h));
    }

    #[test]
    fn a_truncated_or_mismatched_batch_is_a_typed_error() {
        let ev = events(true, &[3, 5, 9]);
        let h = header_of(&ev, false);
        let full = body(&ev, MessageFormat::Postcard);
        for cut in 1..full.len() {
            let r = decode(&h, MessageFormat::Postcard, &full[..cut]);
            assert!(
                matches!(
                    r,
                    Err(BatchError::Truncated { .. }
                        | BatchError::Count { .. }
                        | BatchError::Undecodable { .. })
                ),
                "cut at {cut}: {r:?}"
            );
        }
        let two = header_of(&ev[..2], false);
        assert!(matches!(
            decode(
                &BatchHeader { count: 2, ..h },
                MessageFormat::Postcard,
                &full
            ),
            Err(BatchError::Mismatch { record: 1, .. })
        ));
        assert!(matches!(
            decode(
                &BatchHeader { count: 3, ..two },
                MessageFormat::Postcard,
                &full[..]
            ),
            Err(BatchError::Mismatch { record: 2, .. })
        ));
        let other = events(false, &[3, 5, 9]);
        assert!(matches!(
            decode(
                &h,
                MessageFormat::Postcard,
                &body(&other, MessageFormat::Postcard)
            ),
            Err(BatchError::Mismatch { record: 0, .. })
        ));
        let mut headers = h.headers(MessageFormat::Postcard, 0);
        headers.insert(HEADER_LAST, "10");
        assert!(matches!(
            BatchHeader::parse(&headers),
            Err(BatchError::Header {
                name: "Nats-Msg-Id",
                ..
            })
        ));
    }

    #[test]
    fn resume_covers_what_the_stream_holds() {
        let span = |topic, height, first, last| Span {
            topic,
            height,
            first,
            last,
        };
        let r = Resume {
            last: Some(20),
            through_seq: None,
            through_block: Some(6),
            partial: vec![span(EventTopic::Trade, 7, 10, 20)],
        };
        assert!(r.covers(&span(EventTopic::Order, 6, 30, 30)));
        assert!(r.covers(&span(EventTopic::Trade, 7, 12, 12)));
        assert!(!r.covers(&span(EventTopic::Order, 7, 12, 12)));
        assert!(!r.covers(&span(EventTopic::Trade, 7, 21, 21)));
        assert!(!r.covers(&span(EventTopic::Trade, 8, 12, 12)));
    }
}
