use ringbus_events::{EventInterfaces, MarketId};

#[derive(EventInterfaces)]
struct Quote {
    #[event()]
    market: MarketId,
}

fn main() {}
