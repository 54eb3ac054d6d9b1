use ringbus_events::{EventInterfaces, EventPayload, MarketId};

#[derive(Clone, Copy, EventInterfaces)]
struct Quote {
    #[event(market)]
    market: MarketId,
}

#[derive(EventPayload)]
#[event(topic = QuoteTopic)]
enum Payload {
    Quote(Quote),
}

fn main() {}
