//! What a stream client asks for: `topics`, `market`, `party` and `from`, parsed from the
//! query string and checked against the node's markets and parties.

use ringbus_events::{EventFilter, EventTopic, InvalidId, MarketId, PartyId, UnknownTopic};
use ringbus_ring::{StartAt, Subscription, TapPolicy, WaitStrategy};

/// A client's filter: every condition given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct StreamFilter {
    /// Only these topics (`None`: every topic).
    pub(crate) topics: Option<Vec<EventTopic>>,
    /// Only events of this market.
    pub(crate) market: Option<MarketId>,
    /// Only events that touch this party.
    pub(crate) party: Option<PartyId>,
    /// Start at this earlier sequence instead of the next one published.
    pub(crate) from: Option<u64>,
}

/// A query string the stream refuses (HTTP 400), with what to give instead.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FilterError {
    /// The query string cannot be decoded at all.
    #[error("malformed query string: {0}")]
    Malformed(String),
    /// A parameter the stream does not take.
    #[error("unknown parameter `{0}`: the stream takes topics, market, party and from")]
    UnknownParameter(String),
    /// A parameter given twice.
    #[error("`{0}` is given more than once")]
    Repeated(&'static str),
    /// `topics` names no topic.
    #[error("{0}; the topics are {names}", names = topic_names())]
    UnknownTopic(#[from] UnknownTopic),
    /// `topics` has an empty name (`topics=` or `Trade,,Order`).
    #[error(
        "`topics` lists an empty name: give topic names separated by commas (topics=Trade,Order)"
    )]
    EmptyTopic,
    /// `market` or `party` is not an id.
    #[error(transparent)]
    Id(#[from] InvalidId),
    /// A market the node does not have.
    #[error("{market} is not a market of this node ({known})", known = known("market", u32::from(*.markets)))]
    UnknownMarket {
        /// The market asked for.
        market: MarketId,
        /// The node's markets: `0..markets`.
        markets: u16,
    },
    /// A party the node does not have.
    #[error("{party} is not a party of this node ({known})", known = known("party", *.parties))]
    UnknownParty {
        /// The party asked for.
        party: PartyId,
        /// The node's parties: `0..parties`.
        parties: u32,
    },
    /// `from` is not a sequence number.
    #[error("`from={0}` is not a sequence number")]
    Sequence(String),
    /// A topic none of whose events can pass the market or party filter.
    #[error("no {topic} event has a {what}: none would pass the {what} filter")]
    NeverMatches {
        /// The topic.
        topic: EventTopic,
        /// `market` or `party`.
        what: &'static str,
    },
}

fn topic_names() -> String {
    EventTopic::ALL.map(EventTopic::name).join(", ")
}

fn known(kind: &str, count: u32) -> String {
    match count {
        0 => format!("it has no {kind} ids"),
        n => format!("its {kind} ids are 0 to {}", n - 1),
    }
}

impl StreamFilter {
    /// Parses the query's `(name, value)` pairs, refusing unknown or repeated parameters and
    /// ids outside `0..markets` and `0..parties`.
    pub(crate) fn parse(
        pairs: &[(String, String)],
        markets: u16,
        parties: u32,
    ) -> Result<StreamFilter, FilterError> {
        let mut filter = StreamFilter::default();
        for (name, value) in pairs {
            match name.as_str() {
                "topics" => set_once(&mut filter.topics, "topics", parse_topics(value)?)?,
                "market" => {
                    let market: MarketId = value.parse()?;
                    if market.0 >= markets {
                        return Err(FilterError::UnknownMarket { market, markets });
                    }
                    set_once(&mut filter.market, "market", market)?;
                }
                "party" => {
                    let party: PartyId = value.parse()?;
                    if party.0 >= parties {
                        return Err(FilterError::UnknownParty { party, parties });
                    }
                    set_once(&mut filter.party, "party", party)?;
                }
                "from" => {
                    let from = parse_sequence(value)
                        .ok_or_else(|| FilterError::Sequence(value.clone()))?;
                    set_once(&mut filter.from, "from", from)?;
                }
                _ => return Err(FilterError::UnknownParameter(name.clone())),
            }
        }
        filter.check_topics_can_match()?;
        Ok(filter)
    }

    /// Refuses a listed topic that no event can pass the market or party filter with: the
    /// client would wait forever for it.
    fn check_topics_can_match(&self) -> Result<(), FilterError> {
        let Some(topics) = &self.topics else {
            return Ok(());
        };
        let checks = [
            (self.market.is_some(), EventTopic::WITH_MARKET, "market"),
            (self.party.is_some(), EventTopic::WITH_PARTIES, "party"),
        ];
        for (filtered, able, what) in checks {
            if let Some(&topic) = topics
                .iter()
                .find(|t| filtered && !able.contains(t.ring_topic()))
            {
                return Err(FilterError::NeverMatches { topic, what });
            }
        }
        Ok(())
    }

    /// The bus subscription of a client with this filter: a lossy tap that never slows the
    /// producer, waiting without spinning (the server's threads are few and shared).
    pub(crate) fn subscription(&self, name: String) -> Subscription {
        let topics = match &self.topics {
            Some(topics) => EventTopic::set(topics),
            None => EventTopic::ALL_SET,
        };
        let mut sub = Subscription::new(name)
            .topics(topics)
            .lossy(TapPolicy::default())
            .wait_strategy(WaitStrategy::Blocking);
        if self.market.is_some() || self.party.is_some() {
            let mut keys = EventFilter::new();
            if let Some(m) = self.market {
                keys = keys.market(m);
            }
            if let Some(p) = self.party {
                keys = keys.party(p);
            }
            sub = sub.keys(keys);
        }
        if let Some(from) = self.from {
            sub = sub.start_at(StartAt::Sequence(from));
        }
        sub
    }
}

/// A sequence number: decimal digits, surrounding spaces ignored.
pub(crate) fn parse_sequence(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

fn parse_topics(value: &str) -> Result<Vec<EventTopic>, FilterError> {
    value
        .split(',')
        .map(|name| match name.trim() {
            "" => Err(FilterError::EmptyTopic),
            name => Ok(name.parse()?),
        })
        .collect()
}

fn set_once<T>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), FilterError> {
    if slot.replace(value).is_some() {
        return Err(FilterError::Repeated(name));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringbus_ring::TopicSet;

    /// The ring's topic set of `filter`'s subscription.
    fn topic_set(filter: &StreamFilter) -> TopicSet {
        filter.subscription("test".into()).all_topics()
    }

    fn parse(query: &[(&str, &str)]) -> Result<StreamFilter, FilterError> {
        let pairs: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        StreamFilter::parse(&pairs, 4, 100)
    }

    #[test]
    fn no_parameter_is_every_event_from_the_next() {
        let f = parse(&[]).unwrap();
        assert_eq!(f, StreamFilter::default());
        assert_eq!(topic_set(&f), EventTopic::ALL_SET);
    }

    #[test]
    fn every_parameter_parses_as_printed_or_bare() {
        let f = parse(&[
            ("topics", "Trade, order"),
            ("market", "market-3"),
            ("party", "7"),
            ("from", "12"),
        ])
        .unwrap();
        assert_eq!(f.topics, Some(vec![EventTopic::Trade, EventTopic::Order]));
        assert_eq!(f.market, Some(MarketId(3)));
        assert_eq!(f.party, Some(PartyId(7)));
        assert_eq!(f.from, Some(12));
        assert_eq!(
            topic_set(&f),
            EventTopic::set(&[EventTopic::Trade, EventTopic::Order])
        );
    }

    #[test]
    fn bad_input_is_refused_with_what_to_give_instead() {
        let err = |q: &[(&str, &str)]| parse(q).unwrap_err().to_string();
        assert!(err(&[("topics", "Quote")])
            .starts_with("unknown event topic `Quote`; the topics are BeginBlock,"));
        assert!(err(&[("topics", "Trade,,Order")]).contains("empty name"));
        assert!(err(&[("topics", "")]).contains("empty name"));
        assert_eq!(
            err(&[("market", "4")]),
            "market-4 is not a market of this node (its market ids are 0 to 3)"
        );
        assert_eq!(
            err(&[("party", "party-100")]),
            "party-100 is not a party of this node (its party ids are 0 to 99)"
        );
        assert_eq!(
            err(&[("market", "x")]),
            "`x` is not a market id (a number, or market-N)"
        );
        assert_eq!(err(&[("from", "-1")]), "`from=-1` is not a sequence number");
        assert_eq!(
            err(&[("topic", "Trade")]),
            "unknown parameter `topic`: the stream takes topics, market, party and from"
        );
        assert_eq!(
            err(&[("market", "1"), ("market", "2")]),
            "`market` is given more than once"
        );
        assert_eq!(
            err(&[("topics", "Trade,EndBlock"), ("market", "1")]),
            "no EndBlock event has a market: none would pass the market filter"
        );
        assert_eq!(
            err(&[("topics", "MarkPrice"), ("party", "1")]),
            "no MarkPrice event has a party: none would pass the party filter"
        );
    }

    #[test]
    fn a_node_without_markets_says_so() {
        let pairs = vec![("market".to_owned(), "0".to_owned())];
        let err = StreamFilter::parse(&pairs, 0, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "market-0 is not a market of this node (it has no market ids)"
        );
    }
}
