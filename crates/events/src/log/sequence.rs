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
    /// Checks `found` as the sequence of record `record` at `offset`; does not record it.
    pub(crate) fn check(&self, found: u64, record: u64, offset: u64) -> Result<(), LogError> {
        let Some(previous) = self.last else {
            return Ok(());
        };
        match self.policy {
            SequencePolicy::Contiguous => {
                let expected = previous.wrapping_add(1);
                if found == expected && previous != u64::MAX {
                    Ok(())
                } else {
                    Err(LogError::SequenceGap {
                        record,
                        offset,
                        expected,
                        found,
                    })
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
