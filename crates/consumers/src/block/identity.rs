//! Which stream a store holds, and whether it takes events of another: the one rule of every
//! store (the block stores here and in `ringbus-remote`, and the JetStream stream).

use ringbus_events::StreamIdentity;
use std::fmt;

/// What a store has recorded about the stream it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeldStream {
    /// Nothing committed: the first writer's identity is recorded with its first commit.
    Empty,
    /// Events committed without an identity: by a build from before stores recorded one, or
    /// from a stream of unknown identity (a version 1 event log).
    Unidentified,
    /// Events of this stream.
    Stream(StreamIdentity),
}

impl fmt::Display for HeldStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeldStream::Empty => f.write_str("nothing"),
            HeldStream::Unidentified => f.write_str("events of a stream of unknown identity"),
            HeldStream::Stream(id) => write!(f, "stream {id}"),
        }
    }
}

/// What a store does with events of a stream ([`admit`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The store holds this stream: go on.
    Same,
    /// The store is empty: record this identity with the first commit.
    Record(StreamIdentity),
    /// Neither the store nor the events have an identity (a version 1 log into a store
    /// from before identities): nothing to compare, go on as before.
    Unchecked,
    /// Events of another stream, or whose stream cannot be told apart from another: refuse
    /// them, change nothing ([`ForeignStream`]).
    Refuse,
}

/// Whether a store that holds `held` takes events of the stream `incoming` (`None`:
/// unknown).
///
/// A store that holds a stream takes only that stream's events. An empty store takes any
/// stream and records its identity. A store that holds events without an identity takes
/// only events without one: recording an identity there would vouch for events nobody
/// checked (`docs/decisions/stream-identity.md`).
///
/// ```
/// use ringbus_consumers::{admit, Admission, HeldStream};
/// use ringbus_events::{BlockHash, StreamIdentity};
/// let a = StreamIdentity::new("sim", BlockHash(1), 42, "")?;
/// let b = StreamIdentity::new("sim", BlockHash(2), 43, "")?;
/// assert_eq!(admit(&HeldStream::Empty, Some(&a)), Admission::Record(a.clone()));
/// assert_eq!(admit(&HeldStream::Stream(a.clone()), Some(&a)), Admission::Same);
/// assert_eq!(admit(&HeldStream::Stream(a.clone()), Some(&b)), Admission::Refuse);
/// assert_eq!(admit(&HeldStream::Stream(a.clone()), None), Admission::Refuse);
/// assert_eq!(admit(&HeldStream::Unidentified, Some(&a)), Admission::Refuse);
/// assert_eq!(admit(&HeldStream::Unidentified, None), Admission::Unchecked);
/// # Ok::<(), ringbus_events::IdentityError>(())
/// ```
pub fn admit(held: &HeldStream, incoming: Option<&StreamIdentity>) -> Admission {
    match (held, incoming) {
        (HeldStream::Stream(held), Some(incoming)) if held == incoming => Admission::Same,
        (HeldStream::Stream(_), _) => Admission::Refuse,
        (HeldStream::Empty, Some(incoming)) => Admission::Record(incoming.clone()),
        (HeldStream::Empty | HeldStream::Unidentified, None) => Admission::Unchecked,
        (HeldStream::Unidentified, Some(_)) => Admission::Refuse,
    }
}

/// Events of one stream offered to a store that holds another (or that cannot tell): refused,
/// and nothing of them written.
///
/// ```
/// use ringbus_consumers::{ForeignStream, HeldStream};
/// use ringbus_events::{BlockHash, StreamIdentity};
/// let held = StreamIdentity::new("sim", BlockHash(1), 42, "blocks=9")?;
/// let incoming = StreamIdentity::new("sim", BlockHash(2), 43, "blocks=9")?;
/// let e = ForeignStream { store: "SQLite store a.db".into(), held: HeldStream::Stream(held), incoming: Some(incoming) };
/// assert_eq!(
///     e.to_string(),
///     "SQLite store a.db holds stream chain=sim genesis=0000000000000001 seed=42 blocks=9; \
///      refused events of another stream, chain=sim genesis=0000000000000002 seed=43 blocks=9 \
///      (nothing was written)"
/// );
/// # Ok::<(), ringbus_events::IdentityError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{store} holds {held}; refused events of {} (nothing was written){}",
    incoming_text(incoming),
    hint(held, incoming)
)]
pub struct ForeignStream {
    /// The store: its kind and where it is (a file, a redacted URL, a stream name).
    pub store: String,
    /// What the store holds.
    pub held: HeldStream,
    /// The stream of the refused events (`None`: unknown).
    pub incoming: Option<StreamIdentity>,
}

fn incoming_text(incoming: &Option<StreamIdentity>) -> String {
    match incoming {
        Some(id) => format!("another stream, {id}"),
        None => "a stream of unknown identity (an event log of format version 1?)".into(),
    }
}

fn hint(held: &HeldStream, incoming: &Option<StreamIdentity>) -> &'static str {
    match (held, incoming) {
        (HeldStream::Unidentified, Some(_)) => {
            "; the store's events were written without a stream identity, so nothing shows \
             they belong to this stream: rebuild it from its own event log into a fresh store"
        }
        _ => "",
    }
}
