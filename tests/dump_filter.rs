//! `ringbus dump --topic T --market M --limit N`, the real binary: it prints exactly the lines
//! of the full dump whose event is of that topic and market, the first N of them.

use std::path::Path;
use std::process::{Command, Output};

fn ringbus(dir: &Path, args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_ringbus"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn lines(o: &Output) -> Vec<String> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Whether a JSON line's payload names market 1 (the simulator never moves money between two
/// markets, so a payload that names market 1 belongs to it).
fn of_market_1(line: &str) -> bool {
    let payload = &line[line.find("\"payload\":").unwrap()..];
    payload.contains("\"market\":1,") || payload.contains("\"market\":1}")
}

#[test]
fn dump_prints_exactly_the_events_of_its_topic_and_market() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    ringbus(dir, &["run", "--blocks", "30", "--out", "o", "--quiet"]);
    let all = lines(&ringbus(dir, &["dump", "o/events.rbl"]));
    let market = lines(&ringbus(dir, &["dump", "o/events.rbl", "--market", "1"]));
    let expected: Vec<String> = all.iter().filter(|l| of_market_1(l)).cloned().collect();
    assert!(!expected.is_empty() && expected.len() < all.len());
    assert_eq!(market, expected);

    let trades = lines(&ringbus(
        dir,
        &[
            "dump",
            "o/events.rbl",
            "--topic",
            "trade",
            "--market",
            "market-1",
            "--limit",
            "3",
        ],
    ));
    let expected: Vec<String> = all
        .iter()
        .filter(|l| l.contains("\"topic\":\"Trade\"") && of_market_1(l))
        .take(3)
        .cloned()
        .collect();
    assert_eq!(trades.len(), 3);
    assert_eq!(trades, expected);
}
