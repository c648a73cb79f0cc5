//! Vector files whose checks reach openmls's internals, run through the known-answer-test
//! runners the vendored openmls exposes behind its `kat` feature (`openmls::kats`): the
//! code that runs is the code Conclave ships, not a copy of it.

use std::path::Path;

use openmls::kats::{TreeMathTestVector, check_psk_secret, check_tree_math};
use openmls_rust_crypto::OpenMlsRustCrypto;

use crate::{FileReport, read, suite};

/// `tree-math.json`: one case per tree size (root, and every node's left and right child,
/// parent and sibling).
pub fn check_tree_math_file(path: &Path, report: &mut FileReport) -> Result<(), String> {
    let cases: Vec<TreeMathTestVector> = read(path)?;
    for (i, case) in cases.into_iter().enumerate() {
        report.record(
            format!("case {i}"),
            check_tree_math(case).map_err(|e| format!("{e:?}")),
        );
    }
    Ok(())
}

/// `psk_secret.json`: per case, external PSKs (id, value, nonce) and the PSK secret they
/// make, derived by openmls's own key schedule code (`openmls::kats::check_psk_secret`).
pub fn check_psk_secret_file(path: &Path, report: &mut FileReport) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct Psk {
        psk_id: String,
        psk: String,
        psk_nonce: String,
    }
    #[derive(serde::Deserialize)]
    struct Case {
        cipher_suite: u16,
        psks: Vec<Psk>,
        psk_secret: String,
    }
    let hex = |name: &str, text: &str| hex::decode(text).map_err(|e| format!("{name}: {e}"));
    let cases: Vec<Case> = read(path)?;
    for (i, case) in cases.iter().enumerate() {
        let suite = match suite(case.cipher_suite) {
            Ok(suite) => suite,
            Err(reason) => {
                report.skip(reason);
                continue;
            }
        };
        let result = (|| {
            let psks = case
                .psks
                .iter()
                .map(|p| {
                    Ok((
                        hex("psk_id", &p.psk_id)?,
                        hex("psk", &p.psk)?,
                        hex("psk_nonce", &p.psk_nonce)?,
                    ))
                })
                .collect::<Result<Vec<_>, String>>()?;
            let expected = hex("psk_secret", &case.psk_secret)?;
            check_psk_secret(
                &OpenMlsRustCrypto::default(),
                suite.to_openmls(),
                &psks,
                &expected,
            )
        })();
        report.record(format!("case {i}"), result);
    }
    Ok(())
}
