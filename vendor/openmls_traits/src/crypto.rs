//! # The OpenMLS Crypto Trait
//!
//! This trait defines all cryptographic functions used by OpenMLS.

use tls_codec::SecretVLBytes;

use crate::types::{
    AeadType, Ciphersuite, CryptoError, ExporterSecret, HashType, HpkeCiphertext, HpkeConfig,
    HpkeKeyPair, KemOutput, SignatureCheck, SignatureScheme,
};

/// Errors that can occur while building AAD after deriving the HPKE KEM output
/// and before sealing the ciphertext.
#[cfg(feature = "targeted-messages-draft")]
#[derive(Debug)]
pub enum HpkeSealPskResolvedAadError<E> {
    /// A crypto backend error occurred.
    CryptoError(CryptoError),
    /// Building the final AAD failed.
    AadBuildError(E),
}

pub trait OpenMlsCrypto: Send + Sync {
    /// Check whether the [`Ciphersuite`] is supported by the backend or not.
    ///
    /// Returns a [`CryptoError::UnsupportedCiphersuite`] if the ciphersuite is not supported.
    fn supports(&self, ciphersuite: Ciphersuite) -> Result<(), CryptoError>;

    /// Returns the list of supported [`Ciphersuite`]s.
    fn supported_ciphersuites(&self) -> Vec<Ciphersuite>;

    /// HKDF extract.
    ///
    /// Returns an error if the [`HashType`] is not supported.
    fn hkdf_extract(
        &self,
        hash_type: HashType,
        salt: &[u8],
        ikm: &[u8],
    ) -> Result<SecretVLBytes, CryptoError>;

    fn hmac(
        &self,
        hash_type: HashType,
        key: &[u8],
        message: &[u8],
    ) -> Result<SecretVLBytes, CryptoError>;

    /// HKDF expand.
    ///
    /// Returns an error if the [`HashType`] is not supported or the output length
    /// is too long.
    fn hkdf_expand(
        &self,
        hash_type: HashType,
        prk: &[u8],
        info: &[u8],
        okm_len: usize,
    ) -> Result<SecretVLBytes, CryptoError>;

    /// Hash the `data`.
    ///
    /// Returns an error if the [`HashType`] is not supported.
    fn hash(&self, hash_type: HashType, data: &[u8]) -> Result<Vec<u8>, CryptoError>;

    /// AEAD encrypt with the given parameters.
    ///
    /// Returns an error if the [`AeadType`] is not supported or an encryption
    /// error occurs.
    fn aead_encrypt(
        &self,
        alg: AeadType,
        key: &[u8],
        data: &[u8],
        nonce: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError>;

    /// AEAD decrypt with the given parameters.
    ///
    /// Returns an error if the [`AeadType`] is not supported or a decryption
    /// error occurs.
    fn aead_decrypt(
        &self,
        alg: AeadType,
        key: &[u8],
        ct_tag: &[u8],
        nonce: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError>;

    /// Generate a signature key.
    ///
    /// Returns an error if the [`SignatureScheme`] is not supported or the key
    /// generation fails.
    fn signature_key_gen(&self, alg: SignatureScheme) -> Result<(Vec<u8>, Vec<u8>), CryptoError>;

    /// Verify the signature
    ///
    /// Returns an error if the [`SignatureScheme`] is not supported or the
    /// signature verification fails.
    fn verify_signature(
        &self,
        alg: SignatureScheme,
        data: &[u8],
        pk: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError>;

    /// CONCLAVE PATCH 1: verify many signatures of one scheme at once.
    ///
    /// Returns `Ok(())` only if every signature verifies. An error says that at least one
    /// does not, not which one: a caller that must name it checks them one by one with
    /// [`OpenMlsCrypto::verify_signature`].
    ///
    /// The default checks them one after another with
    /// [`OpenMlsCrypto::verify_signature`]. A provider may check them together (Ed25519
    /// batch verification costs about half as much per signature); it must then accept
    /// only signatures that RFC 8032's verification equation accepts.
    fn verify_signatures(
        &self,
        alg: SignatureScheme,
        checks: &[SignatureCheck<'_>],
    ) -> Result<(), CryptoError> {
        checks.iter().try_for_each(|check| {
            self.verify_signature(alg, check.data, check.public_key, check.signature)
        })
    }

    /// Sign with the given parameters.
    ///
    /// Returns an error if the [`SignatureScheme`] is not supported or an error
    /// occurs during signature generation.
    fn sign(&self, alg: SignatureScheme, data: &[u8], key: &[u8]) -> Result<Vec<u8>, CryptoError>;

    // === HPKE === //

    /// HPKE single-shot encryption of `ptxt` to `pk_r`, using `info` and `aad`.
    fn hpke_seal(
        &self,
        config: HpkeConfig,
        pk_r: &[u8],
        info: &[u8],
        aad: &[u8],
        ptxt: &[u8],
    ) -> Result<HpkeCiphertext, CryptoError>;

    /// HPKE single-shot decryption of `input` with `sk_r`, using `info` and
    /// `aad`.
    fn hpke_open(
        &self,
        config: HpkeConfig,
        input: &HpkeCiphertext,
        sk_r: &[u8],
        info: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError>;

    /// HPKE single-shot setup of a sender and immediate export a secret.
    ///
    /// The encapsulated secret is returned together with the exported secret.
    fn hpke_setup_sender_and_export(
        &self,
        config: HpkeConfig,
        pk_r: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        exporter_length: usize,
    ) -> Result<(KemOutput, ExporterSecret), CryptoError>;

    /// HPKE single-shot setup of a receiver and immediate export a secret.
    ///
    /// Returns the exported secret.
    fn hpke_setup_receiver_and_export(
        &self,
        config: HpkeConfig,
        enc: &[u8],
        sk_r: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        exporter_length: usize,
    ) -> Result<ExporterSecret, CryptoError>;

    /// Derive a new HPKE keypair from a given input key material.
    fn derive_hpke_keypair(
        &self,
        config: HpkeConfig,
        ikm: &[u8],
    ) -> Result<HpkeKeyPair, CryptoError>;

    /// HPKE single-shot decryption in PSK mode of `input` with `sk_r`, using
    /// `info`, `aad`, `psk`, and `psk_id`.
    #[cfg(feature = "targeted-messages-draft")]
    #[allow(clippy::too_many_arguments)]
    fn hpke_open_psk(
        &self,
        config: HpkeConfig,
        input: &HpkeCiphertext,
        sk_r: &[u8],
        info: &[u8],
        aad: &[u8],
        psk: &[u8],
        psk_id: &[u8],
    ) -> Result<Vec<u8>, CryptoError>;

    /// HPKE PSK encryption where the AAD depends on the KEM output.
    ///
    /// The KEM output is only produced by the sealing operation itself, so it
    /// cannot be passed as a ready-made AAD. Instead, `aad_builder` is invoked
    /// with the KEM output between sender setup and seal to construct the AAD.
    #[cfg(feature = "targeted-messages-draft")]
    #[allow(clippy::too_many_arguments)]
    fn hpke_seal_psk_resolved_aad<F, E>(
        &self,
        config: HpkeConfig,
        pk_r: &[u8],
        info: &[u8],
        ptxt: &[u8],
        psk: &[u8],
        psk_id: &[u8],
        aad_builder: F,
    ) -> Result<HpkeCiphertext, HpkeSealPskResolvedAadError<E>>
    where
        Self: Sized,
        F: FnOnce(&[u8]) -> Result<Vec<u8>, E>;

    /// FF1-AES128 encryption of a 32-bit value under a 16-byte key.
    ///
    /// FF1 ([NIST SP 800-38G]) instantiated with AES-128, radix 2, an empty
    /// tweak, and an input-output space of 32-bit integers, as specified by
    /// the mls-virtual-clients draft (Small-Space PRP section). Used to
    /// derive `PrivateMessage` reuse guards. Inverse of
    /// [`OpenMlsCrypto::ff1_aes128_decrypt`].
    ///
    /// [NIST SP 800-38G]: https://csrc.nist.gov/pubs/sp/800/38/g/final
    #[cfg(feature = "virtual-clients-draft")]
    fn ff1_aes128_encrypt(&self, key: &[u8; 16], plaintext: u32) -> Result<u32, CryptoError>;

    /// FF1-AES128 decryption of a 32-bit value under a 16-byte key.
    ///
    /// Inverse of [`OpenMlsCrypto::ff1_aes128_encrypt`].
    #[cfg(feature = "virtual-clients-draft")]
    fn ff1_aes128_decrypt(&self, key: &[u8; 16], ciphertext: u32) -> Result<u32, CryptoError>;
}
