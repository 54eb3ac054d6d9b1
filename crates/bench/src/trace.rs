//! The realistic mix: event types, sizes and block framing of a recorded trace.
//!
//! Two sources give the same [`Trace`]: a full per-event CSV (`--trace PATH`), or the
//! [`Calibration`] embedded in this crate (the default), a few KB of facts derived from the
//! reference trace (type counts, size quantiles per type, the histogram of events per block)
//! from which [`Calibration::synthesize`] builds a stream with the same mix and framing. The
//! calibration keeps the scenario runnable from a fresh clone; `ringbus-bench calibrate`
//! derives it again (see `crates/bench/data/README.md`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::scenario::{Focus, Layout, Scenario, Shape, Workload};
use crate::topics::TopicMask;

/// The calibration the `trace-mix` scenario runs on unless `--trace` is given.
pub const CALIBRATION_JSON: &str = include_str!("../data/trace-calibration.json");

/// The event type that opens a block: a new block starts at each one. (Heights are not
/// block boundaries: the reference stream has two blocks at height 1.)
pub const BLOCK_OPEN: &str = "BEGIN_BLOCK";

/// The event type that closes a block.
pub const BLOCK_CLOSE: &str = "END_BLOCK";

/// Why a trace or a calibration could not be used.
#[derive(Debug)]
pub enum TraceError {
    /// The file could not be read.
    Io(PathBuf, std::io::Error),
    /// A line could not be parsed.
    Parse {
        /// 1-based line number.
        line: u64,
        /// What was wrong.
        reason: String,
    },
    /// No events at all.
    Empty,
    /// A calibration that does not describe a stream (bad JSON, counts that do not add up).
    Calibration(String),
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::Io(p, e) => write!(f, "cannot read trace {}: {e}", p.display()),
            TraceError::Parse { line, reason } => write!(f, "trace line {line}: {reason}"),
            TraceError::Empty => write!(f, "trace has no events"),
            TraceError::Calibration(reason) => write!(f, "trace calibration: {reason}"),
        }
    }
}

impl std::error::Error for TraceError {}

/// A stream to replay: one topic and size per event, one length per block.
#[derive(Clone, Debug)]
pub struct Trace {
    /// Topic number per event (the index of its type in `types`).
    pub topics: Vec<u8>,
    /// Encoded size per event.
    pub sizes: Vec<u32>,
    /// Events per block, in order.
    pub blocks: Vec<u32>,
    /// Type names, indexed by topic number, in order of first appearance in the trace.
    pub types: Vec<String>,
    /// Where the stream came from, for the scenario's description.
    pub origin: String,
}

/// Types a "positions plug-in" consumer subscribes to in the trace scenario.
const PLUGIN_TYPES: &[&str] = &[
    "BEGIN_BLOCK",
    "END_BLOCK",
    "TRANSACTION_RESULT",
    "ORDER",
    "TRADE",
    "POSITION_STATE",
    "SETTLE_POSITION",
    "MARKET_DATA",
    "LEDGER_MOVEMENTS",
    "ACCOUNT",
    "MARGIN_LEVELS",
];

/// Resolves `path`: as given when it exists, else relative to the repository root.
pub fn resolve(path: &Path) -> PathBuf {
    if path.is_absolute() || path.exists() {
        return path.to_path_buf();
    }
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    repo_root.join(path)
}

impl Trace {
    /// Reads a per-event CSV file (see [`Trace::parse`]).
    pub fn load(path: &Path) -> Result<Trace, TraceError> {
        let file = std::fs::File::open(path).map_err(|e| TraceError::Io(path.to_path_buf(), e))?;
        let name = path.file_name().unwrap_or(path.as_os_str());
        Trace::read(file, &format!("trace {}", name.to_string_lossy()))
    }

    /// Parses per-event CSV text with (at least) the columns `type` and `encoded_bytes`, in
    /// stream order, as in `block_height,seq_in_block,type,payload_field,encoded_bytes,
    /// tx_hash_present`. A block starts at each [`BLOCK_OPEN`] event (events before the
    /// first one form a block of their own).
    pub fn parse(text: &str) -> Result<Trace, TraceError> {
        Trace::read(text.as_bytes(), "trace")
    }

    fn read(input: impl std::io::Read, origin: &str) -> Result<Trace, TraceError> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(input);
        let header_error = |e: csv::Error| TraceError::Parse {
            line: 1,
            reason: e.to_string(),
        };
        let header = reader.headers().map_err(header_error)?.clone();
        let col = |name: &str| {
            header
                .iter()
                .position(|c| c == name)
                .ok_or_else(|| TraceError::Parse {
                    line: 1,
                    reason: format!("missing column {name:?}"),
                })
        };
        let (c_type, c_size) = (col("type")?, col("encoded_bytes")?);
        let mut ids: HashMap<String, u8> = HashMap::new();
        let mut t = Trace {
            topics: Vec::new(),
            sizes: Vec::new(),
            blocks: Vec::new(),
            types: Vec::new(),
            origin: origin.to_string(),
        };
        for record in reader.records() {
            let record = record.map_err(|e| TraceError::Parse {
                line: e.position().map_or(0, |p| p.line()),
                reason: e.to_string(),
            })?;
            let line = record.position().map_or(0, |p| p.line());
            let bad = |reason: String| TraceError::Parse { line, reason };
            let get = |c: usize| {
                record
                    .get(c)
                    .ok_or_else(|| bad(format!("expected at least {} fields", c + 1)))
            };
            let size: u32 = get(c_size)?
                .parse()
                .map_err(|e| bad(format!("encoded_bytes: {e}")))?;
            let ty = get(c_type)?;
            let topic = match ids.get(ty) {
                Some(id) => *id,
                None => {
                    let id = u8::try_from(t.types.len())
                        .map_err(|_| bad("more than 256 event types".into()))?;
                    ids.insert(ty.to_string(), id);
                    t.types.push(ty.to_string());
                    id
                }
            };
            if ty == BLOCK_OPEN || t.blocks.is_empty() {
                t.blocks.push(0);
            }
            if let Some(last) = t.blocks.last_mut() {
                *last += 1;
            }
            t.topics.push(topic);
            t.sizes.push(size);
        }
        if t.topics.is_empty() {
            return Err(TraceError::Empty);
        }
        Ok(t)
    }

    /// The stream synthesised from the embedded calibration.
    pub fn calibrated() -> Result<Trace, TraceError> {
        Calibration::embedded()?.synthesize()
    }

    /// The topics of the plug-in consumer.
    pub fn plugin_mask(&self) -> TopicMask {
        let mut m = TopicMask::none();
        for (id, ty) in self.types.iter().enumerate() {
            if PLUGIN_TYPES.contains(&ty.as_str()) {
                m.insert(id as u8);
            }
        }
        m
    }

    /// The "trace-mix" scenario: a store writer (all topics) and a plug-in (a few topics),
    /// one published batch per block, types and sizes cycled.
    pub fn scenario(&self) -> Scenario {
        Scenario {
            name: "trace-mix".into(),
            description: format!(
                "{}: {} events, {} types, {} blocks (batch per block); store writer (all) + plug-in ({} types)",
                self.origin,
                self.topics.len(),
                self.types.len(),
                self.blocks.len(),
                self.plugin_mask().iter().count()
            ),
            layout: Layout {
                shape: Shape::Broadcast,
                subscriptions: vec![TopicMask::ALL, self.plugin_mask()],
                markets: vec![None; 2],
            },
            workload: Workload {
                topics: Arc::from(self.topics.clone()),
                sizes: Arc::from(self.sizes.clone()),
                batches: Arc::from(self.blocks.clone()),
                ..Workload::flat(1)
            },
            focus: Focus::Throughput,
        }
    }
}

/// The quantiles (nearest rank) of each type's sizes kept in a calibration.
pub const SIZE_QUANTILES: [f64; 9] = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0];

/// What a trace is made of, without its events: the facts the `trace-mix` scenario needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The file it was derived from (a name, not a path).
    pub derived_from: String,
    /// Events in the trace.
    pub events: u64,
    /// Blocks in the trace.
    pub blocks: u64,
    /// Sum of `encoded_bytes` over the trace.
    pub bytes: u64,
    /// `[events in a block, blocks of that length]`, ascending by length.
    pub events_per_block: Vec<[u32; 2]>,
    /// One entry per event type, in order of first appearance in the trace.
    pub types: Vec<TypeCalibration>,
}

/// One event type of a [`Calibration`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeCalibration {
    /// The type's name (`BusEvent.type` without its prefix).
    pub name: String,
    /// Events of this type.
    pub events: u32,
    /// Sizes in bytes at [`SIZE_QUANTILES`].
    pub bytes: [u32; SIZE_QUANTILES.len()],
}

impl Calibration {
    /// The calibration shipped with the crate.
    pub fn embedded() -> Result<Calibration, TraceError> {
        Calibration::from_json(CALIBRATION_JSON)
    }

    /// Parses and checks a calibration.
    pub fn from_json(text: &str) -> Result<Calibration, TraceError> {
        let c: Calibration =
            serde_json::from_str(text).map_err(|e| TraceError::Calibration(e.to_string()))?;
        c.check()?;
        Ok(c)
    }

    /// The facts of a full trace.
    pub fn derive(trace: &Trace, derived_from: &str) -> Calibration {
        let mut lengths: BTreeMap<u32, u32> = BTreeMap::new();
        for b in &trace.blocks {
            *lengths.entry(*b).or_default() += 1;
        }
        let mut sizes: Vec<Vec<u32>> = vec![Vec::new(); trace.types.len()];
        for (topic, size) in trace.topics.iter().zip(&trace.sizes) {
            sizes[usize::from(*topic)].push(*size);
        }
        let types = trace
            .types
            .iter()
            .zip(&mut sizes)
            .map(|(name, s)| {
                s.sort_unstable();
                TypeCalibration {
                    name: name.clone(),
                    events: s.len() as u32,
                    bytes: SIZE_QUANTILES.map(|q| nearest_rank(s, q)),
                }
            })
            .collect();
        Calibration {
            derived_from: derived_from.to_string(),
            events: trace.topics.len() as u64,
            blocks: trace.blocks.len() as u64,
            bytes: trace.sizes.iter().map(|s| u64::from(*s)).sum(),
            events_per_block: lengths.into_iter().map(|(l, n)| [l, n]).collect(),
            types,
        }
    }

    /// The counts add up: per type to `events`, per block length to `events` and `blocks`;
    /// every block has room for its opening and closing event; sizes ascend with quantiles.
    pub fn check(&self) -> Result<(), TraceError> {
        let bad = |m: String| Err(TraceError::Calibration(m));
        let by_type: u64 = self.types.iter().map(|t| u64::from(t.events)).sum();
        let blocks: u64 = self.events_per_block.iter().map(|b| u64::from(b[1])).sum();
        let in_blocks: u64 = self
            .events_per_block
            .iter()
            .map(|b| u64::from(b[0]) * u64::from(b[1]))
            .sum();
        if self.events == 0 {
            return Err(TraceError::Empty);
        }
        if by_type != self.events || in_blocks != self.events || blocks != self.blocks {
            return bad(format!(
                "{} events and {} blocks, but the types add up to {by_type} events and the \
                 block lengths to {in_blocks} events in {blocks} blocks",
                self.events, self.blocks
            ));
        }
        if self.types.len() > 256 {
            return bad("more than 256 event types".into());
        }
        let framed = self.framing().iter().flatten().count() as u32;
        if self.events_per_block.iter().any(|b| b[0] < framed) {
            return bad(format!("a block shorter than its {framed} framing events"));
        }
        for t in &self.types {
            if t.bytes.windows(2).any(|w| w[0] > w[1]) {
                return bad(format!("{}: size quantiles not ascending", t.name));
            }
        }
        Ok(())
    }

    /// The topics of the opening and closing types, when there is one of each per block.
    fn framing(&self) -> [Option<u8>; 2] {
        [BLOCK_OPEN, BLOCK_CLOSE].map(|name| {
            self.types
                .iter()
                .position(|t| t.name == name && u64::from(t.events) >= self.blocks)
                .map(|i| i as u8)
        })
    }

    /// A stream with exactly the calibration's type counts and block lengths, and each type's
    /// sizes spread over its quantiles: blocks open with [`BLOCK_OPEN`] and close with
    /// [`BLOCK_CLOSE`] (when the trace has one of each per block), and the other events, block lengths and
    /// sizes are shuffled by a fixed seed, so the stream is the same on every run.
    pub fn synthesize(&self) -> Result<Trace, TraceError> {
        self.check()?;
        let mut rng = SplitMix64(0x7269_6e67_6275_7321);
        let framing = self.framing();
        let mut blocks: Vec<u32> = self
            .events_per_block
            .iter()
            .flat_map(|[len, n]| std::iter::repeat_n(*len, *n as usize))
            .collect();
        rng.shuffle(&mut blocks);
        // Each type's sizes: its quantile curve sampled at evenly spaced ranks, then shuffled.
        let mut sizes: Vec<Vec<u32>> = self
            .types
            .iter()
            .map(|t| {
                let mut s: Vec<u32> = (0..t.events)
                    .map(|i| sample(&t.bytes, (f64::from(i) + 0.5) / f64::from(t.events)))
                    .collect();
                rng.shuffle(&mut s);
                s
            })
            .collect();
        let mut middle: Vec<u8> = Vec::with_capacity(self.events as usize);
        for (topic, t) in self.types.iter().enumerate() {
            let framing_events = if framing.contains(&Some(topic as u8)) {
                self.blocks as u32
            } else {
                0
            };
            middle.extend(std::iter::repeat_n(
                topic as u8,
                (t.events - framing_events) as usize,
            ));
        }
        rng.shuffle(&mut middle);
        let mut middle = middle.into_iter();
        let mut topics: Vec<u8> = Vec::with_capacity(self.events as usize);
        let framed = framing.iter().flatten().count() as u32;
        for len in &blocks {
            topics.extend(framing[0]);
            topics.extend(middle.by_ref().take((len - framed) as usize));
            topics.extend(framing[1]);
        }
        let sizes = topics
            .iter()
            .map(|t| sizes[usize::from(*t)].pop().unwrap_or(0))
            .collect();
        Ok(Trace {
            topics,
            sizes,
            blocks,
            types: self.types.iter().map(|t| t.name.clone()).collect(),
            origin: format!("calibration of {}", self.derived_from),
        })
    }

    /// The calibration as JSON, one type or block length per line (small, and diffs well).
    pub fn to_json(&self) -> String {
        let types: Vec<String> = self.types.iter().map(json_line).collect();
        let lengths: Vec<String> = self.events_per_block.iter().map(json_line).collect();
        format!(
            "{{\n  \"derived_from\": {},\n  \"events\": {},\n  \"blocks\": {},\n  \"bytes\": {},\n  \
             \"events_per_block\": [\n    {}\n  ],\n  \"types\": [\n    {}\n  ]\n}}\n",
            json_line(&self.derived_from),
            self.events,
            self.blocks,
            self.bytes,
            lengths.join(",\n    "),
            types.join(",\n    ")
        )
    }
}

/// One-line JSON of a value (serialising these plain types cannot fail).
fn json_line<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The nearest-rank `q` quantile of ascending `sorted` (`q` = 0 is the minimum).
fn nearest_rank(sorted: &[u32], q: f64) -> u32 {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The size at quantile `q` of a curve given at [`SIZE_QUANTILES`], linear in between.
fn sample(curve: &[u32; SIZE_QUANTILES.len()], q: f64) -> u32 {
    let i = SIZE_QUANTILES
        .windows(2)
        .position(|w| q <= w[1])
        .unwrap_or(SIZE_QUANTILES.len() - 2);
    let (q0, q1) = (SIZE_QUANTILES[i], SIZE_QUANTILES[i + 1]);
    let (s0, s1) = (f64::from(curve[i]), f64::from(curve[i + 1]));
    (s0 + (s1 - s0) * (q - q0) / (q1 - q0)).round() as u32
}

/// A small fixed-seed generator for the shuffles (the stream must not depend on a crate's
/// version of a random algorithm).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Fisher-Yates.
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str =
        "block_height,seq_in_block,type,payload_field,encoded_bytes,tx_hash_present
1,1,BEGIN_BLOCK,148,235,0
1,2,ORDER,101,167,0
1,3,END_BLOCK,131,190,0
1,1,BEGIN_BLOCK,148,236,0
1,2,END_BLOCK,131,191,0
2,1,BEGIN_BLOCK,148,237,0
2,2,ORDER,101,300,0
2,3,ORDER,101,100,0
2,4,END_BLOCK,131,192,0
";

    /// Where the reference trace sits beside a checkout (the workplace's shared data).
    const SHARED_TRACE: &str = "../shared/data/vega-system-tests-trace.csv";

    fn counts(t: &Trace) -> Vec<u32> {
        let mut c = vec![0u32; t.types.len()];
        for topic in &t.topics {
            c[usize::from(*topic)] += 1;
        }
        c
    }

    fn length_histogram(blocks: &[u32]) -> Vec<[u32; 2]> {
        let mut h: BTreeMap<u32, u32> = BTreeMap::new();
        for b in blocks {
            *h.entry(*b).or_default() += 1;
        }
        h.into_iter().map(|(l, n)| [l, n]).collect()
    }

    #[test]
    fn blocks_split_at_begin_block_not_at_height() {
        let t = Trace::parse(SAMPLE).unwrap();
        assert_eq!(t.topics, vec![0, 1, 2, 0, 2, 0, 1, 1, 2]);
        assert_eq!(t.blocks, vec![3, 2, 4]);
        assert_eq!(t.sizes[4], 191);
        assert_eq!(t.types, vec!["BEGIN_BLOCK", "ORDER", "END_BLOCK"]);
        let s = t.scenario();
        assert_eq!(s.layout.consumers(), 2);
        assert!(s.layout.subscriptions[1].contains(1));
    }

    #[test]
    fn quoted_field_with_a_comma_is_one_field() {
        let text = "block_height,type,encoded_bytes\n\
                    1,BEGIN_BLOCK,10\n\
                    1,\"ORDER, amended\",20\n\
                    1,\"END_BLOCK\", 30 \n";
        let t = Trace::parse(text).unwrap();
        assert_eq!(t.types, vec!["BEGIN_BLOCK", "ORDER, amended", "END_BLOCK"]);
        assert_eq!(t.sizes, vec![10, 20, 30]);
        assert_eq!(t.blocks, vec![3]);
    }

    #[test]
    fn bad_lines_are_typed_errors() {
        let e = Trace::parse("block_height,type,encoded_bytes\n1,ORDER,x\n").unwrap_err();
        assert!(matches!(e, TraceError::Parse { line: 2, .. }), "{e}");
        let e = Trace::parse("block_height,type\n").unwrap_err();
        assert!(matches!(e, TraceError::Parse { line: 1, .. }));
        let e = Trace::parse("type,encoded_bytes\nORDER,1\nORDER\n").unwrap_err();
        assert!(matches!(e, TraceError::Parse { line: 3, .. }), "{e}");
        assert!(matches!(
            Trace::parse("block_height,type,encoded_bytes\n"),
            Err(TraceError::Empty)
        ));
    }

    #[test]
    fn missing_file_is_an_error_not_a_panic() {
        assert!(matches!(
            Trace::load(Path::new("/nonexistent/trace.csv")),
            Err(TraceError::Io(..))
        ));
    }

    #[test]
    fn calibration_round_trip_keeps_mix_and_blocks() {
        let t = Trace::parse(SAMPLE).unwrap();
        let c = Calibration::derive(&t, "sample.csv");
        assert_eq!((c.events, c.blocks, c.bytes), (9, 3, 1848));
        assert_eq!(c.events_per_block, vec![[2, 1], [3, 1], [4, 1]]);
        assert_eq!(
            c.types[1].bytes,
            [100, 100, 100, 167, 300, 300, 300, 300, 300]
        );
        assert_eq!(Calibration::from_json(&c.to_json()).unwrap(), c);
        let s = c.synthesize().unwrap();
        assert_eq!(s.types, t.types);
        assert_eq!(counts(&s), counts(&t));
        assert_eq!(length_histogram(&s.blocks), c.events_per_block);
    }

    #[test]
    fn inconsistent_calibrations_are_refused() {
        let mut c = Calibration::derive(&Trace::parse(SAMPLE).unwrap(), "sample.csv");
        c.types[1].events += 1;
        assert!(matches!(c.synthesize(), Err(TraceError::Calibration(_))));
        assert!(Calibration::from_json("{}").is_err());
    }

    /// The default scenario: built from the embedded calibration, with its type mix, its
    /// block lengths, blocks framed by BEGIN_BLOCK .. END_BLOCK, and its sizes.
    #[test]
    fn embedded_calibration_gives_the_trace_mix() {
        let c = Calibration::embedded().unwrap();
        let t = Trace::calibrated().unwrap();
        assert_eq!(t.topics.len() as u64, c.events);
        assert_eq!(t.blocks.len() as u64, c.blocks);
        let expected: Vec<u32> = c.types.iter().map(|t| t.events).collect();
        assert_eq!(counts(&t), expected);
        assert_eq!(length_histogram(&t.blocks), c.events_per_block);
        let mut start = 0usize;
        for len in &t.blocks {
            let block = &t.topics[start..start + *len as usize];
            assert_eq!(t.types[usize::from(block[0])], BLOCK_OPEN);
            assert_eq!(t.types[usize::from(block[block.len() - 1])], BLOCK_CLOSE);
            start += *len as usize;
        }
        for (topic, tc) in c.types.iter().enumerate() {
            let mut s: Vec<u32> = (0..t.topics.len())
                .filter(|i| usize::from(t.topics[*i]) == topic)
                .map(|i| t.sizes[i])
                .collect();
            s.sort_unstable();
            let (lo, hi) = (tc.bytes[0], tc.bytes[SIZE_QUANTILES.len() - 1]);
            assert!(s[0] >= lo && s[s.len() - 1] <= hi, "{}", tc.name);
        }
        let bytes: u64 = t.sizes.iter().map(|s| u64::from(*s)).sum();
        let error = (bytes as f64 - c.bytes as f64).abs() / c.bytes as f64;
        assert!(error < 0.03, "synthesised {bytes} bytes, trace {}", c.bytes);
        // The same stream every time.
        assert_eq!(Trace::calibrated().unwrap().sizes, t.sizes);
        let s = t.scenario();
        assert_eq!(s.name, "trace-mix");
        assert_eq!(s.workload.max_batch(), 255);
        assert_eq!(s.layout.subscriptions[1].iter().count(), 11);
    }

    /// The embedded file is what `ringbus-bench calibrate` derives from the reference trace
    /// (checked where that trace is beside the checkout).
    #[test]
    fn embedded_calibration_is_derived_from_the_reference_trace() {
        let Ok(t) = Trace::load(&resolve(Path::new(SHARED_TRACE))) else {
            eprintln!("{SHARED_TRACE} not found: skipping the re-derivation check");
            return;
        };
        let c = Calibration::derive(&t, "vega-system-tests-trace.csv");
        assert_eq!(c, Calibration::embedded().unwrap());
        assert_eq!(c.to_json(), CALIBRATION_JSON);
    }
}
