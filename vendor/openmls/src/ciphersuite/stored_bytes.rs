//! CONCLAVE PATCH 11: secrets and other byte strings stored as byte strings.
//!
//! serde writes a `Vec<u8>` (and tls_codec's `VLBytes`, a struct around one) as a sequence:
//! one serializer call per byte, and in MessagePack one integer per byte. A group writes its
//! message secrets (a secret per filled tree slot and ratchet, and the serialized group
//! context) to storage after every message it sends or receives, so that spelling was a large
//! part of a message's cost. These fields are now one byte string each: MessagePack copies it,
//! JSON still writes a number array.
//!
//! Reading accepts a byte string, a sequence of numbers, or the old `{"vec": ...}` map of a
//! `VLBytes`, so state stored by openmls as published (or before this patch) still loads.

use std::fmt;

use serde::{de, Deserializer, Serializer};
use tls_codec::SecretVLBytes;

/// `#[serde(with = ...)]` for a `Vec<u8>`; see the module docs.
pub(crate) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bytes(bytes)
}

/// See [`serialize`].
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    deserializer.deserialize_any(BytesVisitor)
}

/// `#[serde(with = ...)]` for a [`SecretVLBytes`]; see the module docs.
pub(crate) mod secret {
    use super::*;

    /// See the module docs.
    pub(crate) fn serialize<S: Serializer>(
        bytes: &SecretVLBytes,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes.as_slice())
    }

    /// See the module docs.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<SecretVLBytes, D::Error> {
        // The vector moves into the zeroizing wrapper without a copy.
        super::deserialize(deserializer).map(SecretVLBytes::new)
    }
}

/// Bytes in any of the forms the module docs list.
struct BytesVisitor;

/// The value of the old form's `vec` field.
struct AnyBytes(Vec<u8>);

impl<'de> de::Deserialize<'de> for AnyBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BytesVisitor).map(AnyBytes)
    }
}

impl<'de> de::Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte string")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Self::Value, E> {
        Ok(bytes.to_vec())
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<Self::Value, E> {
        Ok(bytes)
    }

    /// The form before this patch, and JSON's form of a byte string.
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // A size hint comes from the input; it only sizes the first allocation.
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Ok(bytes)
    }

    /// The form of a `VLBytes` before this patch: `{"vec": [...]}`.
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut vec = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "vec" {
                vec = Some(map.next_value::<AnyBytes>()?.0);
            } else {
                map.next_value::<de::IgnoredAny>()?;
            }
        }
        vec.ok_or_else(|| de::Error::missing_field("vec"))
    }
}
