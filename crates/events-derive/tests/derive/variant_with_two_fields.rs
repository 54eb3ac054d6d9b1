use ringbus_events::{EventInterfaces, EventPayload};

#[derive(Clone, Copy, EventInterfaces)]
struct Open;

#[derive(EventPayload)]
#[event(topic = SessionTopic)]
enum Payload {
    #[event(id = 1)]
    Open(Open, u64),
}

fn main() {}
