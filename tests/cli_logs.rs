//! The `ringbus` binary on event logs that are not what they should be: a log of another
//! stream replayed into a database is refused and the database left as it was; a log cut at
//! a record boundary inside a block, or missing, repeating or reordering records, is refused
//! by `verify`, `dump` and `replay` alike, each naming the damage for what it is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The exit code for bad data (`ringbus --help`).
const DATA: i32 = 4;

fn ringbus(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ringbus"))
        .current_dir(dir)
        .args(args)
        .env_remove("RINGBUS_NATS_URL")
        .env_remove("RINGBUS_POSTGRES_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "{}", text(&o.stderr));
    o
}

/// A simulated log of `blocks` blocks of seed `seed`, at `dir/name`.
fn simulate(dir: &Path, name: &str, seed: u64, blocks: u64) -> PathBuf {
    let log = dir.join(name);
    let (seed, blocks) = (seed.to_string(), blocks.to_string());
    let out = dir.join(format!("{name}.out"));
    ok(ringbus(
        dir,
        &[
            "run",
            "--seed",
            &seed,
            "--blocks",
            &blocks,
            "--markets",
            "2",
            "--parties",
            "30",
            "--consumers",
            "log",
            "--event-log",
            log.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
    ));
    log
}

/// A log's records: the header's length, then each record's end; read from the framing
/// alone (version 1 or 2 headers), so the test reads any build's logs.
fn offsets(bytes: &[u8]) -> Vec<usize> {
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
    let mut at = match u32_at(8) {
        1 => 12,
        2 => 20 + u32_at(12),
        v => panic!("format version {v}"),
    };
    let mut out = vec![at];
    while at < bytes.len() {
        at += 8 + u32_at(at);
        out.push(at);
    }
    out
}

/// Each record's topic and sequence, from `ringbus dump`.
fn records(dir: &Path, log: &Path) -> Vec<(String, u64)> {
    let o = ok(ringbus(dir, &["dump", log.to_str().unwrap()]));
    text(&o.stdout)
        .lines()
        .map(|line| {
            let field = |name: &str| {
                let start = line.find(&format!("\"{name}\":")).unwrap() + name.len() + 3;
                line[start..]
                    .split([',', '}'])
                    .next()
                    .unwrap()
                    .trim_matches('"')
                    .to_string()
            };
            (field("topic"), field("sequence").parse().unwrap())
        })
        .collect()
}

/// `log`'s records in `order` (record numbers), under `dir/name`.
fn rearranged(dir: &Path, log: &Path, name: &str, order: &[usize]) -> PathBuf {
    let bytes = std::fs::read(log).unwrap();
    let o = offsets(&bytes);
    let mut out = bytes[..o[0]].to_vec();
    for &i in order {
        out.extend_from_slice(&bytes[o[i]..o[i + 1]]);
    }
    let path = dir.join(name);
    std::fs::write(&path, out).unwrap();
    path
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn a_log_of_another_stream_is_refused_by_the_database_which_stays_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let seed42 = simulate(d, "seed42.rbl", 42, 40);
    let seed43 = simulate(d, "seed43.rbl", 43, 40);
    // Cut seed 42's log after the deepest block end seed 43 shares: replayed after it, seed
    // 43's next block would follow as if it belonged.
    let r42 = records(d, &seed42);
    let ends43: Vec<u64> = records(d, &seed43)
        .into_iter()
        .filter(|(t, _)| t == "EndBlock")
        .map(|(_, s)| s)
        .collect();
    let cut = r42
        .iter()
        .rposition(|(t, s)| t == "EndBlock" && ends43.contains(s))
        .unwrap();
    let all: Vec<usize> = (0..=cut).collect();
    let prefix = rearranged(d, &seed42, "seed42-prefix.rbl", &all);
    let db = d.join("store.db");
    let replay = |log: &Path| {
        ringbus(
            d,
            &[
                "replay",
                log.to_str().unwrap(),
                "--db",
                db.to_str().unwrap(),
                "--consumers",
                "sqlite",
                "--quiet",
            ],
        )
    };
    ok(replay(&prefix));
    let before = snapshot(d);

    let o = replay(&seed43);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(DATA), "{stderr}");
    assert!(
        stderr.contains("seed=42") && stderr.contains("seed=43") && stderr.contains("genesis="),
        "{stderr}"
    );
    assert!(snapshot(d) == before, "a file changed");
}

#[test]
fn a_log_cut_inside_a_block_is_refused_by_verify_dump_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = simulate(d, "full.rbl", 7, 6);
    let records = records(d, &log);
    // Cut at the record boundary just before block 5's EndBlock.
    let end5 = records
        .iter()
        .enumerate()
        .filter(|(_, (t, _))| t == "EndBlock")
        .nth(4)
        .unwrap()
        .0;
    let cut = rearranged(d, &log, "cut.rbl", &(0..end5).collect::<Vec<_>>());
    let cut = cut.to_str().unwrap();

    let verify = ringbus(d, &["verify", cut]);
    let message = text(&verify.stderr);
    assert_eq!(verify.status.code(), Some(DATA), "{message}");
    assert!(
        message.contains("block 5") && message.contains("incomplete"),
        "{message}"
    );
    let dump = ringbus(d, &["dump", cut]);
    assert_eq!(dump.status.code(), Some(DATA));
    assert!(text(&dump.stderr).contains("incomplete"));
    assert_eq!(
        text(&dump.stdout).lines().count(),
        end5,
        "the records before the cut"
    );
    let db = d.join("cut.db");
    let replay = ringbus(
        d,
        &[
            "replay",
            cut,
            "--db",
            db.to_str().unwrap(),
            "--consumers",
            "sqlite",
            "--quiet",
        ],
    );
    assert_eq!(replay.status.code(), Some(DATA));
    assert!(text(&replay.stderr).contains("incomplete"));
}

#[test]
fn dropped_duplicated_and_reordered_records_are_named_alike_by_verify_and_dump() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = simulate(d, "full.rbl", 9, 4);
    let n = records(d, &log).len();
    let all: Vec<usize> = (0..n).collect();
    let mut dropped = all.clone();
    dropped.remove(30);
    let mut duplicated = all.clone();
    duplicated.insert(31, 30);
    let mut swapped = all.clone();
    swapped.swap(30, 31);
    // The damaged record, and the records dump prints before it.
    // The records dump prints before the damaged one.
    for (name, order, before, words) in [
        (
            "dropped",
            dropped,
            30,
            &["sequences 30..=30 are missing", "dropped"][..],
        ),
        (
            "duplicated",
            duplicated,
            31,
            &["repeats sequence 30", "duplicated"][..],
        ),
        (
            "swapped",
            swapped,
            30,
            &["sequence 31 where 30 was expected", "out of order"][..],
        ),
    ] {
        let damaged = rearranged(d, &log, &format!("{name}.rbl"), &order);
        let damaged = damaged.to_str().unwrap();
        let verify = ringbus(d, &["verify", damaged]);
        let dump = ringbus(d, &["dump", damaged]);
        let (v, du) = (text(&verify.stderr), text(&dump.stderr));
        assert_eq!(verify.status.code(), Some(DATA), "{name}: {v}");
        assert_eq!(
            dump.status.code(),
            Some(DATA),
            "{name}: dump accepted it: {du}"
        );
        for w in words {
            assert!(
                v.contains(w) && du.contains(w),
                "{name}: {w:?} in {v} / {du}"
            );
        }
        assert!(!v.contains("gap"), "{name}: {v}");
        assert_eq!(
            text(&dump.stdout).lines().count(),
            before,
            "{name}: the records before"
        );
    }
}
