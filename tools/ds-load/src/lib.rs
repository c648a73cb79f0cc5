//! What the delivery service's load generators share: devices with Ed25519 keys that sign
//! their requests as clients do, and the few requests they make.

#![forbid(unsafe_code)]

use conclave_delivery_api::DeviceRef;
use conclave_delivery_api::auth::{fresh_identity, sign_request};
use conclave_delivery_api::paths;
use openmls_rust_crypto::RustCrypto;
use openmls_traits::crypto::OpenMlsCrypto;
use openmls_traits::signatures::{Signer, SignerError};
use openmls_traits::types::SignatureScheme;

/// A device's Ed25519 key.
pub struct Key {
    signing: ed25519_dalek::SigningKey,
    public: Vec<u8>,
}

impl Signer for Key {
    fn sign(&self, payload: &[u8]) -> Result<Vec<u8>, SignerError> {
        use ed25519_dalek::Signer as _;
        Ok(self.signing.sign(payload).to_bytes().to_vec())
    }

    fn signature_scheme(&self) -> SignatureScheme {
        SignatureScheme::ED25519
    }
}

/// What the generator reads of a fetched queue page (the rest is skipped, not decoded).
#[derive(serde::Deserialize)]
pub struct Page {
    /// The items.
    pub items: Vec<Fetched>,
    /// Whether more are waiting.
    #[serde(default)]
    pub more: bool,
}

/// A fetched item.
#[derive(serde::Deserialize)]
pub struct Fetched {
    /// Its sequence number.
    pub seq: u64,
    /// The MLS message.
    pub message: conclave_delivery_api::Bytes,
}

/// A device: its name and key.
pub struct Dev {
    /// User and device.
    pub name: DeviceRef,
    /// Its signature key.
    pub key: Key,
}

impl Dev {
    /// A new device `user/d` with a fresh key.
    pub fn new(user: &str) -> Self {
        let (private, public) = RustCrypto::default()
            .signature_key_gen(SignatureScheme::ED25519)
            .expect("keygen");
        Self {
            name: DeviceRef {
                user: user.to_owned(),
                device: "d".into(),
            },
            key: Key {
                signing: ed25519_dalek::SigningKey::try_from(private.as_slice())
                    .expect("an Ed25519 private key"),
                public,
            },
        }
    }

    /// Registers it at `register_url`.
    pub async fn register(
        &self,
        http: &reqwest::Client,
        register_url: &reqwest::Url,
    ) -> Result<(), String> {
        let body = serde_json::to_vec(&serde_json::json!({
            "signature_key": conclave_delivery_api::Bytes(self.key.public.clone()),
            "ciphersuite": 1
        }))
        .map_err(|e| e.to_string())?;
        match post(http, register_url, self, body).await? {
            s if s.is_success() => Ok(()),
            s => Err(format!("registration answered {s}")),
        }
    }
}

/// Whether `url` names this machine (the generators talk to nothing else).
pub fn is_loopback(url: &str) -> bool {
    let host = url
        .trim_start_matches("http://")
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    host == "127.0.0.1"
        || host == "localhost"
        || url.trim_start_matches("http://").starts_with("[::1]")
}

/// The id of the generator's group `i`.
pub fn group_id(i: usize) -> Vec<u8> {
    format!("group-{i}").into_bytes()
}

/// A signed POST of `body` to `url` (parsed once by the caller, not per request).
pub async fn post(
    http: &reqwest::Client,
    url: &reqwest::Url,
    dev: &Dev,
    body: Vec<u8>,
) -> Result<reqwest::StatusCode, String> {
    let id = fresh_identity(&dev.name.user, &dev.name.device);
    let headers = sign_request(&dev.key, "POST", url.path(), &body, &id)?;
    let mut request = http.post(url.clone()).body(body);
    for (n, v) in headers {
        request = request.header(n, v);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    Ok(response.status())
}

/// A signed GET of a queue page after `after`.
pub async fn fetch(
    http: &reqwest::Client,
    base: &str,
    dev: &Dev,
    after: u64,
) -> Result<Page, String> {
    let path = paths::queue(after, 500);
    let id = fresh_identity(&dev.name.user, &dev.name.device);
    let headers = sign_request(&dev.key, "GET", &path, b"", &id)?;
    let mut request = http.get(format!("{base}{path}"));
    for (n, v) in headers {
        request = request.header(n, v);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("fetch answered {}", response.status().as_u16()));
    }
    response.json().await.map_err(|e| e.to_string())
}
