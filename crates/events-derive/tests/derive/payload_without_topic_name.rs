use ringbus_events::{EventInterfaces, EventPayload, MarketId};

#[derive(Clone, Copy, EventInterfaces)]
struct Quote {
    #[event(market)]
    market: MarketId,
}

#[derive(EventPayload)]
enum Payload {
    #[event(id = 1)]
    Quote(Quote),
}

fn main() {}
