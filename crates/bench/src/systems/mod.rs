//! Every system in the comparison, one file each (the crossbeam and std-mpsc fan-outs share
//! `channel_fanout`, generic over the channel).

use std::sync::Arc;

use crate::harness::System;
use channel_fanout::{ChannelFanOut, Crossbeam, StdMpsc};

pub mod bus;
pub mod channel_fanout;
pub mod disruptor;
pub mod limit;
pub mod ringbus;
pub mod ringbus_driven;

/// Every system, in report order.
pub fn all() -> Vec<Arc<dyn System>> {
    let mut v: Vec<Arc<dyn System>> = vec![Arc::new(limit::Limit)];
    for r in ringbus::Ringbus::all() {
        v.push(Arc::new(r));
    }
    for r in ringbus_driven::RingbusDriven::all() {
        v.push(Arc::new(r));
    }
    v.extend([
        Arc::new(disruptor::Disruptor::new(disruptor::Wait::BusySpin)) as Arc<dyn System>,
        Arc::new(disruptor::Disruptor::new(disruptor::Wait::Sleep1us)),
        Arc::new(ChannelFanOut::<Crossbeam>::default()),
        Arc::new(bus::BusCrate),
        Arc::new(ChannelFanOut::<StdMpsc>::default()),
    ]);
    v
}

/// Keeps the systems whose name or family is in `filters` (all when empty).
pub fn select(all: Vec<Arc<dyn System>>, filters: &[String]) -> Vec<Arc<dyn System>> {
    if filters.is_empty() {
        return all;
    }
    all.into_iter()
        .filter(|s| {
            filters
                .iter()
                .any(|f| s.name() == f || crate::harness::family(s.name()) == f)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{RunSpec, System};
    use crate::scenario::{self, Scenario};
    use std::time::Duration;

    fn smoke(system: &dyn System, scenario: &Scenario, events: u64) {
        let mut spec = RunSpec::new(scenario, 64, events, Duration::from_secs(20));
        spec.latency = true;
        let r = system
            .run(&spec)
            .unwrap_or_else(|e| panic!("{} on {}: {e}", system.name(), scenario.name));
        assert_eq!(
            r.published,
            events,
            "{} on {}",
            system.name(),
            scenario.name
        );
        assert!(!r.timed_out);
        r.verify(&spec)
            .unwrap_or_else(|e| panic!("{} on {}: {e}", system.name(), scenario.name));
        let last = r.consumers.last().unwrap();
        assert!(last.hist.as_ref().is_some_and(|h| !h.is_empty()));
    }

    fn scenarios() -> Vec<Scenario> {
        let all = scenario::all(None);
        scenario::select(
            all,
            &[
                "unicast-single".into(),
                "unicast-batch32".into(),
                "multicast-2".into(),
                "pipeline".into(),
                "topics-8".into(),
                "markets-8".into(),
            ],
        )
    }

    #[test]
    fn every_system_passes_its_own_checks_on_every_layout() {
        for s in all() {
            for sc in scenarios() {
                smoke(s.as_ref(), &sc, 2_000);
            }
        }
    }

    #[test]
    fn deadline_stops_a_run_instead_of_hanging() {
        let sc = &scenarios()[0];
        for s in all() {
            let spec = RunSpec::new(sc, 64, u64::MAX / 2, Duration::from_millis(20));
            let r = s.run(&spec).unwrap();
            assert!(r.timed_out, "{}", s.name());
            r.verify(&spec).unwrap();
        }
    }

    #[test]
    fn select_by_name_or_family() {
        let v = select(all(), &["disruptor".into(), "bus".into()]);
        let names: Vec<_> = v.iter().map(|s| s.name().to_string()).collect();
        assert_eq!(names, ["disruptor-spin", "disruptor-sleep", "bus"]);
        assert_eq!(select(all(), &["ringbus".into()]).len(), 8);
        let d = select(all(), &["ringbus-default".into()]);
        assert_eq!(d.len(), 1);
        assert!(d[0].is_default());
    }

    #[test]
    fn one_default_row_and_one_row_per_other_strategy() {
        use ringbus_ring::WaitStrategy;
        let all = all();
        let defaults: Vec<_> = all.iter().filter(|s| s.is_default()).collect();
        assert_eq!(defaults.len(), 1);
        assert_eq!(defaults[0].name(), "ringbus-default");
        let d = WaitStrategy::default();
        for w in WaitStrategy::ALL {
            let name = format!("ringbus-{}", w.name());
            let rows = all.iter().filter(|s| s.name() == name).count();
            assert_eq!(rows, usize::from(w != d), "{name}");
        }
    }
}
