//! How much hundreds of live stream clients slow the producer.
//!
//! Each run builds a bus and a live server, connects `--clients` WebSocket clients on
//! loopback (tokio-tungstenite, each taking every event), waits until every tap has joined,
//! then times the producer publishing `--events` events as fast as it can. Runs with no
//! client and with the clients alternate in one process (the order flips each round), and the
//! medians are compared.
//!
//! ```text
//! cargo run --release -p ringbus-live --example stream_clients -- --clients 200 --rounds 7
//! ```
//!
//! The producer publishes the simulator's events (recorded once, renumbered as it goes) in
//! batches of 64, as `ringbus run --replay` does: the fastest producer the node has, so the
//! slowdown is the largest it can be. `--source sim` runs the simulator itself instead, as
//! `ringbus run` does.

use clap::{Parser, ValueEnum};
use futures_util::StreamExt;
use ringbus_events::{Event, EventKey};
use ringbus_live::{EventBus, LiveConfig, LiveServer, NodeSnapshot, NodeStatus};
use ringbus_ring::{ConsumerKind, ConsumerState, Producer, RingBus, Subscription};
use ringbus_sim::{SimConfig, Simulator};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Source {
    /// Recorded events published in batches of 64 (as a replay).
    Replay,
    /// The simulator stepping block by block (as `ringbus run`).
    Sim,
}

#[derive(Debug, Parser)]
struct Args {
    /// Stream clients in the runs with clients.
    #[arg(long, default_value_t = 200)]
    clients: usize,
    /// Rounds; each has one run without clients and one with.
    #[arg(long, default_value_t = 7)]
    rounds: usize,
    /// Events each run publishes (replay) or about as many (sim: whole blocks).
    #[arg(long, default_value_t = 4_000_000)]
    events: u64,
    /// Ring capacity.
    #[arg(long, default_value_t = 65_536)]
    capacity: usize,
    /// Events per second the producer keeps to (replay only; 0: as fast as it can). At a
    /// pace the clients can follow, compare the producer's CPU time per event.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// What the producer publishes.
    #[arg(long, value_enum, default_value_t = Source::Replay)]
    source: Source,
    /// No other consumer: by default a gating consumer reads every event on its own thread
    /// in every run, as the node's stores and event log do (so the runs without clients have
    /// the producer's slots read by another core too).
    #[arg(long)]
    alone: bool,
    /// Pin the producer to the first core and everything else to the last (as a node would
    /// keep its producer's core to itself).
    #[arg(long)]
    pin: bool,
}

struct NoNode;

impl NodeStatus for NoNode {
    fn snapshot(&self) -> NodeSnapshot {
        NodeSnapshot::default()
    }
}

/// One timed run.
struct Run {
    clients: usize,
    events_per_sec: f64,
    /// Events per second of the producer thread's own CPU time: what the bus costs it,
    /// whatever share of a core the machine gave it.
    events_per_cpu_sec: f64,
    /// Messages the clients received, in total.
    received: u64,
    /// Detaches of the clients' taps, in total.
    detaches: u64,
    /// How long the producer waited for room (for the gating consumer), in total.
    waited: Duration,
}

fn main() {
    let args = Args::parse();
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let (producer_core, other_core) = match (args.pin, cores.first(), cores.last()) {
        (true, Some(first), Some(last)) if cores.len() > 1 => (Some(*first), Some(*last)),
        _ => (None, None),
    };
    // Threads started from here on (the server's, the clients') inherit this core.
    if let Some(core) = other_core {
        core_affinity::set_for_current(core);
    }
    let clients_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime for the clients");
    let sample = sample_events();
    println!(
        "{} cores; producer {}; {}; {} events per run from {:?} at {}; ring {}; {} clients",
        cores.len(),
        if producer_core.is_some() {
            "pinned to the first core, the rest to the last"
        } else {
            "not pinned"
        },
        if args.alone {
            "no other consumer"
        } else {
            "a gating consumer reads every event"
        },
        args.events,
        args.source,
        match args.rate {
            0 => "full speed".to_owned(),
            r => format!("{r} events/s"),
        },
        args.capacity,
        args.clients
    );
    let mut runs = Vec::new();
    for round in 0..args.rounds {
        let order = if round % 2 == 0 {
            [0, args.clients]
        } else {
            [args.clients, 0]
        };
        for clients in order {
            let run = run(&args, clients, &sample, &clients_runtime, producer_core);
            println!(
                "round {round}: {:>4} clients: {:>6.2} M events/s ({:>6.2} M per CPU second), waited {:?} for room; clients received {} messages, {} detaches",
                run.clients,
                run.events_per_sec / 1e6,
                run.events_per_cpu_sec / 1e6,
                run.waited,
                run.received,
                run.detaches
            );
            runs.push(run);
        }
    }
    for (what, rate) in [
        (
            "wall clock",
            (|r: &Run| r.events_per_sec) as fn(&Run) -> f64,
        ),
        ("producer CPU time", |r: &Run| r.events_per_cpu_sec),
    ] {
        let (without, with) = (
            Summary::of(&runs, 0, rate),
            Summary::of(&runs, args.clients, rate),
        );
        println!(
            "{what}: without clients {without}; with {} clients {with}; slowdown of the medians {:.1} %",
            args.clients,
            (1.0 - with.median / without.median) * 100.0
        );
    }
}

/// Median and spread of one mode's runs, in M events/s.
struct Summary {
    median: f64,
    min: f64,
    max: f64,
}

impl Summary {
    fn of(runs: &[Run], clients: usize, rate: fn(&Run) -> f64) -> Summary {
        let mut rates: Vec<f64> = runs
            .iter()
            .filter(|r| r.clients == clients)
            .map(rate)
            .collect();
        rates.sort_by(f64::total_cmp);
        Summary {
            median: rates[rates.len() / 2],
            min: rates[0],
            max: rates[rates.len() - 1],
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "median {:.2} M events/s (min {:.2}, max {:.2})",
            self.median / 1e6,
            self.min / 1e6,
            self.max / 1e6
        )
    }
}

/// The simulator's events, recorded once.
fn sample_events() -> Vec<Event> {
    let mut events = Vec::new();
    Simulator::new(SimConfig {
        blocks: 300,
        ..SimConfig::default()
    })
    .run(&mut events)
    .expect("the simulator runs");
    events
}

fn run(
    args: &Args,
    clients: usize,
    sample: &[Event],
    runtime: &tokio::runtime::Runtime,
    producer_core: Option<core_affinity::CoreId>,
) -> Run {
    let (mut producer, bus) = RingBus::routed::<Event>()
        .capacity(args.capacity)
        .max_consumers((clients + 8).min(4096))
        .build()
        .expect("a bus");
    if !args.alone {
        bus.spawn(Subscription::new("store"), |_: &Event, _: u64, _: bool| {
            Ok(())
        })
        .expect("a consumer");
    }
    let bus = Arc::new(bus);
    let sim = SimConfig::default();
    let mut config = LiveConfig::new("127.0.0.1:0".parse().unwrap(), sim.markets, sim.parties);
    config.max_clients = clients.max(1);
    let server = LiveServer::start(config, Arc::clone(&bus), Arc::new(NoNode)).expect("a server");
    let url = format!("ws://{}/stream", server.local_addr());
    let readers: Vec<_> = runtime.block_on(async {
        let mut readers = Vec::new();
        for _ in 0..clients {
            let (mut client, _) = tokio_tungstenite::connect_async(&url)
                .await
                .expect("a client connects");
            readers.push(tokio::spawn(async move {
                let mut received = 0u64;
                while let Some(Ok(message)) = client.next().await {
                    match message {
                        Message::Text(_) => received += 1,
                        Message::Close(_) => break,
                        _ => {}
                    }
                }
                received
            }));
        }
        readers
    });
    wait_for_taps(&bus, clients);
    let events = args.events;
    let source = args.source;
    let rate = args.rate;
    let sample = sample.to_vec();
    let timed = std::thread::spawn(move || {
        if let Some(core) = producer_core {
            core_affinity::set_for_current(core);
        }
        let cpu = ringbus_bench::cpu::thread_cpu;
        let (start, cpu_start) = (Instant::now(), cpu());
        let published = match source {
            Source::Replay => replay(&mut producer, &sample, events, rate),
            Source::Sim => simulate(&mut producer, events),
        };
        let (elapsed, cpu_end) = (start.elapsed(), cpu());
        drop(producer);
        let cpu_secs = match (cpu_start, cpu_end) {
            (Some(a), Some(b)) => (b - a).as_secs_f64(),
            _ => f64::NAN,
        };
        (
            published as f64 / elapsed.as_secs_f64(),
            published as f64 / cpu_secs,
        )
    });
    let (events_per_sec, events_per_cpu_sec) = timed.join().expect("the producer ran");
    let received = runtime.block_on(async {
        let mut total = 0;
        for reader in readers {
            total += reader.await.unwrap_or(0);
        }
        total
    });
    let metrics = bus.metrics();
    let detaches = metrics.consumers.iter().map(|c| c.detaches).sum();
    let waited = Duration::from_nanos(metrics.producer.wait_ns);
    server.shutdown().expect("the server stops");
    Run {
        clients,
        events_per_sec,
        events_per_cpu_sec,
        received,
        detaches,
        waited,
    }
}

/// Publishes `count` events cycling through `sample`, renumbered, in batches of 64, at `rate`
/// events per second (0: as fast as it can).
fn replay(
    producer: &mut Producer<Event, EventKey>,
    sample: &[Event],
    count: u64,
    rate: u64,
) -> u64 {
    let start = Instant::now();
    let mut sequence = 0u64;
    while sequence < count {
        if rate > 0 {
            let due = start + Duration::from_secs_f64(sequence as f64 / rate as f64);
            if let Some(ahead) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(ahead);
            }
        }
        let start = (sequence % sample.len() as u64) as usize;
        let batch = &sample[start..(start + 64).min(sample.len())];
        let first = sequence;
        producer
            .publish_events(batch.iter().enumerate().map(|(i, e)| Event {
                sequence: first + i as u64,
                ..*e
            }))
            .expect("publishes");
        sequence += batch.len() as u64;
    }
    sequence
}

/// Runs the simulator into the bus until it has published about `count` events.
fn simulate(producer: &mut Producer<Event, EventKey>, count: u64) -> u64 {
    let mut sim = Simulator::new(SimConfig {
        blocks: u64::MAX,
        ..SimConfig::default()
    });
    while sim.events_emitted() < count {
        sim.step(producer).expect("the simulator publishes");
    }
    sim.events_emitted()
}

/// Waits until `count` stream taps are on the bus: the clients' handshakes are done.
fn wait_for_taps(bus: &EventBus, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let present = bus
            .metrics()
            .consumers
            .iter()
            .filter(|c| matches!(c.kind, ConsumerKind::Tap(_)))
            .filter(|c| matches!(c.state, ConsumerState::Running | ConsumerState::Detached))
            .count();
        if present == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{present} of {count} clients joined"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
