use ringbus_events::{EventInterfaces, EventPayload};

#[derive(Clone, Copy, EventInterfaces)]
struct Open;

#[derive(EventPayload)]
#[event(topic = SessionTopic)]
enum Payload {
    #[event(id = 0)]
    Open(Open),
}

fn main() {}
