//! Which events `ringbus dump` prints: by topic, market and party (all must hold).

use clap::Args;
use ringbus_events::{Event, EventFilter, EventTopic, MarketId, PartyId};

/// The events of a log to print.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct DumpFilter {
    /// Only this topic (e.g. Trade).
    #[arg(long)]
    topic: Option<EventTopic>,
    /// Only events of this market (`3` or `market-3`).
    #[arg(long, value_parser = parse_market)]
    market: Option<MarketId>,
    /// Only events that touch this party (`7` or `party-7`): trades either side, movements
    /// to or from its accounts, distress reports that list it.
    #[arg(long, value_parser = parse_party)]
    party: Option<PartyId>,
}

impl DumpFilter {
    /// Whether `event` is printed: of the topic, the market and the party asked for, as the
    /// event's interfaces answer (what a bus subscription with the same filter would get).
    pub(crate) fn selects(&self, event: &Event) -> bool {
        let mut filter = EventFilter::new();
        if let Some(m) = self.market {
            filter = filter.market(m);
        }
        if let Some(p) = self.party {
            filter = filter.party(p);
        }
        self.topic.is_none_or(|t| event.topic() == t) && filter.matches(event)
    }
}

/// A number, or the id as events print it (`market-3`).
fn parse_market(s: &str) -> Result<MarketId, String> {
    s.parse()
        .map_err(|e: ringbus_events::InvalidId| e.to_string())
}

fn parse_party(s: &str) -> Result<PartyId, String> {
    s.parse()
        .map_err(|e: ringbus_events::InvalidId| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringbus_events::{MarkPrice, Trade};

    #[test]
    fn ids_parse_bare_or_as_printed_and_refuse_anything_else() {
        assert_eq!(parse_market("3"), Ok(MarketId(3)));
        assert_eq!(parse_market("market-3"), Ok(MarketId(3)));
        assert_eq!(parse_party(" party-70000 "), Ok(PartyId(70000)));
        let err = parse_market("70000").unwrap_err();
        assert_eq!(err, "`70000` is not a market id (a number, or market-N)");
        assert!(parse_party("party-x").is_err());
        assert!(parse_party("").is_err());
    }

    #[test]
    fn topic_market_and_party_must_all_hold() {
        let trade = Event::new(Trade {
            market: MarketId(1),
            buyer: PartyId(2),
            seller: PartyId(3),
            ..Trade::default()
        });
        let mark = Event::new(MarkPrice {
            market: MarketId(1),
            price: 9,
        });
        let f = |topic, market, party| DumpFilter {
            topic,
            market,
            party,
        };
        assert!(f(None, None, None).selects(&trade));
        assert!(f(None, Some(MarketId(1)), Some(PartyId(3))).selects(&trade));
        assert!(!f(None, Some(MarketId(2)), Some(PartyId(3))).selects(&trade));
        assert!(!f(Some(EventTopic::MarkPrice), None, Some(PartyId(3))).selects(&trade));
        assert!(f(None, Some(MarketId(1)), None).selects(&mark));
        assert!(!f(None, Some(MarketId(1)), Some(PartyId(2))).selects(&mark));
    }
}
