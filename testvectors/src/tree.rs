//! tree-validation.json: parse each tree and verify it (leaf signatures, parent hashes) as
//! openmls does when a member joins; tree hashes and resolutions are private to openmls.

use std::path::Path;

use conclave_protocol::Crypto;
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
}

/// Checks tree-validation.json.
pub fn check(path: &Path, report: &mut FileReport) -> Result<(), String> {
    let cases: Vec<TreeVector> = read(path)?;
    let crypto = Crypto::default();
    for (i, case) in cases.iter().enumerate() {
        match suite(case.cipher_suite) {
            Ok(suite) => {
                let result = RatchetTreeIn::tls_deserialize_exact(&case.tree)
                    .map_err(|e| format!("decode: {e}"))
                    .and_then(|tree| {
                        tree.into_verified(
                            suite.to_openmls(),
                            &crypto,
                            &GroupId::from_slice(&case.group_id),
                        )
                        .map(drop)
                        .map_err(|e| format!("verify: {e}"))
                    });
                report.record(format!("case {i} parse + verify"), result);
                report.skip_many(2, "tree hashes and resolutions are private to openmls");
            }
            Err(reason) => report.skip_many(3, reason),
        }
    }
    Ok(())
}
