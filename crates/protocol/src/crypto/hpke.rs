//! openmls's HPKE operations for the KEMs `openmls_rust_crypto` does not give, and for
//! DHKEM(X25519), which it gives slower: through `hpke-rs`, DHKEM(P-521) with
//! [`HpkeCurves`]'s OpenSSL curve, DHKEM(X25519) with its HACL* Diffie-Hellman,
//! and X-Wing (ML-KEM-768 with X25519, draft-connolly-cfrg-xwing-kem-06) with libcrux;
//! DHKEM(X448) through [`super::hpke_x448`], as `hpke-rs` cannot derive its keys.
//!
//! X-Wing serves the draft post-quantum ciphersuite
//! `MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519` (0x004D, draft-ietf-mls-pq-ciphersuites).
//! Its KEM is libcrux's (`hpke-rs-libcrux`), whose ML-KEM is formally verified, rather than
//! the RustCrypto X-Wing that `hpke-rs-rust-crypto` itself calls a pre-release. What the
//! suite protects: a recorded conversation cannot be decrypted later by whoever breaks X25519
//! (with a quantum computer) unless ML-KEM-768 breaks too. What it does not: signatures stay
//! Ed25519, so it protects against future decryption, not against a future forger.

use hpke_rs::{Hpke, HpkeError, Mode};
use hpke_rs_crypto::HpkeCrypto;
use hpke_rs_crypto::types::{AeadAlgorithm, KdfAlgorithm, KemAlgorithm};
use hpke_rs_libcrux::HpkeLibcrux;
use openmls_traits::types::{
    CryptoError, ExporterSecret, HpkeAeadType, HpkeCiphertext, HpkeConfig, HpkeKdfType,
    HpkeKemType, HpkeKeyPair, KemOutput,
};

use super::curves::HpkeCurves;
use super::hpke_x448;

/// `hpke-rs`'s name for a KDF.
pub(super) fn kdf(kdf: HpkeKdfType) -> KdfAlgorithm {
    match kdf {
        HpkeKdfType::HkdfSha256 => KdfAlgorithm::HkdfSha256,
        HpkeKdfType::HkdfSha384 => KdfAlgorithm::HkdfSha384,
        HpkeKdfType::HkdfSha512 => KdfAlgorithm::HkdfSha512,
    }
}

/// `hpke-rs`'s name for an AEAD.
pub(super) fn aead(aead: HpkeAeadType) -> AeadAlgorithm {
    match aead {
        HpkeAeadType::AesGcm128 => AeadAlgorithm::Aes128Gcm,
        HpkeAeadType::AesGcm256 => AeadAlgorithm::Aes256Gcm,
        HpkeAeadType::ChaCha20Poly1305 => AeadAlgorithm::ChaCha20Poly1305,
        HpkeAeadType::Export => AeadAlgorithm::HpkeExport,
    }
}

/// Whether `config` names one of this module's KEMs.
pub(super) fn serves(config: &HpkeConfig) -> bool {
    matches!(
        config.0,
        HpkeKemType::DhKem25519
            | HpkeKemType::DhKem448
            | HpkeKemType::DhKemP521
            | HpkeKemType::XWingKemDraft6
    )
}

/// Runs `op` with `hpke-rs` set up for `config`, on the backend its KEM needs.
macro_rules! with_hpke {
    ($config:expr, |$hpke:ident| $op:expr) => {{
        let config: &HpkeConfig = $config;
        match config.0 {
            HpkeKemType::DhKem25519 => {
                #[allow(unused_mut)]
                let mut $hpke = base_mode::<HpkeCurves>(KemAlgorithm::DhKem25519, config);
                $op
            }
            HpkeKemType::DhKemP521 => {
                #[allow(unused_mut)]
                let mut $hpke = base_mode::<HpkeCurves>(KemAlgorithm::DhKemP521, config);
                $op
            }
            HpkeKemType::XWingKemDraft6 => {
                #[allow(unused_mut)]
                let mut $hpke = base_mode::<HpkeLibcrux>(KemAlgorithm::XWingDraft06, config);
                $op
            }
            _ => Err(CryptoError::UnsupportedCiphersuite),
        }
    }};
}

fn base_mode<C: HpkeCrypto>(kem: KemAlgorithm, config: &HpkeConfig) -> Hpke<C> {
    Hpke::new(Mode::Base, kem, kdf(config.1), aead(config.2))
}

fn library_error(e: HpkeError) -> CryptoError {
    match e {
        HpkeError::InvalidInput => CryptoError::InvalidLength,
        _ => CryptoError::CryptoLibraryError,
    }
}

/// HPKE single-shot encryption to `pk_r`.
pub(super) fn seal(
    config: &HpkeConfig,
    pk_r: &[u8],
    info: &[u8],
    aad: &[u8],
    ptxt: &[u8],
) -> Result<HpkeCiphertext, CryptoError> {
    if config.0 == HpkeKemType::DhKem448 {
        return hpke_x448::seal(config, pk_r, info, aad, ptxt);
    }
    with_hpke!(config, |hpke| {
        let (kem_output, ciphertext) = hpke
            .seal(&pk_r.into(), info, aad, ptxt, None, None, None)
            .map_err(library_error)?;
        Ok(HpkeCiphertext {
            kem_output: kem_output.into(),
            ciphertext: ciphertext.into(),
        })
    })
}

/// HPKE single-shot decryption with `sk_r`.
pub(super) fn open(
    config: &HpkeConfig,
    input: &HpkeCiphertext,
    sk_r: &[u8],
    info: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    if config.0 == HpkeKemType::DhKem448 {
        return hpke_x448::open(config, input, sk_r, info, aad);
    }
    with_hpke!(config, |hpke| {
        hpke.open(
            input.kem_output.as_slice(),
            &sk_r.into(),
            info,
            aad,
            input.ciphertext.as_slice(),
            None,
            None,
            None,
        )
        .map_err(|_| CryptoError::HpkeDecryptionError)
    })
}

/// HPKE sender set-up, then an exported secret.
pub(super) fn setup_sender_and_export(
    config: &HpkeConfig,
    pk_r: &[u8],
    info: &[u8],
    exporter_context: &[u8],
    exporter_length: usize,
) -> Result<(KemOutput, ExporterSecret), CryptoError> {
    if config.0 == HpkeKemType::DhKem448 {
        return hpke_x448::setup_sender_and_export(
            config,
            pk_r,
            info,
            exporter_context,
            exporter_length,
        );
    }
    with_hpke!(config, |hpke| {
        let (kem_output, context) = hpke
            .setup_sender(&pk_r.into(), info, None, None, None)
            .map_err(|_| CryptoError::SenderSetupError)?;
        let exported = context
            .export(exporter_context, exporter_length)
            .map_err(|_| CryptoError::ExporterError)?;
        Ok((kem_output, exported.into()))
    })
}

/// HPKE receiver set-up, then an exported secret.
pub(super) fn setup_receiver_and_export(
    config: &HpkeConfig,
    enc: &[u8],
    sk_r: &[u8],
    info: &[u8],
    exporter_context: &[u8],
    exporter_length: usize,
) -> Result<ExporterSecret, CryptoError> {
    if config.0 == HpkeKemType::DhKem448 {
        return hpke_x448::setup_receiver_and_export(
            config,
            enc,
            sk_r,
            info,
            exporter_context,
            exporter_length,
        );
    }
    with_hpke!(config, |hpke| {
        let context = hpke
            .setup_receiver(enc, &sk_r.into(), info, None, None, None)
            .map_err(|_| CryptoError::ReceiverSetupError)?;
        let exported = context
            .export(exporter_context, exporter_length)
            .map_err(|_| CryptoError::ExporterError)?;
        Ok(exported.into())
    })
}

/// The KEM's DeriveKeyPair from `ikm`.
pub(super) fn derive_key_pair(config: &HpkeConfig, ikm: &[u8]) -> Result<HpkeKeyPair, CryptoError> {
    if config.0 == HpkeKemType::DhKem448 {
        return hpke_x448::derive_key_pair(ikm);
    }
    with_hpke!(config, |hpke| {
        let (private, public) = hpke
            .derive_key_pair(ikm)
            .map_err(library_error)?
            .into_keys();
        Ok(HpkeKeyPair {
            private: private.as_slice().into(),
            public: public.as_slice().into(),
        })
    })
}
