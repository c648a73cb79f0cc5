//! [`Crypto`]: openmls_rust_crypto's `RustCrypto` with a faster check of Ed25519 signatures.
//!
//! Checking signatures is most of what a member does: every message and commit it receives is
//! signed, and joining a group of N checks N leaf signatures. `RustCrypto` checks an Ed25519
//! signature with ed25519-dalek's `verify_strict`, which decodes the signer's public key
//! (a square root in the field) and the signature's `R` point (another) on every call.
//! One at a time, [`Crypto`] accepts exactly the same signatures with less work:
//!
//! - `verify_strict` decodes `R` only to reject small-order `R`. It accepts only when the
//!   encoding of the recomputed `R' = [s]B - [k]A` equals `R`'s bytes, and then `R` decodes
//!   to `R'` (an encoding made by compressing a point decodes to that point). So `R` is of
//!   small order exactly when `R'` is, that is when `R`'s bytes are the (canonical) encoding
//!   of one of the eight small-order points: compared bytes give the same answer without
//!   decoding `R` or multiplying `R'` by the cofactor.
//! - Decoded public keys are kept in a bounded cache, since the same members sign again and
//!   again. Decoding is a pure function of the key's bytes, so the cache can return only what
//!   decoding would.
//!
//! Many signatures at once (`verify_signatures`, which openmls calls for the leaves of a
//! ratchet tree a joiner receives: one signature per member) are checked as a batch: with a
//! random 128-bit weight `z` per signature, the sum of `z * (R + [k]A - [s]B)` over the batch
//! must vanish once multiplied by the cofactor 8. One multi-scalar multiplication replaces a
//! double-scalar multiplication per signature, about half the cost per signature (measured
//! in `docs/PERFORMANCE.md`). The batch first refuses what `verify_strict` refuses before
//! its equation: wrong lengths, a key that does not decode or is of small order, a
//! non-canonical `s`, and an `R` that is not the canonical encoding of a point or is of
//! small order. What remains differs only in the equation: a batch checks RFC 8032's
//! equation, with the cofactor (section 5.1.7, "[8][S]B = [8]R + [8][k]A'"), where
//! `verify_strict` checks the equation without it, which RFC 8032 also allows. They
//! disagree only on a signature whose `[s]B - R - [k]A` is a non-zero point of small
//! order, which only a signer can make, with a key or `R` built with a small-order part
//! (honest keys and nonces have none): such a signature still proves its signer held the
//! key, and the batch accepts it where a single check refuses it
//! (`a_batch_checks_rfc_8032s_equation_with_the_cofactor` shows one). A failed batch says
//! only that some signature failed; openmls then checks each on its own, so the error
//! it reports is `verify_strict`'s, for the first failing leaf.
//!
//! Everything else is `RustCrypto`'s, unchanged. `tests` below compare the verifiers on
//! valid signatures, every single-bit change of them, and the small-order and non-canonical
//! inputs that tell strict verification apart.

use std::collections::HashMap;
use std::fmt;
use std::sync::{LazyLock, Mutex, PoisonError};

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use openmls_rust_crypto::RustCrypto;
use openmls_traits::crypto::OpenMlsCrypto;
use openmls_traits::random::OpenMlsRand;
use openmls_traits::types::{
    AeadType, Ciphersuite, CryptoError, ExporterSecret, HashType, HpkeCiphertext, HpkeConfig,
    HpkeKeyPair, KemOutput, SignatureCheck, SignatureScheme,
};
use sha2::{Digest, Sha512};
use tls_codec::SecretVLBytes;

/// How many decoded Ed25519 public keys [`Crypto`] keeps (about 200 bytes each). When full,
/// the cache starts over: simpler than an eviction order, and a group larger than this pays
/// only what it paid without a cache.
const KEY_CACHE_CAPACITY: usize = 4096;

/// The encodings of the eight points of small order (the canonical ones: those that
/// compressing a point gives).
static SMALL_ORDER_ENCODINGS: LazyLock<[[u8; 32]; 8]> = LazyLock::new(|| {
    curve25519_dalek::constants::EIGHT_TORSION.map(|point| point.compress().to_bytes())
});

/// Below this many signatures, a batch is checked one signature after another. A batch has a
/// fixed cost (random weights, a multiplication by the cofactor) on top of its share per
/// signature (25-29 us against 44 us one at a time at 64 signatures, 20 us at 2,500); the
/// point where it stops paying was not measured, and a few signatures cost little either way.
const MIN_BATCH: usize = 4;

/// An Ed25519 signature taken apart (see [`Crypto::ed25519_parts`]).
struct Ed25519Parts {
    /// The signer's key, decoded.
    a: EdwardsPoint,
    /// The signature's `R`, as its bytes.
    r: [u8; 32],
    /// The signature's `s`.
    s: Scalar,
    /// The challenge `H(R || A || message)`.
    k: Scalar,
}

/// A signature's `R` decoded for a batch, or `None` where `verify_strict` would refuse
/// it: bytes that are not the canonical encoding of a point (`y` of `p` or more; `x = 0`
/// with the sign bit set only encodes small-order points), or a point of small order.
fn decode_nonce(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    // p = 2^255 - 19, little-endian: ed ff .. ff 7f.
    let y_at_least_p =
        bytes[0] >= 0xed && bytes[1..31].iter().all(|&b| b == 0xff) && bytes[31] & 0x7f == 0x7f;
    if y_at_least_p {
        return None;
    }
    CompressedEdwardsY(*bytes)
        .decompress()
        .filter(|point| !point.is_small_order())
}

/// The crypto provider of Conclave's providers ([`MemoryProvider`](crate::MemoryProvider) and
/// conclave-storage's): `RustCrypto`, with Ed25519 signatures checked as the module docs
/// describe.
#[derive(Default)]
pub struct Crypto {
    rust_crypto: RustCrypto,
    ed25519_keys: Mutex<HashMap<[u8; 32], EdwardsPoint>>,
}

impl fmt::Debug for Crypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crypto").finish_non_exhaustive()
    }
}

impl Crypto {
    /// Checks an Ed25519 signature with `verify_strict`'s rules. The errors are
    /// `RustCrypto`'s: `CryptoLibraryError` for a malformed key or signature length,
    /// `InvalidSignature` for a signature that does not verify.
    fn verify_ed25519(
        &self,
        message: &[u8],
        public_key: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        let parts = self.ed25519_parts(message, public_key, signature)?;
        let expected_r =
            EdwardsPoint::vartime_double_scalar_mul_basepoint(&parts.k, &-parts.a, &parts.s);
        if expected_r.compress().to_bytes() != parts.r || SMALL_ORDER_ENCODINGS.contains(&parts.r) {
            return Err(CryptoError::InvalidSignature);
        }
        Ok(())
    }

    /// Checks many Ed25519 signatures together (see the module docs); `Ok` only if all pass.
    fn verify_ed25519_batch(&self, checks: &[SignatureCheck<'_>]) -> Result<(), CryptoError> {
        if checks.len() < MIN_BATCH {
            return checks.iter().try_for_each(|check| {
                self.verify_ed25519(check.data, check.public_key, check.signature)
            });
        }
        // A random 128-bit weight per signature, drawn after the signatures are fixed: a
        // signature that fails RFC 8032's equation makes the weighted sum, times the
        // cofactor, vanish with probability 2^-128 at most, whatever the signer chose.
        let weights = self
            .rust_crypto
            .random_vec(16 * checks.len())
            .map_err(|_| CryptoError::InsufficientRandomness)?;
        let mut scalars = Vec::with_capacity(2 * checks.len() + 1);
        let mut points = Vec::with_capacity(2 * checks.len() + 1);
        let mut basepoint_scalar = Scalar::ZERO;
        for (check, weight) in checks.iter().zip(weights.chunks_exact(16)) {
            let parts = self.ed25519_parts(check.data, check.public_key, check.signature)?;
            let r = decode_nonce(&parts.r).ok_or(CryptoError::InvalidSignature)?;
            let mut z = [0u8; 32];
            z[..16].copy_from_slice(weight);
            let z = Scalar::from_bytes_mod_order(z);
            basepoint_scalar -= z * parts.s;
            scalars.push(z);
            points.push(r);
            scalars.push(z * parts.k);
            points.push(parts.a);
        }
        scalars.push(basepoint_scalar);
        points.push(ED25519_BASEPOINT_POINT);
        // Sum of z * (R + [k]A - [s]B), multiplied by the cofactor: RFC 8032's equation.
        let sum = EdwardsPoint::vartime_multiscalar_mul(scalars, points);
        if sum.mul_by_cofactor().is_identity() {
            Ok(())
        } else {
            Err(CryptoError::InvalidSignature)
        }
    }

    /// What both checks start from: the key decoded, the signature split, and the
    /// challenge `k`. Fails, with `verify_strict`'s errors, where it does: wrong lengths, a
    /// key that does not decode or is of small order, a non-canonical `s`.
    fn ed25519_parts(
        &self,
        message: &[u8],
        public_key: &[u8],
        signature: &[u8],
    ) -> Result<Ed25519Parts, CryptoError> {
        let public_key: &[u8; 32] = public_key
            .try_into()
            .map_err(|_| CryptoError::CryptoLibraryError)?;
        let a = self
            .decoded_key(public_key)
            .ok_or(CryptoError::CryptoLibraryError)?;
        let signature: &[u8; 64] = signature
            .try_into()
            .map_err(|_| CryptoError::CryptoLibraryError)?;
        let (r, s) = signature.split_at(32);
        let r: [u8; 32] = r.try_into().map_err(|_| CryptoError::InvalidSignature)?;
        let s: [u8; 32] = s.try_into().map_err(|_| CryptoError::InvalidSignature)?;
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s))
            .ok_or(CryptoError::InvalidSignature)?;
        if a.is_small_order() {
            return Err(CryptoError::InvalidSignature);
        }
        let k = Scalar::from_hash(
            Sha512::new()
                .chain_update(r)
                .chain_update(public_key)
                .chain_update(message),
        );
        Ok(Ed25519Parts { a, r, s, k })
    }

    /// `public_key` decoded, from the cache if it is there.
    fn decoded_key(&self, public_key: &[u8; 32]) -> Option<EdwardsPoint> {
        // The cache only ever holds correct decodings, so a panic elsewhere while the lock
        // was held leaves nothing wrong in it.
        let lock = || {
            self.ed25519_keys
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        };
        if let Some(point) = lock().get(public_key) {
            return Some(*point);
        }
        let point = CompressedEdwardsY(*public_key).decompress()?;
        let mut keys = lock();
        if keys.len() >= KEY_CACHE_CAPACITY {
            keys.clear();
        }
        keys.insert(*public_key, point);
        Some(point)
    }
}

impl OpenMlsCrypto for Crypto {
    fn verify_signature(
        &self,
        alg: SignatureScheme,
        data: &[u8],
        pk: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        match alg {
            SignatureScheme::ED25519 => self.verify_ed25519(data, pk, signature),
            _ => self.rust_crypto.verify_signature(alg, data, pk, signature),
        }
    }

    fn verify_signatures(
        &self,
        alg: SignatureScheme,
        checks: &[SignatureCheck<'_>],
    ) -> Result<(), CryptoError> {
        match alg {
            SignatureScheme::ED25519 => self.verify_ed25519_batch(checks),
            _ => checks.iter().try_for_each(|check| {
                self.rust_crypto.verify_signature(
                    alg,
                    check.data,
                    check.public_key,
                    check.signature,
                )
            }),
        }
    }

    fn supports(&self, ciphersuite: Ciphersuite) -> Result<(), CryptoError> {
        self.rust_crypto.supports(ciphersuite)
    }

    fn supported_ciphersuites(&self) -> Vec<Ciphersuite> {
        self.rust_crypto.supported_ciphersuites()
    }

    fn hkdf_extract(
        &self,
        hash_type: HashType,
        salt: &[u8],
        ikm: &[u8],
    ) -> Result<SecretVLBytes, CryptoError> {
        self.rust_crypto.hkdf_extract(hash_type, salt, ikm)
    }

    fn hmac(
        &self,
        hash_type: HashType,
        key: &[u8],
        message: &[u8],
    ) -> Result<SecretVLBytes, CryptoError> {
        self.rust_crypto.hmac(hash_type, key, message)
    }

    fn hkdf_expand(
        &self,
        hash_type: HashType,
        prk: &[u8],
        info: &[u8],
        okm_len: usize,
    ) -> Result<SecretVLBytes, CryptoError> {
        self.rust_crypto.hkdf_expand(hash_type, prk, info, okm_len)
    }

    fn hash(&self, hash_type: HashType, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.rust_crypto.hash(hash_type, data)
    }

    fn aead_encrypt(
        &self,
        alg: AeadType,
        key: &[u8],
        data: &[u8],
        nonce: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.rust_crypto.aead_encrypt(alg, key, data, nonce, aad)
    }

    fn aead_decrypt(
        &self,
        alg: AeadType,
        key: &[u8],
        ct_tag: &[u8],
        nonce: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.rust_crypto.aead_decrypt(alg, key, ct_tag, nonce, aad)
    }

    fn signature_key_gen(&self, alg: SignatureScheme) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
        self.rust_crypto.signature_key_gen(alg)
    }

    fn sign(&self, alg: SignatureScheme, data: &[u8], key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.rust_crypto.sign(alg, data, key)
    }

    fn hpke_seal(
        &self,
        config: HpkeConfig,
        pk_r: &[u8],
        info: &[u8],
        aad: &[u8],
        ptxt: &[u8],
    ) -> Result<HpkeCiphertext, CryptoError> {
        self.rust_crypto.hpke_seal(config, pk_r, info, aad, ptxt)
    }

    fn hpke_open(
        &self,
        config: HpkeConfig,
        input: &HpkeCiphertext,
        sk_r: &[u8],
        info: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.rust_crypto.hpke_open(config, input, sk_r, info, aad)
    }

    fn hpke_setup_sender_and_export(
        &self,
        config: HpkeConfig,
        pk_r: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        exporter_length: usize,
    ) -> Result<(KemOutput, ExporterSecret), CryptoError> {
        self.rust_crypto.hpke_setup_sender_and_export(
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
        self.rust_crypto.hpke_setup_receiver_and_export(
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
        self.rust_crypto.derive_hpke_keypair(config, ikm)
    }
}

impl OpenMlsRand for Crypto {
    type Error = <RustCrypto as OpenMlsRand>::Error;

    fn random_array<const N: usize>(&self) -> Result<[u8; N], Self::Error> {
        self.rust_crypto.random_array()
    }

    fn random_vec(&self, len: usize) -> Result<Vec<u8>, Self::Error> {
        self.rust_crypto.random_vec(len)
    }
}

#[cfg(test)]
mod tests {
    use curve25519_dalek::constants::EIGHT_TORSION;
    use ed25519_dalek::Signer as _;

    use super::*;

    /// Both verifiers' answers (the reference is `RustCrypto`'s `verify_strict`), asserted
    /// equal; returns the answer.
    fn both(
        crypto: &Crypto,
        message: &[u8],
        key: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        let reference = RustCrypto::default();
        let expected =
            reference.verify_signature(SignatureScheme::ED25519, message, key, signature);
        let got = crypto.verify_signature(SignatureScheme::ED25519, message, key, signature);
        assert_eq!(got, expected, "key {key:02x?} signature {signature:02x?}");
        got
    }

    /// A signature that ed25519-dalek's non-strict `verify` accepts (else the test would show
    /// nothing) and strict verification must reject.
    fn assert_forgery_rejected(
        crypto: &Crypto,
        message: &[u8],
        key: &[u8; 32],
        signature: &[u8; 64],
    ) {
        let plain = ed25519_dalek::VerifyingKey::from_bytes(key).unwrap();
        let signature_value = ed25519_dalek::Signature::from_bytes(signature);
        assert!(ed25519_dalek::Verifier::verify(&plain, message, &signature_value).is_ok());
        assert_eq!(
            both(crypto, message, key, signature),
            Err(CryptoError::InvalidSignature)
        );
    }

    fn signing_key(seed: u8) -> ed25519_dalek::SigningKey {
        let seed: [u8; 32] = Sha512::digest([seed]).as_slice()[..32].try_into().unwrap();
        ed25519_dalek::SigningKey::from_bytes(&seed)
    }

    #[test]
    fn agrees_with_verify_strict_on_valid_signatures_and_every_bit_flip() {
        let crypto = Crypto::default();
        for seed in 0..6u8 {
            let key = signing_key(seed);
            let public = key.verifying_key().to_bytes();
            let message = vec![seed; 50 * seed as usize];
            let signature = key.sign(&message).to_bytes();
            assert_eq!(both(&crypto, &message, &public, &signature), Ok(()));
            for bit in 0..512 {
                let mut flipped = signature;
                flipped[bit / 8] ^= 1 << (bit % 8);
                assert!(both(&crypto, &message, &public, &flipped).is_err());
            }
            for bit in 0..256 {
                let mut flipped = public;
                flipped[bit / 8] ^= 1 << (bit % 8);
                assert!(both(&crypto, &message, &flipped, &signature).is_err());
            }
            let mut other = message.clone();
            other.push(0);
            assert!(both(&crypto, &other, &public, &signature).is_err());
            // Wrong lengths are `CryptoLibraryError`, like `RustCrypto`'s.
            both(&crypto, &message, &public[..31], &signature).unwrap_err();
            both(&crypto, &message, &public, &signature[..63]).unwrap_err();
        }
    }

    #[test]
    fn rejects_small_order_r_that_plain_verification_accepts() {
        // An honest key A = [a]B and R = the identity: s = k * a satisfies the equation, so
        // ed25519-dalek's non-strict `verify` accepts; strict verification must not.
        let crypto = Crypto::default();
        let a = Scalar::from_bytes_mod_order([9; 32]);
        let public = EdwardsPoint::mul_base(&a).compress().to_bytes();
        let message = b"small order R";
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let k = Scalar::from_hash(
            Sha512::new()
                .chain_update(identity)
                .chain_update(public)
                .chain_update(message),
        );
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(&identity);
        signature[32..].copy_from_slice((k * a).as_bytes());
        assert_forgery_rejected(&crypto, message, &public, &signature);
    }

    #[test]
    fn rejects_every_small_order_r_that_plain_verification_accepts() {
        // A mixed-order key A = [a]B + T8 (T8 of order 8) and s = k * a give
        // [s]B - [k]A = -[k]T8, a small-order point that depends on k mod 8. For each
        // small-order R, messages are tried until -[k]T8 = R: then non-strict `verify`
        // accepts R, and strict verification must refuse it for its small order.
        let crypto = Crypto::default();
        let a = Scalar::from_bytes_mod_order([3; 32]);
        let order_eight = EIGHT_TORSION[1];
        let key_point = EdwardsPoint::mul_base(&a) + order_eight;
        let public = key_point.compress().to_bytes();
        for torsion in EIGHT_TORSION.iter() {
            let r = torsion.compress().to_bytes();
            let (message, k) = (0u32..)
                .map(|i| {
                    let message = i.to_le_bytes().to_vec();
                    let k = Scalar::from_hash(
                        Sha512::new()
                            .chain_update(r)
                            .chain_update(public)
                            .chain_update(&message),
                    );
                    (message, k)
                })
                .find(|(_, k)| -(order_eight * k) == *torsion)
                .unwrap();
            let mut signature = [0u8; 64];
            signature[..32].copy_from_slice(&r);
            signature[32..].copy_from_slice((k * a).as_bytes());
            assert_forgery_rejected(&crypto, &message, &public, &signature);
        }
    }

    #[test]
    fn agrees_on_small_order_and_mixed_order_keys_and_non_canonical_encodings() {
        let crypto = Crypto::default();
        let message = b"torsion";
        let key = signing_key(42);
        let good = key.sign(message).to_bytes();
        let honest = CompressedEdwardsY(key.verifying_key().to_bytes())
            .decompress()
            .unwrap();
        for torsion in EIGHT_TORSION.iter() {
            // The small-order points themselves as keys.
            let small = torsion.compress().to_bytes();
            assert!(both(&crypto, message, &small, &good).is_err());
            // Mixed-order keys (an honest key plus torsion): not small order, so both go on
            // to the equation, and must give the same answer.
            let mixed = (honest + torsion).compress().to_bytes();
            both(&crypto, message, &mixed, &good).ok();
            // Small-order R with the honest key.
            let mut signature = good;
            signature[..32].copy_from_slice(&small);
            assert!(
                both(
                    &crypto,
                    message,
                    &key.verifying_key().to_bytes(),
                    &signature
                )
                .is_err()
            );
        }
        // y >= p: the 19 non-canonical y encodings (those that decode at all) as keys and as R.
        for low in 0..19u8 {
            let mut non_canonical = [0xff; 32];
            non_canonical[0] = 0xed + low;
            non_canonical[31] = 0x7f;
            if non_canonical[0] < 0xed {
                continue;
            }
            both(&crypto, message, &non_canonical, &good).ok();
            let mut signature = good;
            signature[..32].copy_from_slice(&non_canonical);
            both(
                &crypto,
                message,
                &key.verifying_key().to_bytes(),
                &signature,
            )
            .ok();
        }
        // s + l: the same scalar, not reduced (s < l < 2^253, so the sum fits 32 bytes).
        let mut unreduced: [u8; 32] = good[32..].try_into().unwrap();
        // The group order l = 2^252 + 27742317777372353535851937790883648493, little-endian.
        let mut l = [0u8; 32];
        l[..16].copy_from_slice(&[
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14,
        ]);
        l[31] = 0x10;
        let mut carry = 0u16;
        for (byte, l_byte) in unreduced.iter_mut().zip(l) {
            let sum = *byte as u16 + l_byte as u16 + carry;
            *byte = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        let mut signature = good;
        signature[32..].copy_from_slice(&unreduced);
        assert!(
            both(
                &crypto,
                message,
                &key.verifying_key().to_bytes(),
                &signature
            )
            .is_err()
        );
    }

    #[test]
    fn rejects_the_identity_as_key_that_plain_verification_accepts() {
        // With A the identity, [k]A vanishes: R = [s]B satisfies the equation for any s.
        let crypto = Crypto::default();
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let s = Scalar::from_bytes_mod_order([5; 32]);
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(EdwardsPoint::mul_base(&s).compress().as_bytes());
        signature[32..].copy_from_slice(s.as_bytes());
        let message = b"identity key";
        assert_forgery_rejected(&crypto, message, &identity, &signature);
    }

    /// A key, a message and a signature.
    type Signed = ([u8; 32], Vec<u8>, [u8; 64]);

    /// A batch of `count` valid signatures (distinct keys and messages).
    fn valid_batch(count: u8) -> Vec<Signed> {
        (0..count)
            .map(|seed| {
                let key = signing_key(seed);
                let message = vec![seed; 40 + seed as usize];
                let signature = key.sign(&message).to_bytes();
                (key.verifying_key().to_bytes(), message, signature)
            })
            .collect()
    }

    fn batch(crypto: &Crypto, batch: &[Signed]) -> Result<(), CryptoError> {
        let checks: Vec<SignatureCheck<'_>> = batch
            .iter()
            .map(|(key, message, signature)| SignatureCheck {
                data: message,
                public_key: key,
                signature,
            })
            .collect();
        crypto.verify_signatures(SignatureScheme::ED25519, &checks)
    }

    #[test]
    fn a_batch_passes_only_if_every_signature_does() {
        let crypto = Crypto::default();
        assert_eq!(batch(&crypto, &[]), Ok(()));
        // Below MIN_BATCH (one by one) and above it (as a batch).
        for count in [1, MIN_BATCH as u8 - 1, MIN_BATCH as u8, 40] {
            let good = valid_batch(count);
            assert_eq!(batch(&crypto, &good), Ok(()));
            for position in [0, good.len() / 2, good.len() - 1] {
                // Every bit of one signature, and one bit of its key and message.
                for bit in 0..512 {
                    let mut bad = good.clone();
                    bad[position].2[bit / 8] ^= 1 << (bit % 8);
                    assert!(
                        batch(&crypto, &bad).is_err(),
                        "bit {bit} of signature {position}"
                    );
                }
                let mut bad = good.clone();
                bad[position].0[3] ^= 0x10;
                assert!(batch(&crypto, &bad).is_err());
                let mut bad = good.clone();
                bad[position].1.push(0);
                assert!(batch(&crypto, &bad).is_err());
                // Two signatures swapped between their messages.
                if good.len() > 1 {
                    let mut bad = good.clone();
                    let other = (position + 1) % good.len();
                    let signature = bad[position].2;
                    bad[position].2 = bad[other].2;
                    bad[other].2 = signature;
                    assert!(batch(&crypto, &bad).is_err());
                }
            }
        }
    }

    #[test]
    fn a_batch_refuses_what_verify_strict_refuses_before_its_equation() {
        let crypto = Crypto::default();
        let good = valid_batch(8);
        let replace = |position: usize, change: &dyn Fn(&mut Signed)| {
            let mut bad = good.clone();
            change(&mut bad[position]);
            batch(&crypto, &bad)
        };
        for torsion in EIGHT_TORSION.iter() {
            let small = torsion.compress().to_bytes();
            // A small-order key, and a small-order R.
            assert!(replace(2, &|entry| entry.0 = small).is_err());
            assert!(replace(2, &|entry| entry.2[..32].copy_from_slice(&small)).is_err());
        }
        // The identity's non-canonical encoding (x = 0 with the sign bit) as R.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        identity[31] = 0x80;
        assert!(replace(5, &|entry| entry.2[..32].copy_from_slice(&identity)).is_err());
        // y >= p as R.
        for low in 0..19u8 {
            let mut non_canonical = [0xff; 32];
            non_canonical[0] = 0xed + low;
            non_canonical[31] = 0x7f;
            assert!(decode_nonce(&non_canonical).is_none());
            assert!(replace(1, &|entry| entry.2[..32].copy_from_slice(&non_canonical)).is_err());
        }
        // s + l for s, not reduced: l - 1 is -1 mod l, so s + l = s + (l - 1) + 1.
        let s = Scalar::from_canonical_bytes(good[4].2[32..].try_into().unwrap()).unwrap();
        let l_minus_one = (-Scalar::ONE).to_bytes();
        let mut unreduced = [0u8; 32];
        let mut carry = 1u16;
        for (i, byte) in unreduced.iter_mut().enumerate() {
            let sum = s.as_bytes()[i] as u16 + l_minus_one[i] as u16 + carry;
            *byte = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        assert!(replace(4, &|entry| entry.2[32..].copy_from_slice(&unreduced)).is_err());
        // Wrong lengths.
        let checks = [SignatureCheck {
            data: &good[0].1,
            public_key: &good[0].0[..31],
            signature: &good[0].2,
        }; MIN_BATCH];
        assert!(
            crypto
                .verify_signatures(SignatureScheme::ED25519, &checks)
                .is_err()
        );
        let checks = [SignatureCheck {
            data: &good[0].1,
            public_key: &good[0].0,
            signature: &good[0].2[..63],
        }; MIN_BATCH];
        assert!(
            crypto
                .verify_signatures(SignatureScheme::ED25519, &checks)
                .is_err()
        );
    }

    #[test]
    fn a_batch_checks_rfc_8032s_equation_with_the_cofactor() {
        // An honest key and R = [r]B + T (T of order 8: R is not of small order, and its
        // encoding is canonical), s = r + k * a: [s]B - R - [k]A = -T. The equation without
        // the cofactor (verify_strict's) fails; with it (RFC 8032 section 5.1.7) it holds.
        // Only the signer can make such a signature; the module docs say why a batch may
        // accept it.
        let crypto = Crypto::default();
        let a = Scalar::from_bytes_mod_order([7; 32]);
        let public = EdwardsPoint::mul_base(&a).compress().to_bytes();
        let r = Scalar::from_bytes_mod_order([11; 32]);
        let nonce = (EdwardsPoint::mul_base(&r) + EIGHT_TORSION[1])
            .compress()
            .to_bytes();
        let message = b"cofactor".to_vec();
        let k = Scalar::from_hash(
            Sha512::new()
                .chain_update(nonce)
                .chain_update(public)
                .chain_update(&message),
        );
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(&nonce);
        signature[32..].copy_from_slice((r + k * a).as_bytes());
        assert_eq!(
            both(&crypto, &message, &public, &signature),
            Err(CryptoError::InvalidSignature)
        );
        let mut crafted = valid_batch(MIN_BATCH as u8);
        crafted.push((public, message, signature));
        assert_eq!(batch(&crypto, &crafted), Ok(()));
    }

    #[test]
    fn the_key_cache_stays_bounded_and_correct() {
        let crypto = Crypto::default();
        let message = b"cache";
        for seed in 0..3u8 {
            let key = signing_key(seed);
            let signature = key.sign(message).to_bytes();
            let public = key.verifying_key().to_bytes();
            // Twice: once decoded, once from the cache.
            assert_eq!(both(&crypto, message, &public, &signature), Ok(()));
            assert_eq!(both(&crypto, message, &public, &signature), Ok(()));
        }
        let mut keys = crypto.ed25519_keys.lock().unwrap();
        assert_eq!(keys.len(), 3);
        for i in 0..KEY_CACHE_CAPACITY as u32 {
            let mut fake = [0u8; 32];
            fake[..4].copy_from_slice(&i.to_le_bytes());
            keys.insert(fake, EdwardsPoint::default());
        }
        drop(keys);
        let key = signing_key(9);
        let signature = key.sign(message).to_bytes();
        assert_eq!(
            both(
                &crypto,
                message,
                &key.verifying_key().to_bytes(),
                &signature
            ),
            Ok(())
        );
        assert_eq!(crypto.ed25519_keys.lock().unwrap().len(), 1);
    }
}
