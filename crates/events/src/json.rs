//! JSON lines for people: one event per line, topics and enums by name.

use crate::{BlockTime, Event, EventTopic, Payload, Source, Trigger, TriggerType};
use serde::{Serialize, Serializer};
use std::io::{self, Write};

/// The shape of one JSON line: the envelope flat, the topic by name, the payload's fields
/// under `payload`.
#[derive(Serialize)]
struct JsonEvent<'a> {
    sequence: u64,
    topic: EventTopic,
    block_height: u64,
    block_time: BlockTime,
    tx_index: Option<u32>,
    source: Source,
    trigger_type: TriggerType,
    trigger: Trigger,
    payload: Body<'a>,
}

struct Body<'a>(&'a Payload);

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_body(s)
    }
}

impl<'a> From<&'a Event> for JsonEvent<'a> {
    fn from(e: &'a Event) -> Self {
        JsonEvent {
            sequence: e.sequence,
            topic: e.topic(),
            block_height: e.block_height,
            block_time: e.block_time,
            tx_index: e.tx_index,
            source: e.source,
            trigger_type: e.trigger_type(),
            trigger: e.trigger,
            payload: Body(&e.payload),
        }
    }
}

/// Writes `event` as one line of JSON followed by `\n`.
///
/// ```
/// use ringbus_events::{write_json_line, Event, MarkPrice, MarketId};
/// let mut out = Vec::new();
/// write_json_line(&mut out, &Event::new(MarkPrice { market: MarketId(2), price: 99 }))?;
/// assert!(out.ends_with(b"}\n"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_json_line<W: Write>(mut w: W, event: &Event) -> io::Result<()> {
    serde_json::to_writer(&mut w, &JsonEvent::from(event))?;
    w.write_all(b"\n")
}

/// `event` as one line of JSON (no trailing newline).
///
/// ```
/// use ringbus_events::{to_json_line, Event, MarkPrice, MarketId};
/// let line = to_json_line(&Event::new(MarkPrice { market: MarketId(2), price: 99 }));
/// assert_eq!(
///     line,
///     r#"{"sequence":0,"topic":"MarkPrice","block_height":0,"block_time":0,"tx_index":null,"source":"Time","trigger_type":"Block","trigger":{"Block":0},"payload":{"market":2,"price":99}}"#
/// );
/// ```
pub fn to_json_line(event: &Event) -> String {
    // Cannot fail: events hold no maps (so no non-string keys) and nothing that refuses
    // to serialize.
    serde_json::to_string(&JsonEvent::from(event))
        .unwrap_or_else(|e| format!(r#"{{"sequence":{},"error":"{e}"}}"#, event.sequence))
}

/// Writes events as JSON lines, counting them.
///
/// ```
/// use ringbus_events::{Event, JsonLinesWriter};
/// let mut w = JsonLinesWriter::new(Vec::new());
/// w.write(&Event::default())?;
/// w.write(&Event { sequence: 1, ..Event::default() })?;
/// assert_eq!(w.lines(), 2);
/// let text = String::from_utf8(w.into_inner()?).unwrap();
/// assert_eq!(text.lines().count(), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct JsonLinesWriter<W: Write> {
    inner: W,
    lines: u64,
}

impl<W: Write> JsonLinesWriter<W> {
    /// Wraps `inner` (wrap a file in a `BufWriter` first).
    ///
    /// ```
    /// let w = ringbus_events::JsonLinesWriter::new(std::io::sink());
    /// assert_eq!(w.lines(), 0);
    /// ```
    pub fn new(inner: W) -> Self {
        JsonLinesWriter { inner, lines: 0 }
    }

    /// Writes one event as a line.
    ///
    /// ```
    /// let mut w = ringbus_events::JsonLinesWriter::new(Vec::new());
    /// w.write(&ringbus_events::Event::default())?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write(&mut self, event: &Event) -> io::Result<()> {
        write_json_line(&mut self.inner, event)?;
        self.lines += 1;
        Ok(())
    }

    /// Lines written.
    ///
    /// ```
    /// assert_eq!(ringbus_events::JsonLinesWriter::new(Vec::new()).lines(), 0);
    /// ```
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Flushes the underlying writer.
    ///
    /// ```
    /// ringbus_events::JsonLinesWriter::new(Vec::new()).flush()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    /// Flushes and returns the underlying writer.
    ///
    /// ```
    /// let v = ringbus_events::JsonLinesWriter::new(Vec::new()).into_inner()?;
    /// assert!(v.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_inner(mut self) -> io::Result<W> {
        self.inner.flush()?;
        Ok(self.inner)
    }
}
