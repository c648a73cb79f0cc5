//! HPKE's X25519 Diffie-Hellman (DHKEM(X25519, HKDF-SHA256), which
//! [`super::curves::HpkeCurves`] serves) through libcrux's X25519: HACL*'s, formally verified.
//!
//! Why: a commit's path seals a secret to every member that the tree's blanks expose, one
//! X25519 Diffie-Hellman each, and after a large add that is every member: at 50,000
//! members the self-update is almost all Diffie-Hellman (`docs/PERFORMANCE.md`, "Large
//! groups"). On this project's machines HACL*'s X25519 takes 39 µs where curve25519-dalek's
//! Montgomery ladder takes 54 µs. Key generation stays dalek's (its fixed-base table, 17 µs,
//! beats HACL*'s ladder), as do the KDF and the AEADs. Both compute RFC 7748's function, so
//! peers see no difference (`crypto/tests.rs` checks them against each other and against
//! RFC 7748's vectors).

use hpke_rs_crypto::error::Error as HpkeError;
use zeroize::Zeroizing;

/// The length of an X25519 key or shared secret.
const KEY: usize = 32;

/// X25519 as RFC 7748 defines it: `sk` clamped, `pk`'s top bit ignored. `None` when the
/// result is all zeros (a small-order `pk`), which RFC 9180 (section 7.1.4) makes an error.
pub(crate) fn x25519(pk: &[u8; KEY], sk: &[u8; KEY]) -> Option<Zeroizing<[u8; KEY]>> {
    let mut shared = Zeroizing::new([0u8; KEY]);
    // HACL* reports the all-zero output as its only error.
    libcrux_curve25519::ecdh(&mut shared, pk, sk).ok()?;
    Some(shared)
}

/// HPKE's DH(X25519) (`hpke-rs`'s `dh`, for [`super::curves::HpkeCurves`]): the lengths
/// checked, an all-zero result refused.
pub(crate) fn dh(pk: &[u8], sk: &[u8]) -> Result<Vec<u8>, HpkeError> {
    let sk: &[u8; KEY] = sk.try_into().map_err(|_| HpkeError::KemInvalidSecretKey)?;
    let pk: &[u8; KEY] = pk.try_into().map_err(|_| HpkeError::KemInvalidPublicKey)?;
    x25519(pk, sk)
        .map(|shared| shared.to_vec())
        .ok_or(HpkeError::KemInvalidPublicKey)
}

#[cfg(test)]
mod tests {
    use hpke_rs_crypto::HpkeCrypto;
    use hpke_rs_crypto::types::KemAlgorithm;
    use hpke_rs_rust_crypto::HpkeRustCrypto;
    use openmls_rust_crypto::RustCrypto;
    use openmls_traits::crypto::OpenMlsCrypto;
    use openmls_traits::types::Ciphersuite;
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::crypto::Crypto;
    use crate::crypto::curves::HpkeCurves;

    fn hex32(text: &str) -> [u8; KEY] {
        let bytes: Vec<u8> = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect();
        bytes.try_into().unwrap()
    }

    /// HPKE's Diffie-Hellman as the backend gives it, its error named.
    fn dh(pk: &[u8], sk: &[u8]) -> Result<Vec<u8>, String> {
        HpkeCurves::dh(KemAlgorithm::DhKem25519, pk, sk).map_err(|e| format!("{e:?}"))
    }

    /// Deterministic test inputs, so a failure can be replayed.
    fn bytes(label: &str, i: u32) -> [u8; KEY] {
        Sha256::new()
            .chain_update(label)
            .chain_update(i.to_be_bytes())
            .finalize()
            .into()
    }

    #[test]
    fn rfc_7748_vectors() {
        // Section 5.2: scalar, u-coordinate (its top bit set in the second), output.
        for (scalar, u, out) in [
            (
                "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
                "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
            ),
            (
                "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
                "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
                "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
            ),
        ] {
            let shared = x25519(&hex32(u), &hex32(scalar)).unwrap();
            assert_eq!(*shared, hex32(out));
        }
        // Section 6.1: Alice and Bob agree.
        let alice = hex32("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let bob_public = hex32("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        assert_eq!(
            *x25519(&bob_public, &alice).unwrap(),
            hex32("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
        );
    }

    #[test]
    fn agrees_with_dalek_on_every_input() {
        // Random keys and u-coordinates, with the top bit set or not and values at or past
        // the field's prime (non-canonical encodings RFC 7748 reduces).
        let mut near_p = [0xffu8; KEY];
        near_p[0] = 0xed;
        near_p[KEY - 1] = 0x7f;
        let mut past_p = near_p;
        past_p[0] = 0xf0;
        for i in 0..300 {
            let sk = bytes("sk", i);
            let pk = match i {
                0 => near_p,
                1 => past_p,
                _ => bytes("pk", i),
            };
            let ours = dh(&pk, &sk);
            let dalek = HpkeRustCrypto::dh(KemAlgorithm::DhKem25519, &pk, &sk)
                .map_err(|e| format!("{e:?}"));
            assert_eq!(ours, dalek, "input {i}");
        }
    }

    #[test]
    fn small_order_and_malformed_keys_are_refused() {
        let sk = bytes("sk", 0);
        // Points of small order (libsodium's list): the output would be all zeros.
        let mut one = [0u8; KEY];
        one[0] = 1;
        for small in [
            [0u8; KEY],
            one,
            hex32("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
            hex32("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
        ] {
            assert_eq!(dh(&small, &sk), Err("KemInvalidPublicKey".into()));
        }
        assert_eq!(dh(&[9; 31], &sk), Err("KemInvalidPublicKey".into()));
        assert_eq!(dh(&[9; KEY], &sk[..31]), Err("KemInvalidSecretKey".into()));
    }

    #[test]
    fn seals_open_across_the_two_backends() {
        let config = || Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519.hpke_config();
        let ours = Crypto::default();
        let theirs = RustCrypto::default();
        let keys = ours.derive_hpke_keypair(config(), &[5; 32]).unwrap();
        let same = theirs.derive_hpke_keypair(config(), &[5; 32]).unwrap();
        assert_eq!(
            (&keys.public, &*keys.private),
            (&same.public, &*same.private)
        );
        for (seal, open) in [(&ours as &dyn OpenMlsCrypto, &theirs as &dyn OpenMlsCrypto)]
            .into_iter()
            .chain([(&theirs as &dyn OpenMlsCrypto, &ours as &dyn OpenMlsCrypto)])
        {
            let sealed = seal
                .hpke_seal(config(), &keys.public, b"info", b"aad", b"path secret")
                .unwrap();
            let opened = open
                .hpke_open(config(), &sealed, &keys.private, b"info", b"aad")
                .unwrap();
            assert_eq!(opened, b"path secret");
        }
    }
}
