//! A short inline list of parties: a heap-free `Vec<PartyId>` for payloads such as
//! [`Distressed`](crate::Distressed). Longer lists are split over several events.

use crate::PartyId;
use serde::de::{Error as _, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Up to [`PartyList::CAPACITY`] parties stored inline. Serialized as a plain sequence.
///
/// ```
/// use ringbus_events::{PartyId, PartyList};
/// let parties: Vec<PartyId> = (0..10).map(PartyId).collect();
/// let lists: Vec<PartyList> = PartyList::chunks(&parties).collect();
/// assert_eq!(lists.len(), 2);
/// assert_eq!(lists[1].as_slice(), &[PartyId(8), PartyId(9)]);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PartyList {
    // Invariant: `len <= CAPACITY` and `parties[len..]` are all default, so the derived
    // equality and hash only see the listed parties.
    len: u8,
    parties: [PartyId; PartyList::CAPACITY],
}

/// The list already holds [`PartyList::CAPACITY`] parties.
///
/// ```
/// use ringbus_events::{PartyId, PartyList, PartyListFull};
/// let mut list = PartyList::new();
/// for i in 0..PartyList::CAPACITY as u32 { list.push(PartyId(i)).unwrap(); }
/// assert_eq!(list.push(PartyId(99)), Err(PartyListFull));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a party list holds at most {} parties", PartyList::CAPACITY)]
pub struct PartyListFull;

impl PartyList {
    /// How many parties fit in one list.
    ///
    /// ```
    /// assert_eq!(ringbus_events::PartyList::CAPACITY, 8);
    /// ```
    pub const CAPACITY: usize = 8;

    /// An empty list.
    ///
    /// ```
    /// assert!(ringbus_events::PartyList::new().is_empty());
    /// ```
    pub const fn new() -> Self {
        PartyList {
            len: 0,
            parties: [PartyId(0); PartyList::CAPACITY],
        }
    }

    /// Appends a party.
    ///
    /// ```
    /// use ringbus_events::{PartyId, PartyList};
    /// let mut l = PartyList::new();
    /// l.push(PartyId(5)).unwrap();
    /// assert_eq!(l.len(), 1);
    /// ```
    pub fn push(&mut self, party: PartyId) -> Result<(), PartyListFull> {
        let slot = self
            .parties
            .get_mut(usize::from(self.len))
            .ok_or(PartyListFull)?;
        *slot = party;
        self.len += 1;
        Ok(())
    }

    /// The list holding `parties`, if they fit.
    ///
    /// ```
    /// use ringbus_events::{PartyId, PartyList};
    /// assert!(PartyList::from_slice(&[PartyId(1)]).is_ok());
    /// assert!(PartyList::from_slice(&[PartyId(1); 9]).is_err());
    /// ```
    pub fn from_slice(parties: &[PartyId]) -> Result<Self, PartyListFull> {
        let mut list = PartyList::new();
        for p in parties {
            list.push(*p)?;
        }
        Ok(list)
    }

    /// Splits `parties` into as many lists as it takes (none for an empty slice).
    ///
    /// ```
    /// use ringbus_events::{PartyId, PartyList};
    /// assert_eq!(PartyList::chunks(&[PartyId(1); 17]).count(), 3);
    /// ```
    pub fn chunks(parties: &[PartyId]) -> impl Iterator<Item = PartyList> + '_ {
        parties.chunks(Self::CAPACITY).map(|chunk| {
            let mut list = PartyList::new();
            list.parties[..chunk.len()].copy_from_slice(chunk);
            list.len = chunk.len() as u8; // chunk.len() <= CAPACITY = 8
            list
        })
    }

    /// The listed parties.
    ///
    /// ```
    /// use ringbus_events::{PartyId, PartyList};
    /// assert_eq!(PartyList::from_slice(&[PartyId(2)]).unwrap().as_slice(), &[PartyId(2)]);
    /// ```
    pub fn as_slice(&self) -> &[PartyId] {
        &self.parties[..usize::from(self.len)]
    }

    /// How many parties are listed.
    ///
    /// ```
    /// assert_eq!(ringbus_events::PartyList::new().len(), 0);
    /// ```
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the list is empty.
    ///
    /// ```
    /// assert!(ringbus_events::PartyList::default().is_empty());
    /// ```
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for PartyList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl Serialize for PartyList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for p in self.as_slice() {
            seq.serialize_element(p)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for PartyList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = PartyList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a sequence of at most {} party ids", PartyList::CAPACITY)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PartyList, A::Error> {
                let mut list = PartyList::new();
                while let Some(p) = seq.next_element::<PartyId>()? {
                    list.push(p).map_err(A::Error::custom)?;
                }
                Ok(list)
            }
        }
        deserializer.deserialize_seq(ListVisitor)
    }
}
