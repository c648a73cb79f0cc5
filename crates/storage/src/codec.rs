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
//! The codec in use is recorded in the `conclave_meta` table (key `mls_codec`). A future change
//! adds a migration that reads every row of openmls's tables with the old codec and rewrites it
//! with the new one, in one transaction, then updates that key; `Store::open` refuses a codec it
//! does not know instead of misreading it.

use openmls_sqlite_storage::Codec;
use serde::{Serialize, de::DeserializeOwned};

/// The name recorded in `conclave_meta` for [`MlsCodec`].
pub const MLS_CODEC_NAME: &str = "msgpack-named-v1";

/// MessagePack with named fields; see the module docs.
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
}
