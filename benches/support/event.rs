//! The 64-byte event every bench publishes, and the check each consumer makes of it.

/// One cache line, as the trading node's events are: `id` plus seven words derived from it.
#[repr(C, align(64))]
#[derive(Clone, Copy, Debug, Default)]
pub struct Event {
    id: u64,
    words: [u64; 6],
    /// `!id`: written last, so a slot read before it was fully written fails the check.
    seal: u64,
}

impl Event {
    /// Writes every word of the event `id` (the whole line, as a real publish would).
    #[inline]
    pub fn fill(&mut self, id: u64) {
        self.id = id;
        for (i, w) in self.words.iter_mut().enumerate() {
            *w = id.wrapping_add(i as u64);
        }
        self.seal = !id;
    }

    /// The id as written, whole or not (what a producer routes by).
    #[inline]
    pub fn raw_id(&self) -> u64 {
        self.id
    }

    /// The id, if the event is whole (its seal matches).
    #[inline]
    pub fn id(&self) -> Option<u64> {
        (self.seal == !self.id).then_some(self.id)
    }
}

const _: () = assert!(std::mem::size_of::<Event>() == 64);
