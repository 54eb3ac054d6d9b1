//! Repeated, time-budgeted, checked runs of one system on one scenario.

use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::buffering::ChannelBuffer;
use crate::check::new_histogram;
use crate::harness::{run_guarded, Guarded, RunSpec, System};
use crate::scenario::{Focus, Scenario};
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
    /// How the channel systems size a routed consumer's channel.
    pub channel_buffer: ChannelBuffer,
    /// Extra time the watchdog waits after a run's deadline before abandoning it.
    pub grace: Duration,
    /// `--pin`: producer and consumer threads pinned to cores ([`crate::pin`]).
    pub pin: bool,
    /// The idle window measured once per system and scenario after its runs (zero: none).
    pub idle: Duration,
    /// Latency scenarios: latency samples one run aims at, so that each run's p99 is stable.
    pub latency_samples: u64,
    /// Latency scenarios: the longest a run may take to reach `latency_samples` (paced or
    /// flat-out producers).
    pub latency_run_cap: Duration,
    /// Burst scenarios with pauses: the longest a run may take (a burst of 1 every 10 ms cannot
    /// reach `latency_samples` in any reasonable time; the samples per run are reported).
    pub burst_run_cap: Duration,
    /// Latency scenarios: how long the stall probe spins after each round ([`crate::stalls`]).
    pub stall_probe: Duration,
}

impl Budget {
    /// `--quick`: a minute or two for `compare` (every cell also has a 100 ms idle window).
    pub fn quick() -> Self {
        Budget {
            calibrate: Duration::from_millis(15),
            run: Duration::from_millis(40),
            repeats: 3,
            capacity: 1024,
            channel_buffer: ChannelBuffer::Window,
            grace: Duration::from_secs(5),
            pin: false,
            idle: Duration::from_millis(100),
            latency_samples: 20_000,
            latency_run_cap: Duration::from_millis(250),
            burst_run_cap: Duration::from_millis(100),
            stall_probe: Duration::from_millis(50),
        }
    }

    /// The full run: under 15 minutes for `compare` (about 10 by estimate: the latency runs of
    /// 200 000 samples or 1-2 s dominate).
    pub fn full() -> Self {
        Budget {
            calibrate: Duration::from_millis(100),
            run: Duration::from_millis(250),
            repeats: 5,
            capacity: 1024,
            channel_buffer: ChannelBuffer::Window,
            grace: Duration::from_secs(10),
            pin: false,
            idle: Duration::from_millis(100),
            latency_samples: 200_000,
            latency_run_cap: Duration::from_secs(2),
            burst_run_cap: Duration::from_secs(1),
            stall_probe: Duration::from_millis(200),
        }
    }

    /// The deadline of a run whose expected duration is `self.run`.
    pub fn time_limit(&self) -> Duration {
        Self::time_limit_for(self.run)
    }

    /// The deadline of a run expected to take `run`: 5 times that, and at least 400 ms more.
    pub fn time_limit_for(run: Duration) -> Duration {
        (run * 5).max(run + Duration::from_millis(400))
    }
}

/// A system that makes less than 1/this of a reference rate has collapsed: the calibrated
/// rate for a run that hits its deadline, the system's own `unicast-single` median for a
/// report's row.
pub const COLLAPSE_RATIO: f64 = 20.0;

/// The note of a cell some of whose runs passed their deadline in a slower spell and
/// counted (`runs_events_per_sec` in the JSON shows which).
const SLOWER_SPELL: &str = "a run passed its deadline in a slower spell of the machine and \
                            counts the events published by then";

/// How a measurement ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every run completed and passed its checks.
    Ok,
    /// A run hit its deadline at a collapsed rate ([`COLLAPSE_RATIO`]): the figures are from the
    /// events published by then, and no further run was made.
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
    /// p99 latency of each measured run (its consumers merged), ns, when recorded.
    pub p99_runs: Vec<u64>,
    /// Latency samples of each measured run, when recorded.
    pub samples_runs: Vec<u64>,
    /// Process CPU seconds (every thread) per million published events, of each measured run.
    pub cpu_runs: Vec<f64>,
    /// CPU seconds of the producer's thread alone per million events, of each measured run.
    pub producer_cpu_runs: Vec<f64>,
    /// Process CPU over the idle window after the runs, % of one core per consumer.
    pub idle_cpu_pct: Option<f64>,
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
            p99_runs: Vec::new(),
            samples_runs: Vec::new(),
            cpu_runs: Vec::new(),
            producer_cpu_runs: Vec::new(),
            idle_cpu_pct: None,
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

    /// Min/median/max of the per-run p99s, ns.
    pub fn p99_spread(&self) -> Option<Spread> {
        let v: Vec<f64> = self.p99_runs.iter().map(|&x| x as f64).collect();
        stats::spread(&v).filter(|_| self.status.has_figures())
    }

    /// Min/median/max CPU seconds per million events over the runs.
    pub fn cpu_spread(&self) -> Option<Spread> {
        stats::spread(&self.cpu_runs).filter(|_| self.status.has_figures())
    }
}

/// Measures `system` on `scenario`: calibrates the event count to the time budget (or derives
/// it from the pacing), then runs `budget.repeats` checked runs under a deadline and a watchdog,
/// taking the process CPU time before and after each, then one more short run that ends in
/// the idle window ([`crate::harness::IdleProbe`]).
///
/// Latency scenarios run longer: until `budget.latency_samples` samples per run, within
/// `budget.latency_run_cap` (`burst_run_cap` for bursts with pauses), so that each run's p99
/// stands on enough samples; the p99 of every run is kept for its spread.
///
/// `compare` measures several systems with [`Cell`]s instead, one round of runs at a time.
pub fn measure(system: Arc<dyn System>, scenario: &Scenario, budget: &Budget) -> Measurement {
    let mut cell = Cell::prepare(system, scenario, budget);
    for _ in 0..budget.repeats {
        cell.run_once(budget);
    }
    cell.finish(scenario, budget)
}

/// One system on one scenario, measured a run at a time: `compare` runs the systems of a
/// scenario in rounds, one run of each per round, so that the machine's slow and fast
/// spells fall on every system alike and the runs of one round compare like for like.
pub struct Cell {
    system: Arc<dyn System>,
    m: Measurement,
    /// The spec of every measured run; `None` once the cell cannot run (skipped, failed,
    /// hung, or collapsed).
    spec: Option<RunSpec>,
    hist: Option<Histogram<u64>>,
    /// The rate the calibration run made (scenarios without pacing), against which a run
    /// that hits its deadline is judged collapsed or caught in a slower spell.
    calibrated_eps: Option<f64>,
    /// Runs that hit their deadline in a slower spell of the machine and counted.
    slow_spells: usize,
}

impl std::fmt::Debug for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cell")
            .field("system", &self.m.system)
            .field("status", &self.m.status)
            .field("runs", &self.m.runs.len())
            .field("running", &self.is_running())
            .finish()
    }
}

impl Cell {
    /// Calibrates `system` on `scenario` (see [`measure`]); a system that does not support
    /// the scenario, or fails its calibration, gets a cell that runs nothing.
    pub fn prepare(system: Arc<dyn System>, scenario: &Scenario, budget: &Budget) -> Cell {
        let mut m = Measurement::new(system.as_ref());
        let mut calibrated_eps = None;
        let spec = match Self::plan(system.clone(), scenario, budget) {
            Ok((events, spec, eps)) => {
                m.events_per_run = events;
                calibrated_eps = eps;
                Some(spec)
            }
            Err((status, note)) => {
                m = m.fail(status, note);
                None
            }
        };
        let hist = spec.as_ref().filter(|s| s.latency).map(|_| new_histogram());
        Cell {
            system,
            m,
            spec,
            hist,
            calibrated_eps,
            slow_spells: 0,
        }
    }

    /// The events per run, the spec of the measured runs and the calibrated rate (scenarios
    /// without pacing), or why there are none.
    fn plan(
        system: Arc<dyn System>,
        scenario: &Scenario,
        budget: &Budget,
    ) -> Result<(u64, RunSpec, Option<f64>), (Status, String)> {
        system
            .supports(&scenario.layout)
            .map_err(|why| (Status::Skipped, why))?;
        let w = &scenario.workload;
        let latency = scenario.focus == Focus::Latency;
        let run_secs = budget.run.as_secs_f64();
        // (events per run, expected duration of a run, calibrated rate)
        let (events, run_time, calibrated) = if let Some(rate) = w.rate {
            let mut events = (rate * run_secs) as u64;
            if latency {
                let cap = (rate * budget.latency_run_cap.as_secs_f64()) as u64;
                events = events.max(budget.latency_samples.min(cap));
            }
            (
                events,
                Duration::from_secs_f64(events as f64 / rate.max(1.0)),
                None,
            )
        } else if !w.pause.is_zero() {
            let batch = u64::from(w.batch(0).min(budget.capacity as u32)).max(1);
            let mut bursts = (run_secs / w.pause.as_secs_f64()).ceil().max(5.0) as u64;
            if latency {
                let wanted = budget.latency_samples.div_ceil(batch);
                let cap = (budget.burst_run_cap.as_secs_f64() / w.pause.as_secs_f64()) as u64;
                bursts = bursts.max(wanted.min(cap));
            }
            (bursts * batch, w.pause * bursts as u32, None)
        } else {
            // Calibrate (and warm up): publish for `calibrate`, then size the runs to `run`.
            let spec = RunSpec::new(scenario, budget.capacity, u64::MAX / 4, budget.calibrate)
                .pinned(budget.pin)
                .buffered(budget.channel_buffer);
            let r = match run_guarded(system, &spec, budget.grace) {
                Guarded::Hung => return Err((Status::Hung, "calibration run hung".into())),
                Guarded::Done(Err(e)) => return Err((Status::Failed, format!("calibration: {e}"))),
                Guarded::Done(Ok(r)) => r,
            };
            if let Err(e) = r.verify(&spec) {
                return Err((Status::Failed, format!("calibration check: {e}")));
            }
            let eps = r.events_per_sec();
            let mut events = ((eps * run_secs) as u64).max(1_000);
            if latency {
                let cap = (eps * budget.latency_run_cap.as_secs_f64()) as u64;
                events = events.max(budget.latency_samples.min(cap));
            }
            (
                events,
                Duration::from_secs_f64(events as f64 / eps.max(1.0)).max(budget.run),
                Some(eps),
            )
        };
        let spec = RunSpec::new(
            scenario,
            budget.capacity,
            events,
            Budget::time_limit_for(run_time.max(budget.run)),
        )
        .pinned(budget.pin)
        .buffered(budget.channel_buffer);
        Ok((events, spec, calibrated))
    }

    /// The system's name.
    pub fn system(&self) -> &str {
        &self.m.system
    }

    /// Whether the cell still runs (it has not been skipped, failed, hung or collapsed).
    pub fn is_running(&self) -> bool {
        self.spec.is_some()
    }

    /// One measured run, checked; a failure or a hang ends the cell, and so does a run that
    /// hit its deadline at a collapsed rate (below 1/[`COLLAPSE_RATIO`] of its calibration):
    /// a collapsed system would spend its whole deadline on every repeat, and one such run is
    /// enough to report it (and keeps `compare` bounded). A run that hit its deadline faster
    /// than that was caught in one of the machine's slower spells (they differ by up to ten
    /// times here): it counts, with the events published by its deadline, and the cell goes
    /// on, so that a spell does not cost a system its rounds.
    pub fn run_once(&mut self, budget: &Budget) {
        let Some(spec) = &self.spec else { return };
        let i = self.m.runs.len();
        let cpu0 = crate::cpu::process_cpu();
        let outcome = run_guarded(self.system.clone(), spec, budget.grace);
        let cpu1 = crate::cpu::process_cpu();
        let r = match outcome {
            Guarded::Hung => {
                return self.stop(Status::Hung, format!("run {i} hung past its deadline"))
            }
            Guarded::Done(Err(e)) => return self.stop(Status::Failed, format!("run {i}: {e}")),
            Guarded::Done(Ok(r)) => r,
        };
        if let Err(e) = r.verify(spec) {
            return self.stop(Status::Failed, format!("run {i} check: {e}"));
        }
        let m = &mut self.m;
        m.runs.push(r.events_per_sec());
        if let (Some(c0), Some(c1)) = (cpu0, cpu1) {
            if let Some(x) = crate::cpu::s_per_m_events(c1.saturating_sub(c0), r.published) {
                m.cpu_runs.push(x);
            }
        }
        if let Some(x) = r
            .producer_cpu
            .and_then(|c| crate::cpu::s_per_m_events(c, r.published))
        {
            m.producer_cpu_runs.push(x);
        }
        if let Some(h) = &mut self.hist {
            let mut run_hist = new_histogram();
            for c in &r.consumers {
                if let Some(ch) = &c.hist {
                    let _ = run_hist.add(ch);
                }
            }
            if !run_hist.is_empty() {
                m.p99_runs.push(run_hist.value_at_quantile(0.99));
                m.samples_runs.push(run_hist.len());
            }
            let _ = h.add(&run_hist);
        }
        if r.timed_out {
            let eps = r.events_per_sec();
            if self
                .calibrated_eps
                .is_some_and(|calibrated| eps >= calibrated / COLLAPSE_RATIO)
            {
                self.slow_spells += 1;
                return;
            }
            m.status = Status::Timeout;
            m.note = Some(format!(
                "deadline of {:?} hit after {} of {} events",
                spec.time_limit, r.published, m.events_per_run
            ));
            self.spec = None;
        }
    }

    /// Ends the cell with no figures.
    fn stop(&mut self, status: Status, note: String) {
        self.m.status = status;
        self.m.note = Some(note);
        self.spec = None;
    }

    /// The measurement: the runs so far, and the idle window measured now (if the budget has
    /// one and the cell has figures).
    pub fn finish(self, scenario: &Scenario, budget: &Budget) -> Measurement {
        let mut m = self.m;
        if !m.status.has_figures() {
            return m;
        }
        if self.slow_spells > 0 && m.note.is_none() {
            m.note = Some(SLOWER_SPELL.to_owned());
        }
        m.hist = self.hist;
        if !budget.idle.is_zero() {
            m.idle_cpu_pct = idle_pct(self.system, scenario, budget, m.events_per_run);
        }
        m
    }
}

/// The idle phase: a short checked run (at most 10 000 events, cut by the calibration time)
/// that ends in `budget.idle` of publishing nothing; the process CPU over that window, as %
/// of one core per consumer. `None` when the run fails or the consumers did not drain.
fn idle_pct(
    system: Arc<dyn System>,
    scenario: &Scenario,
    budget: &Budget,
    events: u64,
) -> Option<f64> {
    let spec = RunSpec::new(
        scenario,
        budget.capacity,
        events.clamp(1, 10_000),
        budget.calibrate.max(Duration::from_millis(10)),
    )
    .pinned(budget.pin)
    .buffered(budget.channel_buffer)
    .with_idle(budget.idle);
    let probe = spec.idle.clone()?;
    match run_guarded(system, &spec, budget.grace + budget.idle) {
        Guarded::Done(Ok(r)) if r.verify(&spec).is_ok() => {}
        _ => return None,
    }
    probe.result()?.ok()?.pct_per_consumer()
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
            // Long enough that the CPU clocks' accounting jitter (a few ms per window, with
            // other tests' threads busy in this process) stays inside the idle bound's margin.
            idle: Duration::from_millis(100),
            latency_samples: 2_000,
            latency_run_cap: Duration::from_millis(50),
            burst_run_cap: Duration::from_millis(20),
            ..Budget::quick()
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
            assert_eq!(m.cpu_runs.len(), 2, "{}", s.name);
            assert!(m.cpu_spread().unwrap().median > 0.0, "{}", s.name);
            if cfg!(target_os = "linux") {
                assert_eq!(m.producer_cpu_runs.len(), 2, "{}", s.name);
            }
            let idle = m
                .idle_cpu_pct
                .unwrap_or_else(|| panic!("{}: no idle figure", s.name));
            // crossbeam consumers block in recv: close to nothing while idle, but the figure is
            // the whole process's CPU and other tests run in this process meanwhile: bounded
            // by every core busy.
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            assert!(
                (0.0..=cores as f64 * 100.0 + 5.0).contains(&idle),
                "{}: {idle}",
                s.name
            );
            if s.focus == scenario::Focus::Latency {
                assert_eq!(m.p99_runs.len(), 2, "{}", s.name);
                let p = m.p99_spread().unwrap();
                assert!(p.min <= p.median && p.median <= p.max);
            }
        }
    }

    #[test]
    fn cells_measured_in_rounds_give_what_measure_gives() {
        let sc = scenario::select(scenario::all(None), &["multicast-2".into()]);
        let systems = systems::select(
            systems::all(),
            &["crossbeam".into(), "ringbus-default".into()],
        );
        let budget = tiny();
        let mut cells: Vec<Cell> = systems
            .iter()
            .map(|s| Cell::prepare(s.clone(), &sc[0], &budget))
            .collect();
        for _ in 0..budget.repeats {
            for cell in &mut cells {
                assert!(cell.is_running(), "{cell:?}");
                cell.run_once(&budget);
            }
        }
        for cell in cells {
            let m = cell.finish(&sc[0], &budget);
            assert_eq!(m.status, Status::Ok, "{}: {:?}", m.system, m.note);
            assert_eq!(m.runs.len(), budget.repeats, "{}", m.system);
            assert_eq!(m.cpu_runs.len(), budget.repeats, "{}", m.system);
            assert!(m.events_per_run >= 1_000, "{}", m.system);
            assert!(m.idle_cpu_pct.is_some(), "{}", m.system);
        }
    }

    /// A crossbeam cell on unicast-single whose runs all hit a short deadline, judged against
    /// the calibrated rate `calibrated`.
    fn cell_whose_runs_hit_the_deadline(calibrated: f64) -> (Cell, Budget, Scenario) {
        let sc = scenario::select(scenario::all(None), &["unicast-single".into()]);
        let sys = systems::select(systems::all(), &["crossbeam".into()]);
        let budget = Budget {
            repeats: 3,
            ..tiny()
        };
        let mut cell = Cell::prepare(sys[0].clone(), &sc[0], &budget);
        let spec = cell.spec.as_mut().expect("crossbeam runs unicast-single");
        spec.events = u64::MAX / 4;
        spec.time_limit = Duration::from_millis(5);
        cell.calibrated_eps = Some(calibrated);
        (cell, budget, sc[0].clone())
    }

    #[test]
    fn a_run_caught_in_a_slower_spell_counts_and_the_cell_goes_on() {
        // Any real rate is above 1/20 of one event a second: each deadline is a slow spell.
        let (mut cell, budget, sc) = cell_whose_runs_hit_the_deadline(1.0);
        for _ in 0..budget.repeats {
            assert!(cell.is_running());
            cell.run_once(&budget);
        }
        assert_eq!(cell.slow_spells, 3);
        let m = cell.finish(&sc, &budget);
        assert_eq!(m.status, Status::Ok, "{:?}", m.note);
        assert_eq!(m.runs.len(), 3);
        assert_eq!(m.note.as_deref(), Some(SLOWER_SPELL));
    }

    #[test]
    fn a_run_that_hits_the_deadline_collapsed_ends_the_cell() {
        // No run makes 1/20 of this: the first deadline reports a collapse.
        let (mut cell, budget, sc) = cell_whose_runs_hit_the_deadline(1e18);
        cell.run_once(&budget);
        assert!(!cell.is_running());
        cell.run_once(&budget);
        let m = cell.finish(&sc, &budget);
        assert_eq!(m.status, Status::Timeout);
        assert_eq!(m.runs.len(), 1);
        assert!(m.note.unwrap_or_default().starts_with("deadline of"));
    }

    #[test]
    fn latency_runs_aim_at_the_sample_target() {
        let all = scenario::all(None);
        let sc = scenario::select(all, &["latency-100k".into()]);
        let sys = systems::select(systems::all(), &["crossbeam".into()]);
        let b = Budget {
            repeats: 1,
            latency_samples: 5_000,
            ..tiny()
        };
        let m = measure(sys[0].clone(), &sc[0], &b);
        assert_eq!(m.status, Status::Ok, "{:?}", m.note);
        // 10 ms at 100 k/s would be 1 000 samples; the target asks for 5 000 (50 ms cap).
        assert_eq!(m.events_per_run, 5_000);
        assert_eq!(m.samples_runs, [5_000]);
    }

    #[test]
    fn status_labels() {
        assert_eq!(Status::Timeout.label(), "timeout/collapsed");
        assert!(Status::Timeout.has_figures() && !Status::Failed.has_figures());
    }
}
