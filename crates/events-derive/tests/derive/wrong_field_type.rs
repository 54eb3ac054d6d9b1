use ringbus_events::EventInterfaces;

#[derive(EventInterfaces)]
struct Quote {
    #[event(market)]
    price: u64,
    #[event(party)]
    trader: String,
}

fn main() {}
