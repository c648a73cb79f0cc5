//! Key packages ready to publish.

use openmls::prelude::{KeyPackage, Lifetime, OpenMlsProvider};
use serde::{Deserialize, Serialize};

use crate::{Cause, Error, GroupConfig, Identity, identity::encode_key_package};

/// A key package to upload to the delivery service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedKeyPackage {
    /// The `MLSMessage`-framed key package, as published.
    pub bytes: Vec<u8>,
    /// Its `KeyPackageRef` (RFC 9420 section 5.2), the id a server can index it by.
    pub reference: Vec<u8>,
    /// Whether this is the last-resort package (of its suite).
    pub last_resort: bool,
    /// Its ciphersuite.
    pub ciphersuite: crate::CipherSuite,
    /// Not valid after this time (seconds since the Unix epoch).
    pub not_after: u64,
}

pub(crate) fn generate(
    provider: &impl OpenMlsProvider,
    identity: &Identity,
    config: &GroupConfig,
    last_resort: bool,
) -> Result<PublishedKeyPackage, Error> {
    let mut builder = KeyPackage::builder()
        .key_package_lifetime(Lifetime::new(config.key_package_lifetime_secs))
        .leaf_node_capabilities(GroupConfig::capabilities());
    if last_resort {
        builder = builder.mark_as_last_resort();
    }
    let bundle = builder
        .build(
            config.ciphersuite.to_openmls(),
            provider,
            identity.signer(),
            identity.credential_with_key(),
        )
        .map_err(|e| Error::InvalidKeyPackage(Cause::of(e)))?;
    let key_package = bundle.key_package().clone();
    let reference = key_package
        .hash_ref(provider.crypto())
        .map_err(|e| Error::Library(Cause::of(e)))?
        .as_slice()
        .to_vec();
    let not_after = key_package.life_time().not_after();
    Ok(PublishedKeyPackage {
        bytes: encode_key_package(key_package)?,
        reference,
        last_resort,
        ciphersuite: config.ciphersuite,
        not_after,
    })
}
