//! [`Crypto`]: openmls_rust_crypto's `RustCrypto` with Ed25519 signatures checked by one
//! rule, one at a time or many at once, and faster.
//!
//! Checking signatures is most of what a member does: every message and commit it receives is
//! signed, and joining a group of N checks N leaf signatures.
//!
//! # One verdict for every signature
//!
//! A signature is valid when it passes every check `verify_strict` (ed25519-dalek, what
//! `RustCrypto` uses) makes before its equation: both lengths right, a key that decodes and
//! is not of small order, a canonical `s`, and an `R` that is the canonical encoding of a
//! point not of small order; and then RFC 8032's verification equation *with the cofactor*
//! (section 5.1.7, "[8][S]B = [8]R + [8][k]A'"). A single check and a batch check this same
//! equation, so a signature gets the same verdict whatever the size of the batch it lands in
//! and however many cores split the batches: every Conclave member, on any machine, accepts
//! or refuses it alike. (This is the rule Zcash adopted for the same reason, ZIP 215.)
//!
//! `verify_strict` checks the equation without the cofactor. The two rules differ only on a
//! signature whose `[s]B - R - [k]A` is a non-zero point of small order, which only the
//! signer can make, with a key or an `R` built with a small-order part (honest keys and
//! nonces have none): such a signature still proves that its signer held the key. Conclave
//! accepts it where `verify_strict` (and so openmls as published) refuses it; a
//! group whose members all run Conclave agrees on it, which is what a group needs. The IETF
//! interop vectors contain no such signature, and the two rules agree on all of them
//! (`conclave-testvectors`). A batch without the cofactor could not give one verdict: with
//! random weights, small-order parts cancel or not by chance.
//!
//! # Faster
//!
//! - A single check decodes `R` (it must anyway, for its order) and compares it with
//!   `[s]B - [k]A` up to small order: one double-scalar multiplication.
//! - Decoded public keys are kept in a bounded cache, since the same members sign again and
//!   again. Decoding is a pure function of the key's bytes, so the cache can return only what
//!   decoding would.
//! - Many signatures at once (`verify_signatures`, which openmls calls for the leaves of a
//!   ratchet tree a joiner receives: one signature per member) are checked as a batch: with
//!   a random 128-bit weight `z` per signature, the sum of `z * (R + [k]A - [s]B)` over the
//!   batch must vanish once multiplied by the cofactor. One multi-scalar multiplication
//!   replaces a double-scalar multiplication per signature, about half the cost per
//!   signature (measured in `docs/PERFORMANCE.md`). A batch that holds a signature failing
//!   the equation passes with probability 2^-128 at most. A failed batch says only that some
//!   signature failed; openmls then checks each on its own, so the error it reports is the
//!   single check's, for the first failing leaf.
//!
//! Besides these, HPKE takes its X25519 Diffie-Hellman from HACL* (`crypto/x25519.rs`, for
//! large commits) and the curves `RustCrypto` lacks from OpenSSL (`crypto/curves.rs`).
//! Everything else is `RustCrypto`'s, unchanged. The tests (`crypto/tests.rs`) check both
//! paths against the rule written out plainly, against `verify_strict` wherever the rules
//! agree, on valid signatures, every single-bit change of them, and the small-order,
//! mixed-order and non-canonical inputs that tell the rules apart.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

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

#[cfg(test)]
mod curve_tests;
mod curves;
mod deferred;
mod hpke;
mod hpke_x448;
mod x25519;

pub(crate) use curves::CurveSigningKey;
pub(crate) use deferred::Deferred;

/// The ciphersuites [`Crypto`] implements: RFC 9420's seven and the draft post-quantum
/// X-Wing suite. 1-3 and 7 are `openmls_rust_crypto`'s (it implements P-384 but does not
/// list suite 7); 4-6 take their curves from [`curves`] (and X448's HPKE from
/// [`hpke_x448`]); X-Wing's KEM is libcrux's ([`hpke`]).
const SUITES: [Ciphersuite; 8] = [
    Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519,
    Ciphersuite::MLS_128_DHKEMP256_AES128GCM_SHA256_P256,
    Ciphersuite::MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519,
    Ciphersuite::MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448,
    Ciphersuite::MLS_256_DHKEMP521_AES256GCM_SHA512_P521,
    Ciphersuite::MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448,
    Ciphersuite::MLS_256_DHKEMP384_AES256GCM_SHA384_P384,
    Ciphersuite::MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519,
];

/// How many decoded Ed25519 public keys [`Crypto`] keeps (about 200 bytes each). When full,
/// the cache starts over: simpler than an eviction order, and a group larger than this pays
/// only what it paid without a cache.
const KEY_CACHE_CAPACITY: usize = 4096;

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
    /// Checks one Ed25519 signature by Conclave's rule (the module docs): `verify_strict`'s
    /// checks before the equation, then RFC 8032's equation with the cofactor, as a batch
    /// checks it. The errors are `RustCrypto`'s: `CryptoLibraryError` for a malformed key or
    /// signature length, `InvalidSignature` for a signature that does not verify.
    fn verify_ed25519(
        &self,
        message: &[u8],
        public_key: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        let parts = self.ed25519_parts(message, public_key, signature)?;
        let r = decode_nonce(&parts.r).ok_or(CryptoError::InvalidSignature)?;
        let expected_r =
            EdwardsPoint::vartime_double_scalar_mul_basepoint(&parts.k, &-parts.a, &parts.s);
        if (r - expected_r).mul_by_cofactor().is_identity() {
            Ok(())
        } else {
            Err(CryptoError::InvalidSignature)
        }
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
            _ if curves::signs(alg) => curves::verify(alg, data, pk, signature),
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
                self.verify_signature(alg, check.data, check.public_key, check.signature)
            }),
        }
    }

    fn supports(&self, ciphersuite: Ciphersuite) -> Result<(), CryptoError> {
        if SUITES.contains(&ciphersuite) {
            Ok(())
        } else {
            Err(CryptoError::UnsupportedCiphersuite)
        }
    }

    fn supported_ciphersuites(&self) -> Vec<Ciphersuite> {
        SUITES.to_vec()
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
        if curves::signs(alg) {
            return curves::signature_key_gen(alg);
        }
        self.rust_crypto.signature_key_gen(alg)
    }

    fn sign(&self, alg: SignatureScheme, data: &[u8], key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if curves::signs(alg) {
            return curves::sign(alg, data, key);
        }
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
        if hpke::serves(&config) {
            return hpke::seal(&config, pk_r, info, aad, ptxt);
        }
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
        if hpke::serves(&config) {
            return hpke::open(&config, input, sk_r, info, aad);
        }
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
        if hpke::serves(&config) {
            return hpke::setup_sender_and_export(
                &config,
                pk_r,
                info,
                exporter_context,
                exporter_length,
            );
        }
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
        if hpke::serves(&config) {
            return hpke::setup_receiver_and_export(
                &config,
                enc,
                sk_r,
                info,
                exporter_context,
                exporter_length,
            );
        }
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
        if hpke::serves(&config) {
            return hpke::derive_key_pair(&config, ikm);
        }
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
mod tests;
