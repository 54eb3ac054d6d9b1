//! Joining and leaving: the only code that changes the set of cursors the producer reads.
//!
//! Membership changes take the `members` lock; the producer and consumers never do. The
//! producer reads the cursor table lock-free, on its slow path only (when it would wrap).
//!
//! # Joining without a lock on the hot path
//!
//! The producer caches a write limit and re-reads cursors only when it reaches it, so a
//! joiner could be overrun by a producer working from a scan that missed it. Two atomics
//! close the gap, in the store-buffering pattern with a SeqCst fence on each side:
//!
//! ```text
//! joiner                                   producer (slow path)
//! cursor := start; state := Gating         scan cursors -> limit
//! generation += 1                          committed := limit
//! fence(SeqCst)                            fence(SeqCst)
//! read committed                           read generation; changed? scan again
//! ```
//!
//! Either the producer sees the new generation (and rescans, now seeing the joiner), or the
//! joiner sees the producer's `committed` and knows no event at or past `committed -
//! capacity` will be overwritten before the producer's next scan. A start below that is
//! refused (`StartNotInRing`), or, for "the next event", retried at the new head.
//!
//! # Reusing an entry
//!
//! A leaver's entry is reused only once no producer scan that may have read it as the
//! leaver's is still running (a scan counter, odd while one runs; see `reusable_entry`), so
//! a scan never judges one consumer's cursor under another's role.

use crate::cursor::{ConsumerCursor, Done, Role, StreamEnd, DETACHED};
use crate::error::{ConfigError, ConsumerFailure};
use crate::metrics::{ConsumerMetrics, ConsumerState};
use crate::shared::Shared;
use crate::subscription::{ConsumerId, ConsumerKind, Dependency, StartAt, Subscription};
use crate::sync::{self, fence};
use crate::topic::TopicSet;
use std::collections::VecDeque;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};

/// The cold half of the membership table, behind `Shared::members`.
#[derive(Debug)]
pub(crate) struct Members {
    entries: Vec<Entry>,
    /// Final figures of consumers whose table entry was freed, oldest first: at most `kept`.
    departed: VecDeque<ConsumerMetrics>,
    kept: usize,
    /// Departed consumers' figures let go to stay within `kept`.
    forgotten: u64,
    /// Threads of managed handlers, joined by `Bus::stop` and `Bus::join`.
    pub(crate) threads: Vec<(ConsumerId, std::thread::JoinHandle<()>)>,
}

#[derive(Debug, Default)]
struct Entry {
    /// Bumped each time the entry is reused, so old `ConsumerId`s stay dead (a `u64`: at one
    /// join per nanosecond it would take 584 years to wrap).
    incarnation: u64,
    /// The producer's scan count read just after the entry was last vacated: if odd, the scan
    /// then running may still hold the old occupant's state, and the entry is not reused
    /// until the count has moved past it.
    vacated_at: u64,
    member: Option<Member>,
}

#[derive(Debug)]
struct Member {
    id: ConsumerId,
    name: String,
    kind: ConsumerKind,
    managed: bool,
    topics: TopicSet,
    /// Entries this consumer must not overtake.
    upstream: Vec<usize>,
    /// Present consumers that depend on this one.
    dependents: usize,
    /// Whether its reader still exists (a retired entry stays for its dependents).
    present: bool,
    /// Set when it leaves.
    final_state: Option<ConsumerState>,
    failure: Option<ConsumerFailure>,
}

impl Members {
    pub(crate) fn new(max_consumers: usize, kept: usize) -> Self {
        Members {
            entries: (0..max_consumers).map(|_| Entry::default()).collect(),
            departed: VecDeque::new(),
            kept,
            forgotten: 0,
            threads: Vec::new(),
        }
    }
}

impl Members {
    /// Keeps a departed consumer's final figures, letting the oldest go beyond `kept`: a
    /// clean departure's first, so the failures `Bus::join` reports stay as long as they can.
    fn remember(&mut self, report: ConsumerMetrics) {
        self.departed.push_back(report);
        while self.departed.len() > self.kept {
            let oldest_clean = self.departed.iter().position(|c| c.failure.is_none());
            self.departed.remove(oldest_clean.unwrap_or(0));
            self.forgotten += 1;
        }
    }
}

/// What a reader needs to know of its place in the table.
#[derive(Debug)]
pub(crate) struct Joined {
    pub(crate) id: ConsumerId,
    pub(crate) index: usize,
    pub(crate) start: u64,
    /// The entries it depends on, with their names (for `UpstreamGone`).
    pub(crate) upstream: Vec<(usize, String)>,
}

impl<T, K: crate::key::SlotKey> Shared<T, K> {
    fn cursor(&self, index: usize) -> &ConsumerCursor {
        &self.cursors[index]
    }

    /// Adds a consumer to the table; from the moment this returns it gates the producer.
    pub(crate) fn join(&self, sub: &Subscription, managed: bool) -> Result<Joined, ConfigError> {
        if sub.all_topics().is_empty() {
            return Err(ConfigError::EmptyTopicSet(sub.name.clone()));
        }
        if let Some(strategy) = sub.wait.filter(|w| w.may_park() && !self.config.signals) {
            return Err(ConfigError::UnsignalledPark {
                name: sub.name.clone(),
                strategy,
            });
        }
        let capacity = self.capacity();
        let (state, max_lag, max_wait_ns) = match sub.kind {
            ConsumerKind::Gating => (Role::Gating, 0, 0),
            ConsumerKind::Tap(policy) => {
                let max_lag = policy.max_lag.unwrap_or(capacity);
                if max_lag == 0 || max_lag > capacity {
                    return Err(ConfigError::InvalidTapLag {
                        name: sub.name.clone(),
                        max_lag,
                        capacity,
                    });
                }
                let wait = policy
                    .max_wait
                    .map_or(0, |w| w.as_nanos().clamp(1, u64::MAX as u128) as u64);
                (Role::Tap, max_lag, wait)
            }
        };
        let mut members = sync::lock(&self.members);
        // Acquire: pairs with the producer's Release store on close. A join racing with a
        // close is harmless (the new reader sees `closed` on its first read and finishes);
        // this check only turns the common case into an error.
        if self.stream_end() != StreamEnd::Open {
            return Err(ConfigError::Closed);
        }
        if members.entries.iter().any(|e| {
            e.member
                .as_ref()
                .is_some_and(|m| m.present && m.name == sub.name)
        }) {
            return Err(ConfigError::DuplicateName(sub.name.clone()));
        }
        let mut upstream = Vec::with_capacity(sub.after.len());
        for dep in &sub.after {
            let index = self.resolve(&members, &sub.name, dep)?;
            if let Some(m) = members.entries[index].member.as_ref() {
                if matches!(m.kind, ConsumerKind::Tap(_)) {
                    return Err(ConfigError::DependsOnTap {
                        consumer: sub.name.clone(),
                        dependency: m.name.clone(),
                    });
                }
                if !upstream.iter().any(|(i, _)| *i == index) {
                    upstream.push((index, m.name.clone()));
                }
            }
        }
        let index = self.reusable_entry(&members)?;

        let cursor = self.cursor(index);
        cursor.handled.store(0, Relaxed);
        cursor.skipped.store(0, Relaxed);
        cursor.missed.store(0, Relaxed);
        cursor.detaches.store(0, Relaxed);
        cursor.producer_waits.store(0, Relaxed);
        cursor.producer_wait_ns.store(0, Relaxed);
        cursor.stop.store(false, Relaxed);
        cursor.done.store(Done::Running, Relaxed);
        cursor.max_lag.store(max_lag, Relaxed);
        cursor.max_wait_ns.store(max_wait_ns, Relaxed);
        // Release: a producer that reads the new high water (Acquire) sees the entry's fields.
        self.high_water.fetch_max(index + 1, Release);
        let start = loop {
            // Acquire: pairs with the producer's Release store; see the retry below.
            let head = self.published.load(Acquire);
            let start = match sub.start {
                StartAt::Next => head,
                StartAt::Sequence(s) if s > head => {
                    return Err(ConfigError::StartInFuture {
                        requested: s,
                        next: head,
                    });
                }
                StartAt::Sequence(s) => s,
            };
            cursor.sequence.store(start, Relaxed);
            // Release: the producer's Acquire load of `state` then sees `sequence` above.
            cursor.state.store(state, Release);
            // Release: the producer's Acquire load of the generation makes its rescan see
            // the entry.
            self.generation.fetch_add(1, Release);
            fence(SeqCst);
            // Acquire: pairs with the producer's Release store of `committed`, so a retry's
            // `published` load is at least the head that `committed` was computed from.
            let committed = self.committed.load(Acquire);
            let oldest = committed.saturating_sub(self.capacity());
            if start >= oldest {
                break start;
            }
            if let StartAt::Sequence(requested) = sub.start {
                // A producer that read the entry meanwhile only held back needlessly, and is
                // woken here or rescans on its own.
                self.vacate(&mut members, index);
                self.space_waker.notify();
                return Err(ConfigError::StartNotInRing { requested, oldest });
            }
            // `Next`: retry at the new head in the same entry. A scan that read this attempt
            // reads the new start (higher) or this one: either bounds the producer below what
            // the consumer has not read, and it has read nothing yet.
        };
        // A producer that scanned an earlier, refused attempt of this loop may be parked on
        // the cursor it saw then; it must re-read the one we settled on.
        self.space_waker.notify();

        let entry = &mut members.entries[index];
        entry.incarnation = entry.incarnation.wrapping_add(1);
        let id = ConsumerId {
            bus: self.config.bus_id,
            index: index as u32,
            incarnation: entry.incarnation,
        };
        entry.member = Some(Member {
            id,
            name: sub.name.clone(),
            kind: sub.kind,
            managed,
            topics: sub.all_topics(),
            upstream: upstream.iter().map(|(i, _)| *i).collect(),
            dependents: 0,
            present: true,
            final_state: None,
            failure: None,
        });
        for (u, _) in &upstream {
            if let Some(m) = members.entries[*u].member.as_mut() {
                m.dependents += 1;
            }
        }
        Ok(Joined {
            id,
            index,
            start,
            upstream,
        })
    }

    fn resolve(
        &self,
        members: &Members,
        consumer: &str,
        dep: &Dependency,
    ) -> Result<usize, ConfigError> {
        let unknown = || ConfigError::UnknownDependency {
            consumer: consumer.to_owned(),
            dependency: dep.to_string(),
        };
        match dep {
            Dependency::Name(name) => members
                .entries
                .iter()
                .position(|e| {
                    e.member
                        .as_ref()
                        .is_some_and(|m| m.present && &m.name == name)
                })
                .ok_or_else(unknown),
            Dependency::Id(id) if id.bus != self.config.bus_id => {
                Err(ConfigError::ForeignDependency {
                    consumer: consumer.to_owned(),
                })
            }
            Dependency::Id(id) => {
                let entry = members.entries.get(id.index as usize).ok_or_else(unknown)?;
                match &entry.member {
                    Some(m) if m.present && m.id == *id => Ok(id.index as usize),
                    _ => Err(unknown()),
                }
            }
        }
    }

    /// A free entry that no producer scan can still be reading as its old occupant's.
    ///
    /// A scan reads an entry's `state` and then its cursor; if a leaver vacated the entry and a
    /// joiner took it over between the two reads, the scan would judge the joiner's cursor
    /// under the leaver's role (and a detach aimed at a tap could land on its successor). So
    /// an entry vacated while a scan ran (`vacated_at` odd) waits for the next count: the
    /// Release store that ends a scan carries its reads, and the Acquire load below makes
    /// them happen before anything the joiner writes.
    fn reusable_entry(&self, members: &Members) -> Result<usize, ConfigError> {
        loop {
            // Acquire: pairs with the producer's Release store that ends a scan.
            let scans = self.scans.load(Acquire);
            let mut pending = false;
            for (i, entry) in members.entries.iter().enumerate() {
                if entry.member.is_some() {
                    continue;
                }
                if entry.vacated_at % 2 == 0 || scans > entry.vacated_at {
                    return Ok(i);
                }
                pending = true;
            }
            if !pending {
                return Err(ConfigError::TooManyConsumers(members.entries.len()));
            }
            if self.stream_end() != StreamEnd::Open {
                // A producer that died mid-scan never ends it; nothing can join anyway.
                return Err(ConfigError::Closed);
            }
            // The scan in progress reads the table once (and may wait for a tap's copy): short.
            sync::thread::yield_now();
        }
    }

    /// Marks an entry `Free` and stamps it with the scan count that decides when it may be
    /// reused (see [`Shared::reusable_entry`]).
    fn vacate(&self, members: &mut Members, index: usize) {
        // Release: the old occupant's reads of the ring happen before the producer's Acquire
        // load of `Free` and so before its overwrites.
        self.cursor(index).state.store(Role::Free, Release);
        // Store-buffering with the producer's scan start (count odd; fence; read states): either
        // that scan reads `Free` here, or this load sees its odd count.
        fence(SeqCst);
        // Relaxed: ordered by the fence above against the fence after a scan's start.
        members.entries[index].vacated_at = self.scans.load(Relaxed);
    }

    /// Removes a consumer: it stops gating the producer at once. `done` is `Finished`,
    /// `Failed` or `Left`.
    pub(crate) fn leave(&self, index: usize, done: Done, failure: Option<ConsumerFailure>) {
        let mut members = sync::lock(&self.members);
        let cursor = self.cursor(index);
        // Release: a dependent that reads `done` (Acquire) also sees our final cursor.
        cursor.done.store(done, Release);
        let Some(member) = members.entries[index].member.as_mut() else {
            return;
        };
        member.present = false;
        member.final_state = Some(match done {
            Done::Finished => ConsumerState::Finished,
            Done::Failed => ConsumerState::Failed,
            Done::Running | Done::Left => ConsumerState::Left,
        });
        if let Some(f) = &failure {
            tracing::error!(consumer = %member.name, sequence = f.sequence, cause = %f.cause, "consumer failed");
        } else {
            tracing::debug!(consumer = %member.name, state = ?member.final_state, "consumer left");
        }
        member.failure = failure;
        if let Some(started) = self.wait_in_progress(index) {
            // The producer is waiting on us right now, and our leave ends that wait: charge
            // it here, before our figures are frozen into a report; the producer, which
            // takes the same lock to charge it, then finds it taken.
            // Relaxed: the membership lock orders this against the producer's swap.
            self.producer_stats.waiting_on.store(0, Relaxed);
            // Relaxed: statistics, written under the membership lock only.
            cursor.producer_waits.fetch_add(1, Relaxed);
            cursor
                .producer_wait_ns
                .fetch_add(self.clock_ns().saturating_sub(started), Relaxed);
        }
        if member.dependents > 0 {
            // Release: pairs with the producer's Acquire load; it stops reading this cursor.
            cursor.state.store(Role::Retired, Release);
        } else {
            self.free(&mut members, index);
        }
        drop(members);
        self.wake_everyone();
    }

    /// Frees an entry whose consumer is gone and has no present dependents, then any
    /// retired upstream left without dependents.
    fn free(&self, members: &mut Members, index: usize) {
        let cursor = self.cursor(index);
        self.vacate(members, index);
        let Some(member) = members.entries[index].member.take() else {
            return;
        };
        let report = self.report(&member, cursor);
        members.remember(report);
        for u in member.upstream {
            let free_upstream = match members.entries[u].member.as_mut() {
                Some(up) => {
                    up.dependents -= 1;
                    up.dependents == 0 && !up.present
                }
                None => false,
            };
            if free_upstream {
                self.free(members, u);
            }
        }
    }

    fn report(&self, member: &Member, cursor: &ConsumerCursor) -> ConsumerMetrics {
        // Relaxed throughout: a snapshot, not a synchronisation point.
        let raw = cursor.sequence.load(Relaxed);
        let sequence = raw & crate::cursor::SEQUENCE;
        // A wait still going on counts already, so a stuck producer shows whom it waits on.
        let in_progress = member
            .present
            .then(|| self.wait_in_progress(member.id.index as usize))
            .flatten();
        // Only a tap's cursor ever carries the flag (entries are not reused under a scan).
        let pending_detach = raw & DETACHED != 0;
        let state = match member.final_state {
            Some(s) => s,
            None if pending_detach => ConsumerState::Detached,
            None => ConsumerState::Running,
        };
        ConsumerMetrics {
            id: member.id,
            name: member.name.clone(),
            kind: member.kind,
            managed: member.managed,
            topics: member.topics,
            sequence,
            lag: self.published.load(Relaxed).saturating_sub(sequence),
            handled: cursor.handled.load(Relaxed),
            skipped: cursor.skipped.load(Relaxed),
            state,
            failure: member.failure.clone(),
            missed: cursor.missed.load(Relaxed),
            // A detach the tap has not noticed yet (it counts one when it rejoins) counts
            // already, as a wait in progress does.
            detaches: cursor.detaches.load(Relaxed) + pending_detach as u64,
            producer_waits: cursor.producer_waits.load(Relaxed) + in_progress.is_some() as u64,
            producer_wait_ns: cursor.producer_wait_ns.load(Relaxed)
                + in_progress.map_or(0, |started| self.clock_ns().saturating_sub(started)),
        }
    }

    /// Every consumer's figures: present ones first, in table order, then the departed ones
    /// kept; and how many departed ones were let go.
    pub(crate) fn consumer_metrics(&self) -> (Vec<ConsumerMetrics>, u64) {
        let members = sync::lock(&self.members);
        let mut out: Vec<ConsumerMetrics> = members
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.member.as_ref().map(|m| self.report(m, self.cursor(i))))
            .collect();
        out.extend(members.departed.iter().cloned());
        (out, members.forgotten)
    }

    /// The table index of a present consumer, for `Bus::stop`; under the membership lock the
    /// caller holds, so the entry cannot change hands before it is used.
    pub(crate) fn find(&self, members: &Members, id: ConsumerId) -> Option<usize> {
        let entry = members.entries.get(id.index as usize)?;
        match &entry.member {
            Some(m) if m.id == id && m.present && id.bus == self.config.bus_id => {
                Some(id.index as usize)
            }
            _ => None,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::shared::Config;
    use crate::slots::Slots;
    use crate::wait::WaitStrategy;

    /// A bus's shared state with `entries` table entries and no producer running.
    fn table(entries: usize) -> Shared<u64> {
        let config = Config {
            strategy: WaitStrategy::Blocking,
            signals: true,
            barriers: crate::barrier::Barriers::Symmetric,
            replay_window: 0,
            dynamic: true,
            bus_id: 1,
            departed_kept: usize::MAX,
        };
        Shared::new(
            Slots::<u64, ()>::new(4, || 0u64).unwrap(),
            |_, _| true,
            entries,
            config,
        )
    }

    #[test]
    fn an_id_stays_dead_after_the_incarnation_count_passes_u32() {
        let shared = table(1);
        sync::lock(&shared.members).entries[0].incarnation = u64::from(u32::MAX);
        let first = shared.join(&Subscription::new("a"), false).unwrap();
        shared.leave(first.index, Done::Left, None);
        let second = shared.join(&Subscription::new("b"), false).unwrap();
        assert_eq!(first.index, second.index);
        assert_ne!(first.id, second.id);
        let members = sync::lock(&shared.members);
        assert_eq!(shared.find(&members, first.id), None);
        assert_eq!(shared.find(&members, second.id), Some(second.index));
    }

    #[test]
    fn an_entry_vacated_during_a_scan_is_reused_only_after_it() {
        let shared = table(2);
        let a = shared.join(&Subscription::new("a"), false).unwrap();
        // A scan is running (odd count) when `a` leaves.
        shared.scans.store(1, Release);
        shared.leave(a.index, Done::Left, None);
        let b = shared.join(&Subscription::new("b"), false).unwrap();
        assert_ne!(
            b.index, a.index,
            "the vacated entry was reused under the scan"
        );
        // The scan ends: now it may be reused.
        shared.scans.store(2, Release);
        shared.leave(b.index, Done::Left, None);
        let c = shared.join(&Subscription::new("c"), false).unwrap();
        assert_eq!(c.index, a.index);
    }
}
