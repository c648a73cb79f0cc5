//! Vector files whose checks reach openmls's internals, run through the known-answer-test
//! runners the vendored openmls exposes behind its `kat` feature (`openmls::kats`): the
//! code that runs is the code Conclave ships, not a copy of it.

use std::path::Path;

use openmls::kats::{
    TreeMathTestVector, check_psk_secret, check_tree_math, leaf_keys, sender_data_key_and_nonce,
};
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

/// `secret-tree.json`: per case, the sender data key and nonce for a ciphertext sample, and
/// each leaf's application and handshake keys and nonces at the listed generations, from
/// openmls's secret tree (`openmls::kats::{sender_data_key_and_nonce, leaf_keys}`).
pub fn check_secret_tree_file(path: &Path, report: &mut FileReport) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct SenderData {
        sender_data_secret: String,
        ciphertext: String,
        key: String,
        nonce: String,
    }
    #[derive(serde::Deserialize)]
    struct Generation {
        generation: u32,
        application_key: String,
        application_nonce: String,
        handshake_key: String,
        handshake_nonce: String,
    }
    #[derive(serde::Deserialize)]
    struct Case {
        cipher_suite: u16,
        encryption_secret: String,
        sender_data: SenderData,
        leaves: Vec<Vec<Generation>>,
    }
    let hex = |name: &str, text: &str| hex::decode(text).map_err(|e| format!("{name}: {e}"));
    let cases: Vec<Case> = read(path)?;
    for (i, case) in cases.iter().enumerate() {
        let suite = match suite(case.cipher_suite) {
            Ok(suite) => suite.to_openmls(),
            Err(reason) => {
                report.skip(reason);
                continue;
            }
        };
        let provider = OpenMlsRustCrypto::default();
        let data = &case.sender_data;
        let result = (|| {
            let (key, nonce) = sender_data_key_and_nonce(
                &provider,
                suite,
                &hex("sender_data_secret", &data.sender_data_secret)?,
                &hex("ciphertext", &data.ciphertext)?,
            )?;
            if key != hex("key", &data.key)? || nonce != hex("nonce", &data.nonce)? {
                return Err("the sender data key or nonce differs".to_owned());
            }
            let secret = hex("encryption_secret", &case.encryption_secret)?;
            let leaves = u32::try_from(case.leaves.len()).map_err(|e| e.to_string())?;
            for (leaf, generations) in (0..leaves).zip(&case.leaves) {
                for g in generations {
                    let [(app_key, app_nonce), (hs_key, hs_nonce)] =
                        leaf_keys(&provider, suite, &secret, leaves, leaf, g.generation)?;
                    let expected = [
                        (&app_key, hex("application_key", &g.application_key)?),
                        (&app_nonce, hex("application_nonce", &g.application_nonce)?),
                        (&hs_key, hex("handshake_key", &g.handshake_key)?),
                        (&hs_nonce, hex("handshake_nonce", &g.handshake_nonce)?),
                    ];
                    if expected.iter().any(|(ours, theirs)| *ours != theirs) {
                        return Err(format!(
                            "leaf {leaf} generation {}: a key or nonce differs",
                            g.generation
                        ));
                    }
                }
            }
            Ok(())
        })();
        report.record(format!("case {i}"), result);
    }
    Ok(())
}
