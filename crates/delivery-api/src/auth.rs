//! Request signing: every device request carries a signature, by the device's MLS signature
//! key, over a canonical string.
//!
//! ```text
//! conclave-ds-v1\n
//! {METHOD}\n
//! {path and query}\n
//! {hex SHA-256 of the body}\n
//! {user}\n
//! {device}\n
//! {timestamp: unix seconds}\n
//! {nonce: 32 hex chars}
//! ```
//!
//! The headers are `x-conclave-user`, `x-conclave-device`, `x-conclave-timestamp`,
//! `x-conclave-nonce` and `x-conclave-signature` (standard base64). The server accepts
//! timestamps within [`MAX_SKEW_SECS`] of its clock and each nonce once.
//!
//! The string cannot be mistaken for an MLS `SignWithLabel` input (those start with a length
//! and `MLS 1.0 `), so the same key signing both is safe.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openmls_rust_crypto::RustCrypto;
use openmls_traits::crypto::OpenMlsCrypto;
use openmls_traits::signatures::Signer;
use openmls_traits::types::SignatureScheme;
use sha2::{Digest, Sha256};

/// How far a request's timestamp may be from the server's clock.
pub const MAX_SKEW_SECS: u64 = 300;

/// Header names.
pub mod headers {
    /// The user.
    pub const USER: &str = "x-conclave-user";
    /// The device.
    pub const DEVICE: &str = "x-conclave-device";
    /// Unix seconds.
    pub const TIMESTAMP: &str = "x-conclave-timestamp";
    /// 16 random bytes, hex.
    pub const NONCE: &str = "x-conclave-nonce";
    /// Standard base64 of the signature.
    pub const SIGNATURE: &str = "x-conclave-signature";
    /// On `POST /v1/devices`: the new key's signature over the same string.
    pub const NEW_KEY_SIGNATURE: &str = "x-conclave-new-key-signature";
}

/// The fields a request is signed over, besides its method, path and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestIdentity {
    /// The user.
    pub user: String,
    /// The device.
    pub device: String,
    /// Unix seconds.
    pub timestamp: u64,
    /// Hex nonce.
    pub nonce: String,
}

/// The bytes that are signed.
pub fn signing_input(
    method: &str,
    path_and_query: &str,
    body: &[u8],
    id: &RequestIdentity,
) -> Vec<u8> {
    let body_hash = Sha256::digest(body);
    let hex: String = body_hash.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "conclave-ds-v1\n{method}\n{path_and_query}\n{hex}\n{}\n{}\n{}\n{}",
        id.user, id.device, id.timestamp, id.nonce
    )
    .into_bytes()
}

/// The signature scheme of a ciphersuite's keys, for the suites Conclave supports (RFC 9420's
/// seven, and the draft X-Wing suite 0x004D).
pub fn scheme_of(ciphersuite: u16) -> Option<SignatureScheme> {
    match ciphersuite {
        0x0001 | 0x0003 | 0x004d => Some(SignatureScheme::ED25519),
        0x0002 => Some(SignatureScheme::ECDSA_SECP256R1_SHA256),
        0x0004 | 0x0006 => Some(SignatureScheme::ED448),
        0x0005 => Some(SignatureScheme::ECDSA_SECP521R1_SHA512),
        0x0007 => Some(SignatureScheme::ECDSA_SECP384R1_SHA384),
        _ => None,
    }
}

/// Signs a request: returns the header (name, value) pairs to add.
pub fn sign_request(
    signer: &impl Signer,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    id: &RequestIdentity,
) -> Result<Vec<(&'static str, String)>, String> {
    let signature = signer
        .sign(&signing_input(method, path_and_query, body, id))
        .map_err(|e| format!("{e:?}"))?;
    Ok(vec![
        (headers::USER, id.user.clone()),
        (headers::DEVICE, id.device.clone()),
        (headers::TIMESTAMP, id.timestamp.to_string()),
        (headers::NONCE, id.nonce.clone()),
        (headers::SIGNATURE, STANDARD.encode(signature)),
    ])
}

/// A fresh identity for a request, with the current time and a random nonce.
pub fn fresh_identity(user: &str, device: &str) -> RequestIdentity {
    use openmls_traits::random::OpenMlsRand;
    let nonce: [u8; 16] = RustCrypto::default()
        .random_array()
        .unwrap_or_else(|_| unique_nonce());
    RequestIdentity {
        user: user.to_owned(),
        device: device.to_owned(),
        timestamp: now_secs(),
        nonce: nonce.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// A nonce only has to be unique per device, not secret: without randomness, the time, the
/// process and a counter make one.
fn unique_nonce() -> [u8; 16] {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let digest = Sha256::new()
        .chain_update(nanos.to_be_bytes())
        .chain_update(std::process::id().to_be_bytes())
        .chain_update(COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes())
        .finalize();
    let mut nonce = [0u8; 16];
    nonce.copy_from_slice(&digest[..16]);
    nonce
}

/// Unix seconds now.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Checks a signature over `input` with `crypto`: the server passes the provider its groups
/// use, which verifies every scheme of [`scheme_of`].
pub fn verify(
    crypto: &impl OpenMlsCrypto,
    scheme: SignatureScheme,
    public_key: &[u8],
    input: &[u8],
    signature: &[u8],
) -> bool {
    crypto
        .verify_signature(scheme, input, public_key, signature)
        .is_ok()
}

/// Decodes a base64 signature header.
pub fn decode_signature(value: &str) -> Option<Vec<u8>> {
    STANDARD.decode(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_unique_and_well_formed() {
        let a = fresh_identity("alice", "d");
        let b = fresh_identity("alice", "d");
        assert_ne!(a.nonce, b.nonce);
        assert_eq!(a.nonce.len(), 32);
        assert_ne!(unique_nonce(), unique_nonce());
    }

    #[test]
    fn signatures_cover_every_field() {
        let id = fresh_identity("alice", "d");
        let base = signing_input("POST", "/v1/messages", b"body", &id);
        assert_ne!(base, signing_input("GET", "/v1/messages", b"body", &id));
        assert_ne!(base, signing_input("POST", "/v1/queue", b"body", &id));
        assert_ne!(base, signing_input("POST", "/v1/messages", b"other", &id));
        let mut other = id.clone();
        other.device = "e".into();
        assert_ne!(base, signing_input("POST", "/v1/messages", b"body", &other));
        let mut other = id.clone();
        other.timestamp += 1;
        assert_ne!(base, signing_input("POST", "/v1/messages", b"body", &other));
    }
}
