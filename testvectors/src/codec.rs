//! messages.json and deserialization.json: every structure decodes and re-encodes byte for
//! byte through openmls's codec (its public types, or `openmls::kats::round_trip` for the
//! crate-private ones); variable-length headers decode to their lengths.

use std::path::Path;

use openmls::kats::{CodecStructure, round_trip as round_trip_private};
use openmls::prelude::{
    AddProposalIn, ExternalInitProposal, GroupContextExtensionProposalIn, MlsMessageIn,
    PreSharedKeyProposal, RatchetTreeIn, ReInitProposal, RemoveProposal, UpdateProposalIn,
};
use serde_json::Value;
use tls_codec::{Deserialize as _, Serialize as _, Size, VLBytes};

use crate::{FileReport, read};

/// Decodes `bytes` as `T` (all of it) and encodes it again: the bytes must be identical.
pub fn round_trip<T: tls_codec::Deserialize + tls_codec::Serialize + Size>(
    bytes: &[u8],
) -> Result<(), String> {
    let value = T::tls_deserialize_exact(bytes).map_err(|e| format!("decode: {e}"))?;
    let again = value
        .tls_serialize_detached()
        .map_err(|e| format!("encode: {e}"))?;
    if again != bytes {
        return Err(format!(
            "re-encoding differs ({} bytes, expected {})",
            again.len(),
            bytes.len()
        ));
    }
    Ok(())
}

type Check = fn(&[u8]) -> Result<(), String>;

/// Structures of messages.json and how each is checked.
const STRUCTURES: &[(&str, Check)] = &[
    ("mls_welcome", round_trip::<MlsMessageIn>),
    ("mls_group_info", round_trip::<MlsMessageIn>),
    ("mls_key_package", round_trip::<MlsMessageIn>),
    ("ratchet_tree", round_trip::<RatchetTreeIn>),
    ("add_proposal", round_trip::<AddProposalIn>),
    ("update_proposal", round_trip::<UpdateProposalIn>),
    ("remove_proposal", round_trip::<RemoveProposal>),
    (
        "pre_shared_key_proposal",
        round_trip::<PreSharedKeyProposal>,
    ),
    ("external_init_proposal", round_trip::<ExternalInitProposal>),
    (
        "group_context_extensions_proposal",
        round_trip::<GroupContextExtensionProposalIn>,
    ),
    ("public_message_application", round_trip::<MlsMessageIn>),
    ("public_message_proposal", round_trip::<MlsMessageIn>),
    ("public_message_commit", round_trip::<MlsMessageIn>),
    ("private_message", round_trip::<MlsMessageIn>),
];

/// Structures openmls's public API does not decode, round-tripped through its codec by
/// `openmls::kats::round_trip`.
const PRIVATE: &[(&str, CodecStructure)] = &[
    ("group_secrets", CodecStructure::GroupSecrets),
    ("commit", CodecStructure::Commit),
];

/// Checks messages.json.
pub fn check_messages(path: &Path, report: &mut FileReport) -> Result<(), String> {
    let cases: Vec<Value> = read(path)?;
    for (i, case) in cases.iter().enumerate() {
        for (name, check) in STRUCTURES {
            let result = hex_field(case, name).and_then(|b| check(&b));
            report.record(format!("case {i} {name}"), result);
        }
        for (name, structure) in PRIVATE {
            let result = hex_field(case, name).and_then(|b| round_trip_private(*structure, &b));
            report.record(format!("case {i} {name}"), result);
        }
        // openmls's ReInitProposal refuses extensions a group context may not carry, and the
        // generator puts a ratchet_tree extension in some; a ReInit it decodes must
        // round-trip, and every one must round-trip field by field.
        let result = hex_field(case, "re_init_proposal").and_then(|b| {
            if ReInitProposal::tls_deserialize_exact(&b).is_ok() {
                round_trip::<ReInitProposal>(&b)?;
            }
            round_trip_private(CodecStructure::ReInitFields, &b)
        });
        report.record(format!("case {i} re_init_proposal"), result);
    }
    Ok(())
}

fn hex_field(case: &Value, name: &str) -> Result<Vec<u8>, String> {
    let text = case
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{name} missing"))?;
    hex::decode(text).map_err(|e| format!("{name}: {e}"))
}

/// Checks deserialization.json: each variable-length header decodes to its length (with a
/// body of that many bytes after it) and is the canonical encoding of that length.
pub fn check_deserialization(path: &Path, report: &mut FileReport) -> Result<(), String> {
    let cases: Vec<Value> = read(path)?;
    for (i, case) in cases.iter().enumerate() {
        let result = (|| {
            let header = hex_field(case, "vlbytes_header")?;
            let length = case
                .get("length")
                .and_then(Value::as_u64)
                .ok_or("length missing")? as usize;
            let mut encoded = header.clone();
            encoded.resize(header.len() + length, 0xa5);
            let decoded =
                VLBytes::tls_deserialize_exact(&encoded).map_err(|e| format!("decode: {e}"))?;
            if decoded.as_slice().len() != length {
                return Err(format!(
                    "decoded {} bytes, expected {length}",
                    decoded.as_slice().len()
                ));
            }
            let again = decoded
                .tls_serialize_detached()
                .map_err(|e| e.to_string())?;
            if again[..header.len()] != header[..] {
                return Err("header is not re-encoded identically".into());
            }
            Ok(())
        })();
        report.record(format!("case {i}"), result);
    }
    Ok(())
}
