//! tree-validation.json: parse each tree and verify it (leaf signatures, parent hashes) as
//! openmls does when a member joins; then every node's resolution and tree hash, from
//! openmls's own tree code (`openmls::kats::tree_resolutions_and_hashes`).

use std::path::Path;

use conclave_protocol::Crypto;
use conclave_protocol::MemoryProvider;
use openmls::kats::tree_resolutions_and_hashes;
use openmls::prelude::{GroupId, RatchetTreeIn};
use serde::Deserialize;
use tls_codec::Deserialize as _;

use crate::{FileReport, read, suite};

#[derive(Deserialize)]
struct TreeVector {
    cipher_suite: u16,
    #[serde(with = "hex::serde")]
    tree: Vec<u8>,
    #[serde(with = "hex::serde")]
    group_id: Vec<u8>,
    resolutions: Vec<Vec<u32>>,
    tree_hashes: Vec<String>,
}

/// Checks tree-validation.json: per case, the tree verified through Conclave's crypto (its
/// batched signature check), then the resolutions, then the tree hashes.
pub fn check(path: &Path, report: &mut FileReport) -> Result<(), String> {
    let cases: Vec<TreeVector> = read(path)?;
    let crypto = Crypto::default();
    for (i, case) in cases.iter().enumerate() {
        let suite = match suite(case.cipher_suite) {
            Ok(suite) => suite.to_openmls(),
            Err(reason) => {
                report.skip_many(3, reason);
                continue;
            }
        };
        let verified = RatchetTreeIn::tls_deserialize_exact(&case.tree)
            .map_err(|e| format!("decode: {e}"))
            .and_then(|tree| {
                tree.into_verified(suite, &crypto, &GroupId::from_slice(&case.group_id))
                    .map(drop)
                    .map_err(|e| format!("verify: {e}"))
            });
        report.record(format!("case {i} parse + verify"), verified);
        let nodes = tree_resolutions_and_hashes(
            &MemoryProvider::default(),
            suite,
            &case.tree,
            &case.group_id,
        );
        let (resolutions, hashes) = match nodes {
            Ok(nodes) => {
                let (resolutions, hashes): (Vec<_>, Vec<_>) = nodes.into_iter().unzip();
                (
                    Ok(resolutions),
                    Ok(hashes.into_iter().map(hex::encode).collect()),
                )
            }
            Err(e) => (Err(e.clone()), Err(e)),
        };
        report.record(
            format!("case {i} resolutions"),
            resolutions.and_then(|ours: Vec<Vec<u32>>| {
                same_per_node(&ours, &case.resolutions, "resolution")
            }),
        );
        report.record(
            format!("case {i} tree hashes"),
            hashes
                .and_then(|ours: Vec<String>| same_per_node(&ours, &case.tree_hashes, "tree hash")),
        );
    }
    Ok(())
}

fn same_per_node<T: PartialEq>(ours: &[T], theirs: &[T], what: &str) -> Result<(), String> {
    if ours.len() != theirs.len() {
        return Err(format!(
            "{} nodes, the vector has {}",
            ours.len(),
            theirs.len()
        ));
    }
    match ours.iter().zip(theirs).position(|(a, b)| a != b) {
        Some(node) => Err(format!("node {node}: the {what} differs")),
        None => Ok(()),
    }
}
