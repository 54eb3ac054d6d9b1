//! Per-consumer checking: order, count, payload checksum; and latency recording.
//!
//! A figure counts only if every consumer saw exactly the events of its topics (and market,
//! where it reads one), in increasing sequence order, with intact payloads: see [`verify`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hdrhistogram::Histogram;

use crate::event::{digest, payload_for, Clock, Event};
use crate::scenario::Workload;
use crate::topics::TopicMask;

/// Highest latency the histograms track (10 s).
pub const MAX_LATENCY_NS: u64 = 10_000_000_000;

/// A fresh latency histogram (1 ns .. 10 s, 3 significant digits).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3).expect("valid histogram bounds")
}

/// The state one consumer keeps while handling events.
#[derive(Debug)]
pub struct Checker {
    mask: TopicMask,
    /// The one market it reads, if it reads one.
    market: Option<u16>,
    /// Whether events outside `mask` are expected (broadcast systems) and skipped, or are an
    /// error (systems that route by topic).
    filter: bool,
    next_min: u64,
    count: u64,
    checksum: u64,
    bytes: u64,
    errors: u64,
    first_error: Option<String>,
    clock: Clock,
    hist: Option<Histogram<u64>>,
    /// Events handled so far, published for the producer's idle phase (only then).
    progress: Option<Arc<AtomicU64>>,
}

/// What a consumer reports when it ends.
#[derive(Debug, Clone)]
pub struct ConsumerReport {
    /// Events handled (within its topics).
    pub count: u64,
    /// Wrapping sum of payload digests.
    pub checksum: u64,
    /// Sum of nominal sizes.
    pub bytes: u64,
    /// Errors seen (order, topic, payload).
    pub errors: u64,
    /// The first error.
    pub first_error: Option<String>,
    /// Latency histogram, when recorded.
    pub hist: Option<Histogram<u64>>,
}

impl Checker {
    /// A checker for a consumer of `mask` (and `market`, if `Some`); `filter` tells whether
    /// foreign events are skipped (else they are errors).
    pub fn new(
        mask: TopicMask,
        market: Option<u16>,
        filter: bool,
        clock: Clock,
        latency: bool,
    ) -> Self {
        Checker {
            mask,
            market,
            filter,
            next_min: 0,
            count: 0,
            checksum: 0,
            bytes: 0,
            errors: 0,
            first_error: None,
            clock,
            hist: latency.then(new_histogram),
            progress: None,
        }
    }

    /// The same checker, also storing its count of handled events into `progress` after each
    /// event (so the producer can tell when the consumer has drained).
    pub fn with_progress(mut self, progress: Arc<AtomicU64>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// The consumer's topic mask.
    pub fn mask(&self) -> TopicMask {
        self.mask
    }

    /// The one market the consumer reads, if it reads one.
    pub fn market(&self) -> Option<u16> {
        self.market
    }

    /// Whether the consumer reads `e`.
    #[inline]
    pub fn wants(&self, e: &Event) -> bool {
        self.mask.contains(u32::from(e.topic)) && self.market.is_none_or(|m| m == e.market)
    }

    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(what);
        }
    }

    /// Handles one event.
    #[inline]
    pub fn on_event(&mut self, e: &Event) {
        if !self.wants(e) {
            if !self.filter {
                self.error(format!(
                    "seq {} of topic {}, market {} delivered outside the subscription",
                    e.seq, e.topic, e.market
                ));
            }
            return;
        }
        if e.seq < self.next_min {
            self.error(format!(
                "seq {} after seq {} (out of order or duplicate)",
                e.seq,
                self.next_min - 1
            ));
        }
        self.next_min = e.seq + 1;
        let expect0 = payload_for(e.seq)[0];
        if e.payload[0] != expect0 {
            self.error(format!("seq {} has a corrupted payload", e.seq));
        }
        self.count += 1;
        self.bytes += u64::from(e.size);
        self.checksum = self.checksum.wrapping_add(digest(&e.payload));
        if let Some(p) = &self.progress {
            p.store(self.count, Ordering::Relaxed);
        }
        if let Some(h) = &mut self.hist {
            let now = self.clock.now_ns();
            h.saturating_record(now.saturating_sub(e.stamp_ns).max(1));
        }
    }

    /// Ends the consumer and returns its report (the checker can still be dropped afterwards).
    pub fn finish(&mut self) -> ConsumerReport {
        ConsumerReport {
            count: self.count,
            checksum: self.checksum,
            bytes: self.bytes,
            errors: self.errors,
            first_error: self.first_error.take(),
            hist: self.hist.take(),
        }
    }
}

/// What a consumer of `mask` (and `market`) must have seen after `published` events of
/// `workload`.
pub fn expected(
    workload: &Workload,
    published: u64,
    mask: &TopicMask,
    market: Option<u16>,
) -> (u64, u64) {
    let mut count = 0u64;
    let mut checksum = 0u64;
    let all = mask.is_all();
    for seq in 0..published {
        let of_market = market.is_none_or(|m| m == workload.market_of(seq));
        if of_market && (all || mask.contains(u32::from(workload.topic_of(seq)))) {
            count += 1;
            checksum = checksum.wrapping_add(digest(&payload_for(seq)));
        }
    }
    (count, checksum)
}

/// Checks every consumer's report against what was published. `Err` names the first failure.
pub fn verify(
    workload: &Workload,
    published: u64,
    masks: &[TopicMask],
    markets: &[Option<u16>],
    reports: &[ConsumerReport],
) -> Result<(), String> {
    if masks.len() != reports.len() {
        return Err(format!(
            "{} consumers reported, {} expected",
            reports.len(),
            masks.len()
        ));
    }
    // Consumers with the same selection expect the same figures: compute them once.
    type Selection = (TopicMask, Option<u16>);
    let mut cache: Vec<(Selection, (u64, u64))> = Vec::new();
    for (i, ((mask, market), r)) in masks.iter().zip(markets).zip(reports).enumerate() {
        if r.errors > 0 {
            return Err(format!(
                "consumer {i}: {} errors, first: {}",
                r.errors,
                r.first_error.as_deref().unwrap_or("?")
            ));
        }
        let exp = match cache.iter().find(|(s, _)| *s == (*mask, *market)) {
            Some((_, e)) => *e,
            None => {
                let e = expected(workload, published, mask, *market);
                cache.push(((*mask, *market), e));
                e
            }
        };
        if r.count != exp.0 {
            return Err(format!(
                "consumer {i}: saw {} events, expected {}",
                r.count, exp.0
            ));
        }
        if r.checksum != exp.1 {
            return Err(format!("consumer {i}: payload checksum mismatch"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn w8() -> Workload {
        Workload {
            topics: Arc::from((0..8u8).collect::<Vec<_>>()),
            ..Workload::flat(1)
        }
    }

    fn feed(c: &mut Checker, w: &Workload, seqs: impl IntoIterator<Item = u64>) {
        for s in seqs {
            c.on_event(&Event::new(s, w.topic_of(s), w.market_of(s), 64, 0));
        }
    }

    #[test]
    fn in_order_complete_stream_verifies() {
        let w = w8();
        let masks = [TopicMask::ALL, TopicMask::only(3)];
        let mut a = Checker::new(masks[0], None, true, Clock::new(), false);
        let mut b = Checker::new(masks[1], None, true, Clock::new(), true);
        feed(&mut a, &w, 0..100);
        feed(&mut b, &w, 0..100);
        let reports = [a.finish(), b.finish()];
        assert_eq!(reports[1].count, 13);
        assert_eq!(reports[1].hist.as_ref().unwrap().len(), 13);
        verify(&w, 100, &masks, &[None, None], &reports).unwrap();
    }

    #[test]
    fn gap_is_caught_by_count() {
        let w = Workload::flat(1);
        let mut c = Checker::new(TopicMask::ALL, None, true, Clock::new(), false);
        feed(&mut c, &w, (0..100).filter(|s| *s != 50));
        let err = verify(&w, 100, &[TopicMask::ALL], &[None], &[c.finish()]).unwrap_err();
        assert!(err.contains("saw 99"), "{err}");
    }

    #[test]
    fn reorder_and_duplicate_are_errors() {
        let w = Workload::flat(1);
        let mut c = Checker::new(TopicMask::ALL, None, true, Clock::new(), false);
        feed(&mut c, &w, [0, 2, 1, 3]);
        let err = verify(&w, 4, &[TopicMask::ALL], &[None], &[c.finish()]).unwrap_err();
        assert!(err.contains("out of order"), "{err}");
        let mut c = Checker::new(TopicMask::ALL, None, true, Clock::new(), false);
        feed(&mut c, &w, [0, 1, 1, 2]);
        assert!(verify(&w, 3, &[TopicMask::ALL], &[None], &[c.finish()]).is_err());
    }

    #[test]
    fn corrupted_payload_is_an_error() {
        let w = Workload::flat(1);
        let mut c = Checker::new(TopicMask::ALL, None, true, Clock::new(), false);
        let mut e = Event::new(0, 0, 0, 64, 0);
        e.payload[3] ^= 1; // not checked per event, but the checksum catches it
        c.on_event(&e);
        assert!(verify(&w, 1, &[TopicMask::ALL], &[None], &[c.finish()])
            .unwrap_err()
            .contains("checksum"));
        let mut c = Checker::new(TopicMask::ALL, None, true, Clock::new(), false);
        e.payload[0] ^= 1;
        c.on_event(&e);
        assert!(verify(&w, 1, &[TopicMask::ALL], &[None], &[c.finish()])
            .unwrap_err()
            .contains("corrupted"));
    }

    #[test]
    fn a_consumer_of_one_market_sees_exactly_that_market() {
        let w = Workload {
            markets: Arc::from((0..4u16).collect::<Vec<_>>()),
            ..Workload::flat(1)
        };
        let mut routed = Checker::new(TopicMask::ALL, Some(2), false, Clock::new(), false);
        feed(&mut routed, &w, (0..40).filter(|s| s % 4 == 2));
        let mut filtering = Checker::new(TopicMask::ALL, Some(2), true, Clock::new(), false);
        feed(&mut filtering, &w, 0..40);
        let reports = [routed.finish(), filtering.finish()];
        assert_eq!(reports[0].count, 10);
        verify(&w, 40, &[TopicMask::ALL; 2], &[Some(2); 2], &reports).unwrap();
        // Another market's event delivered to a routed consumer is an error.
        let mut leaky = Checker::new(TopicMask::ALL, Some(2), false, Clock::new(), false);
        feed(&mut leaky, &w, [1, 2]);
        let err = verify(&w, 4, &[TopicMask::ALL], &[Some(2)], &[leaky.finish()]).unwrap_err();
        assert!(err.contains("market 1"), "{err}");
    }

    #[test]
    fn foreign_topic_is_an_error_only_when_routed() {
        let w = w8();
        let mut routed = Checker::new(TopicMask::only(1), None, false, Clock::new(), false);
        feed(&mut routed, &w, [0, 1]);
        assert!(routed.finish().errors == 1);
        let mut filtering = Checker::new(TopicMask::only(1), None, true, Clock::new(), false);
        feed(&mut filtering, &w, [0, 1]);
        let r = filtering.finish();
        assert_eq!((r.errors, r.count), (0, 1));
    }
}
