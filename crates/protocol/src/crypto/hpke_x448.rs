//! RFC 9180 HPKE in base mode with DHKEM(X448, HKDF-SHA512), for ciphersuites 4 and 6.
//!
//! Written here because no crate has it: `hpke-rs` (0.7 and 0.8) derives no X448 key pair
//! in its DHKEM, so it can neither encapsulate to nor derive an X448 key, and `rust-hpke` has
//! no X448. What it is made of is not written here: X448 is OpenSSL's (through
//! [`super::curves::HpkeCurves`]), the KDF and the AEAD `hpke-rs-rust-crypto`'s. The steps
//! follow RFC 9180's sections 4 (LabeledExtract, LabeledExpand), 4.1 (DHKEM), 5.1 (the key
//! schedule, mode 0) and 5.3 (the exporter); the MLS vectors of suites 4 and 6
//! (crypto-basics, treekem, welcome, passive clients) check them against other
//! implementations.

use hpke_rs_crypto::HpkeCrypto;
use hpke_rs_crypto::types::{AeadAlgorithm, KdfAlgorithm, KemAlgorithm};
use hpke_rs_rust_crypto::HpkeRustCrypto;
use openmls_traits::types::{
    CryptoError, ExporterSecret, HpkeCiphertext, HpkeConfig, HpkeKeyPair, KemOutput,
};

use super::curves::HpkeCurves;

/// DHKEM(X448, HKDF-SHA512)'s identifier.
const KEM_ID: u16 = 0x0021;
/// The KEM's own KDF, whatever the suite's.
const KEM_KDF: KdfAlgorithm = KdfAlgorithm::HkdfSha512;
/// `Nsecret`: the length of the KEM's shared secret.
const SHARED_SECRET: usize = 64;
/// `Nsk`: the length of a private key.
const PRIVATE_KEY: usize = 56;

/// `suite_id` of the KEM: `"KEM" || I2OSP(kem_id, 2)`.
fn kem_suite() -> Vec<u8> {
    [b"KEM".as_slice(), &KEM_ID.to_be_bytes()].concat()
}

fn kdf(config: &HpkeConfig) -> KdfAlgorithm {
    super::hpke::kdf(config.1)
}

fn aead(config: &HpkeConfig) -> Result<AeadAlgorithm, CryptoError> {
    match super::hpke::aead(config.2) {
        // Export-only: MLS never seals with it, and this module does not offer it.
        AeadAlgorithm::HpkeExport => Err(CryptoError::UnsupportedAeadAlgorithm),
        aead => Ok(aead),
    }
}

/// `suite_id` of the HPKE suite: `"HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) ||
/// I2OSP(aead_id, 2)`.
fn hpke_suite(config: &HpkeConfig) -> Vec<u8> {
    [
        b"HPKE".as_slice(),
        &KEM_ID.to_be_bytes(),
        &(config.1 as u16).to_be_bytes(),
        &(config.2 as u16).to_be_bytes(),
    ]
    .concat()
}

fn labeled_extract(
    kdf: KdfAlgorithm,
    suite: &[u8],
    salt: &[u8],
    label: &str,
    ikm: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let labeled_ikm = [b"HPKE-v1".as_slice(), suite, label.as_bytes(), ikm].concat();
    HpkeRustCrypto::kdf_extract(kdf, salt, &labeled_ikm)
        .map_err(|_| CryptoError::CryptoLibraryError)
}

fn labeled_expand(
    kdf: KdfAlgorithm,
    suite: &[u8],
    prk: &[u8],
    label: &str,
    info: &[u8],
    length: usize,
) -> Result<Vec<u8>, CryptoError> {
    let length_bytes = u16::try_from(length)
        .map_err(|_| CryptoError::InvalidLength)?
        .to_be_bytes();
    let labeled_info = [
        length_bytes.as_slice(),
        b"HPKE-v1",
        suite,
        label.as_bytes(),
        info,
    ]
    .concat();
    HpkeRustCrypto::kdf_expand(kdf, prk, &labeled_info, length)
        .map_err(|_| CryptoError::CryptoLibraryError)
}

/// `DeriveKeyPair(ikm)`: `(private, public)`.
fn derive(ikm: &[u8]) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    let suite = kem_suite();
    let dkp_prk = labeled_extract(KEM_KDF, &suite, &[], "dkp_prk", ikm)?;
    let private = labeled_expand(KEM_KDF, &suite, &dkp_prk, "sk", &[], PRIVATE_KEY)?;
    let public = HpkeCurves::secret_to_public(KemAlgorithm::DhKem448, &private)
        .map_err(|_| CryptoError::CryptoLibraryError)?;
    Ok((private, public))
}

/// `ExtractAndExpand(dh, kem_context)`.
fn shared_secret(dh: &[u8], kem_context: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let suite = kem_suite();
    let eae_prk = labeled_extract(KEM_KDF, &suite, &[], "eae_prk", dh)?;
    labeled_expand(
        KEM_KDF,
        &suite,
        &eae_prk,
        "shared_secret",
        kem_context,
        SHARED_SECRET,
    )
}

/// `Encap(pkR)`: `(shared_secret, enc)`, with a fresh ephemeral key.
fn encap(pk_r: &[u8]) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    let mut prng = HpkeCurves::prng();
    let (pk_e, sk_e) = HpkeCurves::kem_key_gen(KemAlgorithm::DhKem448, &mut prng)
        .map_err(|_| CryptoError::CryptoLibraryError)?;
    let dh = HpkeCurves::dh(KemAlgorithm::DhKem448, pk_r, &sk_e)
        .map_err(|_| CryptoError::SenderSetupError)?;
    let shared = shared_secret(&dh, &[pk_e.as_slice(), pk_r].concat())?;
    Ok((shared, pk_e))
}

/// `Decap(enc, skR)`.
fn decap(enc: &[u8], sk_r: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let dh = HpkeCurves::dh(KemAlgorithm::DhKem448, enc, sk_r)
        .map_err(|_| CryptoError::ReceiverSetupError)?;
    let pk_r = HpkeCurves::secret_to_public(KemAlgorithm::DhKem448, sk_r)
        .map_err(|_| CryptoError::ReceiverSetupError)?;
    shared_secret(&dh, &[enc, pk_r.as_slice()].concat())
}

/// A context after the key schedule (mode 0), used for one message.
struct Context {
    key: Vec<u8>,
    nonce: Vec<u8>,
    exporter_secret: Vec<u8>,
    kdf: KdfAlgorithm,
    suite: Vec<u8>,
}

/// `KeyScheduleS/R` in base mode.
fn key_schedule(config: &HpkeConfig, shared: &[u8], info: &[u8]) -> Result<Context, CryptoError> {
    let kdf = kdf(config);
    let suite = hpke_suite(config);
    let psk_id_hash = labeled_extract(kdf, &suite, &[], "psk_id_hash", &[])?;
    let info_hash = labeled_extract(kdf, &suite, &[], "info_hash", info)?;
    let context = [[0u8].as_slice(), &psk_id_hash, &info_hash].concat();
    let secret = labeled_extract(kdf, &suite, shared, "secret", &[])?;
    let (key, nonce) = match aead(config) {
        Ok(aead) => (
            labeled_expand(
                kdf,
                &suite,
                &secret,
                "key",
                &context,
                HpkeRustCrypto::aead_key_length(aead),
            )?,
            labeled_expand(
                kdf,
                &suite,
                &secret,
                "base_nonce",
                &context,
                HpkeRustCrypto::aead_nonce_length(aead),
            )?,
        ),
        Err(_) => (Vec::new(), Vec::new()),
    };
    let exporter_secret = labeled_expand(
        kdf,
        &suite,
        &secret,
        "exp",
        &context,
        HpkeRustCrypto::kdf_digest_length(kdf),
    )?;
    Ok(Context {
        key,
        nonce,
        exporter_secret,
        kdf,
        suite,
    })
}

impl Context {
    /// `Context.Export(exporter_context, L)`.
    fn export(&self, exporter_context: &[u8], length: usize) -> Result<Vec<u8>, CryptoError> {
        labeled_expand(
            self.kdf,
            &self.suite,
            &self.exporter_secret,
            "sec",
            exporter_context,
            length,
        )
        .map_err(|_| CryptoError::ExporterError)
    }
}

/// Single-shot `Seal` to `pk_r`.
pub(super) fn seal(
    config: &HpkeConfig,
    pk_r: &[u8],
    info: &[u8],
    aad: &[u8],
    ptxt: &[u8],
) -> Result<HpkeCiphertext, CryptoError> {
    let aead = aead(config)?;
    let (shared, enc) = encap(pk_r)?;
    let context = key_schedule(config, &shared, info)?;
    // The first message of a context uses the base nonce as it is (sequence number 0).
    let ciphertext = HpkeRustCrypto::aead_seal(aead, &context.key, &context.nonce, aad, ptxt)
        .map_err(|_| CryptoError::HpkeEncryptionError)?;
    Ok(HpkeCiphertext {
        kem_output: enc.into(),
        ciphertext: ciphertext.into(),
    })
}

/// Single-shot `Open` with `sk_r`.
pub(super) fn open(
    config: &HpkeConfig,
    input: &HpkeCiphertext,
    sk_r: &[u8],
    info: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let aead = aead(config)?;
    let shared =
        decap(input.kem_output.as_slice(), sk_r).map_err(|_| CryptoError::HpkeDecryptionError)?;
    let context = key_schedule(config, &shared, info)?;
    HpkeRustCrypto::aead_open(
        aead,
        &context.key,
        &context.nonce,
        aad,
        input.ciphertext.as_slice(),
    )
    .map_err(|_| CryptoError::HpkeDecryptionError)
}

/// `SetupBaseS` then `Export`.
pub(super) fn setup_sender_and_export(
    config: &HpkeConfig,
    pk_r: &[u8],
    info: &[u8],
    exporter_context: &[u8],
    exporter_length: usize,
) -> Result<(KemOutput, ExporterSecret), CryptoError> {
    let (shared, enc) = encap(pk_r)?;
    let context = key_schedule(config, &shared, info)?;
    let exported = context.export(exporter_context, exporter_length)?;
    Ok((enc, exported.into()))
}

/// `SetupBaseR` then `Export`.
pub(super) fn setup_receiver_and_export(
    config: &HpkeConfig,
    enc: &[u8],
    sk_r: &[u8],
    info: &[u8],
    exporter_context: &[u8],
    exporter_length: usize,
) -> Result<ExporterSecret, CryptoError> {
    let shared = decap(enc, sk_r)?;
    let context = key_schedule(config, &shared, info)?;
    Ok(context.export(exporter_context, exporter_length)?.into())
}

/// `DeriveKeyPair(ikm)`.
pub(super) fn derive_key_pair(ikm: &[u8]) -> Result<HpkeKeyPair, CryptoError> {
    let (private, public) = derive(ikm)?;
    Ok(HpkeKeyPair {
        private: private.into(),
        public,
    })
}
