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

use std::{fmt, marker::PhantomData};

use serde::{de, ser::SerializeStruct, Deserialize, Deserializer, Serialize, Serializer};

/// The most slots a stored vector may claim: beyond any group this library can hold in
/// memory, so a corrupt length is an error, not an allocation failure.
const MAX_SLOTS: usize = 1 << 22;

/// `#[serde(with = ...)]` for a `Vec<Option<T>>`; see the module docs.
pub(crate) fn serialize<T: Serialize, S: Serializer>(
    slots: &[Option<T>],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut stored = serializer.serialize_struct("StoredSlots", 2)?;
    stored.serialize_field("len", &slots.len())?;
    stored.serialize_field("filled", &Filled(slots))?;
    stored.end()
}

/// See [`serialize`].
pub(crate) fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Option<T>>, D::Error> {
    deserializer.deserialize_any(SlotsVisitor(PhantomData))
}

/// The filled slots, as `(index, value)` pairs in index order.
struct Filled<'a, T>(&'a [Option<T>]);

impl<T: Serialize> Serialize for Filled<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // One pass over the slots (they are large and mostly empty), not one to count the
        // filled ones and another to write them.
        let filled: Vec<(usize, &T)> = self
            .0
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| slot.as_ref().map(|value| (index, value)))
            .collect();
        serializer.collect_seq(filled)
    }
}

struct SlotsVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> de::Visitor<'de> for SlotsVisitor<T> {
    type Value = Vec<Option<T>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("slots: a length and the filled ones, or one entry per slot")
    }

    /// The form before this patch: one entry per slot.
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut slots = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_SLOTS));
        while let Some(slot) = seq.next_element()? {
            slots.push(slot);
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
        let mut slots: Vec<Option<T>> = (0..len).map(|_| None).collect();
        for (index, value) in filled.ok_or_else(|| de::Error::missing_field("filled"))? {
            let slot = slots.get_mut(index).ok_or_else(|| {
                de::Error::invalid_value(
                    de::Unexpected::Unsigned(index as u64),
                    &"an index below len",
                )
            })?;
            *slot = Some(value);
        }
        Ok(slots)
    }
}
