use ringbus_events::EventPayload;

#[derive(Clone, Copy, serde::Serialize)]
struct Open;

#[derive(EventPayload)]
#[event(topic = SessionTopic)]
enum Payload {
    #[event(id = 1)]
    Open(Open),
}

fn main() {}
