use ringbus_events::{EventInterfaces, MarketId};

#[derive(EventInterfaces)]
struct Quote {
    #[event(venue)]
    market: MarketId,
}

fn main() {}
