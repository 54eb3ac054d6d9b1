//! Event topics: the channel an event is published on. [`EventTopic`](crate::EventTopic) is
//! generated from the [`Payload`](crate::Payload) enum (`#[derive(EventPayload)]`): each has a
//! stable one-byte id that is also the ring's tag, so a consumer filters without touching
//! the payload.

/// A topic name or id that names no [`EventTopic`](crate::EventTopic).
///
/// ```
/// use ringbus_events::{EventTopic, UnknownTopic};
/// let err = "Quote".parse::<EventTopic>().unwrap_err();
/// assert_eq!(err, UnknownTopic("Quote".to_owned()));
/// assert_eq!(err.to_string(), "unknown event topic `Quote`");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown event topic `{0}`")]
pub struct UnknownTopic(pub String);
