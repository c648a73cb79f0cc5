//! Signature checks gathered while openmls validates many objects, then made as batches on
//! every core.
//!
//! openmls validates a key package with two signature checks and nothing else from its
//! crypto provider, one package after another. [`Deferred`] stands in for the provider during
//! such validation: it records each check and answers "valid", so the validation does the
//! rest of its work (structure, versions, lifetimes, extensions); [`Deferred::verify`] then
//! makes every recorded check, in batches ([`Crypto`](super::Crypto)'s batch rule gives each
//! signature the verdict a single check gives it). What was validated under it may be used
//! only once `verify` has passed; when it fails, the caller validates again with the real
//! provider, one object at a time, to name the object at fault.
//!
//! Every other operation goes to the real provider: a validation that needed one would get
//! the true answer.

use std::sync::{Mutex, PoisonError};

use openmls_traits::crypto::OpenMlsCrypto;
use openmls_traits::types::{
    AeadType, Ciphersuite, CryptoError, ExporterSecret, HashType, HpkeCiphertext, HpkeConfig,
    HpkeKeyPair, KemOutput, SignatureCheck, SignatureScheme,
};
use rayon::prelude::*;
use tls_codec::SecretVLBytes;

/// A signature check recorded for later.
struct Recorded {
    scheme: SignatureScheme,
    data: Vec<u8>,
    public_key: Vec<u8>,
    signature: Vec<u8>,
}

/// A crypto provider that records signature checks instead of making them (see the module
/// docs).
pub(crate) struct Deferred<'a, C> {
    inner: &'a C,
    checks: Mutex<Vec<Recorded>>,
}

impl<'a, C: OpenMlsCrypto> Deferred<'a, C> {
    /// Records the checks asked of it; `inner` does everything else, and the checks at
    /// [`Deferred::verify`].
    pub(crate) fn new(inner: &'a C) -> Self {
        Self {
            inner,
            checks: Mutex::new(Vec::new()),
        }
    }

    /// Makes every recorded check with the real provider: batches of each scheme, one per
    /// core. `Err` when any signature fails (which one is not known).
    pub(crate) fn verify(self) -> Result<(), CryptoError> {
        let mut checks = self
            .checks
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        checks.sort_by_key(|c| c.scheme as u16);
        let mut batches: Vec<(SignatureScheme, Vec<SignatureCheck<'_>>)> = Vec::new();
        for scheme_checks in checks.chunk_by(|a, b| a.scheme == b.scheme) {
            let scheme = scheme_checks[0].scheme;
            let per_core = scheme_checks
                .len()
                .div_ceil(rayon::current_num_threads().max(1));
            for part in scheme_checks.chunks(per_core.max(1)) {
                let part = part
                    .iter()
                    .map(|c| SignatureCheck {
                        data: &c.data,
                        public_key: &c.public_key,
                        signature: &c.signature,
                    })
                    .collect();
                batches.push((scheme, part));
            }
        }
        batches
            .par_iter()
            .try_for_each(|(scheme, part)| self.inner.verify_signatures(*scheme, part))
    }
}

impl<C: OpenMlsCrypto> OpenMlsCrypto for Deferred<'_, C> {
    fn verify_signature(
        &self,
        alg: SignatureScheme,
        data: &[u8],
        pk: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        self.checks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Recorded {
                scheme: alg,
                data: data.to_vec(),
                public_key: pk.to_vec(),
                signature: signature.to_vec(),
            });
        Ok(())
    }

    fn verify_signatures(
        &self,
        alg: SignatureScheme,
        checks: &[SignatureCheck<'_>],
    ) -> Result<(), CryptoError> {
        checks.iter().try_for_each(|check| {
            self.verify_signature(alg, check.data, check.public_key, check.signature)
        })
    }

    fn supports(&self, ciphersuite: Ciphersuite) -> Result<(), CryptoError> {
        self.inner.supports(ciphersuite)
    }

    fn supported_ciphersuites(&self) -> Vec<Ciphersuite> {
        self.inner.supported_ciphersuites()
    }

    fn hkdf_extract(
        &self,
        hash_type: HashType,
        salt: &[u8],
        ikm: &[u8],
    ) -> Result<SecretVLBytes, CryptoError> {
        self.inner.hkdf_extract(hash_type, salt, ikm)
    }

    fn hmac(
        &self,
        hash_type: HashType,
        key: &[u8],
        message: &[u8],
    ) -> Result<SecretVLBytes, CryptoError> {
        self.inner.hmac(hash_type, key, message)
    }

    fn hkdf_expand(
        &self,
        hash_type: HashType,
        prk: &[u8],
        info: &[u8],
        okm_len: usize,
    ) -> Result<SecretVLBytes, CryptoError> {
        self.inner.hkdf_expand(hash_type, prk, info, okm_len)
    }

    fn hash(&self, hash_type: HashType, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.inner.hash(hash_type, data)
    }

    fn aead_encrypt(
        &self,
        alg: AeadType,
        key: &[u8],
        data: &[u8],
        nonce: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.inner.aead_encrypt(alg, key, data, nonce, aad)
    }

    fn aead_decrypt(
        &self,
        alg: AeadType,
        key: &[u8],
        ct_tag: &[u8],
        nonce: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.inner.aead_decrypt(alg, key, ct_tag, nonce, aad)
    }

    fn signature_key_gen(&self, alg: SignatureScheme) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
        self.inner.signature_key_gen(alg)
    }

    fn sign(&self, alg: SignatureScheme, data: &[u8], key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.inner.sign(alg, data, key)
    }

    fn hpke_seal(
        &self,
        config: HpkeConfig,
        pk_r: &[u8],
        info: &[u8],
        aad: &[u8],
        ptxt: &[u8],
    ) -> Result<HpkeCiphertext, CryptoError> {
        self.inner.hpke_seal(config, pk_r, info, aad, ptxt)
    }

    fn hpke_open(
        &self,
        config: HpkeConfig,
        input: &HpkeCiphertext,
        sk_r: &[u8],
        info: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.inner.hpke_open(config, input, sk_r, info, aad)
    }

    fn hpke_setup_sender_and_export(
        &self,
        config: HpkeConfig,
        pk_r: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        exporter_length: usize,
    ) -> Result<(KemOutput, ExporterSecret), CryptoError> {
        self.inner.hpke_setup_sender_and_export(
            config,
            pk_r,
            info,
            exporter_context,
            exporter_length,
        )
    }

    fn hpke_setup_receiver_and_export(
        &self,
        config: HpkeConfig,
        enc: &[u8],
        sk_r: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        exporter_length: usize,
    ) -> Result<ExporterSecret, CryptoError> {
        self.inner.hpke_setup_receiver_and_export(
            config,
            enc,
            sk_r,
            info,
            exporter_context,
            exporter_length,
        )
    }

    fn derive_hpke_keypair(
        &self,
        config: HpkeConfig,
        ikm: &[u8],
    ) -> Result<HpkeKeyPair, CryptoError> {
        self.inner.derive_hpke_keypair(config, ikm)
    }
}
