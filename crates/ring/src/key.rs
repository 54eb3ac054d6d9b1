//! Per-slot keys: a small value the producer stores beside each slot's topic tag, so a
//! consumer can filter on more than topics (a market, a party) without reading the event.

use crate::topic::Topic;
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// A small `Copy` value stored beside every slot's topic tag.
///
/// A bus of a [`Routed`] event type stores one per slot
/// ([`RingBus::routed`](crate::RingBus::routed)); a subscription's filter
/// ([`Subscription::keys`](crate::Subscription::keys)) is checked against it before the event
/// is read, so an event the consumer did not ask for costs it a read of the tag and the key
/// only. A key may be a digest: it then answers [`KeyMatch::Maybe`] and the consumer asks the
/// event itself ([`Routed::matches`]), so filtering stays exact.
///
/// `()` is the key of a bus without keys: nothing is stored and nothing is checked.
///
/// ```
/// use ringbus_ring::{KeyMatch, SlotKey};
///
/// /// The desk an event belongs to.
/// #[derive(Clone, Copy, Debug, Default, PartialEq)]
/// struct Desk(u16);
///
/// impl SlotKey for Desk {
///     type Filter = Desk;
///     fn check(&self, wanted: &Desk) -> KeyMatch {
///         KeyMatch::exact(self == wanted)
///     }
/// }
/// assert_eq!(Desk(1).check(&Desk(2)), KeyMatch::No);
/// ```
pub trait SlotKey: Copy + Default + Send + Sync + 'static {
    /// What a subscription selects keys with.
    type Filter: Clone + fmt::Debug + Send + Sync + 'static;

    /// Whether the bus stores keys of this type at all: `false` for `()`, whose column takes
    /// no memory and whose writes and checks compile to nothing.
    const STORED: bool = true;

    /// What this key says about whether its event passes `filter`. Never [`KeyMatch::No`]
    /// for an event that passes.
    fn check(&self, filter: &Self::Filter) -> KeyMatch;
}

/// The answer of a key to a filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyMatch {
    /// The event does not pass: the consumer skips it without reading it.
    No,
    /// The event passes.
    Yes,
    /// The key cannot tell (a digest matched): the consumer asks the event
    /// ([`Routed::matches`]).
    Maybe,
}

impl KeyMatch {
    /// `Yes` or `No`.
    ///
    /// ```
    /// assert_eq!(ringbus_ring::KeyMatch::exact(true), ringbus_ring::KeyMatch::Yes);
    /// ```
    #[inline]
    pub const fn exact(passes: bool) -> Self {
        if passes {
            KeyMatch::Yes
        } else {
            KeyMatch::No
        }
    }
}

impl SlotKey for () {
    type Filter = ();
    const STORED: bool = false;

    #[inline(always)]
    fn check(&self, _: &()) -> KeyMatch {
        KeyMatch::Yes
    }
}

/// An event that tells its own topic and key: [`Producer::publish_event`] takes both from
/// it, so an event cannot be published under the wrong topic or key.
///
/// [`Producer::publish_event`]: crate::Producer::publish_event
///
/// ```
/// use ringbus_ring::{KeyMatch, PollError, RingBus, Routed, SlotKey, Subscription, Topic};
///
/// #[derive(Clone, Copy, Debug, Default, PartialEq)]
/// struct Desk(u16);
/// impl SlotKey for Desk {
///     type Filter = Desk;
///     fn check(&self, wanted: &Desk) -> KeyMatch {
///         KeyMatch::exact(self == wanted)
///     }
/// }
///
/// #[derive(Clone, Copy, Debug, Default)]
/// struct Fill { desk: u16, qty: u64 }
/// impl Routed for Fill {
///     type Key = Desk;
///     fn topic(&self) -> Topic { Topic::new(1) }
///     fn key(&self) -> Desk { Desk(self.desk) }
///     fn matches(&self, wanted: &Desk) -> bool { self.desk == wanted.0 }
/// }
///
/// let (mut producer, bus) = RingBus::routed::<Fill>().build()?;
/// let mut desk_2 = bus.subscribe(Subscription::new("desk 2").keys(Desk(2)))?;
/// for (desk, qty) in [(1, 10), (2, 20), (1, 30), (2, 40)] {
///     producer.publish_event(Fill { desk, qty });
/// }
/// drop(producer);
/// let mut seen = Vec::new();
/// while let Ok(batch) = desk_2.poll() {
///     seen.extend(batch.iter().map(|(_, f)| f.qty));
/// }
/// assert_eq!(seen, [20, 40]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Routed {
    /// The key stored beside the topic tag.
    type Key: SlotKey;

    /// The topic the event is published on.
    fn topic(&self) -> Topic;

    /// The key stored beside the topic.
    fn key(&self) -> Self::Key;

    /// Whether the event passes `filter`: asked only when its key answered
    /// [`KeyMatch::Maybe`], so it decides digest collisions. Must agree with the key: true
    /// whenever the key says [`KeyMatch::Yes`], false whenever it says [`KeyMatch::No`].
    fn matches(&self, filter: &<Self::Key as SlotKey>::Filter) -> bool;
}

/// A subscription's key filter, of whatever type it was given: the bus checks at join that
/// it is its key's [`SlotKey::Filter`].
#[derive(Clone)]
pub(crate) struct AnyFilter {
    value: Arc<dyn Any + Send + Sync>,
    type_name: &'static str,
    shown: String,
}

impl AnyFilter {
    pub(crate) fn new<F: fmt::Debug + Send + Sync + 'static>(filter: F) -> Self {
        AnyFilter {
            shown: format!("{filter:?}"),
            type_name: std::any::type_name::<F>(),
            value: Arc::new(filter),
        }
    }

    /// The filter as `F`, if it is one.
    pub(crate) fn get<F: Clone + 'static>(&self) -> Option<F> {
        self.value.downcast_ref::<F>().cloned()
    }

    /// The name of the filter's type, for errors.
    pub(crate) fn type_name(&self) -> &'static str {
        self.type_name
    }
}

impl fmt::Debug for AnyFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_comes_back_only_as_its_own_type() {
        let filter = AnyFilter::new(7u16);
        assert_eq!(filter.get::<u16>(), Some(7));
        assert_eq!(filter.get::<u32>(), None);
        assert_eq!(filter.type_name(), "u16");
        assert_eq!(format!("{filter:?}"), "7");
    }
}
