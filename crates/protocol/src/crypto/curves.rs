//! The curves `openmls_rust_crypto` lacks, for ciphersuites 4, 5 and 6: Ed448 and ECDSA
//! P-521 signatures, and HPKE's DHKEM over X448 and P-521.
//!
//! They come from OpenSSL, the one SQLCipher already links into every Conclave binary (built
//! from source, `openssl-src`): a maintained, widely reviewed implementation of all three
//! curves, where the pure-Rust ones exist only as pre-releases (`x448`, `ed448-goldilocks`)
//! or would add a second major version of RustCrypto's curve stack (`p521`). HPKE itself
//! stays `hpke-rs`, the one `openmls_rust_crypto` uses: [`HpkeCurves`] gives it these curves'
//! Diffie-Hellman and key generation (and X25519's Diffie-Hellman, from HACL*:
//! [`super::x25519`]), and leaves its KDFs and AEADs (HKDF-SHA512, AES-256-GCM,
//! ChaCha20-Poly1305) to `hpke-rs-rust-crypto`.
//!
//! Encodings are MLS's: Ed448 keys are RFC 8032's 57 bytes and signatures 114; a P-521
//! private key is its 66-byte big-endian scalar, a public key the uncompressed SEC1 point
//! (133 bytes), a signature DER (as TLS 1.3 and RFC 9420 sign with ECDSA); X448 keys are
//! RFC 7748's 56 bytes.

use hpke_rs_crypto::HpkeCrypto;
use hpke_rs_crypto::error::Error as HpkeError;
use hpke_rs_crypto::types::{AeadAlgorithm, KdfAlgorithm, KemAlgorithm};
use hpke_rs_rust_crypto::HpkeRustCrypto;
use openmls_traits::types::{CryptoError, SignatureScheme};
use openssl::bn::{BigNum, BigNumContext};
use openssl::derive::Deriver;
use openssl::ec::{EcGroup, EcKey, EcPoint, PointConversionForm};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::sign::{Signer, Verifier};

/// The length of a P-521 scalar (and of a coordinate) in bytes.
const P521_SCALAR: usize = 66;
/// The length of an X448 key or shared secret.
const X448_KEY: usize = 56;
/// The length of an Ed448 key.
const ED448_KEY: usize = 57;

/// Whether a signature scheme is one this module provides.
pub(crate) fn signs(scheme: SignatureScheme) -> bool {
    matches!(
        scheme,
        SignatureScheme::ED448 | SignatureScheme::ECDSA_SECP521R1_SHA512
    )
}

fn p521() -> Result<EcGroup, openssl::error::ErrorStack> {
    EcGroup::from_curve_name(Nid::SECP521R1)
}

/// A P-521 key pair from its private scalar, big-endian (66 bytes, or fewer where others
/// drop leading zeros), which must be in `[1, n)`.
fn p521_private(scalar: &[u8]) -> Option<PKey<Private>> {
    if scalar.is_empty() || scalar.len() > P521_SCALAR {
        return None;
    }
    let group = p521().ok()?;
    let mut ctx = BigNumContext::new().ok()?;
    let mut order = BigNum::new().ok()?;
    group.order(&mut order, &mut ctx).ok()?;
    let d = BigNum::from_slice(scalar).ok()?;
    if d.num_bits() == 0 || d >= order {
        return None;
    }
    let mut point = EcPoint::new(&group).ok()?;
    point.mul_generator2(&group, &d, &mut ctx).ok()?;
    let key = EcKey::from_private_components(&group, &d, &point).ok()?;
    PKey::from_ec_key(key).ok()
}

/// A P-521 public key from its uncompressed encoding, checked to be on the curve and not
/// the point at infinity.
fn p521_public(encoded: &[u8]) -> Option<PKey<Public>> {
    if encoded.len() != 1 + 2 * P521_SCALAR || encoded[0] != 0x04 {
        return None;
    }
    let group = p521().ok()?;
    let mut ctx = BigNumContext::new().ok()?;
    let point = EcPoint::from_bytes(&group, encoded, &mut ctx).ok()?;
    let key = EcKey::from_public_key(&group, &point).ok()?;
    key.check_key().ok()?;
    PKey::from_ec_key(key).ok()
}

/// The uncompressed encoding of a P-521 key's public point.
fn p521_encode(key: &EcKey<Private>) -> Option<Vec<u8>> {
    let mut ctx = BigNumContext::new().ok()?;
    key.public_key()
        .to_bytes(key.group(), PointConversionForm::UNCOMPRESSED, &mut ctx)
        .ok()
}

/// A fresh P-521 key pair: `(private scalar, public point)`.
fn p521_generate() -> Option<(Vec<u8>, Vec<u8>)> {
    let group = p521().ok()?;
    let key = EcKey::generate(&group).ok()?;
    let private = key.private_key().to_vec_padded(P521_SCALAR as i32).ok()?;
    Some((private, p521_encode(&key)?))
}

/// A fresh key pair of `scheme`: `(private, public)`, as openmls stores them.
pub(crate) fn signature_key_gen(
    scheme: SignatureScheme,
) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    match scheme {
        SignatureScheme::ED448 => {
            let key = PKey::generate_ed448().map_err(|_| CryptoError::CryptoLibraryError)?;
            let private = key
                .raw_private_key()
                .map_err(|_| CryptoError::CryptoLibraryError)?;
            let public = key
                .raw_public_key()
                .map_err(|_| CryptoError::CryptoLibraryError)?;
            Ok((private, public))
        }
        SignatureScheme::ECDSA_SECP521R1_SHA512 => {
            p521_generate().ok_or(CryptoError::CryptoLibraryError)
        }
        _ => Err(CryptoError::UnsupportedSignatureScheme),
    }
}

/// Signs `data` with `key` (pure Ed448, empty context; or ECDSA over SHA-512, DER).
pub(crate) fn sign(
    scheme: SignatureScheme,
    data: &[u8],
    key: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    if !signs(scheme) {
        return Err(CryptoError::UnsupportedSignatureScheme);
    }
    CurveSigningKey::parse(scheme, key)
        .ok_or(CryptoError::CryptoLibraryError)?
        .sign(data)
}

/// Checks `signature` over `data` with `public_key`. A key that does not decode is
/// `CryptoLibraryError`, a signature that does not verify `InvalidSignature`, as
/// `openmls_rust_crypto` reports them.
pub(crate) fn verify(
    scheme: SignatureScheme,
    data: &[u8],
    public_key: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let verified = match scheme {
        SignatureScheme::ED448 => {
            if public_key.len() != ED448_KEY {
                return Err(CryptoError::CryptoLibraryError);
            }
            let key = PKey::public_key_from_raw_bytes(public_key, Id::ED448)
                .map_err(|_| CryptoError::CryptoLibraryError)?;
            Verifier::new_without_digest(&key).and_then(|mut v| v.verify_oneshot(signature, data))
        }
        SignatureScheme::ECDSA_SECP521R1_SHA512 => {
            let key = p521_public(public_key).ok_or(CryptoError::CryptoLibraryError)?;
            Verifier::new(MessageDigest::sha512(), &key)
                .and_then(|mut v| v.verify_oneshot(signature, data))
        }
        _ => return Err(CryptoError::UnsupportedSignatureScheme),
    };
    match verified {
        Ok(true) => Ok(()),
        // OpenSSL reports a malformed DER signature as an error, a wrong one as `false`:
        // both are a signature that does not verify.
        Ok(false) | Err(_) => Err(CryptoError::InvalidSignature),
    }
}

/// `hpke-rs`'s backend for DHKEM(X448, HKDF-SHA512) and DHKEM(P-521, HKDF-SHA512), their
/// Diffie-Hellman and keys through OpenSSL, and for DHKEM(X25519, HKDF-SHA256), its
/// Diffie-Hellman through HACL* ([`super::x25519`]); everything else `hpke-rs-rust-crypto`'s.
#[derive(Debug)]
pub(crate) struct HpkeCurves;

impl HpkeCrypto for HpkeCurves {
    type HpkePrng = <HpkeRustCrypto as HpkeCrypto>::HpkePrng;

    fn name() -> String {
        "Conclave (OpenSSL X448 and P-521, HACL* X25519)".into()
    }

    fn supports_kdf(alg: KdfAlgorithm) -> Result<(), HpkeError> {
        HpkeRustCrypto::supports_kdf(alg)
    }

    fn supports_kem(alg: KemAlgorithm) -> Result<(), HpkeError> {
        match alg {
            KemAlgorithm::DhKem25519 | KemAlgorithm::DhKem448 | KemAlgorithm::DhKemP521 => Ok(()),
            _ => Err(HpkeError::UnknownKemAlgorithm),
        }
    }

    fn supports_aead(alg: AeadAlgorithm) -> Result<(), HpkeError> {
        HpkeRustCrypto::supports_aead(alg)
    }

    fn prng() -> Self::HpkePrng {
        HpkeRustCrypto::prng()
    }

    fn kdf_extract(alg: KdfAlgorithm, salt: &[u8], ikm: &[u8]) -> Result<Vec<u8>, HpkeError> {
        HpkeRustCrypto::kdf_extract(alg, salt, ikm)
    }

    fn kdf_expand(
        alg: KdfAlgorithm,
        prk: &[u8],
        info: &[u8],
        output_size: usize,
    ) -> Result<Vec<u8>, HpkeError> {
        HpkeRustCrypto::kdf_expand(alg, prk, info, output_size)
    }

    fn dh(alg: KemAlgorithm, pk: &[u8], sk: &[u8]) -> Result<Vec<u8>, HpkeError> {
        let (private, public) = match alg {
            KemAlgorithm::DhKem25519 => return super::x25519::dh(pk, sk),
            KemAlgorithm::DhKem448 => {
                if sk.len() != X448_KEY {
                    return Err(HpkeError::KemInvalidSecretKey);
                }
                if pk.len() != X448_KEY {
                    return Err(HpkeError::KemInvalidPublicKey);
                }
                (
                    PKey::private_key_from_raw_bytes(sk, Id::X448)
                        .map_err(|_| HpkeError::KemInvalidSecretKey)?,
                    PKey::public_key_from_raw_bytes(pk, Id::X448)
                        .map_err(|_| HpkeError::KemInvalidPublicKey)?,
                )
            }
            KemAlgorithm::DhKemP521 => (
                p521_private(sk).ok_or(HpkeError::KemInvalidSecretKey)?,
                p521_public(pk).ok_or(HpkeError::KemInvalidPublicKey)?,
            ),
            _ => return Err(HpkeError::UnknownKemAlgorithm),
        };
        let shared = Deriver::new(&private)
            .and_then(|mut deriver| {
                deriver.set_peer(&public)?;
                deriver.derive_to_vec()
            })
            .map_err(|_| HpkeError::KemInvalidPublicKey)?;
        // RFC 9180, section 7.1.4: an all-zero X448 output (a small-order peer key) is an
        // error. OpenSSL refuses it too; this does not depend on it.
        if shared.iter().all(|&b| b == 0) {
            return Err(HpkeError::KemInvalidPublicKey);
        }
        Ok(shared)
    }

    fn secret_to_public(alg: KemAlgorithm, sk: &[u8]) -> Result<Vec<u8>, HpkeError> {
        match alg {
            // dalek's fixed-base table beats HACL*'s ladder for this.
            KemAlgorithm::DhKem25519 => HpkeRustCrypto::secret_to_public(alg, sk),
            KemAlgorithm::DhKem448 => {
                if sk.len() != X448_KEY {
                    return Err(HpkeError::KemInvalidSecretKey);
                }
                PKey::private_key_from_raw_bytes(sk, Id::X448)
                    .and_then(|key| key.raw_public_key())
                    .map_err(|_| HpkeError::KemInvalidSecretKey)
            }
            KemAlgorithm::DhKemP521 => p521_private(sk)
                .and_then(|key| p521_encode(&key.ec_key().ok()?))
                .ok_or(HpkeError::KemInvalidSecretKey),
            _ => Err(HpkeError::UnknownKemAlgorithm),
        }
    }

    fn kem_key_gen(
        alg: KemAlgorithm,
        prng: &mut Self::HpkePrng,
    ) -> Result<(Vec<u8>, Vec<u8>), HpkeError> {
        // OpenSSL's own generator draws the key; `hpke-rs` wants `(public, private)`.
        match alg {
            KemAlgorithm::DhKem25519 => HpkeRustCrypto::kem_key_gen(alg, prng),
            KemAlgorithm::DhKem448 => {
                let key = PKey::generate_x448()
                    .map_err(|_| HpkeError::CryptoLibraryError("X448 key generation".into()))?;
                let private = key.raw_private_key();
                let public = key.raw_public_key();
                match (public, private) {
                    (Ok(public), Ok(private)) => Ok((public, private)),
                    _ => Err(HpkeError::CryptoLibraryError("X448 key encoding".into())),
                }
            }
            KemAlgorithm::DhKemP521 => p521_generate()
                .map(|(private, public)| (public, private))
                .ok_or_else(|| HpkeError::CryptoLibraryError("P-521 key generation".into())),
            _ => Err(HpkeError::UnknownKemAlgorithm),
        }
    }

    fn kem_key_gen_derand(
        _alg: KemAlgorithm,
        _seed: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), HpkeError> {
        // Only KEMs other than DHKEM derive keys this way; hpke-rs derives DHKEM keys itself.
        Err(HpkeError::UnsupportedKemOperation)
    }

    fn kem_encaps(
        _alg: KemAlgorithm,
        _pk_r: &[u8],
        _prng: &mut Self::HpkePrng,
    ) -> Result<(Vec<u8>, Vec<u8>), HpkeError> {
        Err(HpkeError::UnsupportedKemOperation)
    }

    fn kem_decaps(_alg: KemAlgorithm, _ct: &[u8], _sk_r: &[u8]) -> Result<Vec<u8>, HpkeError> {
        Err(HpkeError::UnsupportedKemOperation)
    }

    fn dh_validate_sk(alg: KemAlgorithm, sk: &[u8]) -> Result<Vec<u8>, HpkeError> {
        match alg {
            KemAlgorithm::DhKem25519 => HpkeRustCrypto::dh_validate_sk(alg, sk),
            KemAlgorithm::DhKemP521 => p521_private(sk)
                .map(|_| sk.to_vec())
                .ok_or(HpkeError::KemInvalidSecretKey),
            _ => Err(HpkeError::UnknownKemAlgorithm),
        }
    }

    fn aead_seal(
        alg: AeadAlgorithm,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        msg: &[u8],
    ) -> Result<Vec<u8>, HpkeError> {
        HpkeRustCrypto::aead_seal(alg, key, nonce, aad, msg)
    }

    fn aead_open(
        alg: AeadAlgorithm,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        msg: &[u8],
    ) -> Result<Vec<u8>, HpkeError> {
        HpkeRustCrypto::aead_open(alg, key, nonce, aad, msg)
    }
}

/// A parsed Ed448 or ECDSA P-521 private key, kept for the signatures a device makes.
pub struct CurveSigningKey {
    scheme: SignatureScheme,
    key: PKey<Private>,
}

impl CurveSigningKey {
    /// Whether `scheme` is one of these keys'.
    pub(crate) fn signs(scheme: SignatureScheme) -> bool {
        signs(scheme)
    }

    /// A fresh key pair: `(private, public)`.
    pub(crate) fn generate(scheme: SignatureScheme) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
        signature_key_gen(scheme)
    }

    /// Parses a private key as openmls stores it; `None` if it is not a valid key.
    pub(crate) fn parse(scheme: SignatureScheme, private: &[u8]) -> Option<Self> {
        let key = match scheme {
            SignatureScheme::ED448 if private.len() == ED448_KEY => {
                PKey::private_key_from_raw_bytes(private, Id::ED448).ok()?
            }
            SignatureScheme::ECDSA_SECP521R1_SHA512 => p521_private(private)?,
            _ => return None,
        };
        Some(Self { scheme, key })
    }

    /// The key's scheme.
    pub(crate) fn scheme(&self) -> SignatureScheme {
        self.scheme
    }

    /// Signs `data`.
    pub(crate) fn sign(&self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match self.scheme {
            SignatureScheme::ED448 => Signer::new_without_digest(&self.key),
            _ => Signer::new(MessageDigest::sha512(), &self.key),
        }
        .and_then(|mut signer| signer.sign_oneshot_to_vec(data))
        .map_err(|_| CryptoError::CryptoLibraryError)
    }
}
