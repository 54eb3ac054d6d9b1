//! Damage to an event log, for property tests: a flipped bit, a cut, inserted bytes, a
//! dropped, duplicated or moved record.

use proptest::prelude::*;

/// One kind of damage to a log.
#[derive(Clone, Debug)]
pub enum Damage {
    /// Flip bit `1` of the byte at `0`.
    Flip(prop::sample::Index, u8),
    /// Cut the file at `0`.
    Truncate(prop::sample::Index),
    /// Insert bytes `1` at `0`.
    Insert(prop::sample::Index, Vec<u8>),
    /// Drop record `0`.
    Drop(prop::sample::Index),
    /// Insert a copy of record `0` before record `1`.
    Duplicate(prop::sample::Index, prop::sample::Index),
    /// Swap records `0` and `1`.
    Swap(prop::sample::Index, prop::sample::Index),
}

pub fn damage() -> impl Strategy<Value = Damage> {
    let i = any::<prop::sample::Index>;
    prop_oneof![
        (i(), 0u8..8).prop_map(|(a, b)| Damage::Flip(a, b)),
        i().prop_map(Damage::Truncate),
        (i(), proptest::collection::vec(any::<u8>(), 1..24))
            .prop_map(|(a, b)| Damage::Insert(a, b)),
        i().prop_map(Damage::Drop),
        (i(), i()).prop_map(|(a, b)| Damage::Duplicate(a, b)),
        (i(), i()).prop_map(|(a, b)| Damage::Swap(a, b)),
    ]
}

/// `bytes`, the log of records at `offsets` (the header's length first, the end last),
/// damaged.
pub fn apply(damage: &Damage, bytes: &[u8], offsets: &[u64]) -> Vec<u8> {
    let o: Vec<usize> = offsets.iter().map(|x| *x as usize).collect();
    let n = o.len() - 1;
    let record = |i: usize| &bytes[o[i]..o[i + 1]];
    let records = |order: &[usize]| {
        let mut out = bytes[..o[0]].to_vec();
        order.iter().for_each(|&i| out.extend_from_slice(record(i)));
        out
    };
    let all: Vec<usize> = (0..n).collect();
    match damage {
        Damage::Flip(at, bit) => {
            let mut out = bytes.to_vec();
            out[at.index(bytes.len())] ^= 1 << bit;
            out
        }
        Damage::Truncate(at) => bytes[..at.index(bytes.len() + 1)].to_vec(),
        Damage::Insert(at, extra) => {
            let mut out = bytes.to_vec();
            let at = at.index(bytes.len() + 1);
            out.splice(at..at, extra.iter().copied());
            out
        }
        Damage::Drop(i) => {
            let i = i.index(n);
            records(&all.iter().copied().filter(|&r| r != i).collect::<Vec<_>>())
        }
        Damage::Duplicate(i, at) => {
            let mut order = all.clone();
            order.insert(at.index(n + 1), i.index(n));
            records(&order)
        }
        Damage::Swap(i, j) => {
            let mut order = all;
            order.swap(i.index(n), j.index(n));
            records(&order)
        }
    }
}
