//! Steady-state appends and reads do not allocate; copying an event never does.

use ringbus_events::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call unchanged to the system allocator, which upholds the
// GlobalAlloc contract; the thread-local counter neither allocates nor touches the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout (via `alloc` above).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCS.with(Cell::get)
}

fn sample(sequence: u64) -> Event {
    Event {
        sequence,
        block_height: sequence / 10,
        tx_index: Some(3),
        trigger: Trigger::Transaction(TxHash(sequence * 7)),
        source: Source::Matching,
        ..Event::new(Trade {
            id: TradeId(sequence),
            price: 1_000,
            size: 5,
            ..Trade::default()
        })
    }
}

#[test]
fn appending_and_reading_do_not_allocate_per_event() {
    const N: u64 = 1_000;
    let mut out = Vec::with_capacity(1 << 20);
    let mut w = EventLogWriter::new(&mut out, None).unwrap();
    w.append(&sample(0)).unwrap();

    let before = allocations();
    for s in 1..N {
        w.append(&sample(s)).unwrap();
    }
    assert_eq!(allocations() - before, 0, "writer allocated");
    drop(w);

    let mut r = EventLogReader::new(&out[..]).unwrap();
    r.next().unwrap().unwrap();
    let before = allocations();
    let mut read = 1;
    for e in r.by_ref() {
        assert_eq!(e.unwrap().sequence, read);
        read += 1;
    }
    assert_eq!(allocations() - before, 0, "reader allocated");
    assert_eq!(read, N);

    let slot = [Event::default(); 64];
    let before = allocations();
    let mut ring = slot;
    ring[5] = sample(5);
    assert_eq!(allocations() - before, 0);
    assert_eq!(ring[5].topic(), EventTopic::Trade);
}

#[test]
fn reading_a_whole_stream_does_not_allocate_per_event() {
    // Blocks of ten events: BeginBlock, eight trades, EndBlock.
    let framed = |s: u64| {
        let height = s / 10 + 1;
        let mut e = sample(s);
        e.block_height = height;
        match s % 10 {
            0 => {
                e.payload = BeginBlock {
                    height,
                    ..BeginBlock::default()
                }
                .into()
            }
            9 => {
                e.payload = EndBlock {
                    height,
                    ..EndBlock::default()
                }
                .into()
            }
            _ => {}
        }
        e
    };
    let id = StreamIdentity::new("sim", BlockHash(1), 2, "x=1").unwrap();
    let mut w = EventLogWriter::new(Vec::new(), Some(&id)).unwrap();
    for s in 0..1_000 {
        w.append(&framed(s)).unwrap();
    }
    let out = w.into_inner().unwrap();
    let mut r = EventLogReader::new(&out[..]).unwrap().whole_stream();
    r.next().unwrap().unwrap();
    let before = allocations();
    let read = r.by_ref().map(Result::unwrap).count();
    assert_eq!(allocations() - before, 0, "reader allocated");
    assert_eq!(read, 999);
}
