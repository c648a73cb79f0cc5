//! A signing test client for the delivery service, and ways to run a server on 127.0.0.1.

#![allow(dead_code)]

use conclave_delivery_api::auth::{RequestIdentity, fresh_identity, sign_request};
use conclave_delivery_api::{DeviceRef, Envelope, MessageKind, QueuePage};
use conclave_protocol::{CipherSuite, DeviceId, Identity, MemberId, UserName};
use openmls_rust_crypto::OpenMlsRustCrypto;
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::Value;

use conclave_test_support::TestServer;
pub use conclave_test_support::stand_in;

/// The servers a test spreads its devices over: with `CONCLAVE_TEST_POSTGRES=1`, two nodes
/// on one database (a deployment of several nodes: each device talks to one, and what one
/// accepts the other must honour), else the one server on its SQLite file.
pub async fn nodes(config: conclave_delivery::Config) -> Vec<TestServer> {
    let count = if conclave_test_support::postgres::enabled() {
        2
    } else {
        1
    };
    let mut servers = Vec::with_capacity(count);
    for _ in 0..count {
        servers.push(TestServer::start_with(config.clone()).await);
    }
    servers
}

/// A device with a real MLS signature key.
pub struct Device {
    pub user: String,
    pub device: String,
    pub provider: OpenMlsRustCrypto,
    pub identity: Identity,
    pub base: String,
    pub http: reqwest::Client,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
}

impl Device {
    pub fn new(base: &str, user: &str, device: &str) -> Device {
        let provider = OpenMlsRustCrypto::default();
        let member = MemberId::new(UserName::new(user).unwrap(), DeviceId::new(device).unwrap());
        let identity = Identity::create(&provider, member, CipherSuite::default()).unwrap();
        Device {
            user: user.into(),
            device: device.into(),
            provider,
            identity,
            base: base.into(),
            http: reqwest::Client::new(),
        }
    }

    /// `count` one-time key packages of this device (its registered key), as published.
    pub fn key_packages(&self, count: usize) -> Vec<Vec<u8>> {
        let lifetime = conclave_protocol::GroupConfig::default().key_package_lifetime_secs;
        self.key_packages_living(count, lifetime)
    }

    /// [`Device::key_packages`] that expire `seconds` from now.
    pub fn key_packages_living(&self, count: usize, seconds: u64) -> Vec<Vec<u8>> {
        let config = conclave_protocol::GroupConfig {
            key_package_lifetime_secs: seconds,
            ..conclave_protocol::GroupConfig::default()
        };
        self.identity
            .key_packages(&self.provider, &config, count)
            .unwrap()
            .into_iter()
            .map(|p| p.bytes)
            .collect()
    }

    /// A last-resort key package of this device.
    pub fn last_resort(&self) -> Vec<u8> {
        self.identity
            .last_resort_key_package(&self.provider, &conclave_protocol::GroupConfig::default())
            .unwrap()
            .bytes
    }

    pub fn me(&self) -> DeviceRef {
        DeviceRef {
            user: self.user.clone(),
            device: self.device.clone(),
        }
    }

    /// Sends a request signed with `id` (so tests can replay or tamper).
    pub async fn send_with(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        id: &RequestIdentity,
        extra: &[(&str, String)],
    ) -> Reply {
        let headers = sign_request(&self.identity, method, path, &body, id).unwrap();
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .body(body);
        for (name, value) in headers
            .into_iter()
            .chain(extra.iter().map(|(n, v)| (*n, v.clone())))
        {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply { status, body }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<&impl Serialize>) -> Reply {
        let bytes = body
            .map(|b| serde_json::to_vec(b).unwrap())
            .unwrap_or_default();
        let id = fresh_identity(&self.user, &self.device);
        self.send_with(method, path, bytes, &id, &[]).await
    }

    pub async fn register(&self) -> Reply {
        self.call(
            "POST",
            "/v1/register",
            Some(&serde_json::json!({
                "signature_key": base64(self.identity.signature_public_key()),
                "ciphersuite": 1,
            })),
        )
        .await
    }

    /// Registers `new` (same user) as this device's sibling, proving possession of both keys.
    pub async fn add_device(&self, new: &Device) -> Reply {
        let body = serde_json::to_vec(&serde_json::json!({
            "device": new.device,
            "signature_key": base64(new.identity.signature_public_key()),
            "ciphersuite": 1
        }))
        .unwrap();
        let id = fresh_identity(&self.user, &self.device);
        let input = conclave_delivery_api::auth::signing_input("POST", "/v1/devices", &body, &id);
        let new_signature =
            openmls_traits::signatures::Signer::sign(&new.identity, &input).unwrap();
        self.send_with(
            "POST",
            "/v1/devices",
            body,
            &id,
            &[(
                conclave_delivery_api::auth::headers::NEW_KEY_SIGNATURE,
                base64(&new_signature),
            )],
        )
        .await
    }

    /// A signed push-socket upgrade request to the server at `addr`.
    pub fn push_request(
        &self,
        addr: std::net::SocketAddr,
    ) -> tokio_tungstenite::tungstenite::handshake::client::Request {
        let id = fresh_identity(&self.user, &self.device);
        let signed = sign_request(&self.identity, "GET", "/v1/ws", b"", &id).unwrap();
        let mut request =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                format!("ws://{addr}/v1/ws"),
            )
            .unwrap();
        for (name, value) in signed {
            request.headers_mut().insert(name, value.parse().unwrap());
        }
        request
    }

    pub async fn send(&self, envelope: &Envelope) -> Reply {
        self.call("POST", "/v1/messages", Some(envelope)).await
    }

    pub async fn fetch(&self, after: u64, limit: u32) -> QueuePage {
        let reply = self
            .call(
                "GET",
                &format!("/v1/queue?after={after}&limit={limit}"),
                None::<&()>,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        serde_json::from_value(reply.body).unwrap()
    }

    /// Fetches and acknowledges everything in the queue; returns how many items.
    pub async fn ack_all(&self) -> usize {
        let items = self.fetch_all().await;
        if let Some(last) = items.last() {
            let ack = self
                .call(
                    "POST",
                    "/v1/queue/ack",
                    Some(&serde_json::json!({"up_to": last.seq})),
                )
                .await;
            assert_eq!(ack.status, StatusCode::OK);
        }
        items.len()
    }

    /// Every item in the queue.
    pub async fn fetch_all(&self) -> Vec<conclave_delivery_api::QueueItem> {
        let mut items = Vec::new();
        let mut after = 0;
        loop {
            let page = self.fetch(after, 500).await;
            if let Some(last) = page.items.last() {
                after = last.seq;
            }
            let more = page.more;
            items.extend(page.items);
            if !more {
                return items;
            }
        }
    }
}

pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An envelope whose message is a stand-in (`stand_in::message`) carrying `payload`.
pub fn envelope(
    group: &[u8],
    epoch: u64,
    kind: MessageKind,
    to: &[&Device],
    payload: &[u8],
) -> Envelope {
    Envelope {
        group_id: group.to_vec().into(),
        epoch,
        kind,
        recipients: to.iter().map(|d| d.me()).collect(),
        message: stand_in::message(group, epoch, kind, payload).into(),
        welcome: None,
        removed: Vec::new(),
        link_token: None,
    }
}

/// Starts group `group` with `creator` and `members` in it, the way a client does (a first
/// commit, in epoch 0, whose Welcome adds the members); the members' Welcomes are fetched
/// and acknowledged. The group is then in epoch 1.
pub async fn start_group(creator: &Device, group: &[u8], members: &[&Device]) {
    let mut commit = envelope(group, 0, MessageKind::Commit, &[creator], b"start");
    if !members.is_empty() {
        commit.welcome = Some(conclave_delivery_api::WelcomeEnvelope {
            recipients: members.iter().map(|d| d.me()).collect(),
            message: stand_in::welcome(b"welcome").into(),
            ratchet_tree: vec![0].into(),
        });
    }
    let reply = creator.send(&commit).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    for device in std::iter::once(&creator).chain(members) {
        device.ack_all().await;
    }
}
