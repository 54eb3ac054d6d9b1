//! Issue 3's comparison, paired: fixed and dynamic membership alternate run by run, so the
//! load other processes put on a shared machine hits both alike. Sequential criterion
//! benches of the two differ here by more than the 5% being judged.

use super::layout::LAYOUTS;
use super::run::{timed_run, Setup};
use ringbus::WaitStrategy;

const ROUNDS: usize = 25;
const EVENTS: u64 = 1 << 20;

/// Prints, per strategy, the median of `dynamic / fixed` throughput over `ROUNDS` pairs of
/// 1P1C single-publish runs (the order within a pair alternates).
pub fn print_membership_cost(strategies: &[WaitStrategy]) {
    for &strategy in strategies {
        let setup = |dynamic| Setup {
            layout: LAYOUTS[0],
            strategy,
            dynamic,
        };
        let mut ratios = Vec::with_capacity(ROUNDS);
        let mut fixed_rates = Vec::with_capacity(ROUNDS);
        for round in 0..ROUNDS {
            let (fixed, dynamic) = if round % 2 == 0 {
                let f = timed_run(&setup(false), EVENTS);
                (f, timed_run(&setup(true), EVENTS))
            } else {
                let d = timed_run(&setup(true), EVENTS);
                (timed_run(&setup(false), EVENTS), d)
            };
            ratios.push(fixed.as_secs_f64() / dynamic.as_secs_f64());
            fixed_rates.push(EVENTS as f64 / fixed.as_secs_f64() / 1e6);
        }
        let q = |v: &mut Vec<f64>, p: f64| {
            v.sort_by(f64::total_cmp);
            v[((v.len() - 1) as f64 * p).round() as usize]
        };
        eprintln!(
            "membership-1p1c paired/{strategy}: dynamic/fixed throughput median {:.3} \
             (quartiles {:.3}-{:.3}) over {ROUNDS} pairs of {EVENTS} events; fixed median {:.1} M/s",
            q(&mut ratios, 0.5),
            q(&mut ratios, 0.25),
            q(&mut ratios, 0.75),
            q(&mut fixed_rates, 0.5),
        );
    }
}
