//! Suites 4-6's curves and the X-Wing suite's KEM as [`Crypto`] offers them (`curves.rs`,
//! `hpke_x448.rs`, `hpke.rs`): round trips,
//! and every damaged or hostile input refused with a typed error, never a panic. Their
//! agreement with other implementations is the interop vectors' part
//! (`conclave-testvectors`: crypto-basics, treekem, welcome and the passive clients of
//! suites 4-6).

use openmls_traits::crypto::OpenMlsCrypto;
use openmls_traits::types::{
    Ciphersuite, CryptoError, HpkeCiphertext, HpkeConfig, SignatureScheme,
};

use super::Crypto;

const X448_AES: Ciphersuite = Ciphersuite::MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448;
const X448_CHACHA: Ciphersuite = Ciphersuite::MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448;
const P521: Ciphersuite = Ciphersuite::MLS_256_DHKEMP521_AES256GCM_SHA512_P521;
const XWING: Ciphersuite = Ciphersuite::MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519;

fn config(suite: Ciphersuite) -> HpkeConfig {
    suite.hpke_config()
}

fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut flipped = bytes.to_vec();
    flipped[at] ^= 1;
    flipped
}

#[test]
fn hpke_seals_and_opens_and_refuses_what_was_changed() {
    let crypto = Crypto::default();
    for suite in [X448_AES, X448_CHACHA, P521, XWING] {
        let keys = crypto
            .derive_hpke_keypair(config(suite), &[suite as u8; 64])
            .unwrap();
        let other = crypto.derive_hpke_keypair(config(suite), &[9; 64]).unwrap();
        let sealed = crypto
            .hpke_seal(
                config(suite),
                &keys.public,
                b"info",
                b"aad",
                b"a path secret",
            )
            .unwrap();
        let open = |ciphertext: &HpkeCiphertext, private: &[u8], info: &[u8], aad: &[u8]| {
            crypto.hpke_open(config(suite), ciphertext, private, info, aad)
        };
        assert_eq!(
            open(&sealed, &keys.private, b"info", b"aad").unwrap(),
            b"a path secret"
        );
        let refused = Err(CryptoError::HpkeDecryptionError);
        assert_eq!(open(&sealed, &other.private, b"info", b"aad"), refused);
        assert_eq!(open(&sealed, &keys.private, b"other", b"aad"), refused);
        assert_eq!(open(&sealed, &keys.private, b"info", b"other"), refused);
        let changed_ciphertext = HpkeCiphertext {
            kem_output: sealed.kem_output.clone(),
            ciphertext: flip(sealed.ciphertext.as_slice(), 0).into(),
        };
        assert_eq!(
            open(&changed_ciphertext, &keys.private, b"info", b"aad"),
            refused
        );
        // A changed encapsulation is another key (X448), or no point at all (P-521).
        let changed_kem = HpkeCiphertext {
            kem_output: flip(sealed.kem_output.as_slice(), 1).into(),
            ciphertext: sealed.ciphertext.clone(),
        };
        assert_eq!(open(&changed_kem, &keys.private, b"info", b"aad"), refused);
        let truncated = HpkeCiphertext {
            kem_output: sealed.kem_output.as_slice()[..10].to_vec().into(),
            ciphertext: sealed.ciphertext.clone(),
        };
        assert_eq!(open(&truncated, &keys.private, b"info", b"aad"), refused);
    }
}

#[test]
fn hpke_exports_the_same_secret_on_both_sides() {
    let crypto = Crypto::default();
    for suite in [X448_AES, X448_CHACHA, P521, XWING] {
        let keys = crypto.derive_hpke_keypair(config(suite), &[3; 64]).unwrap();
        let (enc, sent) = crypto
            .hpke_setup_sender_and_export(config(suite), &keys.public, b"info", b"context", 48)
            .unwrap();
        let received = crypto
            .hpke_setup_receiver_and_export(
                config(suite),
                &enc,
                &keys.private,
                b"info",
                b"context",
                48,
            )
            .unwrap();
        assert_eq!(&sent[..], &received[..]);
        assert_eq!(sent.len(), 48);
        let other = crypto
            .hpke_setup_receiver_and_export(
                config(suite),
                &enc,
                &keys.private,
                b"info",
                b"other",
                48,
            )
            .unwrap();
        assert_ne!(&sent[..], &other[..]);
    }
}

#[test]
fn derived_key_pairs_depend_on_their_input_only() {
    let crypto = Crypto::default();
    for (suite, private, public) in [(X448_AES, 56, 56), (P521, 66, 133), (XWING, 32, 1216)] {
        let a = crypto
            .derive_hpke_keypair(config(suite), b"input key material")
            .unwrap();
        let again = crypto
            .derive_hpke_keypair(config(suite), b"input key material")
            .unwrap();
        let b = crypto
            .derive_hpke_keypair(config(suite), b"other key material")
            .unwrap();
        assert_eq!(&a.private[..], &again.private[..]);
        assert_eq!(a.public, again.public);
        assert_ne!(a.public, b.public);
        assert_eq!((a.private.len(), a.public.len()), (private, public));
    }
}

#[test]
fn hpke_refuses_hostile_public_keys() {
    let crypto = Crypto::default();
    // Small-order X448 points (0, 1 and p - 1): the shared secret would be all zeros
    // (RFC 9180, 7.1.4); and lengths that are no key.
    let mut one = [0u8; 56];
    one[0] = 1;
    let minus_one = hex_decode(
        "fefffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffff\
         ffffffffffffffffffffffffffffffffffffffffffffffff",
    );
    for hostile in [
        [0u8; 56].to_vec(),
        one.to_vec(),
        minus_one,
        vec![7; 55],
        vec![],
    ] {
        let sealed = crypto.hpke_seal(config(X448_AES), &hostile, b"", b"", b"secret");
        assert!(sealed.is_err(), "sealed to {hostile:?}");
    }
    let keys = crypto.derive_hpke_keypair(config(P521), &[1; 64]).unwrap();
    let off_curve = flip(&keys.public, 100);
    let compressed = [&[0x02][..], &keys.public[1..67]].concat();
    for hostile in [
        off_curve,
        compressed,
        vec![0x04; 133],
        vec![0; 133],
        vec![4],
    ] {
        let sealed = crypto.hpke_seal(config(P521), &hostile, b"", b"", b"secret");
        assert!(sealed.is_err(), "sealed to {hostile:?}");
    }
}

#[test]
fn hpke_refuses_invalid_private_keys() {
    let crypto = Crypto::default();
    let keys = crypto.derive_hpke_keypair(config(P521), &[1; 64]).unwrap();
    let sealed = crypto
        .hpke_seal(config(P521), &keys.public, b"", b"", b"x")
        .unwrap();
    // Zero, the group order and above, and lengths that are no key.
    let order = hex_decode(
        "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\
         fffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409",
    );
    for hostile in [vec![0; 66], order, vec![0xff; 66], vec![1; 67], vec![]] {
        assert_eq!(
            crypto.hpke_open(config(P521), &sealed, &hostile, b"", b""),
            Err(CryptoError::HpkeDecryptionError),
            "{hostile:?}"
        );
    }
    let keys = crypto
        .derive_hpke_keypair(config(X448_AES), &[1; 64])
        .unwrap();
    let sealed = crypto
        .hpke_seal(config(X448_AES), &keys.public, b"", b"", b"x")
        .unwrap();
    for hostile in [vec![1; 55], vec![1; 57], vec![]] {
        assert_eq!(
            crypto.hpke_open(config(X448_AES), &sealed, &hostile, b"", b""),
            Err(CryptoError::HpkeDecryptionError)
        );
    }
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn signatures_verify_and_refuse_what_was_changed() {
    let crypto = Crypto::default();
    for scheme in [
        SignatureScheme::ED448,
        SignatureScheme::ECDSA_SECP521R1_SHA512,
    ] {
        let (private, public) = crypto.signature_key_gen(scheme).unwrap();
        let (_, other_public) = crypto.signature_key_gen(scheme).unwrap();
        let signature = crypto.sign(scheme, b"signed", &private).unwrap();
        crypto
            .verify_signature(scheme, b"signed", &public, &signature)
            .unwrap();
        let invalid = Err(CryptoError::InvalidSignature);
        assert_eq!(
            crypto.verify_signature(scheme, b"other", &public, &signature),
            invalid
        );
        assert_eq!(
            crypto.verify_signature(scheme, b"signed", &other_public, &signature),
            invalid
        );
        for at in [0, signature.len() / 2, signature.len() - 1] {
            assert_eq!(
                crypto.verify_signature(scheme, b"signed", &public, &flip(&signature, at)),
                invalid
            );
        }
        for short in [&signature[..signature.len() - 1], &[][..]] {
            assert_eq!(
                crypto.verify_signature(scheme, b"signed", &public, short),
                invalid
            );
        }
        // A key that is no key is the library's error, as openmls_rust_crypto reports it.
        for bad_key in [
            &public[..public.len() - 1],
            &[][..],
            &vec![0xff; public.len()][..],
        ] {
            assert!(
                crypto
                    .verify_signature(scheme, b"signed", bad_key, &signature)
                    .is_err()
            );
        }
        assert_eq!(
            crypto
                .sign(scheme, b"signed", &private[..private.len() - 2])
                .err(),
            if scheme == SignatureScheme::ED448 {
                Some(CryptoError::CryptoLibraryError)
            } else {
                // A shorter P-521 scalar is a valid (other) key: leading zeros may be
                // dropped; it signs, and the signature does not verify with this key.
                None
            }
        );
    }
}

#[test]
fn every_rfc_suite_and_the_x_wing_draft_are_supported() {
    let crypto = Crypto::default();
    for code_point in [1u16, 2, 3, 4, 5, 6, 7, 0x4d] {
        let suite = Ciphersuite::try_from(code_point).unwrap();
        assert_eq!(crypto.supports(suite), Ok(()));
        assert!(crypto.supported_ciphersuites().contains(&suite));
    }
}
