//! The realistic mix: event types and block framing replayed from a recorded trace (CSV).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::scenario::{Focus, Layout, Scenario, Shape, Workload};
use crate::topics::TopicMask;

/// The default trace path, relative to the repository root.
pub const DEFAULT_TRACE: &str = "../shared/data/vega-system-tests-trace.csv";

/// Why a trace could not be used.
#[derive(Debug)]
pub enum TraceError {
    /// The file could not be read.
    Io(PathBuf, std::io::Error),
    /// A line could not be parsed.
    Parse {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// No events at all.
    Empty,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::Io(p, e) => write!(f, "cannot read trace {}: {e}", p.display()),
            TraceError::Parse { line, reason } => write!(f, "trace line {line}: {reason}"),
            TraceError::Empty => write!(f, "trace has no events"),
        }
    }
}

impl std::error::Error for TraceError {}

/// A parsed trace: one topic and size per event, one length per block.
#[derive(Clone, Debug)]
pub struct Trace {
    /// Topic number per event (types numbered in order of first appearance).
    pub topics: Vec<u8>,
    /// Encoded size per event.
    pub sizes: Vec<u32>,
    /// Events per block, in order.
    pub blocks: Vec<u32>,
    /// Type names, indexed by topic number.
    pub types: Vec<String>,
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
    /// Reads a trace file.
    pub fn load(path: &Path) -> Result<Trace, TraceError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| TraceError::Io(path.to_path_buf(), e))?;
        Trace::parse(&text)
    }

    /// Parses CSV text with the header
    /// `block_height,seq_in_block,type,payload_field,encoded_bytes,tx_hash_present`.
    pub fn parse(text: &str) -> Result<Trace, TraceError> {
        let mut lines = text.lines().enumerate();
        let header = lines.next().map(|(_, l)| l).unwrap_or("");
        let cols: Vec<&str> = header.split(',').map(str::trim).collect();
        let col = |name: &str| {
            cols.iter()
                .position(|c| *c == name)
                .ok_or_else(|| TraceError::Parse {
                    line: 1,
                    reason: format!("missing column {name:?}"),
                })
        };
        let (c_block, c_type, c_size) = (col("block_height")?, col("type")?, col("encoded_bytes")?);
        let mut ids: HashMap<String, u8> = HashMap::new();
        let mut t = Trace {
            topics: Vec::new(),
            sizes: Vec::new(),
            blocks: Vec::new(),
            types: Vec::new(),
        };
        let mut current_block: Option<u64> = None;
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            let bad = |reason: String| TraceError::Parse {
                line: i + 1,
                reason,
            };
            let get = |c: usize| {
                f.get(c)
                    .copied()
                    .ok_or_else(|| bad(format!("expected at least {} fields", c + 1)))
            };
            let block: u64 = get(c_block)?
                .parse()
                .map_err(|e| bad(format!("block_height: {e}")))?;
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
            if current_block != Some(block) {
                current_block = Some(block);
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
                "trace replay: {} events, {} types, {} blocks (batch per block); store writer (all) + plug-in ({} types)",
                self.topics.len(),
                self.types.len(),
                self.blocks.len(),
                self.plugin_mask().iter().count()
            ),
            layout: Layout {
                shape: Shape::Broadcast,
                subscriptions: vec![TopicMask::ALL, self.plugin_mask()],
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

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str =
        "block_height,seq_in_block,type,payload_field,encoded_bytes,tx_hash_present
1,1,BEGIN_BLOCK,148,235,0
1,2,ORDER,101,167,0
1,3,END_BLOCK,131,190,0
2,1,BEGIN_BLOCK,148,236,0
2,2,END_BLOCK,131,191,0
";

    #[test]
    fn parses_types_and_blocks() {
        let t = Trace::parse(SAMPLE).unwrap();
        assert_eq!(t.topics, vec![0, 1, 2, 0, 2]);
        assert_eq!(t.blocks, vec![3, 2]);
        assert_eq!(t.sizes[4], 191);
        assert_eq!(t.types, vec!["BEGIN_BLOCK", "ORDER", "END_BLOCK"]);
        let s = t.scenario();
        assert_eq!(s.layout.consumers(), 2);
        assert!(s.layout.subscriptions[1].contains(1));
    }

    #[test]
    fn bad_lines_are_typed_errors() {
        let e = Trace::parse("block_height,type,encoded_bytes\nx,ORDER,3\n").unwrap_err();
        assert!(matches!(e, TraceError::Parse { line: 2, .. }), "{e}");
        let e = Trace::parse("block_height,type\n").unwrap_err();
        assert!(matches!(e, TraceError::Parse { line: 1, .. }));
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
    fn shared_trace_parses_when_present() {
        let p = resolve(Path::new(DEFAULT_TRACE));
        if let Ok(t) = Trace::load(&p) {
            assert!(t.blocks.len() > 100);
            assert_eq!(
                t.blocks.iter().map(|b| *b as usize).sum::<usize>(),
                t.topics.len()
            );
        }
    }
}
