//! A 256-topic bitset used by the harness's consumers (independent of any system's own type).

/// A set of topic numbers 0..256.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TopicMask([u64; 4]);

impl TopicMask {
    /// Every topic.
    pub const ALL: TopicMask = TopicMask([u64::MAX; 4]);

    /// No topic.
    pub fn none() -> Self {
        TopicMask([0; 4])
    }

    /// Exactly one topic.
    pub fn only(topic: u8) -> Self {
        let mut m = Self::none();
        m.insert(topic);
        m
    }

    /// Adds a topic.
    pub fn insert(&mut self, topic: u8) {
        self.0[usize::from(topic >> 6)] |= 1 << (topic & 63);
    }

    /// Whether the topic is in the set.
    #[inline]
    pub fn contains(&self, topic: u32) -> bool {
        topic < 256 && self.0[(topic >> 6) as usize] & (1 << (topic & 63)) != 0
    }

    /// Whether every topic is in the set.
    pub fn is_all(&self) -> bool {
        *self == Self::ALL
    }

    /// The topics in the set, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(move |t| self.contains(u32::from(*t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_and_contains() {
        let mut m = TopicMask::none();
        m.insert(0);
        m.insert(65);
        m.insert(255);
        assert!(m.contains(0) && m.contains(65) && m.contains(255));
        assert!(!m.contains(1) && !m.contains(256));
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![0, 65, 255]);
        assert!(TopicMask::ALL.is_all() && !m.is_all());
    }
}
