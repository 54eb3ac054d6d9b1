//! The per-slot key of an [`Event`] on a routed bus, and the filter subscriptions select it
//! with: by market and by party, without reading the event.

use crate::{Event, MarketEvent, MarketId, PartyEvent, PartyId};
use ringbus_ring::{KeyMatch, Routed, SlotKey, Topic};

/// What the ring stores beside an event's topic tag: its market and its parties, in 8 bytes.
///
/// The market is exact. The parties are exact when there is one (most payload kinds) and a
/// 32-bit digest when there are several (a trade's buyer and seller, a movement between two
/// parties' accounts, a distress report): each party sets two bits of it, so a filter on a
/// party whose bits are all set answers [`KeyMatch::Maybe`] and the consumer asks the event
/// ([`EventFilter::matches`]). Filtering stays exact; the digest only spares the reads.
///
/// ```
/// use ringbus_events::{Event, EventFilter, MarketId, PartyId, Position};
/// use ringbus_ring::{KeyMatch, Routed, SlotKey};
/// let e = Event::new(Position { party: PartyId(4), market: MarketId(1), ..Position::default() });
/// let key = e.key();
/// assert_eq!(key.market(), Some(MarketId(1)));
/// assert_eq!(key.check(&EventFilter::new().market(MarketId(1)).party(PartyId(4))), KeyMatch::Yes);
/// assert_eq!(key.check(&EventFilter::new().party(PartyId(5))), KeyMatch::No);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EventKey {
    market: u16,
    /// `HAS_MARKET`, and what `party` holds: nothing (0), `ONE_PARTY` or `PARTY_DIGEST`.
    form: u16,
    party: u32,
}

const HAS_MARKET: u16 = 1;
const PARTIES: u16 = 0b110;
const ONE_PARTY: u16 = 0b010;
const PARTY_DIGEST: u16 = 0b100;

/// The two bits `party` sets in a digest: the top ten bits of a multiplicative hash, as two
/// bit positions.
#[inline]
const fn party_bits(party: PartyId) -> u32 {
    let h = (party.0 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (1 << (h >> 59)) | (1 << ((h >> 54) & 31))
}

impl EventKey {
    /// The key of an event of `market` touching `parties` (each once).
    ///
    /// ```
    /// use ringbus_events::{EventKey, MarketId, PartyId};
    /// let key = EventKey::new(None, &[PartyId(1), PartyId(2)]);
    /// assert_eq!(key.market(), None);
    /// assert_eq!(key.party(), None, "several parties: a digest");
    /// assert_eq!(EventKey::new(Some(MarketId(3)), &[PartyId(1)]).party(), Some(PartyId(1)));
    /// ```
    #[inline]
    pub fn new(market: Option<MarketId>, parties: &[PartyId]) -> Self {
        let (market, mut form) = match market {
            Some(m) => (m.0, HAS_MARKET),
            None => (0, 0),
        };
        let party = match parties {
            [] => 0,
            [one] => {
                form |= ONE_PARTY;
                one.0
            }
            several => {
                form |= PARTY_DIGEST;
                several.iter().fold(0, |bits, p| bits | party_bits(*p))
            }
        };
        EventKey {
            market,
            form,
            party,
        }
    }

    /// The key of `event`, from its interfaces: the same key as [`EventKey::new`] of its
    /// market and parties, in one walk over its party fields (no list is built).
    #[inline]
    pub fn of(event: &Event) -> Self {
        let (market, mut form) = match event.market() {
            Some(m) => (m.0, HAS_MARKET),
            None => (0, 0),
        };
        let mut first = None;
        let mut several = false;
        let mut digest = 0;
        event.each_party(|p| {
            digest |= party_bits(p);
            match first {
                None => first = Some(p),
                Some(one) => several |= one != p,
            }
        });
        let party = match (first, several) {
            (None, _) => 0,
            (Some(one), false) => {
                form |= ONE_PARTY;
                one.0
            }
            (Some(_), true) => {
                form |= PARTY_DIGEST;
                digest
            }
        };
        EventKey {
            market,
            form,
            party,
        }
    }

    /// The market the key records.
    pub fn market(&self) -> Option<MarketId> {
        (self.form & HAS_MARKET != 0).then_some(MarketId(self.market))
    }

    /// The party, when the event touches exactly one.
    pub fn party(&self) -> Option<PartyId> {
        (self.form & PARTIES == ONE_PARTY).then_some(PartyId(self.party))
    }
}

/// What a subscription to a routed bus of [`Event`]s selects beyond topics: events of one
/// market, events that touch one party, or both. Events without a market never pass a
/// market filter, events that touch no party never pass a party filter; subscribe to the
/// block framing with [`Subscription::always`](ringbus_ring::Subscription::always) to get it
/// as well.
///
/// ```
/// use ringbus_events::{Event, EventFilter, MarketId, PartyId, Trade};
/// let trade = Event::new(Trade { market: MarketId(2), buyer: PartyId(1), seller: PartyId(9), ..Trade::default() });
/// assert!(EventFilter::new().market(MarketId(2)).party(PartyId(9)).matches(&trade));
/// assert!(!EventFilter::new().market(MarketId(3)).matches(&trade));
/// assert!(EventFilter::new().matches(&trade), "no market and no party: every event");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EventFilter {
    market: Option<MarketId>,
    party: Option<PartyId>,
    /// `party_bits` of `party`, computed once.
    party_bits: u32,
}

impl EventFilter {
    /// The filter every event passes.
    pub const fn new() -> Self {
        EventFilter {
            market: None,
            party: None,
            party_bits: 0,
        }
    }

    /// Only events of `market`.
    pub const fn market(mut self, market: MarketId) -> Self {
        self.market = Some(market);
        self
    }

    /// Only events that touch `party`.
    pub const fn party(mut self, party: PartyId) -> Self {
        self.party = Some(party);
        self.party_bits = party_bits(party);
        self
    }

    /// The market it selects, if it selects one.
    pub const fn selected_market(&self) -> Option<MarketId> {
        self.market
    }

    /// The party it selects, if it selects one.
    pub const fn selected_party(&self) -> Option<PartyId> {
        self.party
    }

    /// Whether `event` passes, from the event itself: the exact answer its key's digest
    /// defers to.
    #[inline]
    pub fn matches(&self, event: &Event) -> bool {
        self.market.is_none_or(|m| event.market() == Some(m))
            && self.party.is_none_or(|p| event.touches(p))
    }
}

impl SlotKey for EventKey {
    type Filter = EventFilter;

    #[inline]
    fn check(&self, filter: &EventFilter) -> KeyMatch {
        if let Some(m) = filter.market {
            if self.form & HAS_MARKET == 0 || self.market != m.0 {
                return KeyMatch::No;
            }
        }
        let Some(party) = filter.party else {
            return KeyMatch::Yes;
        };
        match self.form & PARTIES {
            ONE_PARTY => KeyMatch::exact(self.party == party.0),
            PARTY_DIGEST if self.party & filter.party_bits == filter.party_bits => KeyMatch::Maybe,
            _ => KeyMatch::No,
        }
    }
}

impl Routed for Event {
    type Key = EventKey;

    #[inline]
    fn topic(&self) -> Topic {
        self.ring_topic()
    }

    #[inline]
    fn key(&self) -> EventKey {
        EventKey::of(self)
    }

    #[inline]
    fn matches(&self, filter: &EventFilter) -> bool {
        filter.matches(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Distressed, Order, PartyList, Trade};

    /// A party other than `party` whose digest bits are the same.
    fn collider(party: PartyId) -> PartyId {
        (0..)
            .map(PartyId)
            .find(|p| *p != party && party_bits(*p) == party_bits(party))
            .unwrap()
    }

    #[test]
    fn the_key_is_eight_bytes() {
        assert_eq!(std::mem::size_of::<EventKey>(), 8);
    }

    #[test]
    fn one_party_is_exact_several_are_a_digest_the_event_decides() {
        let p = PartyId(77);
        let x = collider(p);
        let only_p = EventFilter::new().party(p);
        let trade = |buyer, seller| {
            Event::new(Trade {
                buyer,
                seller,
                ..Trade::default()
            })
        };
        // Exact for one party, even a colliding one.
        let order = |party| {
            Event::new(Order {
                party,
                ..Order::default()
            })
        };
        assert_eq!(order(p).key().check(&only_p), KeyMatch::Yes);
        assert_eq!(order(x).key().check(&only_p), KeyMatch::No);
        // A trade between the collider and a third party looks like P's to the key, and is
        // not P's to the event.
        let foreign = trade(x, PartyId(5));
        assert_eq!(foreign.key().check(&only_p), KeyMatch::Maybe);
        assert!(!only_p.matches(&foreign));
        let own = trade(PartyId(5), p);
        assert_eq!(own.key().check(&only_p), KeyMatch::Maybe);
        assert!(only_p.matches(&own));
        // A distress report lists up to eight parties.
        let report = Event::new(Distressed {
            market: MarketId(0),
            parties: PartyList::from_slice(&[x, PartyId(3)]).unwrap(),
        });
        assert_eq!(report.key().check(&only_p), KeyMatch::Maybe);
        assert!(!only_p.matches(&report));
    }

    #[test]
    fn market_filters_are_exact_and_skip_events_without_a_market() {
        let in_market = |m| EventKey::new(Some(MarketId(m)), &[]);
        let filter = EventFilter::new().market(MarketId(0));
        assert_eq!(in_market(0).check(&filter), KeyMatch::Yes);
        assert_eq!(in_market(1).check(&filter), KeyMatch::No);
        // No market is not market 0.
        assert_eq!(EventKey::new(None, &[]).check(&filter), KeyMatch::No);
        assert_eq!(
            EventKey::default().check(&EventFilter::new()),
            KeyMatch::Yes
        );
    }
}
