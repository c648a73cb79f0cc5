//! A device's MLS identity: who it is (user + device in a `BasicCredential`) and its signature
//! key pair, kept in the provider's storage.

use openmls::prelude::{
    CredentialWithKey, KeyPackage, KeyPackageIn, MlsMessageBodyIn, MlsMessageIn, MlsMessageOut,
    OpenMlsProvider, ProtocolVersion, SignaturePublicKey,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_traits::crypto::OpenMlsCrypto;
use openmls_traits::signatures::{Signer, SignerError};
use openmls_traits::types::SignatureScheme;
use serde::{Deserialize, Serialize};
use tls_codec::{Deserialize as _, Serialize as _};

use crate::{
    Cause, CipherSuite, Error, GroupConfig, MemberId,
    key_package::{self, PublishedKeyPackage},
    safety::Fingerprint,
    signing::SigningKey,
};

/// What must be kept outside MLS storage to load an [`Identity`] again: the member id, the
/// ciphersuite and the public key under which the private key is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityRecord {
    /// Who this device is.
    pub member: MemberId,
    /// The ciphersuite the signature key belongs to.
    pub ciphersuite: CipherSuite,
    /// The signature public key (raw bytes of the scheme).
    pub signature_public_key: Vec<u8>,
}

/// A device's identity: its credential and signature key pair.
///
/// Created once per device with [`Identity::create`], which stores the private key through
/// the provider; loaded afterwards from its [`IdentityRecord`] with [`Identity::load`].
#[derive(Debug)]
pub struct Identity {
    member: MemberId,
    ciphersuite: CipherSuite,
    /// What storage holds, and the public key.
    key_pair: SignatureKeyPair,
    /// The same private key, parsed once for all the signatures this device makes.
    signer: SigningKey,
}

impl Identity {
    /// Generates a signature key pair for `ciphersuite` and stores it through `provider`.
    pub fn create(
        provider: &impl OpenMlsProvider,
        member: MemberId,
        ciphersuite: CipherSuite,
    ) -> Result<Self, Error> {
        let scheme = ciphersuite.to_openmls().signature_algorithm();
        let key_pair = crate::signing::generate(scheme)?;
        let signer = SigningKey::parse(&key_pair)?;
        key_pair
            .store(provider.storage())
            .map_err(|e| Error::Storage(Cause::msg(e.to_string())))?;
        Ok(Self {
            member,
            ciphersuite,
            key_pair,
            signer,
        })
    }

    /// Generates a signature key pair for `ciphersuite`, stores it through `provider`, and
    /// returns its public key: for a device that must show its key before it knows whom it
    /// belongs to (a device being linked learns its user from the device that approves
    /// it). [`Identity::load`] makes the identity once the member is known.
    pub fn generate_signature_key(
        provider: &impl OpenMlsProvider,
        ciphersuite: CipherSuite,
    ) -> Result<Vec<u8>, Error> {
        let scheme = ciphersuite.to_openmls().signature_algorithm();
        let key_pair = crate::signing::generate(scheme)?;
        key_pair
            .store(provider.storage())
            .map_err(|e| Error::Storage(Cause::msg(e.to_string())))?;
        Ok(key_pair.to_public_vec())
    }

    /// Loads an identity stored by [`Identity::create`].
    pub fn load(provider: &impl OpenMlsProvider, record: &IdentityRecord) -> Result<Self, Error> {
        let scheme = record.ciphersuite.to_openmls().signature_algorithm();
        let key_pair =
            SignatureKeyPair::read(provider.storage(), &record.signature_public_key, scheme)
                .ok_or_else(|| Error::NotFound(format!("signature key of {}", record.member)))?;
        let signer = SigningKey::parse(&key_pair)?;
        Ok(Self {
            member: record.member.clone(),
            ciphersuite: record.ciphersuite,
            key_pair,
            signer,
        })
    }

    /// The record to keep for [`Identity::load`].
    pub fn record(&self) -> IdentityRecord {
        IdentityRecord {
            member: self.member.clone(),
            ciphersuite: self.ciphersuite,
            signature_public_key: self.key_pair.to_public_vec(),
        }
    }

    /// Who this device is.
    pub fn member(&self) -> &MemberId {
        &self.member
    }

    /// The suite the device registered with: its key's signature scheme, and the suite of
    /// the conversations it creates unless told otherwise.
    pub fn ciphersuite(&self) -> CipherSuite {
        self.ciphersuite
    }

    /// Whether this device can take part in a group of `suite`: the suite signs with the
    /// scheme of the device's key.
    pub fn supports(&self, suite: CipherSuite) -> bool {
        suite.signature_scheme() == self.ciphersuite.signature_scheme()
    }

    /// Every suite this device takes part in (the suites of its key's signature scheme), in
    /// code-point order: it publishes key packages for each.
    pub fn suites(&self) -> Vec<CipherSuite> {
        CipherSuite::ALL
            .into_iter()
            .filter(|s| self.supports(*s))
            .collect()
    }

    /// [`Identity::supports`] as a result: the typed error says which key the suite needs.
    pub fn check_supports(&self, suite: CipherSuite) -> Result<(), Error> {
        if self.supports(suite) {
            return Ok(());
        }
        Err(Error::SuiteNeedsOtherKey {
            suite,
            needs: suite.signature_scheme(),
            key: self.ciphersuite.signature_scheme(),
        })
    }

    /// The signature public key.
    pub fn signature_public_key(&self) -> &[u8] {
        self.key_pair.public()
    }

    /// This device's safety-number fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.member, self.key_pair.public())
    }

    pub(crate) fn credential_with_key(&self) -> CredentialWithKey {
        CredentialWithKey {
            credential: self.member.to_credential(),
            signature_key: SignaturePublicKey::from(self.key_pair.to_public_vec()),
        }
    }

    pub(crate) fn signer(&self) -> &SigningKey {
        &self.signer
    }

    /// Generates `count` key packages to publish. Their private keys go to storage, where a
    /// Welcome finds them; each is used once.
    pub fn key_packages(
        &self,
        provider: &impl OpenMlsProvider,
        config: &GroupConfig,
        count: usize,
    ) -> Result<Vec<PublishedKeyPackage>, Error> {
        self.check_suite(config)?;
        (0..count)
            .map(|_| key_package::generate(provider, self, config, false))
            .collect()
    }

    /// Generates the last-resort key package (RFC 9420's `last_resort` extension): handed out
    /// by the server when the others are gone, and usable more than once, so that a device
    /// can always be added.
    pub fn last_resort_key_package(
        &self,
        provider: &impl OpenMlsProvider,
        config: &GroupConfig,
    ) -> Result<PublishedKeyPackage, Error> {
        self.check_suite(config)?;
        key_package::generate(provider, self, config, true)
    }

    /// Deletes the private keys of this device's key package `reference`
    /// ([`PublishedKeyPackage::reference`](crate::PublishedKeyPackage)): a Welcome to it can
    /// no longer be opened. For packages that expired, or last-resort packages replaced by a
    /// newer one, so that their keys do not stay on the device for good. Deleting a package
    /// that is not stored (already used, or deleted) does nothing.
    pub fn delete_key_package(
        &self,
        provider: &impl OpenMlsProvider,
        reference: &[u8],
    ) -> Result<(), Error> {
        use openmls_traits::storage::StorageProvider as _;
        use tls_codec::{Deserialize as _, Serialize as _};
        // A reference is its bytes behind a TLS length: the one public way to rebuild it.
        let encoded = tls_codec::VLBytes::new(reference.to_vec())
            .tls_serialize_detached()
            .map_err(|e| Error::Malformed(Cause::of(e)))?;
        let reference = openmls::prelude::KeyPackageRef::tls_deserialize_exact(encoded)
            .map_err(|e| Error::Malformed(Cause::of(e)))?;
        provider
            .storage()
            .delete_key_package(&reference)
            .map_err(|e| Error::Storage(Cause::msg(e.to_string())))
    }

    fn check_suite(&self, config: &GroupConfig) -> Result<(), Error> {
        self.check_supports(config.ciphersuite)
    }
}

impl Signer for Identity {
    fn sign(&self, payload: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.signer.sign(payload)
    }

    fn signature_scheme(&self) -> SignatureScheme {
        self.signer.signature_scheme()
    }
}

/// What a published key package says, once decoded and validated: whose it is and with
/// which key ([`inspect_key_package`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPackageInfo {
    /// The member its credential names.
    pub member: MemberId,
    /// The signature key of its leaf: the key the member will sign with in a group.
    pub signature_key: Vec<u8>,
    /// Its ciphersuite.
    pub ciphersuite: CipherSuite,
    /// Whether it is a last-resort package (may be used more than once).
    pub last_resort: bool,
    /// The end of its lifetime (seconds since the Unix epoch): no inviter accepts it after.
    pub not_after: u64,
}

/// Decodes and validates a published key package: signature, lifetime, a ciphersuite
/// Conclave supports, and that its credential is a Conclave identity. What the delivery
/// service checks before it stores one, and what an inviter checks before it adds one.
pub fn inspect_key_package(
    crypto: &impl OpenMlsCrypto,
    bytes: &[u8],
) -> Result<KeyPackageInfo, Error> {
    let (member, key_package) = inspect_key_package_with(crypto, bytes)?;
    Ok(KeyPackageInfo {
        member,
        signature_key: key_package.leaf_node().signature_key().as_slice().to_vec(),
        ciphersuite: CipherSuite::from_openmls(key_package.ciphersuite())?,
        last_resort: key_package.last_resort(),
        not_after: key_package.life_time().not_after(),
    })
}

/// [`inspect_key_package`] with only a crypto provider.
pub(crate) fn inspect_key_package_with(
    crypto: &impl OpenMlsCrypto,
    bytes: &[u8],
) -> Result<(MemberId, KeyPackage), Error> {
    let message =
        MlsMessageIn::tls_deserialize_exact(bytes).map_err(|e| Error::Malformed(Cause::of(e)))?;
    let key_package: KeyPackageIn = match message.extract() {
        MlsMessageBodyIn::KeyPackage(kp) => kp,
        other => {
            return Err(Error::UnexpectedMessage {
                expected: "key package",
                found: crate::body_name(&other),
            });
        }
    };
    let key_package = key_package
        .validate(crypto, ProtocolVersion::Mls10)
        .map_err(|e| Error::InvalidKeyPackage(Cause::of(e)))?;
    CipherSuite::from_openmls(key_package.ciphersuite())?;
    let member = MemberId::from_credential(key_package.leaf_node().credential())?;
    Ok((member, key_package))
}

pub(crate) fn encode_key_package(key_package: KeyPackage) -> Result<Vec<u8>, Error> {
    MlsMessageOut::from(key_package)
        .tls_serialize_detached()
        .map_err(|e| Error::Library(Cause::of(e)))
}
