//! Every workaround that leans on openmls internals, in one place.
//!
//! The passive-client vectors hand us a key package with its private keys. openmls has no
//! public way to import those: `KeyPackageBundle` and `EncryptionKeyPair` have no public
//! constructors. We write them through the storage provider with structs of the *same serde
//! shape* (field names and types) as openmls's own, so openmls reads them back as its types.
//! If an openmls upgrade changes those shapes, [`tests`](#tests) below and every passive
//! vector fail loudly ("no matching key package" on join), rather than silently passing.
//!
//! The vectors' key packages have also expired; joins are made with
//! `JoinOptions::check_lifetimes = false` (the public `skip_lifetime_validation`), and the key
//! packages are imported without `KeyPackageIn::validate`, which would reject them.

use openmls::ciphersuite::hash_ref::HashReference;
use openmls::prelude::{KeyPackageIn, MlsMessageBodyIn, MlsMessageIn};
use openmls::treesync::EncryptionKey;
use openmls_traits::OpenMlsProvider;
use openmls_traits::storage::{CURRENT_VERSION, Entity, StorageProvider, traits};
use openmls_traits::types::{Ciphersuite, HpkePrivateKey};
use serde::{Deserialize, Serialize};
use tls_codec::{Deserialize as _, Serialize as _, VLBytes};

/// RFC 9420 section 5.2's label for key package references.
const KEY_PACKAGE_REF_LABEL: &[u8] = b"MLS 1.0 KeyPackage Reference";

/// Same serde shape as openmls's `EncryptionPrivateKey`.
#[derive(Serialize, Deserialize)]
struct EncryptionPrivateKeyShape {
    key: HpkePrivateKey,
}

/// Same serde shape as openmls's `KeyPackageBundle`.
#[derive(Serialize, Deserialize)]
struct KeyPackageBundleShape {
    key_package: KeyPackageIn,
    private_init_key: HpkePrivateKey,
    private_encryption_key: EncryptionPrivateKeyShape,
}

/// Same serde shape as openmls's `EncryptionKeyPair`.
#[derive(Serialize, Deserialize)]
struct EncryptionKeyPairShape {
    public_key: EncryptionKey,
    private_key: EncryptionPrivateKeyShape,
}

impl Entity<CURRENT_VERSION> for KeyPackageBundleShape {}
impl traits::KeyPackage<CURRENT_VERSION> for KeyPackageBundleShape {}
impl Entity<CURRENT_VERSION> for EncryptionKeyPairShape {}
impl traits::HpkeKeyPair<CURRENT_VERSION> for EncryptionKeyPairShape {}

/// Imports a key package and its private keys, as if this client had generated them.
///
/// `key_package` is the `MLSMessage`-framed key package of a vector.
pub fn import_key_package(
    provider: &impl OpenMlsProvider,
    ciphersuite: Ciphersuite,
    key_package: &[u8],
    init_priv: &[u8],
    encryption_priv: &[u8],
) -> Result<(), String> {
    let message = MlsMessageIn::tls_deserialize_exact(key_package).map_err(|e| e.to_string())?;
    let MlsMessageBodyIn::KeyPackage(kp) = message.extract() else {
        return Err("not a key package".into());
    };
    let kp_bytes = kp.tls_serialize_detached().map_err(|e| e.to_string())?;
    let reference = HashReference::new(
        &kp_bytes,
        ciphersuite,
        provider.crypto(),
        KEY_PACKAGE_REF_LABEL,
    )
    .map_err(|e| format!("{e:?}"))?;
    let encryption_key = leaf_encryption_key(&kp_bytes)?;
    let bundle = KeyPackageBundleShape {
        key_package: kp,
        private_init_key: HpkePrivateKey::from(init_priv.to_vec()),
        private_encryption_key: EncryptionPrivateKeyShape {
            key: HpkePrivateKey::from(encryption_priv.to_vec()),
        },
    };
    let storage = provider.storage();
    storage
        .write_key_package(&reference, &bundle)
        .map_err(|e| format!("{e:?}"))?;
    let pair = EncryptionKeyPairShape {
        public_key: encryption_key.clone(),
        private_key: EncryptionPrivateKeyShape {
            key: HpkePrivateKey::from(encryption_priv.to_vec()),
        },
    };
    storage
        .write_encryption_key_pair(&encryption_key, &pair)
        .map_err(|e| format!("{e:?}"))?;
    Ok(())
}

/// The leaf private key of a bundle openmls generated: openmls exposes it only to its own
/// tests, so it is read through the bundle's serde form (the shape above).
pub fn encryption_private_key(
    bundle: &openmls::prelude::KeyPackageBundle,
) -> Result<Vec<u8>, String> {
    #[derive(Deserialize)]
    struct PrivatePart {
        private_encryption_key: EncryptionPrivateKeyShape,
    }
    let json = serde_json::to_vec(bundle).map_err(|e| e.to_string())?;
    let part: PrivatePart = serde_json::from_slice(&json).map_err(|e| e.to_string())?;
    Ok(part.private_encryption_key.key.to_vec())
}

/// The leaf's HPKE encryption key, read from the key package's TLS encoding (RFC 9420
/// section 10: version, cipher_suite, init_key, then the leaf node, whose first field it is).
fn leaf_encryption_key(key_package: &[u8]) -> Result<EncryptionKey, String> {
    let mut rest = key_package.get(4..).ok_or("key package too short")?;
    VLBytes::tls_deserialize(&mut rest).map_err(|e| format!("init_key: {e}"))?;
    EncryptionKey::tls_deserialize(&mut rest).map_err(|e| format!("encryption_key: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use openmls::prelude::{
        BasicCredential, CredentialWithKey, KeyPackage, KeyPackageBundle, MlsMessageOut,
    };
    use openmls_basic_credential::SignatureKeyPair;
    use openmls_rust_crypto::OpenMlsRustCrypto;

    /// The import must produce exactly what openmls reads back as its own types: a key
    /// package generated by openmls, imported into a second provider with its private keys,
    /// reads back as a `KeyPackageBundle` with the same keys.
    #[test]
    fn imported_bundle_reads_back_as_openmls_types() {
        let suite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;
        let source = OpenMlsRustCrypto::default();
        let signer = SignatureKeyPair::new(suite.signature_algorithm()).unwrap();
        let credential = CredentialWithKey {
            credential: BasicCredential::new(b"x".to_vec()).into(),
            signature_key: signer.to_public_vec().into(),
        };
        let bundle = KeyPackage::builder()
            .build(suite, &source, &signer, credential)
            .unwrap();
        let bytes = MlsMessageOut::from(bundle.key_package().clone())
            .tls_serialize_detached()
            .unwrap();
        let target = OpenMlsRustCrypto::default();
        import_key_package(
            &target,
            suite,
            &bytes,
            bundle.init_private_key(),
            &encryption_private_key(&bundle).unwrap(),
        )
        .unwrap();
        let reference = bundle.key_package().hash_ref(target.crypto()).unwrap();
        let read: KeyPackageBundle = target
            .storage()
            .key_package(&reference)
            .unwrap()
            .expect("openmls finds the imported bundle under its own reference");
        assert_eq!(
            read.init_private_key().to_vec(),
            bundle.init_private_key().to_vec()
        );
        assert_eq!(
            encryption_private_key(&read).unwrap(),
            encryption_private_key(&bundle).unwrap()
        );
        // And the serde read is not vacuous: it is the key the key package was made with.
        assert_eq!(encryption_private_key(&bundle).unwrap().len(), 32);
    }
}
