use curve25519_dalek::constants::EIGHT_TORSION;
use ed25519_dalek::Signer as _;

use super::*;

/// The rule of the module docs, written out plainly: `verify_strict`'s checks before its
/// equation, then RFC 8032's equation with the cofactor.
fn rule(message: &[u8], key: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
    let key: [u8; 32] = key
        .try_into()
        .map_err(|_| CryptoError::CryptoLibraryError)?;
    let signature: [u8; 64] = signature
        .try_into()
        .map_err(|_| CryptoError::CryptoLibraryError)?;
    let a = CompressedEdwardsY(key)
        .decompress()
        .ok_or(CryptoError::CryptoLibraryError)?;
    let r_bytes: [u8; 32] = signature[..32].try_into().unwrap();
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(
        signature[32..].try_into().unwrap(),
    ))
    .ok_or(CryptoError::InvalidSignature)?;
    let r = CompressedEdwardsY(r_bytes)
        .decompress()
        .filter(|r| r.compress().to_bytes() == r_bytes)
        .ok_or(CryptoError::InvalidSignature)?;
    if a.is_small_order() || r.is_small_order() {
        return Err(CryptoError::InvalidSignature);
    }
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(r_bytes)
            .chain_update(key)
            .chain_update(message),
    );
    let equation = EdwardsPoint::mul_base(&s) - r - k * a;
    if equation.mul_by_cofactor().is_identity() {
        Ok(())
    } else {
        Err(CryptoError::InvalidSignature)
    }
}

/// `RustCrypto`'s answer: ed25519-dalek's `verify_strict`.
fn strict(message: &[u8], key: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
    RustCrypto::default().verify_signature(SignatureScheme::ED25519, message, key, signature)
}

/// `Crypto`'s answer one at a time and in a batch, asserted to be the rule's; returns it.
fn both(crypto: &Crypto, message: &[u8], key: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
    let expected = rule(message, key, signature);
    let got = crypto.verify_signature(SignatureScheme::ED25519, message, key, signature);
    assert_eq!(got, expected, "key {key:02x?} signature {signature:02x?}");
    if key.len() == 32 && signature.len() == 64 {
        let mut in_batch = valid_batch(MIN_BATCH as u8);
        in_batch.push((
            key.try_into().unwrap(),
            message.to_vec(),
            signature.try_into().unwrap(),
        ));
        assert_eq!(
            batch(crypto, &in_batch).is_ok(),
            expected.is_ok(),
            "a batch disagrees: key {key:02x?} signature {signature:02x?}"
        );
    }
    got
}

/// [`both`], where `verify_strict` must give the same answer too (no small-order parts).
fn agreed(
    crypto: &Crypto,
    message: &[u8],
    key: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let got = both(crypto, message, key, signature);
    assert_eq!(got, strict(message, key, signature));
    got
}

/// A signature that ed25519-dalek's non-strict `verify` accepts (else the test would show
/// nothing) and strict verification must reject.
fn assert_forgery_rejected(crypto: &Crypto, message: &[u8], key: &[u8; 32], signature: &[u8; 64]) {
    let plain = ed25519_dalek::VerifyingKey::from_bytes(key).unwrap();
    let signature_value = ed25519_dalek::Signature::from_bytes(signature);
    assert!(ed25519_dalek::Verifier::verify(&plain, message, &signature_value).is_ok());
    assert_eq!(
        agreed(crypto, message, key, signature),
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
        assert_eq!(agreed(&crypto, &message, &public, &signature), Ok(()));
        for bit in 0..512 {
            let mut flipped = signature;
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(agreed(&crypto, &message, &public, &flipped).is_err());
        }
        for bit in 0..256 {
            let mut flipped = public;
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(agreed(&crypto, &message, &flipped, &signature).is_err());
        }
        let mut other = message.clone();
        other.push(0);
        assert!(agreed(&crypto, &other, &public, &signature).is_err());
        // Wrong lengths are `CryptoLibraryError`, like `RustCrypto`'s.
        agreed(&crypto, &message, &public[..31], &signature).unwrap_err();
        agreed(&crypto, &message, &public, &signature[..63]).unwrap_err();
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
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14,
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
fn one_verdict_for_a_signature_with_a_small_order_part() {
    // An honest key and R = [r]B + T (T of order 8: R is not of small order, and its
    // encoding is canonical), s = r + k * a: [s]B - R - [k]A = -T. The equation without
    // the cofactor (verify_strict's) fails; with it (RFC 8032 section 5.1.7) it holds. Only
    // the signer can make such a signature; Conclave gives it one verdict, accepted, alone
    // and in a batch of any size (the module docs say why).
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
        strict(&message, &public, &signature),
        Err(CryptoError::InvalidSignature)
    );
    assert_eq!(both(&crypto, &message, &public, &signature), Ok(()));
    for size in [1, MIN_BATCH - 1, MIN_BATCH, 64] {
        let mut mixed = valid_batch(size as u8);
        mixed.push((public, message.clone(), signature));
        assert_eq!(batch(&crypto, &mixed), Ok(()), "a batch of {}", size + 1);
    }
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
        assert_eq!(
            crypto.verify_signature(SignatureScheme::ED25519, message, &public, &signature),
            Ok(())
        );
        assert_eq!(
            crypto.verify_signature(SignatureScheme::ED25519, message, &public, &signature),
            Ok(())
        );
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
        crypto.verify_signature(
            SignatureScheme::ED25519,
            message,
            &key.verifying_key().to_bytes(),
            &signature
        ),
        Ok(())
    );
    assert_eq!(crypto.ed25519_keys.lock().unwrap().len(), 1);
}
