//! The sequence-number rule a log must follow, checked on both sides of the file.

use super::LogError;

/// How strictly the sequence numbers in a log are checked.
///
/// ```
/// use ringbus_events::SequencePolicy;
/// assert_eq!(SequencePolicy::default(), SequencePolicy::Contiguous);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SequencePolicy {
    /// Each event's sequence is the previous one plus one (the first may be anything): the
    /// log of a whole bus stream.
    #[default]
    Contiguous,
    /// Each event's sequence is above the previous one: the log of a topic-filtered stream.
    Increasing,
}

/// Tracks the last sequence number and checks the next one against a policy.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SequenceCheck {
    pub(crate) policy: SequencePolicy,
    pub(crate) last: Option<u64>,
}

impl SequenceCheck {
    /// Whether `found` may follow: [`check`](Self::check) without naming the damage, for
    /// the reader's hot path.
    #[inline]
    pub(crate) fn accepts(&self, found: u64) -> bool {
        match (self.last, self.policy) {
            (None, _) => true,
            (Some(previous), SequencePolicy::Contiguous) => {
                previous != u64::MAX && found == previous + 1
            }
            (Some(previous), SequencePolicy::Increasing) => found > previous,
        }
    }

    /// Checks `found` as the sequence of record `record` (so `record` records precede it) at
    /// `offset`; does not record it.
    ///
    /// Under [`SequencePolicy::Contiguous`] the records before are `last - (record - 1)
    /// ..= last`, so a sequence at or before `last` names the record that already holds it
    /// (a duplicate), one before them all is out of order, and one past `last + 1` means
    /// records are missing (the reader looks further to tell a moved record from a dropped
    /// one).
    #[inline]
    pub(crate) fn check(&self, found: u64, record: u64, offset: u64) -> Result<(), LogError> {
        let Some(previous) = self.last else {
            return Ok(());
        };
        match self.policy {
            SequencePolicy::Contiguous => {
                let expected = previous.wrapping_add(1);
                if found == expected && previous != u64::MAX {
                    return Ok(());
                }
                if found > previous {
                    return Err(LogError::MissingRecords {
                        record,
                        offset,
                        expected,
                        found,
                    });
                }
                // found <= previous: how far back, in records.
                let back = previous - found;
                match back.checked_add(1).and_then(|b| record.checked_sub(b)) {
                    Some(copy_of) => Err(LogError::DuplicateRecord {
                        record,
                        offset,
                        sequence: found,
                        copy_of: Some(copy_of),
                    }),
                    None => Err(LogError::ReorderedRecords {
                        record,
                        offset,
                        expected,
                        found,
                        expected_at: None,
                    }),
                }
            }
            SequencePolicy::Increasing if found > previous => Ok(()),
            SequencePolicy::Increasing => Err(LogError::SequenceNotIncreasing {
                record,
                offset,
                previous,
                found,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(last: u64, found: u64, record: u64) -> Result<(), LogError> {
        SequenceCheck {
            policy: SequencePolicy::Contiguous,
            last: Some(last),
        }
        .check(found, record, 100)
    }

    #[test]
    fn contiguous_names_what_it_sees() {
        // Records 0..=4 hold 10..=14.
        assert!(check(14, 15, 5).is_ok());
        assert!(matches!(
            check(14, 17, 5),
            Err(LogError::MissingRecords {
                expected: 15,
                found: 17,
                ..
            })
        ));
        assert!(matches!(
            check(14, 14, 5),
            Err(LogError::DuplicateRecord {
                sequence: 14,
                copy_of: Some(4),
                ..
            })
        ));
        assert!(matches!(
            check(14, 10, 5),
            Err(LogError::DuplicateRecord {
                sequence: 10,
                copy_of: Some(0),
                ..
            })
        ));
        assert!(matches!(
            check(14, 9, 5),
            Err(LogError::ReorderedRecords {
                expected: 15,
                found: 9,
                expected_at: None,
                ..
            })
        ));
        // Past the largest sequence there is no next one.
        assert!(check(u64::MAX, 0, 5).is_err());
    }
}
