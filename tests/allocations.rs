//! Zero heap allocations per published and consumed event in steady state, counted by a
//! global allocator. The allocator is process-wide, so this file holds a single test that
//! runs its scenarios one after the other.

mod common;

use common::*;
use ringbus::{PollError, RingBus, Subscription, Topic, TopicSet};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to `System` unchanged; it only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: as for `alloc`; `ptr` was allocated by `System` through us.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` through us with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::SeqCst)
}

const EVENTS: u64 = 100_000;

/// Publishes and polls on one thread: single publishes, batches and a filtered poller.
fn poller_on_the_same_thread() {
    let (mut producer, mut bus) = RingBus::builder::<Ev>()
        .capacity(256)
        .poller(Subscription::new("all"))
        .poller(Subscription::new("some").topics(TopicSet::of(&[Topic::new(1), Topic::new(2)])))
        .build()
        .unwrap();
    let mut all = bus.take_poller("all").unwrap();
    let mut some = bus.take_poller("some").unwrap();
    let mut sum = 0u64;
    let mut round = |producer: &mut ringbus::Producer<Ev>, events: u64| {
        let end = producer.next_sequence() + events;
        while producer.next_sequence() < end {
            let s = producer.next_sequence();
            if s.is_multiple_of(3) {
                let k = 16.min(end - s) as usize;
                producer
                    .publish_batch(k, |i, e| {
                        let q = s + i as u64;
                        fill(e, q, s + k as u64);
                        topic_of(q)
                    })
                    .unwrap();
            } else {
                producer.publish(topic_of(s), |e| fill(e, s, s + 1));
            }
            if producer.next_sequence() % 128 < 17 {
                for p in [&mut all, &mut some] {
                    while let Some(batch) = p.try_poll().unwrap() {
                        for (seq, ev) in batch.iter() {
                            sum = sum.wrapping_add(check(ev, seq));
                        }
                    }
                }
            }
        }
        for p in [&mut all, &mut some] {
            while let Some(batch) = p.try_poll().unwrap() {
                for (seq, ev) in batch.iter() {
                    sum = sum.wrapping_add(check(ev, seq));
                }
            }
        }
    };
    // Warm up: several wraps of the ring.
    round(&mut producer, 4096);
    let before = allocations();
    round(&mut producer, EVENTS);
    let during = allocations() - before;
    assert_eq!(all.sequence(), 4096 + EVENTS);
    assert_eq!(some.sequence(), 4096 + EVENTS);
    assert_eq!(
        during, 0,
        "{during} heap allocations for {EVENTS} events published and polled on one thread"
    );
    drop(producer);
    assert_eq!(all.poll().unwrap_err(), PollError::Shutdown);
    assert!(sum > 0);
}

/// Publishes on this thread to a managed handler on its own (adaptive: spins, yields and
/// parks), counting across both threads.
fn managed_handler() {
    let handled = Arc::new(AtomicU64::new(0));
    let h = handled.clone();
    let (mut producer, bus) = RingBus::builder::<Ev>()
        .capacity(256)
        .handler(Subscription::new("h"), move |ev: &Ev, seq: u64, _: bool| {
            check(ev, seq);
            h.store(seq + 1, Ordering::Release);
            Ok(())
        })
        .build()
        .unwrap();
    let wait_for = |target: u64| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while handled.load(Ordering::Acquire) < target {
            assert!(
                std::time::Instant::now() < deadline,
                "DEADLINE: handler at {} of {target}",
                handled.load(Ordering::Acquire)
            );
            std::thread::yield_now();
        }
    };
    // Warm up, including the handler parking and being woken (its first park allocates
    // parking_lot's per-thread data).
    publish_n(&mut producer, 4096);
    wait_for(4096);
    std::thread::sleep(Duration::from_millis(20));
    publish_n(&mut producer, 1024);
    wait_for(4096 + 1024);
    let before = allocations();
    publish_n(&mut producer, EVENTS);
    wait_for(4096 + 1024 + EVENTS);
    let during = allocations() - before;
    assert_eq!(
        during, 0,
        "{during} heap allocations for {EVENTS} events published to a managed handler"
    );
    drop(producer);
    bus.join().unwrap();
}

#[test]
fn no_allocation_per_event_in_steady_state() {
    // The counter counts.
    let before = allocations();
    let v = std::hint::black_box(vec![1u8; 10]);
    assert!(allocations() > before && v.len() == 10);
    poller_on_the_same_thread();
    within(
        Duration::from_secs(60),
        "allocations with a managed handler",
        || "the handler-side wait panics with its position first".to_owned(),
        managed_handler,
    );
}
