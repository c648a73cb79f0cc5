//! [`Crypto`]: openmls_rust_crypto's `RustCrypto` with a faster check of Ed25519 signatures.
//!
//! Checking signatures is most of what a member does: every message and commit it receives is
//! signed, and joining a group of N checks N leaf signatures. `RustCrypto` checks an Ed25519
//! signature with ed25519-dalek's `verify_strict`, which decodes the signer's public key
//! (a square root in the field) and the signature's `R` point (another) on every call.
//! [`Crypto`] accepts exactly the same signatures with less work:
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
//! Everything else is `RustCrypto`'s, unchanged. `tests` below compare the two verifiers on
//! valid signatures, every single-bit change of them, and the small-order and non-canonical
//! inputs that tell strict verification apart.

use std::collections::HashMap;
use std::fmt;
use std::sync::{LazyLock, Mutex, PoisonError};

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use openmls_rust_crypto::RustCrypto;
use openmls_traits::crypto::OpenMlsCrypto;
use openmls_traits::random::OpenMlsRand;
use openmls_traits::types::{
    AeadType, Ciphersuite, CryptoError, ExporterSecret, HashType, HpkeCiphertext, HpkeConfig,
    HpkeKeyPair, KemOutput, SignatureScheme,
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
        let expected_r = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-a, &s);
        if expected_r.compress().to_bytes() != r || SMALL_ORDER_ENCODINGS.contains(&r) {
            return Err(CryptoError::InvalidSignature);
        }
        Ok(())
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
