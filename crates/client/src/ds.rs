//! The connection to the delivery service: signed HTTP requests and the push socket.

use std::sync::Arc;
use std::time::Duration;

use conclave_delivery::api::{ErrorBody, ErrorCode};
use conclave_delivery::auth::{fresh_identity, sign_request};
use conclave_protocol::Identity;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ClientError;

/// A delivery-service connection for one device. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Ds {
    base: String,
    http: reqwest::Client,
    identity: Arc<Identity>,
}

/// A refusal with its code, kept apart from [`ClientError`] so callers can react to
/// `stale_epoch` before it becomes an error.
pub(crate) enum Failure {
    Client(ClientError),
    StaleEpoch,
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        Failure::Client(e)
    }
}

impl Failure {
    pub(crate) fn into_error(self) -> ClientError {
        match self {
            Failure::Client(e) => e,
            Failure::StaleEpoch => ClientError::Server {
                code: ErrorCode::StaleEpoch,
                message: "another commit won this epoch".into(),
            },
        }
    }
}

impl Ds {
    pub(crate) fn new(base: &str, identity: Arc<Identity>, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .unwrap_or_default();
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
            identity,
        }
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// The signed headers for a request (also used for the WebSocket upgrade).
    pub(crate) fn headers(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<Vec<(&'static str, String)>, ClientError> {
        let me = self.identity.member();
        let id = fresh_identity(me.user.as_str(), me.device.as_str());
        sign_request(self.identity.as_ref(), method, path, body, &id)
            .map_err(|e| ClientError::InvalidInput(format!("cannot sign a request: {e}")))
    }

    /// A signed request; JSON in, JSON out.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, Failure> {
        let bytes = match body {
            Some(body) => serde_json::to_vec(body)
                .map_err(|e| ClientError::InvalidInput(format!("cannot encode a request: {e}")))?,
            None => Vec::new(),
        };
        let method_value: reqwest::Method = method
            .parse()
            .map_err(|_| ClientError::InvalidInput(format!("bad method {method}")))?;
        let mut request = self
            .http
            .request(method_value, format!("{}{path}", self.base))
            .header("content-type", "application/json");
        for (name, value) in self.headers(method, path, &bytes)? {
            request = request.header(name, value);
        }
        let response = request
            .body(bytes)
            .send()
            .await
            .map_err(|e| self.offline(e))?;
        let status = response.status();
        let text = response.bytes().await.map_err(|e| self.offline(e))?;
        if status.is_success() {
            return serde_json::from_slice(&text)
                .map_err(|e| Failure::Client(ClientError::BadResponse(e.to_string())));
        }
        let error: ErrorBody = serde_json::from_slice(&text).map_err(|_| {
            ClientError::BadResponse(format!(
                "{status}: {}",
                String::from_utf8_lossy(&text[..text.len().min(200)])
            ))
        })?;
        Err(match error.error {
            ErrorCode::StaleEpoch => Failure::StaleEpoch,
            code => Failure::Client(ClientError::Server {
                code,
                message: error.message,
            }),
        })
    }

    /// Like [`Ds::call`], for callers with no use for `stale_epoch`.
    pub(crate) async fn request<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, ClientError> {
        self.call(method, path, body)
            .await
            .map_err(Failure::into_error)
    }

    fn offline(&self, e: reqwest::Error) -> ClientError {
        ClientError::Offline {
            server: self.base.clone(),
            reason: e.to_string(),
        }
    }

    /// The WebSocket URL of the push endpoint.
    pub(crate) fn ws_url(&self) -> String {
        let rest = self
            .base
            .strip_prefix("http://")
            .map(|r| format!("ws://{r}"))
            .or_else(|| {
                self.base
                    .strip_prefix("https://")
                    .map(|r| format!("wss://{r}"))
            })
            .unwrap_or_else(|| self.base.clone());
        format!("{rest}/v1/ws")
    }
}
