//! Fan-out over channels: one bounded channel per consumer, the producer sends each event to
//! the channels whose consumer subscribed to its topic and market (routing at the producer,
//! which is what a user of plain channels would write); each channel holds its consumer's
//! share of the capacity unless `--channel-buffer each` ([`crate::buffering`]). A pipeline
//! forwards from stage to stage. The systems `crossbeam` and `std-mpsc` are this one run over
//! two channel flavours.

use std::marker::PhantomData;
use std::sync::{mpsc, Arc, Barrier};
use std::thread;

use crate::check::{Checker, ConsumerReport};
use crate::event::{Clock, Event};
use crate::harness::{join, join_consumers, produce, Publish, RunResult, RunSpec, System};
use crate::scenario::Shape;
use crate::topics::TopicMask;

/// A bounded channel flavour.
pub trait Channel {
    /// The system's name in reports and `--systems`.
    const NAME: &'static str;
    /// Sending half.
    type Tx: Send + 'static;
    /// Receiving half.
    type Rx: Send + 'static;
    /// A bounded channel of `cap` events.
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx);
    /// Blocking send; `false` when the receiver is gone.
    fn send(tx: &Self::Tx, e: Event) -> bool;
    /// Blocking receive; `None` when every sender is gone and the channel is drained.
    fn recv(rx: &Self::Rx) -> Option<Event>;
}

/// Implements [`Channel`] for a flavour whose `send` and `recv` return `Result`s, as both
/// crossbeam's and std's do: only the types, the constructor and the name differ.
macro_rules! result_channel {
    ($(#[$doc:meta])* $flavour:ident, $name:literal, $tx:ty, $rx:ty, $bounded:path) => {
        $(#[$doc])*
        #[derive(Debug, Default)]
        pub struct $flavour;

        impl Channel for $flavour {
            const NAME: &'static str = $name;
            type Tx = $tx;
            type Rx = $rx;

            fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
                $bounded(cap)
            }

            #[inline]
            fn send(tx: &Self::Tx, e: Event) -> bool {
                tx.send(e).is_ok()
            }

            #[inline]
            fn recv(rx: &Self::Rx) -> Option<Event> {
                rx.recv().ok()
            }
        }
    };
}

result_channel!(
    /// crossbeam-channel, one `bounded(capacity)` channel per consumer.
    Crossbeam,
    "crossbeam",
    crossbeam_channel::Sender<Event>,
    crossbeam_channel::Receiver<Event>,
    crossbeam_channel::bounded
);

result_channel!(
    /// `std::sync::mpsc::sync_channel(capacity)`, one per consumer.
    StdMpsc,
    "std-mpsc",
    mpsc::SyncSender<Event>,
    mpsc::Receiver<Event>,
    mpsc::sync_channel
);

/// The channel fan-out over flavour `C`, as a system of the comparison.
#[derive(Debug, Default)]
pub struct ChannelFanOut<C>(PhantomData<C>);

impl<C: Channel + Send + Sync> System for ChannelFanOut<C> {
    fn name(&self) -> &str {
        C::NAME
    }

    fn run(&self, spec: &RunSpec) -> Result<RunResult, String> {
        run::<C>(spec)
    }
}

/// Where each event goes: a topic mask, a market (`None`: every market) and a channel.
type Route<C> = (TopicMask, Option<u16>, <C as Channel>::Tx);

struct FanOut<C: Channel> {
    routes: Vec<Route<C>>,
    all: bool,
}

impl<C: Channel> Publish for FanOut<C> {
    #[inline]
    fn publish<F: FnMut(usize, &mut Event)>(&mut self, n: usize, _first_topic: u8, mut fill: F) {
        for i in 0..n {
            let mut e = Event::default();
            fill(i, &mut e);
            for (mask, market, tx) in &self.routes {
                if self.all
                    || (mask.contains(u32::from(e.topic)) && market.is_none_or(|m| m == e.market))
                {
                    C::send(tx, e);
                }
            }
        }
    }
}

fn consume<C: Channel>(
    rx: C::Rx,
    mut checker: Checker,
    next: Option<C::Tx>,
    barrier: Arc<Barrier>,
    pin: Option<usize>,
) -> ConsumerReport {
    if let Some(slot) = pin {
        crate::pin::pin_current(slot);
    }
    barrier.wait();
    while let Some(e) = C::recv(&rx) {
        checker.on_event(&e);
        if let Some(tx) = &next {
            C::send(tx, e);
        }
    }
    drop(next);
    checker.finish()
}

/// Runs `spec` over channels of flavour `C`.
fn run<C: Channel>(spec: &RunSpec) -> Result<RunResult, String> {
    let clock = Clock::new();
    let n = spec.layout.consumers();
    let barrier = Arc::new(Barrier::new(n + 1));
    let checkers = spec.checkers(clock, false);
    let mut handles = Vec::with_capacity(n);
    let routes = match spec.layout.shape {
        Shape::Broadcast => {
            let mut routes = Vec::with_capacity(n);
            for (i, c) in checkers.into_iter().enumerate() {
                let (tx, rx) = C::bounded(spec.channel_capacity(i));
                routes.push((c.mask(), c.market(), tx));
                let b = barrier.clone();
                let pin = spec.pin.then(|| crate::pin::consumer_slot(i));
                handles.push(thread::spawn(move || consume::<C>(rx, c, None, b, pin)));
            }
            routes
        }
        Shape::Pipeline => {
            let (first_tx, mut rx) = C::bounded(spec.capacity);
            let last = checkers.len().saturating_sub(1);
            for (i, c) in checkers.into_iter().enumerate() {
                let (next_tx, next_rx) = if i < last {
                    let (t, r) = C::bounded(spec.capacity);
                    (Some(t), Some(r))
                } else {
                    (None, None)
                };
                let b = barrier.clone();
                let this_rx = std::mem::replace(
                    &mut rx,
                    match next_rx {
                        Some(r) => r,
                        None => C::bounded(1).1,
                    },
                );
                let pin = spec.pin.then(|| crate::pin::consumer_slot(i));
                handles.push(thread::spawn(move || {
                    consume::<C>(this_rx, c, next_tx, b, pin)
                }));
            }
            vec![(TopicMask::ALL, None, first_tx)]
        }
    };
    let all = routes
        .iter()
        .all(|(m, market, _)| m.is_all() && market.is_none());
    let s = spec.clone();
    let b = barrier.clone();
    let producer = thread::spawn(move || {
        let mut p = FanOut::<C> { routes, all };
        b.wait();
        let produced = produce(&mut p, &s, clock);
        drop(p); // closes the channels: consumers drain and end
        produced
    });
    let produced = join(producer, "producer")?;
    Ok(RunResult::finished(produced, join_consumers(handles)?))
}
