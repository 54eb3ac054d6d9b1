//! Damaged event logs (a flipped byte, a cut, inserted bytes, a dropped, duplicated or moved
//! record): `verify`, `dump` and `replay` (the pipeline the command line runs, into the
//! in-memory and SQLite stores) give the same verdict, with the same classification at the
//! same record and offset, and none of them panics.

use proptest::prelude::*;
use ringbus_events::{dump, verify, DumpError, EventLogReader, LogError, VerifySummary};
use ringbus_node::{ConsumerKind, Input, Pipeline, PipelineError};
use ringbus_sim::SimConfig;
use ringbus_testkit::damage::{apply, damage};
use std::sync::OnceLock;

/// A simulated log and the offset of each record (the header's length first, the end last).
struct Log {
    bytes: Vec<u8>,
    offsets: Vec<u64>,
}

/// Logs of a few seeds, three small blocks each.
fn logs() -> &'static [Log] {
    static LOGS: OnceLock<Vec<Log>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        (0..4)
            .map(|seed| {
                let mut p = Pipeline::new(dir.path());
                p.consumers = vec![ConsumerKind::Log];
                let cfg = SimConfig {
                    parties: 6,
                    min_txs: 1,
                    max_txs: 4,
                    ..SimConfig::small(seed, 3)
                };
                p.run(Input::Simulate(cfg)).unwrap();
                let bytes = std::fs::read(&p.event_log).unwrap();
                let mut reader = EventLogReader::new(&bytes[..]).unwrap();
                let mut offsets = vec![reader.offset()];
                while let Some(e) = reader.next() {
                    e.unwrap();
                    offsets.push(reader.offset());
                }
                Log { bytes, offsets }
            })
            .collect()
    })
}

/// What a tool made of a log: accepted (records, blocks), or the damage it named.
#[derive(Debug)]
enum Verdict {
    Accepted { records: u64, blocks: u64 },
    Refused(LogError),
}

/// The same verdict: the same counts, or the same damage at the same place.
fn same(a: &Verdict, b: &Verdict) -> bool {
    match (a, b) {
        (
            Verdict::Accepted {
                records: r1,
                blocks: b1,
            },
            Verdict::Accepted {
                records: r2,
                blocks: b2,
            },
        ) => (r1, b1) == (r2, b2),
        (Verdict::Refused(x), Verdict::Refused(y)) => {
            std::mem::discriminant(x) == std::mem::discriminant(y)
                && (x.record(), x.offset()) == (y.record(), y.offset())
                && x.to_string() == y.to_string()
        }
        _ => false,
    }
}

fn verified(bytes: &[u8]) -> Verdict {
    match EventLogReader::new(bytes).and_then(verify) {
        Ok(VerifySummary {
            records, blocks, ..
        }) => Verdict::Accepted { records, blocks },
        Err(e) => Verdict::Refused(e),
    }
}

fn dumped(bytes: &[u8]) -> Verdict {
    let mut out = Vec::new();
    let result = EventLogReader::new(bytes)
        .map_err(DumpError::Log)
        .and_then(|r| dump(r, &mut out, None));
    let lines = String::from_utf8(out).unwrap();
    let blocks = lines
        .lines()
        .filter(|l| l.contains(r#""topic":"EndBlock""#))
        .count() as u64;
    match result {
        Ok(records) => Verdict::Accepted { records, blocks },
        Err(DumpError::Log(e)) => {
            assert_eq!(lines.lines().count() as u64, e.record().unwrap_or(0));
            Verdict::Refused(e)
        }
        Err(DumpError::Write(e)) => panic!("writing to memory: {e}"),
    }
}

fn replayed(bytes: &[u8]) -> Verdict {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("damaged.rbl");
    std::fs::write(&log, bytes).unwrap();
    let mut p = Pipeline::new(dir.path());
    p.consumers = vec![ConsumerKind::Stores, ConsumerKind::Sqlite];
    match p.run(Input::Replay(log)) {
        Ok(report) => {
            assert!(report.failures.is_empty(), "{:?}", report.failures);
            let stores = report.stores.unwrap().snapshot();
            Verdict::Accepted {
                records: report.events,
                blocks: stores.blocks,
            }
        }
        Err(PipelineError::Log { source, .. }) => Verdict::Refused(source),
        Err(e) => panic!("replay failed otherwise: {e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn verify_dump_and_replay_agree_on_damaged_logs(log in 0usize..4, damage in damage()) {
        let log = &logs()[log];
        let bytes = apply(&damage, &log.bytes, &log.offsets);
        let (v, d, r) = (verified(&bytes), dumped(&bytes), replayed(&bytes));
        prop_assert!(same(&v, &d) && same(&v, &r), "{damage:?}: verify {v:?}, dump {d:?}, replay {r:?}");
        if let Verdict::Accepted { .. } = v {
            // Accepted: unchanged, or cut at a block end (a shorter, whole log).
            prop_assert!(log.bytes.starts_with(&bytes), "{damage:?} was accepted");
        }
    }
}

#[test]
fn a_log_cut_inside_a_block_is_refused_by_all_three_alike() {
    let log = &logs()[0];
    // The last record is the last block's EndBlock: without it the block is incomplete.
    let n = log.offsets.len() - 1;
    let bytes = &log.bytes[..log.offsets[n - 1] as usize];
    let (v, d, r) = (verified(bytes), dumped(bytes), replayed(bytes));
    assert!(
        matches!(&v, Verdict::Refused(LogError::IncompleteBlock { record, height: 3, .. }) if *record == n as u64 - 1),
        "{v:?}"
    );
    assert!(same(&v, &d) && same(&v, &r), "{v:?} / {d:?} / {r:?}");
}
