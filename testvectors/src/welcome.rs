//! welcome.json: decrypt a Welcome with the vector's init key and check the GroupInfo's
//! signature, as far as openmls's public API reaches.

use std::path::Path;

use conclave_protocol::MemoryProvider;
use openmls::prelude::{MlsGroupJoinConfig, MlsMessageBodyIn, MlsMessageIn, ProcessedWelcome};
use serde::Deserialize;
use tls_codec::{Deserialize as _, Serialize as _, VLBytes};

use crate::{FileReport, crypto, internals, read, suite};

#[derive(Deserialize)]
struct WelcomeVector {
    cipher_suite: u16,
    #[serde(with = "hex::serde")]
    init_priv: Vec<u8>,
    #[serde(with = "hex::serde")]
    key_package: Vec<u8>,
    #[serde(with = "hex::serde")]
    signer_pub: Vec<u8>,
    #[serde(with = "hex::serde")]
    welcome: Vec<u8>,
}

/// Checks welcome.json.
pub fn check(path: &Path, report: &mut FileReport) -> Result<(), String> {
    let cases: Vec<WelcomeVector> = read(path)?;
    for (i, case) in cases.iter().enumerate() {
        match suite(case.cipher_suite) {
            Ok(_) => {
                report.record(format!("case {i}"), run(case));
                report.skip("confirmation tag: openmls verifies it only together with the tree");
            }
            Err(reason) => report.skip_many(2, reason),
        }
    }
    Ok(())
}

fn run(case: &WelcomeVector) -> Result<(), String> {
    let suite = suite(case.cipher_suite)?.to_openmls();
    let provider = MemoryProvider::default();
    // The leaf key is not needed to decrypt the Welcome; a placeholder fills the bundle.
    internals::import_key_package(
        &provider,
        suite,
        &case.key_package,
        &case.init_priv,
        &[0; 32],
    )?;
    let message = MlsMessageIn::tls_deserialize_exact(&case.welcome).map_err(|e| e.to_string())?;
    let MlsMessageBodyIn::Welcome(welcome) = message.extract() else {
        return Err("not a welcome".into());
    };
    let processed =
        ProcessedWelcome::new_from_welcome(&provider, &MlsGroupJoinConfig::default(), welcome)
            .map_err(|e| format!("decrypting the welcome: {e}"))?;
    let group_info = processed
        .unverified_group_info()
        .tls_serialize_detached()
        .map_err(|e| e.to_string())?;
    verify_group_info(&provider, suite, &group_info, &case.signer_pub)
}

/// GroupInfo is `GroupInfoTBS || signature<V>`. openmls does not expose the split, so every
/// position where a variable-length field ends exactly at the end is tried; a wrong split
/// cannot carry a valid signature.
fn verify_group_info(
    provider: &MemoryProvider,
    suite: openmls_traits::types::Ciphersuite,
    group_info: &[u8],
    signer: &[u8],
) -> Result<(), String> {
    use openmls_traits::OpenMlsProvider;
    let crypto = provider.crypto();
    let min = group_info.len().saturating_sub(300);
    for split in (min..group_info.len()).rev() {
        let Ok(signature) = VLBytes::tls_deserialize_exact(&group_info[split..]) else {
            continue;
        };
        let tbs = &group_info[..split];
        if crypto::verify_with_label(
            crypto,
            suite,
            signer,
            "GroupInfoTBS",
            tbs,
            signature.as_slice(),
        )
        .is_ok()
        {
            return Ok(());
        }
    }
    Err("GroupInfo signature does not verify with signer_pub".into())
}
