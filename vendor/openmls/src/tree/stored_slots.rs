//! CONCLAVE PATCH 9: how a stored secret tree spells its mostly empty slots.
//!
//! A group's message secrets go to storage after every message sent or received. They hold
//! the secret tree's nodes (2N - 1 slots) and two sender ratchets per member (2N slots), and
//! nearly all of those slots are empty: a node is filled only on the way to a leaf that has
//! sent or received, a ratchet only once its member has. Written slot by slot, every message
//! cost O(N) serializer calls, most of them for nothing. A slot vector is now stored as its
//! length and the filled slots with their indexes.
//!
//! Vectors stored slot by slot (by openmls as published, or before this patch) still load:
//! the old form is a sequence, the new one a map.
//!
//! CONCLAVE PATCH 15: the slots are held that way in memory too ([`Slots`]). Finding the filled
//! slots of a vector of 4N mostly empty ones, to store them after every message, was a quarter
//! of a message's cost at 5,000 members; now the filled ones are all there is, and a new
//! epoch's secret tree allocates nothing per member.

use std::{collections::BTreeMap, fmt, marker::PhantomData};

use serde::{de, ser::SerializeStruct, Deserialize, Deserializer, Serialize, Serializer};

/// The most slots a stored vector may claim: beyond any group this library can hold in
/// memory, so a corrupt length is an error, not an allocation failure.
const MAX_SLOTS: usize = 1 << 22;

/// `len` slots, each empty or holding a `T`; only the filled ones take memory.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Slots<T> {
    len: usize,
    filled: BTreeMap<usize, T>,
}

/// An index at or beyond the number of slots.
#[derive(Debug)]
pub(crate) struct OutOfBounds;

impl<T> Slots<T> {
    /// `len` empty slots.
    pub(crate) fn empty(len: usize) -> Self {
        Self {
            len,
            filled: BTreeMap::new(),
        }
    }

    /// Slot `index`: `None` if there is no such slot, `Some(None)` if it is empty.
    pub(crate) fn get(&self, index: usize) -> Option<Option<&T>> {
        (index < self.len).then(|| self.filled.get(&index))
    }

    /// Slot `index`, to change its content in place; as [`Slots::get`].
    pub(crate) fn get_mut(&mut self, index: usize) -> Option<Option<&mut T>> {
        (index < self.len).then(|| self.filled.get_mut(&index))
    }

    /// Fills slot `index` with `value`, or empties it.
    pub(crate) fn set(&mut self, index: usize, value: Option<T>) -> Result<(), OutOfBounds> {
        if index >= self.len {
            return Err(OutOfBounds);
        }
        match value {
            Some(value) => self.filled.insert(index, value),
            None => self.filled.remove(&index),
        };
        Ok(())
    }
}

/// Stored as the number of slots and the filled ones, as `(index, value)` pairs in index
/// order.
impl<T: Serialize> Serialize for Slots<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut stored = serializer.serialize_struct("StoredSlots", 2)?;
        stored.serialize_field("len", &self.len)?;
        stored.serialize_field("filled", &Filled(&self.filled))?;
        stored.end()
    }
}

/// Reads that form, or the one of openmls as published: one entry per slot.
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Slots<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SlotsVisitor(PhantomData))
    }
}

struct Filled<'a, T>(&'a BTreeMap<usize, T>);

impl<T: Serialize> Serialize for Filled<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter())
    }
}

struct SlotsVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> de::Visitor<'de> for SlotsVisitor<T> {
    type Value = Slots<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("slots: a length and the filled ones, or one entry per slot")
    }

    /// The form before patch 9: one entry per slot.
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut slots = Slots::empty(0);
        while let Some(slot) = seq.next_element::<Option<T>>()? {
            if slots.len == MAX_SLOTS {
                return Err(de::Error::invalid_length(
                    slots.len + 1,
                    &"at most 2^22 slots",
                ));
            }
            if let Some(value) = slot {
                slots.filled.insert(slots.len, value);
            }
            slots.len += 1;
        }
        Ok(slots)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut len: Option<usize> = None;
        let mut filled: Option<Vec<(usize, T)>> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "len" => len = Some(map.next_value()?),
                "filled" => filled = Some(map.next_value()?),
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let len = len.ok_or_else(|| de::Error::missing_field("len"))?;
        if len > MAX_SLOTS {
            return Err(de::Error::invalid_length(len, &"at most 2^22 slots"));
        }
        let mut slots = Slots::empty(len);
        for (index, value) in filled.ok_or_else(|| de::Error::missing_field("filled"))? {
            slots.set(index, Some(value)).map_err(|OutOfBounds| {
                de::Error::invalid_value(
                    de::Unexpected::Unsigned(index as u64),
                    &"an index below len",
                )
            })?;
        }
        Ok(slots)
    }
}
