use ringbus_events::{EventInterfaces, EventPayload};

#[derive(Clone, Copy, EventInterfaces)]
struct Open;

#[derive(Clone, Copy, EventInterfaces)]
struct Close;

#[derive(EventPayload)]
#[event(topic = SessionTopic)]
enum Payload {
    #[event(id = 3)]
    Open(Open),
    #[event(id = 3)]
    Close(Close),
}

fn main() {}
