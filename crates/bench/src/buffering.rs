//! How much the channel systems buffer per consumer, so that they are held to the ring's bound.
//!
//! A ring of `capacity` slots lets no consumer fall more than `capacity` published events
//! behind: the producer waits for it there. A channel of `capacity` events that carries only
//! one consumer's share of the stream lets that consumer fall `capacity / share` events behind
//! (eight times as far when eight consumers split the stream), and buffers that many times
//! the ring's memory. [`ChannelBuffer::Window`], the default, gives each channel its
//! consumer's share of `capacity`, so every system bounds lag, and memory, alike;
//! [`ChannelBuffer::Each`] gives every channel the whole `capacity`, as the comparison did
//! before (`docs/decisions/channel-buffering.md`).

use clap::ValueEnum;
use serde::Serialize;

use crate::scenario::{Layout, Workload};

/// How large each consumer's channel is in the systems that route events into channels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelBuffer {
    /// The consumer's share of the stream times the capacity (at least one event): no
    /// consumer falls further behind the producer than the ring's window.
    #[default]
    Window,
    /// The whole capacity per channel, whatever share of the stream it carries.
    Each,
}

impl ChannelBuffer {
    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            ChannelBuffer::Window => "window",
            ChannelBuffer::Each => "each",
        }
    }

    /// The capacity of consumer `consumer`'s channel.
    pub fn capacity_for(
        self,
        capacity: usize,
        layout: &Layout,
        workload: &Workload,
        consumer: usize,
    ) -> usize {
        match self {
            ChannelBuffer::Each => capacity,
            ChannelBuffer::Window => {
                let (taken, period) = share(layout, workload, consumer);
                // Rounded up: a consumer that takes anything gets at least one slot.
                (capacity as u128 * taken as u128)
                    .div_ceil(period as u128)
                    .max(1) as usize
            }
        }
    }
}

/// How many events of one period of the workload's topic and market cycles reach `consumer`,
/// and the period's length.
fn share(layout: &Layout, workload: &Workload, consumer: usize) -> (u64, u64) {
    let mask = layout.subscriptions[consumer];
    let market = layout.markets[consumer];
    // The product of the two cycle lengths is a whole number of periods of both.
    let period = (workload.topics.len() * workload.markets.len()) as u64;
    let taken = (0..period)
        .filter(|&seq| {
            mask.contains(u32::from(workload.topic_of(seq)))
                && market.is_none_or(|m| m == workload.market_of(seq))
        })
        .count() as u64;
    (taken, period)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario;
    use crate::trace::Trace;

    fn capacities(name: &str, buffer: ChannelBuffer) -> Vec<usize> {
        let trace = Trace::calibrated().expect("the embedded calibration");
        let sc = scenario::all(Some(&trace))
            .into_iter()
            .find(|s| s.name == name)
            .expect("scenario");
        (0..sc.layout.consumers())
            .map(|i| buffer.capacity_for(1024, &sc.layout, &sc.workload, i))
            .collect()
    }

    #[test]
    fn routed_channels_get_their_consumers_share() {
        assert_eq!(capacities("topics-8", ChannelBuffer::Window), vec![128; 8]);
        assert_eq!(capacities("markets-8", ChannelBuffer::Window), vec![128; 8]);
        assert_eq!(capacities("markets-8", ChannelBuffer::Each), vec![1024; 8]);
    }

    #[test]
    fn consumers_of_every_event_get_the_whole_capacity() {
        assert_eq!(
            capacities("multicast-4", ChannelBuffer::Window),
            vec![1024; 4]
        );
        assert_eq!(capacities("pipeline", ChannelBuffer::Window), vec![1024; 2]);
    }

    #[test]
    fn a_partial_subscriber_gets_its_share_rounded_up() {
        let caps = capacities("trace-mix", ChannelBuffer::Window);
        assert_eq!(caps[0], 1024, "the store writer takes every event");
        assert!(
            caps[1] > 0 && caps[1] < 1024,
            "the plug-in takes some: {caps:?}"
        );
    }
}
