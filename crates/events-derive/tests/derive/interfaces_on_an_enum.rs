use ringbus_events::EventInterfaces;

#[derive(EventInterfaces)]
enum NotAStruct {
    A,
}

fn main() {}
