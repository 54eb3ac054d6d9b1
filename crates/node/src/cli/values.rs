//! Value parsers of the command line: a value that can never work is refused by the parser
//! (a usage error, exit code 2) instead of being raised, clamped or failing later.

use crate::Pace;
use ringbus_remote::{Batching, ServiceUrl};
use ringbus_ring::WaitStrategy;
use std::time::Duration;

/// A ring capacity: a power of two, at least 1.
pub(super) fn capacity(s: &str) -> Result<usize, String> {
    let n: usize = s.trim().parse().map_err(|e| format!("{e}"))?;
    if n.is_power_of_two() {
        Ok(n)
    } else {
        Err(format!(
            "{n} is not a power of two (1, 2, 4, ..., 4096, ...)"
        ))
    }
}

/// A pace: a positive, finite number of blocks per second.
pub(super) fn pace(s: &str) -> Result<Pace, String> {
    let rate: f64 = s.trim().parse().map_err(|e| format!("{e}"))?;
    Pace::new(rate).map_err(|e| e.to_string())
}

/// A positive, finite number of seconds.
pub(super) fn seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s.trim().parse().map_err(|e| format!("{e}"))?;
    if secs.is_finite() && secs > 0.0 {
        Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
    } else {
        Err("expected a positive number of seconds".into())
    }
}

/// A JetStream stream name: not empty; no whitespace, `.`, `*`, `>`, `/` or `\`.
pub(super) fn stream_name(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("a stream name cannot be empty".into());
    }
    match s
        .chars()
        .find(|c| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\'))
    {
        Some(c) => Err(format!("a stream name cannot contain {c:?}")),
        None => Ok(s.to_string()),
    }
}

/// A subject prefix: dot-separated tokens, none empty; no whitespace, `*` or `>`.
pub(super) fn subject_prefix(s: &str) -> Result<String, String> {
    if s.split('.').any(str::is_empty) {
        return Err("a subject prefix is dot-separated tokens, none empty".into());
    }
    match s
        .chars()
        .find(|c| c.is_whitespace() || matches!(c, '*' | '>'))
    {
        Some(c) => Err(format!("a subject prefix cannot contain {c:?}")),
        None => Ok(s.to_string()),
    }
}

/// A server URL: not empty. Its form is checked with the client's own parser before
/// anything runs; this parser does not, because clap would repeat the value, password
/// included, in its message.
pub(super) fn url(s: &str) -> Result<ServiceUrl, String> {
    if s.trim().is_empty() {
        Err("an empty URL".into())
    } else {
        Ok(ServiceUrl::new(s.trim()))
    }
}

pub(super) fn batching(s: &str) -> Result<Batching, String> {
    s.parse()
}

pub(super) fn wait_strategy(s: &str) -> Result<WaitStrategy, String> {
    s.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_can_never_work_are_refused() {
        assert_eq!(capacity("4096"), Ok(4096));
        assert_eq!(capacity("1"), Ok(1));
        for bad in ["0", "3", "-1", "x"] {
            assert!(capacity(bad).is_err(), "{bad}");
        }
        assert_eq!(seconds("1.5"), Ok(Duration::from_millis(1500)));
        for bad in ["0", "-1", "NaN", "inf", "1e300"] {
            assert!(seconds(bad).is_err(), "{bad}");
        }
        assert!(stream_name("RINGBUS_2").is_ok());
        for bad in ["", "a.b", "a b", "a*", "a/b"] {
            assert!(stream_name(bad).is_err(), "{bad:?}");
        }
        assert!(subject_prefix("ringbus.node1").is_ok());
        for bad in ["", "a..b", ".a", "a.", "a*", "a b", ">"] {
            assert!(subject_prefix(bad).is_err(), "{bad:?}");
        }
        assert!(url(" ").is_err());
    }
}
