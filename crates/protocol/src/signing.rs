//! The device's signature private key, parsed once.
//!
//! openmls_basic_credential's `SignatureKeyPair` keeps the key as bytes and parses them on
//! every signature; for Ed25519 and ECDSA that parse recomputes the public key, a scalar
//! multiplication as dear as the signature itself. A device signs every message it sends, so
//! [`Identity`](crate::Identity) keeps the parsed key instead. The signatures are the same:
//! both schemes are deterministic here (RFC 8032, and RFC 6979 for ECDSA in the `p256` crate),
//! and `tests` below checks them byte for byte against `SignatureKeyPair`.
//!
//! `SignatureKeyPair` shows its private key only through its TLS encoding (the `private()`
//! accessor is test-only), so [`SigningKey::parse`] reads it from there.

use std::fmt;

use ed25519_dalek::Signer as _;
use openmls_basic_credential::SignatureKeyPair;
use openmls_traits::signatures::{Signer, SignerError};
use openmls_traits::types::SignatureScheme;
use tls_codec::{
    DeserializeBytes as _, SecretVLBytes, Serialize as _, TlsDeserializeBytes, TlsSize,
};
use zeroize::Zeroizing;

use crate::{Cause, Error};

/// `SignatureKeyPair`'s TLS encoding, field for field.
#[derive(TlsDeserializeBytes, TlsSize)]
struct KeyPairEncoding {
    private: SecretVLBytes,
    _public: Vec<u8>,
    signature_scheme: SignatureScheme,
}

/// A parsed signature private key of one of the schemes of Conclave's ciphersuites.
pub(crate) enum SigningKey {
    /// Ciphersuites 0x0001 and 0x0003.
    Ed25519(ed25519_dalek::SigningKey),
    /// Ciphersuite 0x0002; signatures DER-encoded, as RFC 9420 section 5.1.1 requires.
    EcdsaP256(p256::ecdsa::SigningKey),
    /// Ciphersuite 0x0007; DER, as P-256.
    EcdsaP384(p384::ecdsa::SigningKey),
    /// Ciphersuites 0x0004-0x0006: Ed448 or ECDSA P-521, through OpenSSL
    /// ([`crate::crypto`]'s `curves`).
    Openssl(crate::crypto::CurveSigningKey),
}

/// A fresh signature key pair of `scheme`, as openmls_basic_credential stores it.
pub(crate) fn generate(scheme: SignatureScheme) -> Result<SignatureKeyPair, Error> {
    let failed =
        |e: openmls_traits::types::CryptoError| Error::Crypto(Cause::msg(format!("{e:?}")));
    if crate::crypto::CurveSigningKey::signs(scheme) {
        let (private, public) = crate::crypto::CurveSigningKey::generate(scheme).map_err(failed)?;
        return Ok(SignatureKeyPair::from_raw(scheme, private, public));
    }
    SignatureKeyPair::new(scheme).map_err(failed)
}

impl SigningKey {
    /// Parses the private key of `pair`.
    pub(crate) fn parse(pair: &SignatureKeyPair) -> Result<Self, Error> {
        let scheme = pair.signature_scheme();
        let invalid = || Error::Crypto(Cause::msg(format!("stored {scheme:?} key is invalid")));
        let encoded = Zeroizing::new(pair.tls_serialize_detached().map_err(|_| invalid())?);
        let parts =
            KeyPairEncoding::tls_deserialize_exact_bytes(&encoded).map_err(|_| invalid())?;
        if parts.signature_scheme != scheme {
            return Err(invalid());
        }
        let private = parts.private.as_slice();
        match scheme {
            SignatureScheme::ED25519 => ed25519_dalek::SigningKey::try_from(private)
                .map(Self::Ed25519)
                .map_err(|_| invalid()),
            SignatureScheme::ECDSA_SECP256R1_SHA256 => p256::ecdsa::SigningKey::from_slice(private)
                .map(Self::EcdsaP256)
                .map_err(|_| invalid()),
            SignatureScheme::ECDSA_SECP384R1_SHA384 => p384::ecdsa::SigningKey::from_slice(private)
                .map(Self::EcdsaP384)
                .map_err(|_| invalid()),
            _ if crate::crypto::CurveSigningKey::signs(scheme) => {
                crate::crypto::CurveSigningKey::parse(scheme, private)
                    .map(Self::Openssl)
                    .ok_or_else(invalid)
            }
            other => Err(Error::Crypto(Cause::msg(format!(
                "unsupported signature scheme {other:?}"
            )))),
        }
    }
}

impl Signer for SigningKey {
    fn sign(&self, payload: &[u8]) -> Result<Vec<u8>, SignerError> {
        Ok(match self {
            Self::Ed25519(key) => key.sign(payload).to_bytes().to_vec(),
            Self::EcdsaP256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(payload);
                signature.to_der().as_bytes().to_vec()
            }
            Self::EcdsaP384(key) => {
                let signature: p384::ecdsa::Signature = key.sign(payload);
                signature.to_der().as_bytes().to_vec()
            }
            Self::Openssl(key) => key.sign(payload).map_err(|_| SignerError::SigningError)?,
        })
    }

    fn signature_scheme(&self) -> SignatureScheme {
        match self {
            Self::Ed25519(_) => SignatureScheme::ED25519,
            Self::EcdsaP256(_) => SignatureScheme::ECDSA_SECP256R1_SHA256,
            Self::EcdsaP384(_) => SignatureScheme::ECDSA_SECP384R1_SHA384,
            Self::Openssl(key) => key.scheme(),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({:?}, ..)", self.signature_scheme())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_exactly_like_signature_key_pair() {
        for scheme in [
            SignatureScheme::ED25519,
            SignatureScheme::ECDSA_SECP256R1_SHA256,
            SignatureScheme::ECDSA_SECP384R1_SHA384,
        ] {
            let pair = SignatureKeyPair::new(scheme).unwrap();
            let parsed = SigningKey::parse(&pair).unwrap();
            assert_eq!(parsed.signature_scheme(), scheme);
            for payload in [&b""[..], b"a message", &[7u8; 5000]] {
                assert_eq!(parsed.sign(payload).unwrap(), pair.sign(payload).unwrap());
            }
        }
    }

    /// Ed448 is deterministic (RFC 8032); OpenSSL's ECDSA is not, so a P-521 signature is
    /// checked by verifying it.
    #[test]
    fn the_openssl_schemes_sign_what_verifies() {
        use openmls_traits::crypto::OpenMlsCrypto;
        let crypto = crate::Crypto::default();
        for scheme in [
            SignatureScheme::ED448,
            SignatureScheme::ECDSA_SECP521R1_SHA512,
        ] {
            let pair = generate(scheme).unwrap();
            let parsed = SigningKey::parse(&pair).unwrap();
            assert_eq!(parsed.signature_scheme(), scheme);
            for payload in [&b""[..], b"a message", &[7u8; 5000]] {
                let signature = parsed.sign(payload).unwrap();
                crypto
                    .verify_signature(scheme, payload, &pair.to_public_vec(), &signature)
                    .unwrap();
                if scheme == SignatureScheme::ED448 {
                    assert_eq!(signature, parsed.sign(payload).unwrap());
                }
                let mut forged = signature.clone();
                let last = forged.len() - 1;
                forged[last] ^= 1;
                assert_eq!(
                    crypto.verify_signature(scheme, payload, &pair.to_public_vec(), &forged),
                    Err(openmls_traits::types::CryptoError::InvalidSignature)
                );
            }
        }
    }

    #[test]
    fn a_damaged_key_is_an_error() {
        let pair = SignatureKeyPair::new(SignatureScheme::ED25519).unwrap();
        let short =
            SignatureKeyPair::from_raw(SignatureScheme::ED25519, vec![1; 31], pair.to_public_vec());
        assert!(matches!(SigningKey::parse(&short), Err(Error::Crypto(_))));
        let zero = SignatureKeyPair::from_raw(
            SignatureScheme::ECDSA_SECP256R1_SHA256,
            vec![0; 32],
            pair.to_public_vec(),
        );
        assert!(matches!(SigningKey::parse(&zero), Err(Error::Crypto(_))));
    }
}
