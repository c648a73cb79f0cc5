//! How openmls's state is encoded in the database.
//!
//! openmls hands its storage provider serde values. The codec must be self-describing:
//! `MlsGroup::load` deserializes through `deserialize_any` paths, so postcard and other
//! schema-less formats fail. We use MessagePack (rmp-serde) with named struct fields:
//! - smaller and faster than JSON (byte strings are not spelled out as decimal arrays; measured
//!   ~3.4x smaller on these machines),
//! - tolerant of openmls adding or reordering struct fields, since fields are matched by name.
//!
//! The workspace's openmls stores ratchet-tree nodes as their TLS encoding (its patch 8), which
//! MessagePack writes as one byte string per node, only the filled slots of the secret tree
//! (patch 9), and secrets and the tree hash as byte strings (patches 11 and 12, which also keep a
//! stored tree the same size from epoch to epoch); state written before those patches
//! (field by field, slot by slot, byte by byte) still loads.
//!
//! Stored values are written with rmp-serde's `BytesMode::ForceIterables`: a `Vec<u8>` that
//! openmls's types serialize as a sequence (tls_codec's `VLBytes`: public keys, signatures,
//! hash references) becomes one byte string instead of one integer per byte (two for bytes
//! of 128 and up). A key package bundle shrinks from 1,030 to 885 bytes, under the ~1,000
//! bytes SQLite keeps in a b-tree page, so it no longer spills to an overflow page that a
//! join then frees and zeroes. Keys keep the plain form ([`Codec::to_vec`]): rows are found
//! by their keys' exact bytes, and existing profiles' keys were written that way. Reading
//! needs no switch: rmp-serde reads a byte string wherever a sequence of bytes is expected,
//! so values written in either form load, and no migration is needed.
//!
//! The codec in use is recorded in the `conclave_meta` table (key `mls_codec`). A future change
//! adds a migration that reads every row of openmls's tables with the old codec and rewrites it
//! with the new one, in one transaction, then updates that key; `Store::open` refuses a codec it
//! does not know instead of misreading it.

use openmls_sqlite_storage::Codec;
use serde::{Serialize, de::DeserializeOwned};

/// The name recorded in `conclave_meta` for [`MlsCodec`].
pub const MLS_CODEC_NAME: &str = "msgpack-named-v1";

/// MessagePack with named fields, byte sequences in stored values as byte strings; see the
/// module docs.
#[derive(Debug, Default, Clone, Copy)]
pub struct MlsCodec;

/// A codec failure.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Encoding failed.
    #[error("encode: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    /// Decoding failed.
    #[error("decode: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
}

impl Codec for MlsCodec {
    type Error = CodecError;

    fn to_vec<T: Serialize>(value: &T) -> Result<Vec<u8>, Self::Error> {
        Ok(rmp_serde::to_vec_named(value)?)
    }

    fn from_slice<T: DeserializeOwned>(slice: &[u8]) -> Result<T, Self::Error> {
        Ok(rmp_serde::from_slice(slice)?)
    }

    fn entity_to_vec<T: Serialize>(value: &T) -> Result<Vec<u8>, Self::Error> {
        let mut bytes = Vec::new();
        value.serialize(
            &mut rmp_serde::Serializer::new(&mut bytes)
                .with_struct_map()
                .with_bytes(rmp_serde::config::BytesMode::ForceIterables),
        )?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shaped like openmls's stored types: byte vectors, alone and nested, beside other fields.
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Stored {
        public_key: Vec<u8>,
        epoch: u64,
        signatures: Vec<Vec<u8>>,
        empty: Vec<u8>,
    }

    fn sample() -> Stored {
        Stored {
            public_key: (0..=255).collect(),
            epoch: 7,
            signatures: vec![vec![0x80; 64], vec![1, 2, 3]],
            empty: Vec::new(),
        }
    }

    #[test]
    fn values_are_written_with_byte_strings_and_read_back() {
        let value = sample();
        let compact = MlsCodec::entity_to_vec(&value).unwrap();
        let plain = MlsCodec::to_vec(&value).unwrap();
        // 256 + 64 + 3 bytes of byte strings: one byte each instead of 1.5 on average.
        assert!(
            compact.len() + 150 < plain.len(),
            "{} bytes against {}",
            compact.len(),
            plain.len()
        );
        assert_eq!(MlsCodec::from_slice::<Stored>(&compact).unwrap(), value);
    }

    #[test]
    fn values_written_before_byte_strings_still_load() {
        // What every build before this form wrote, and what keys still are.
        let plain = rmp_serde::to_vec_named(&sample()).unwrap();
        assert_eq!(MlsCodec::from_slice::<Stored>(&plain).unwrap(), sample());
    }

    #[test]
    fn keys_keep_the_form_existing_rows_were_found_by() {
        let key = vec![0x80u8, 1, 2];
        assert_eq!(
            MlsCodec::to_vec(&key).unwrap(),
            rmp_serde::to_vec_named(&key).unwrap()
        );
        // An array of three integers, not a byte string.
        assert_eq!(MlsCodec::to_vec(&key).unwrap()[0], 0x93);
    }
}
