//! `ringbus`: the event bus of a trading node.
//!
//! This root package re-exports the public API of the workspace:
//!
//! * the engine, [`ringbus_ring`]: a lock-free single-producer ring with cursor-owning,
//!   topic-filtering consumers (also re-exported at the top level);
//!
//! ```
//! use ringbus::{RingBus, Subscription, Topic};
//! let (mut producer, mut bus) = RingBus::builder::<u64>().poller(Subscription::new("p")).build().unwrap();
//! let mut poller = bus.take_poller("p").unwrap();
//! producer.publish(Topic::new(0), |slot| *slot = 7);
//! assert_eq!(poller.poll().unwrap().iter().map(|(_, e)| *e).collect::<Vec<_>>(), [7]);
//! ```

pub use ringbus_ring;
pub use ringbus_ring::*;

// The README's Rust blocks (the embedding example) run as doctests of this package.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}
