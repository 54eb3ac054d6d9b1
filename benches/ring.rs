//! Criterion benches of the engine (issues 2 and 3): throughput of 1 producer with 1, 2, 4
//! and 8 topic-filtered consumers, single and batched publish, under every wait strategy;
//! and a bus whose consumers are fixed at build time against one that allows joins; and a bus
//! with keys against one without.
//!
//! `cargo bench --bench ring` (about 1.5 minutes here). Each measurement builds the bus and starts
//! its consumer threads untimed, then times `iters * EVENTS_PER_ITER` events from the first
//! publish until every consumer has seen its last one; every consumer checks order and count.

mod support;

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use ringbus::WaitStrategy;
use std::time::Duration;
use support::keys::{print_key_cost, timed_keyed_run};
use support::layout::{cores, Layout, LAYOUTS};
use support::paired::print_membership_cost;
use support::run::{base_run, timed_run, Setup};

type Group<'a> = BenchmarkGroup<'a, WallTime>;

/// Events per criterion iteration: a multiple of 32 (batch) and of 8 (topics).
const EVENTS_PER_ITER: u64 = 1024;

fn configure<'a>(c: &'a mut Criterion, name: &str) -> Group<'a> {
    let mut group = c.benchmark_group(name);
    // Small samples, short windows: the whole run stays within a few minutes.
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(EVENTS_PER_ITER));
    group
}

fn bench_setup(group: &mut Group<'_>, id: BenchmarkId, setup: Setup) {
    group.bench_with_input(id, &setup, |b, setup| {
        b.iter_custom(|iters| timed_run(setup, iters * EVENTS_PER_ITER))
    });
}

/// The harness's own cost (fill and check, one thread, no bus): the ceiling of every row.
fn base(c: &mut Criterion) {
    let mut group = configure(c, "base");
    group.bench_function("fill-and-check", |b| {
        b.iter_custom(|iters| base_run(iters * EVENTS_PER_ITER))
    });
    group.finish();
}

/// Issue 2: every layout under every wait strategy that does not collapse on this machine.
fn layouts(c: &mut Criterion) {
    let cores = cores();
    for layout in LAYOUTS {
        let mut group = configure(c, layout.name);
        for strategy in layout.strategies(cores) {
            let setup = Setup {
                layout,
                strategy,
                dynamic: true,
            };
            bench_setup(&mut group, BenchmarkId::from_parameter(strategy), setup);
        }
        group.finish();
    }
}

/// Issue 3: what join/leave support costs 1P1C, against consumers fixed at build time; the
/// paired figure is the one to judge the 5% by (see `support::paired`).
fn membership(c: &mut Criterion) {
    let strategies = [WaitStrategy::Adaptive, WaitStrategy::SpinThenYield];
    // Not when criterion only tests or lists the benches (`cargo test --benches`, `--list`).
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test" || a == "--list") {
        print_membership_cost(&strategies);
    }
    let layout: Layout = LAYOUTS[0];
    let mut group = configure(c, "membership-1p1c");
    for strategy in strategies {
        for (label, dynamic) in [("fixed", false), ("dynamic", true)] {
            let setup = Setup {
                layout,
                strategy,
                dynamic,
            };
            bench_setup(&mut group, BenchmarkId::new(label, strategy), setup);
        }
    }
    group.finish();
}

/// Issue 15: what keys cost 1P1C (the producer writing a key per event, the consumer checking
/// it), against topic-only filtering; the paired figure is the one to judge the 5% by.
fn keys(c: &mut Criterion) {
    let strategies = [WaitStrategy::Adaptive];
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test" || a == "--list") {
        print_key_cost(&strategies);
    }
    let mut group = configure(c, "keys-1p1c");
    for strategy in strategies {
        let setup = Setup {
            layout: LAYOUTS[0],
            strategy,
            dynamic: true,
        };
        bench_setup(&mut group, BenchmarkId::new("topics-only", strategy), setup);
        for (label, filter) in [("keys-stored", false), ("keys-filtered", true)] {
            group.bench_function(BenchmarkId::new(label, strategy), |b| {
                b.iter_custom(|iters| timed_keyed_run(strategy, filter, iters * EVENTS_PER_ITER))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, base, layouts, membership, keys);
criterion_main!(benches);
