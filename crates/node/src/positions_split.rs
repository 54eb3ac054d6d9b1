//! The positions plug-in run as one consumer per market ([`Pipeline::positions_per_market`]):
//! how many parts, and what each is called on the bus.
//!
//! Every input of the plug-in but the block framing belongs to one market (trades, marks,
//! settlements, distress reports, closeouts, loss socialisation), so a part subscribed to
//! one market's inputs by the events' keys, plus the framing it snapshots on, holds exactly
//! the single plug-in's positions of that market; the parts' views merged
//! ([`PositionsView::merged`](ringbus_consumers::PositionsView::merged)) are the single
//! plug-in's. No input is about a party across markets, so none has to reach every part.
//!
//! [`Pipeline::positions_per_market`]: crate::Pipeline::positions_per_market

use ringbus_events::{MarketId, StreamIdentity};

/// The most markets the positions plug-in is split over: one thread each.
pub const MAX_POSITIONS_PARTS: u16 = 64;

/// Why the positions plug-in cannot run as one consumer per market.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PositionsSplitError {
    /// The stream does not say its markets (an event log without the simulator's identity,
    /// events handed in memory): a part per market could miss a market.
    #[error(
        "positions per market needs the stream's markets, and this stream does not say them \
         (no simulator identity): run the positions plug-in whole"
    )]
    MarketsUnknown,
    /// More markets than parts allowed.
    #[error(
        "positions per market runs one consumer (one thread) per market, at most \
         {MAX_POSITIONS_PARTS}; the stream has {0} markets"
    )]
    TooManyMarkets(u16),
}

/// The number of parts for a stream of `markets` markets (`None`: unknown).
pub fn positions_parts(markets: Option<u16>) -> Result<u16, PositionsSplitError> {
    match markets {
        None => Err(PositionsSplitError::MarketsUnknown),
        Some(n) if n > MAX_POSITIONS_PARTS => Err(PositionsSplitError::TooManyMarkets(n)),
        Some(n) => Ok(n),
    }
}

/// The number of parts for the stream of `identity` (`None`: unknown), from the
/// simulator's configuration it records.
pub(crate) fn parts_of(identity: Option<&StreamIdentity>) -> Result<u16, PositionsSplitError> {
    positions_parts(identity.and_then(ringbus_sim::markets_of))
}

/// The name on the bus of the part of `market`: `positions-m3`.
pub fn positions_part_name(market: MarketId) -> String {
    format!("positions-m{}", market.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringbus_sim::SimConfig;

    #[test]
    fn parts_come_from_a_simulated_identity_only() {
        let sim = SimConfig::small(1, 3).identity();
        assert_eq!(parts_of(Some(&sim)), Ok(SimConfig::small(1, 3).markets));
        assert_eq!(parts_of(None), Err(PositionsSplitError::MarketsUnknown));
        let other =
            StreamIdentity::new("other-chain", ringbus_events::BlockHash(1), 1, "markets=4")
                .unwrap();
        assert_eq!(
            parts_of(Some(&other)),
            Err(PositionsSplitError::MarketsUnknown)
        );
        assert_eq!(
            positions_parts(Some(MAX_POSITIONS_PARTS + 1)),
            Err(PositionsSplitError::TooManyMarkets(MAX_POSITIONS_PARTS + 1))
        );
        assert_eq!(positions_part_name(MarketId(3)), "positions-m3");
    }
}
