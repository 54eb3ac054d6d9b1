use ringbus_events::{EventInterfaces, PartyId, PartyList};

#[derive(EventInterfaces)]
struct Auction {
    #[event(party)]
    bidders: PartyList,
    #[event(party)]
    seller: PartyId,
}

fn main() {}
