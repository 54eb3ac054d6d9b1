//! Repeated, time-budgeted, checked runs of one system on one scenario.

use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::check::new_histogram;
use crate::harness::{run_guarded, Guarded, RunSpec, System};
use crate::scenario::Scenario;
use crate::stats::{self, Latency, Spread};

/// How long runs take and how many there are.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Time of the calibration run (also the warm-up) that sizes the event count.
    pub calibrate: Duration,
    /// Target duration of one measured run.
    pub run: Duration,
    /// Measured runs per system and scenario.
    pub repeats: usize,
    /// Ring / channel capacity.
    pub capacity: usize,
    /// Extra time the watchdog waits after a run's deadline before abandoning it.
    pub grace: Duration,
}

impl Budget {
    /// `--quick`: well under a minute for `compare`.
    pub fn quick() -> Self {
        Budget {
            calibrate: Duration::from_millis(15),
            run: Duration::from_millis(40),
            repeats: 3,
            capacity: 1024,
            grace: Duration::from_secs(5),
        }
    }

    /// The full run: well under 15 minutes for `compare`.
    pub fn full() -> Self {
        Budget {
            calibrate: Duration::from_millis(100),
            run: Duration::from_millis(250),
            repeats: 5,
            capacity: 1024,
            grace: Duration::from_secs(10),
        }
    }

    /// The deadline of a run whose expected duration is `self.run`.
    pub fn time_limit(&self) -> Duration {
        (self.run * 5).max(self.run + Duration::from_millis(400))
    }
}

/// How a measurement ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every run completed and passed its checks.
    Ok,
    /// At least one run hit its deadline: the figures are from the events published by then.
    Timeout,
    /// A run failed its checks or errored: no figures.
    Failed,
    /// A run did not return even after the grace period: its threads were abandoned.
    Hung,
    /// The system does not support the scenario.
    Skipped,
}

impl Status {
    /// The label used in reports.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Timeout => "timeout/collapsed",
            Status::Failed => "failed",
            Status::Hung => "hung",
            Status::Skipped => "skipped",
        }
    }

    /// Whether the figures can be quoted.
    pub fn has_figures(&self) -> bool {
        matches!(self, Status::Ok | Status::Timeout)
    }
}

/// The outcome of measuring one system on one scenario.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// System name.
    pub system: String,
    /// Whether the system is the default bus ([`System::is_default`]).
    pub default: bool,
    /// How it ended.
    pub status: Status,
    /// Why it failed or was skipped, or what to know.
    pub note: Option<String>,
    /// Events per second of each measured run.
    pub runs: Vec<f64>,
    /// Events published per run (as planned).
    pub events_per_run: u64,
    /// Latency of all runs merged, when recorded.
    pub hist: Option<Histogram<u64>>,
}

impl Measurement {
    fn new(system: &dyn System) -> Self {
        Measurement {
            system: system.name().to_string(),
            default: system.is_default(),
            status: Status::Ok,
            note: None,
            runs: Vec::new(),
            events_per_run: 0,
            hist: None,
        }
    }

    fn fail(mut self, status: Status, note: String) -> Self {
        self.status = status;
        self.note = Some(note);
        self
    }

    /// Min/median/max events per second.
    pub fn throughput(&self) -> Option<Spread> {
        if self.status.has_figures() {
            stats::spread(&self.runs)
        } else {
            None
        }
    }

    /// Latency percentiles.
    pub fn latency(&self) -> Option<Latency> {
        self.hist.as_ref().and_then(stats::latency)
    }
}

/// Measures `system` on `scenario`: calibrates the event count to the time budget (or derives
/// it from the pacing), then runs `budget.repeats` checked runs under a deadline and a watchdog.
pub fn measure(system: Arc<dyn System>, scenario: &Scenario, budget: &Budget) -> Measurement {
    let m = Measurement::new(system.as_ref());
    if let Err(why) = system.supports(&scenario.layout) {
        return m.fail(Status::Skipped, why);
    }
    let w = &scenario.workload;
    let run_secs = budget.run.as_secs_f64();
    let events = if let Some(rate) = w.rate {
        (rate * run_secs) as u64
    } else if !w.pause.is_zero() {
        let bursts = (run_secs / w.pause.as_secs_f64()).ceil().max(5.0) as u64;
        bursts * u64::from(w.batch(0).min(budget.capacity as u32))
    } else {
        // Calibrate (and warm up): publish for `calibrate`, then size the runs to `run`.
        let spec = RunSpec::new(scenario, budget.capacity, u64::MAX / 4, budget.calibrate);
        match run_guarded(system.clone(), &spec, budget.grace) {
            Guarded::Hung => return m.fail(Status::Hung, "calibration run hung".into()),
            Guarded::Done(Err(e)) => return m.fail(Status::Failed, format!("calibration: {e}")),
            Guarded::Done(Ok(r)) => {
                if let Err(e) = r.verify(&spec) {
                    return m.fail(Status::Failed, format!("calibration check: {e}"));
                }
                ((r.events_per_sec() * run_secs) as u64).max(1_000)
            }
        }
    };
    let mut m = m;
    m.events_per_run = events;
    let spec = RunSpec::new(scenario, budget.capacity, events, budget.time_limit());
    let mut hist = spec.latency.then(new_histogram);
    for i in 0..budget.repeats {
        match run_guarded(system.clone(), &spec, budget.grace) {
            Guarded::Hung => {
                return m.fail(Status::Hung, format!("run {i} hung past its deadline"))
            }
            Guarded::Done(Err(e)) => return m.fail(Status::Failed, format!("run {i}: {e}")),
            Guarded::Done(Ok(r)) => {
                if let Err(e) = r.verify(&spec) {
                    return m.fail(Status::Failed, format!("run {i} check: {e}"));
                }
                if r.timed_out {
                    m.status = Status::Timeout;
                    m.note = Some(format!(
                        "deadline of {:?} hit after {} of {} events",
                        spec.time_limit, r.published, events
                    ));
                }
                m.runs.push(r.events_per_sec());
                if let Some(h) = &mut hist {
                    for c in &r.consumers {
                        if let Some(ch) = &c.hist {
                            let _ = h.add(ch);
                        }
                    }
                }
                if r.timed_out {
                    // A collapsed system would spend its whole deadline on every repeat:
                    // one such run is enough to report it, and keeps `compare` bounded.
                    break;
                }
            }
        }
    }
    m.hist = hist;
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario;
    use crate::systems;

    fn tiny() -> Budget {
        Budget {
            calibrate: Duration::from_millis(5),
            run: Duration::from_millis(10),
            repeats: 2,
            capacity: 256,
            grace: Duration::from_secs(5),
        }
    }

    #[test]
    fn measures_throughput_and_latency() {
        let all = scenario::all(None);
        let sc = scenario::select(
            all,
            &[
                "unicast-single".into(),
                "latency-100k".into(),
                "burst-10-pause-1ms".into(),
            ],
        );
        let sys = systems::select(systems::all(), &["crossbeam".into()]);
        for s in &sc {
            let m = measure(sys[0].clone(), s, &tiny());
            assert_eq!(m.status, Status::Ok, "{}: {:?}", s.name, m.note);
            assert_eq!(m.runs.len(), 2);
            assert!(m.throughput().unwrap().median > 0.0);
            assert_eq!(m.latency().is_some(), s.focus == scenario::Focus::Latency);
        }
    }

    #[test]
    fn status_labels() {
        assert_eq!(Status::Timeout.label(), "timeout/collapsed");
        assert!(Status::Timeout.has_figures() && !Status::Failed.has_figures());
    }
}
