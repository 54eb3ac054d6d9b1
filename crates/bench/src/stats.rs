//! Small statistics: min/median/max over repeated runs, latency percentiles from a histogram.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Minimum, median and maximum of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// Smallest value.
    pub min: f64,
    /// Median (mean of the two middle values for an even count).
    pub median: f64,
    /// Largest value.
    pub max: f64,
}

/// The spread of `values`, or `None` when empty. NaNs are ignored.
pub fn spread(values: &[f64]) -> Option<Spread> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Spread {
        min: v[0],
        median,
        max: v[n - 1],
    })
}

/// The spread over rounds of `runs[i] / reference[i]`, pairing the two systems' runs of the
/// same round (a reference run of zero is left out).
pub fn ratio_by_round(runs: &[f64], reference: &[f64]) -> Option<Spread> {
    let ratios: Vec<f64> = runs
        .iter()
        .zip(reference)
        .filter(|(_, r)| **r > 0.0)
        .map(|(v, r)| v / r)
        .collect();
    spread(&ratios)
}

/// Latency percentiles in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// Number of samples.
    pub samples: u64,
    /// 50th percentile.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Largest sample.
    pub max_ns: u64,
    /// Mean.
    pub mean_ns: f64,
}

/// Percentiles of a histogram, or `None` when it is empty.
pub fn latency(h: &Histogram<u64>) -> Option<Latency> {
    if h.is_empty() {
        return None;
    }
    Some(Latency {
        samples: h.len(),
        p50_ns: h.value_at_quantile(0.50),
        p90_ns: h.value_at_quantile(0.90),
        p99_ns: h.value_at_quantile(0.99),
        p999_ns: h.value_at_quantile(0.999),
        max_ns: h.max(),
        mean_ns: h.mean(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::new_histogram;

    #[test]
    fn spread_odd_even_empty() {
        assert_eq!(
            spread(&[3.0, 1.0, 2.0]).unwrap(),
            Spread {
                min: 1.0,
                median: 2.0,
                max: 3.0
            }
        );
        assert_eq!(spread(&[4.0, 1.0, 2.0, 3.0]).unwrap().median, 2.5);
        assert_eq!(spread(&[]), None);
        assert_eq!(spread(&[f64::NAN, 5.0]).unwrap().median, 5.0);
    }

    #[test]
    fn ratios_pair_the_runs_of_a_round() {
        // The second round's reference run is zero (left out); the last run has no partner.
        let r = ratio_by_round(&[10.0, 5.0, 30.0, 7.0], &[20.0, 0.0, 10.0]).unwrap();
        assert_eq!((r.min, r.median, r.max), (0.5, 1.75, 3.0));
        assert!(ratio_by_round(&[1.0], &[]).is_none());
    }

    #[test]
    fn percentiles_of_a_uniform_histogram() {
        let mut h = new_histogram();
        for v in 1..=10_000u64 {
            h.record(v).unwrap();
        }
        let l = latency(&h).unwrap();
        assert_eq!(l.samples, 10_000);
        assert!((4_990..=5_010).contains(&l.p50_ns), "{l:?}");
        assert!((9_890..=9_910).contains(&l.p99_ns), "{l:?}");
        assert!(l.max_ns >= 10_000 && l.max_ns <= 10_010);
        assert!(latency(&new_histogram()).is_none());
    }
}
