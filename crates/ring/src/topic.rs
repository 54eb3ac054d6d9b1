//! Topics and topic sets: the per-slot tag a consumer filters on.

use std::fmt;

/// A topic: the small integer tag written next to every event.
///
/// A consumer's [`TopicSet`] is tested against this tag before the payload is touched,
/// so an event of a topic the consumer did not ask for costs it neither a handler call
/// nor a read of the payload.
///
/// ```
/// use ringbus_ring::Topic;
/// const TRADE: Topic = Topic::new(5);
/// assert_eq!(TRADE.get(), 5);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Topic(u8);

impl Topic {
    /// The number of distinct topics a [`TopicSet`] can hold.
    pub const COUNT: usize = 256;

    /// Creates the topic with the given number.
    #[inline]
    pub const fn new(id: u8) -> Self {
        Topic(id)
    }

    /// The topic's number.
    #[inline]
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl From<u8> for Topic {
    fn from(id: u8) -> Self {
        Topic(id)
    }
}

impl From<Topic> for u8 {
    fn from(topic: Topic) -> Self {
        topic.0
    }
}

/// A number that is not a topic: topics are `0..=255`.
///
/// ```
/// use ringbus_ring::Topic;
/// assert_eq!(Topic::try_from(7u32), Ok(Topic::new(7)));
/// assert!(Topic::try_from(256u16).is_err());
/// assert!(Topic::try_from(-1i32).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a topic (topics are 0..=255)")]
pub struct TopicOutOfRange(pub i128);

macro_rules! topic_try_from {
    ($($int:ty),*) => {$(
        impl TryFrom<$int> for Topic {
            type Error = TopicOutOfRange;

            fn try_from(id: $int) -> Result<Self, Self::Error> {
                u8::try_from(id)
                    .map(Topic)
                    .map_err(|_| TopicOutOfRange(id as i128))
            }
        }
    )*};
}

topic_try_from!(u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "topic {}", self.0)
    }
}

/// A set of topics (all 256 of them can be members), chosen by a consumer at subscription.
///
/// ```
/// use ringbus_ring::{Topic, TopicSet};
/// let set: TopicSet = [Topic::new(1), Topic::new(200)].into_iter().collect();
/// assert!(set.contains(Topic::new(200)));
/// assert!(!set.contains(Topic::new(2)));
/// assert_eq!(set.len(), 2);
/// assert!(TopicSet::all().contains(Topic::new(255)));
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TopicSet {
    bits: [u64; 4],
}

impl TopicSet {
    /// The set with no topic in it. A subscription refuses it (`ConfigError::EmptyTopicSet`).
    pub const fn empty() -> Self {
        TopicSet { bits: [0; 4] }
    }

    /// The set of every topic.
    pub const fn all() -> Self {
        TopicSet {
            bits: [u64::MAX; 4],
        }
    }

    /// The set holding exactly `topics`.
    pub const fn of(topics: &[Topic]) -> Self {
        let mut set = TopicSet::empty();
        let mut i = 0;
        while i < topics.len() {
            set = set.with(topics[i]);
            i += 1;
        }
        set
    }

    /// This set plus `topic` (usable in `const` items).
    pub const fn with(mut self, topic: Topic) -> Self {
        self.bits[(topic.0 >> 6) as usize] |= 1 << (topic.0 & 63);
        self
    }

    /// Adds `topic`; returns whether it was new.
    pub fn insert(&mut self, topic: Topic) -> bool {
        let had = self.contains(topic);
        *self = self.with(topic);
        !had
    }

    /// Removes `topic`; returns whether it was present.
    pub fn remove(&mut self, topic: Topic) -> bool {
        let had = self.contains(topic);
        self.bits[(topic.0 >> 6) as usize] &= !(1 << (topic.0 & 63));
        had
    }

    /// Whether `topic` is in the set: one shift and one mask, no branch on the set's size.
    #[inline]
    pub const fn contains(&self, topic: Topic) -> bool {
        self.bits[(topic.0 >> 6) as usize] & (1 << (topic.0 & 63)) != 0
    }

    /// The one topic of a set of exactly one (consumers then scan tags eight at a time).
    pub fn single(&self) -> Option<Topic> {
        (self.len() == 1).then(|| self.iter().next()).flatten()
    }

    /// Whether this set holds every topic (consumers then skip the tag check).
    #[inline]
    pub const fn is_all(&self) -> bool {
        self.bits[0] == u64::MAX
            && self.bits[1] == u64::MAX
            && self.bits[2] == u64::MAX
            && self.bits[3] == u64::MAX
    }

    /// Whether the set is empty.
    pub const fn is_empty(&self) -> bool {
        self.bits[0] == 0 && self.bits[1] == 0 && self.bits[2] == 0 && self.bits[3] == 0
    }

    /// The number of topics in the set.
    pub const fn len(&self) -> usize {
        (self.bits[0].count_ones()
            + self.bits[1].count_ones()
            + self.bits[2].count_ones()
            + self.bits[3].count_ones()) as usize
    }

    /// The union of two sets.
    pub const fn union(self, other: TopicSet) -> TopicSet {
        TopicSet {
            bits: [
                self.bits[0] | other.bits[0],
                self.bits[1] | other.bits[1],
                self.bits[2] | other.bits[2],
                self.bits[3] | other.bits[3],
            ],
        }
    }

    /// The topics in the set, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = Topic> + '_ {
        (0..=u8::MAX).map(Topic).filter(|t| self.contains(*t))
    }
}

impl FromIterator<Topic> for TopicSet {
    fn from_iter<I: IntoIterator<Item = Topic>>(iter: I) -> Self {
        let mut set = TopicSet::empty();
        for t in iter {
            set.insert(t);
        }
        set
    }
}

impl fmt::Debug for TopicSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("TopicSet(all)");
        }
        f.debug_set().entries(self.iter().map(|t| t.0)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_round_trips_through_a_set() {
        for id in 0..=u8::MAX {
            let set = TopicSet::of(&[Topic::new(id)]);
            assert_eq!(set.len(), 1);
            assert!(set.contains(Topic::new(id)));
            assert_eq!(set.iter().collect::<Vec<_>>(), vec![Topic::new(id)]);
            let others = (0..=u8::MAX).filter(|&o| o != id && set.contains(Topic::new(o)));
            assert_eq!(others.count(), 0);
        }
    }

    #[test]
    fn insert_remove_and_union() {
        let mut set = TopicSet::empty();
        assert!(set.is_empty());
        assert!(set.insert(Topic::new(127)));
        assert!(!set.insert(Topic::new(127)));
        assert!(set.insert(Topic::new(128)));
        assert!(set.remove(Topic::new(127)));
        assert!(!set.remove(Topic::new(127)));
        let u = set.union(TopicSet::of(&[Topic::new(0)]));
        assert_eq!(u.len(), 2);
        assert!(TopicSet::all().is_all());
        assert_eq!(TopicSet::all().len(), 256);
        assert!(!u.is_all());
    }
}
