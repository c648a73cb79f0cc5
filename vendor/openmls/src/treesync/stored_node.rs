//! CONCLAVE PATCH 8: how a stored tree spells its nodes.
//!
//! openmls hands its whole ratchet tree to the storage provider after every merged commit,
//! and serde spelled each node out field by field: one serializer call per byte of every
//! key, signature and credential. At 1,000 members that was half of the time it took to
//! process a commit (JSON and MessagePack alike). A node is now stored as its TLS encoding
//! (RFC 9420's own, the bytes it travels in), one byte string per node: a codec with a
//! byte-string type (MessagePack) copies it, JSON spells it as a number array as before.
//!
//! Trees stored field by field (by openmls as published, or before this patch) still load:
//! a node is read from a byte string, a number array or a map of its fields, whichever the
//! codec finds. Nodes are only stored by the holder of the tree, after validating them, so
//! decoding the TLS bytes again cannot fail on data this library wrote.

use std::{fmt, marker::PhantomData};

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// A tree node that is stored as its TLS encoding.
pub(crate) trait StoredAsTls: Sized + tls_codec::Serialize + de::DeserializeOwned {
    /// Decodes the node from its TLS encoding, as written by [`option::serialize`].
    fn from_tls(bytes: &[u8]) -> Result<Self, tls_codec::Error>;
}

/// `#[serde(with = ...)]` for an `Option` of a node (blank nodes are `None`).
pub(crate) mod option {
    use super::*;

    pub(crate) fn serialize<T: StoredAsTls, S: Serializer>(
        node: &Option<T>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match node {
            None => serializer.serialize_none(),
            Some(node) => serializer.serialize_some(&AsTls(node)),
        }
    }

    pub(crate) fn deserialize<'de, T: StoredAsTls, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<T>, D::Error> {
        Ok(Option::<FromStored<T>>::deserialize(deserializer)?.map(|node| node.0))
    }
}

struct AsTls<'a, T>(&'a T);

impl<T: StoredAsTls> Serialize for AsTls<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes = self
            .0
            .tls_serialize_detached()
            .map_err(serde::ser::Error::custom)?;
        serializer.serialize_bytes(&bytes)
    }
}

struct FromStored<T>(T);

impl<'de, T: StoredAsTls> Deserialize<'de> for FromStored<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(StoredVisitor(PhantomData))
            .map(FromStored)
    }
}

struct StoredVisitor<T>(PhantomData<T>);

impl<'de, T: StoredAsTls> de::Visitor<'de> for StoredVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tree node: its TLS encoding, or its fields")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<T, E> {
        T::from_tls(bytes).map_err(E::custom)
    }

    /// JSON spells byte strings as number arrays.
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        self.visit_bytes(&bytes)
    }

    /// A node stored field by field, before this patch.
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map))
    }
}
