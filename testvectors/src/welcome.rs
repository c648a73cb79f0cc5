//! welcome.json: decrypt a Welcome with the vector's init key, then check the GroupInfo's
//! signature and confirmation tag.

use std::path::Path;

use conclave_protocol::MemoryProvider;
use openmls::kats::check_welcome_group_info;
use openmls::prelude::{MlsGroupJoinConfig, MlsMessageBodyIn, MlsMessageIn, ProcessedWelcome};
use serde::Deserialize;
use tls_codec::Deserialize as _;

use crate::{FileReport, internals, read, suite};

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

/// Checks welcome.json: per case, the Welcome decrypted with the vector's init key through
/// openmls's public API; then its GroupInfo's signature and confirmation tag
/// (`openmls::kats::check_welcome_group_info`).
pub fn check(path: &Path, report: &mut FileReport) -> Result<(), String> {
    let cases: Vec<WelcomeVector> = read(path)?;
    for (i, case) in cases.iter().enumerate() {
        let suite = match suite(case.cipher_suite) {
            Ok(suite) => suite.to_openmls(),
            Err(reason) => {
                report.skip_many(2, reason);
                continue;
            }
        };
        let provider = MemoryProvider::default();
        match decrypt(&provider, suite, case) {
            Ok(welcome) => {
                report.record(format!("case {i} decrypt"), Ok(()));
                report.record(
                    format!("case {i} group info"),
                    check_welcome_group_info(&provider, suite, &welcome, &case.signer_pub),
                );
            }
            Err(e) => {
                report.record(format!("case {i} decrypt"), Err(e));
                report.skip("the Welcome did not decrypt");
            }
        }
    }
    Ok(())
}

fn decrypt(
    provider: &MemoryProvider,
    suite: openmls_traits::types::Ciphersuite,
    case: &WelcomeVector,
) -> Result<ProcessedWelcome, String> {
    // The leaf key is not needed to decrypt the Welcome; a placeholder fills the bundle.
    internals::import_key_package(
        provider,
        suite,
        &case.key_package,
        &case.init_priv,
        &[0; 32],
    )?;
    let message = MlsMessageIn::tls_deserialize_exact(&case.welcome).map_err(|e| e.to_string())?;
    let MlsMessageBodyIn::Welcome(welcome) = message.extract() else {
        return Err("not a welcome".into());
    };
    ProcessedWelcome::new_from_welcome(provider, &MlsGroupJoinConfig::default(), welcome)
        .map_err(|e| format!("decrypting the welcome: {e}"))
}
