//! How often a party filter must read a foreign event's payload, for three layouts of the
//! per-slot key, over a simulated stream: the measurement behind
//! `docs/decisions/event-keys.md`. `cargo run --release -p ringbus-node --example key_layouts`.
//!
//! It also times what the producer pays per event for the chosen key (`Event::key`).
//!
//! A filter on party P reads an event's payload when the key cannot tell whether the event
//! touches P. For each party, every event of the stream that has parties is classed by the
//! key as "no", "yes" or "maybe"; a maybe for an event that does not touch P is a payload
//! read the filter did not need.

use ringbus_events::{Event, EventFilter, PartyEvent, PartyId};
use ringbus_ring::{KeyMatch, Routed, SlotKey};
use ringbus_sim::{SimConfig, Simulator};

/// The two bits of `party` in a digest of `width` bits (a multiplicative hash's top bits).
fn bits(party: PartyId, width: u32) -> u64 {
    let h = u64::from(party.0).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let shift = width.trailing_zeros();
    (1 << (h >> (64 - shift))) | (1 << ((h >> (64 - 2 * shift)) & u64::from(width - 1)))
}

/// What a layout's key says about an event touching `parties`, for a filter on `p`.
type Layout = fn(&[PartyId], PartyId) -> KeyMatch;

/// 4 bytes: the market and a 16-bit digest of every party.
fn digest16(parties: &[PartyId], p: PartyId) -> KeyMatch {
    let d = parties.iter().fold(0, |d, q| d | bits(*q, 16));
    if d & bits(p, 16) == bits(p, 16) && !parties.is_empty() {
        KeyMatch::Maybe
    } else {
        KeyMatch::No
    }
}

/// 16 bytes: the market, two parties exactly, a 32-bit digest beyond.
fn two_exact(parties: &[PartyId], p: PartyId) -> KeyMatch {
    if parties.len() <= 2 {
        return KeyMatch::exact(parties.contains(&p));
    }
    let d = parties.iter().fold(0, |d, q| d | bits(*q, 32));
    if d & bits(p, 32) == bits(p, 32) {
        KeyMatch::Maybe
    } else {
        KeyMatch::No
    }
}

fn main() {
    let mut sim = Simulator::new(SimConfig {
        blocks: 500,
        seed: 7,
        ..SimConfig::default()
    });
    let mut events: Vec<Event> = Vec::new();
    while !sim.is_done() {
        sim.step(&mut events).expect("a vector takes everything");
    }
    let with_parties: Vec<&Event> = events.iter().filter(|e| !e.parties().is_empty()).collect();
    let parties: Vec<PartyId> = (0..200).map(PartyId).collect();
    let layouts: [(&str, Layout); 2] = [
        ("4 B: 16-bit digest", digest16),
        ("16 B: two exact + digest", two_exact),
    ];
    println!(
        "{} events, {} with parties; {} party filters",
        events.len(),
        with_parties.len(),
        parties.len()
    );
    let report = |name: &str, classify: &dyn Fn(&Event, PartyId) -> KeyMatch| {
        let (mut foreign, mut needless, mut maybe) = (0u64, 0u64, 0u64);
        for p in &parties {
            for e in &with_parties {
                let touches = e.touches(*p);
                let answer = classify(e, *p);
                assert!(touches || answer != KeyMatch::Yes, "{name}: a wrong yes");
                assert!(!touches || answer != KeyMatch::No, "{name}: a wrong no");
                maybe += u64::from(answer == KeyMatch::Maybe);
                if !touches {
                    foreign += 1;
                    needless += u64::from(answer == KeyMatch::Maybe);
                }
            }
        }
        println!(
            "{name:28} payload reads of foreign events: {:.3}% ({needless} of {foreign}); maybes: {maybe}",
            100.0 * needless as f64 / foreign as f64
        );
    };
    report("8 B: one exact, else 32-bit", &|e, p| {
        e.key().check(&EventFilter::new().party(p))
    });
    for (name, layout) in layouts {
        report(name, &|e, p| layout(e.parties().as_slice(), p));
    }
    // The producer's share: one key per published event, over the stream's mix of kinds, on
    // events in cache (as the producer's are: it has just written them).
    let hot = &events[..2000];
    let rounds = 5000;
    let start = std::time::Instant::now();
    let mut sink = 0u64;
    for _ in 0..rounds {
        for e in hot {
            let key = std::hint::black_box(e).key();
            sink = sink.wrapping_add(key.market().map_or(0, |m| u64::from(m.0)));
        }
    }
    let per_key = start.elapsed().as_nanos() as f64 / (rounds * hot.len()) as f64;
    println!("Event::key: {per_key:.2} ns per event (checksum {sink})");
}
