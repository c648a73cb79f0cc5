//! The connection to the delivery service: one typed method per endpoint, each a signed
//! request, and the push socket. Paths come from `conclave_delivery_api::paths`; nothing
//! else in the client spells one.

use std::sync::Arc;
use std::time::Duration;

use conclave_delivery_api::auth::{fresh_identity, sign_request};
use conclave_delivery_api::{
    AckRequest, AckResponse, BlobCreate, BlobCreated, ClaimRequest, ClaimResponse, DeviceGrant,
    DeviceInfo, DeviceRef, DevicesResponse, DirectoryRequest, DirectoryResponse, Envelope,
    ErrorBody, ErrorCode, GroupInfoUpload, JoinAnswer, JoinByLink, JoinRequests, KeyPackageStock,
    KeyPackageStocks, LinkChunk, LinkSetup, PublishKeyPackages, PushFrame, QueuePage,
    RegisterRequest, RejectRequest, RejectResponse, RejoinAskUpload, RejoinKeyUpload,
    RevokeRequest, SealedGroupInfo, SendResponse, paths,
};
use conclave_protocol::{CipherSuite, GroupId, Identity, UserName};
use futures_util::StreamExt as _;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ClientError;

/// The largest response body the client reads: a queue page of the server's largest (500
/// items, at most 4 MiB of messages by default, and always its first item, at most a 16 MiB
/// body) fits several times over.
const MAX_RESPONSE: usize = 64 << 20;

/// The largest push frame the client reads (a frame is `{"seq":N}`).
const MAX_PUSH_FRAME: usize = 4096;

/// A delivery-service connection for one device. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Ds {
    base: String,
    http: reqwest::Client,
    /// Who signs the requests; `None` for a device being linked, before it has an identity
    /// (it makes only unsigned requests then).
    identity: Option<Arc<Identity>>,
    tls: Arc<rustls::ClientConfig>,
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

/// The push socket: a stream of [`PushFrame`]s.
pub(crate) struct PushSocket(
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
);

impl PushSocket {
    /// The next frame's sequence number; `None` when the socket closed or failed. Frames
    /// that are not a [`PushFrame`] (pings, a newer server's extras) are skipped.
    pub(crate) async fn next_seq(&mut self) -> Option<u64> {
        use tokio_tungstenite::tungstenite::Message;
        loop {
            match self.0.next().await? {
                Ok(Message::Text(text)) => {
                    if let Ok(frame) = serde_json::from_str::<PushFrame>(&text) {
                        return Some(frame.seq);
                    }
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }
}

impl Ds {
    /// A connection to the server at `base` (already checked: see
    /// [`conclave_delivery_api::tls::check_server_url`]), over TLS with `tls` for `https://`.
    pub(crate) fn new(
        base: &str,
        identity: Arc<Identity>,
        timeout: Duration,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Self, ClientError> {
        Self::with_identity(base, Some(identity), timeout, tls)
    }

    /// A connection that signs nothing: for a device being linked, which reads its link's
    /// chunks before it is anyone.
    pub(crate) fn unsigned(
        base: &str,
        timeout: Duration,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Self, ClientError> {
        Self::with_identity(base, None, timeout, tls)
    }

    fn with_identity(
        base: &str,
        identity: Option<Arc<Identity>>,
        timeout: Duration,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .use_preconfigured_tls((*tls).clone())
            .build()
            .map_err(|e| ClientError::InvalidInput(format!("HTTP client: {e}")))?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
            identity,
            tls,
        })
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    // ------------------------------------------------------------------ endpoints

    /// `POST /v1/register`: this device, as the first of its user.
    pub(crate) async fn register(
        &self,
        request: &RegisterRequest,
    ) -> Result<DeviceInfo, ClientError> {
        self.plain(Method::POST, paths::REGISTER, Some(request))
            .await
    }

    /// `GET /v1/key-packages/stock`: the stock in each suite.
    pub(crate) async fn key_package_stock(&self) -> Result<KeyPackageStocks, ClientError> {
        self.plain(Method::GET, paths::KEY_PACKAGE_STOCK, None::<&()>)
            .await
    }

    /// `POST /v1/key-packages`.
    pub(crate) async fn publish_key_packages(
        &self,
        body: &PublishKeyPackages,
    ) -> Result<KeyPackageStock, ClientError> {
        self.plain(Method::POST, paths::KEY_PACKAGES, Some(body))
            .await
    }

    /// `POST /v1/directory`: the devices, with their keys, of each of `users` that exists.
    pub(crate) async fn directory(
        &self,
        users: &[UserName],
    ) -> Result<DirectoryResponse, ClientError> {
        let body = DirectoryRequest {
            users: users.iter().map(|u| u.as_str().to_owned()).collect(),
        };
        self.plain(Method::POST, paths::DIRECTORY, Some(&body))
            .await
    }

    /// `POST /v1/reject`: this member refuses the commit `group`'s epoch `epoch` ended with.
    pub(crate) async fn reject(
        &self,
        group: &GroupId,
        epoch: u64,
    ) -> Result<RejectResponse, ClientError> {
        let body = RejectRequest {
            group_id: group.as_bytes().to_vec().into(),
            epoch,
        };
        self.plain(Method::POST, paths::REJECT, Some(&body)).await
    }

    /// `POST /v1/key-packages/claim`: one key package in `suite` per device of `user`, or
    /// of its `device` only.
    pub(crate) async fn claim(
        &self,
        user: &str,
        device: Option<&str>,
        suite: CipherSuite,
    ) -> Result<ClaimResponse, ClientError> {
        let body = ClaimRequest {
            user: user.to_owned(),
            device: device.map(str::to_owned),
            ciphersuite: Some(suite.code_point()),
        };
        self.plain(Method::POST, paths::CLAIM, Some(&body)).await
    }

    /// `POST /v1/messages`. A commit that lost its epoch is [`Failure::StaleEpoch`].
    pub(crate) async fn send(&self, envelope: &Envelope) -> Result<SendResponse, Failure> {
        self.request(Method::POST, paths::MESSAGES, Some(envelope))
            .await
    }

    /// `GET /v1/queue`: up to `limit` items after `after`.
    pub(crate) async fn fetch(&self, after: u64, limit: u32) -> Result<QueuePage, ClientError> {
        self.plain(Method::GET, &paths::queue(after, limit), None::<&()>)
            .await
    }

    /// `POST /v1/queue/ack`: the server may delete items up to `up_to`.
    pub(crate) async fn ack(&self, up_to: u64) -> Result<AckResponse, ClientError> {
        self.plain(Method::POST, paths::QUEUE_ACK, Some(&AckRequest { up_to }))
            .await
    }

    /// `POST /v1/devices/grants`: this device's user may gain the device in `grant`.
    pub(crate) async fn grant_device(&self, grant: &DeviceGrant) -> Result<(), ClientError> {
        self.exchange(Method::POST, paths::DEVICE_GRANTS, Some(grant), true)
            .await
            .map(drop)
            .map_err(Failure::into_error)
    }

    /// `POST /v1/devices/revoke`.
    pub(crate) async fn revoke_device(&self, device: &str) -> Result<DeviceInfo, ClientError> {
        let body = RevokeRequest {
            device: device.to_owned(),
        };
        self.plain(Method::POST, paths::DEVICE_REVOKE, Some(&body))
            .await
    }

    /// `GET /v1/users/{user}/devices`.
    pub(crate) async fn user_devices(&self, user: &str) -> Result<DevicesResponse, ClientError> {
        self.plain(Method::GET, &paths::user_devices(user), None::<&()>)
            .await
    }

    /// `PUT /v1/links/{link}/{index}`.
    pub(crate) async fn put_link_chunk(
        &self,
        link: &[u8],
        index: u32,
        data: Vec<u8>,
    ) -> Result<(), ClientError> {
        let body = LinkChunk { data: data.into() };
        self.exchange(
            Method::PUT,
            &paths::link_chunk(link, index),
            Some(&body),
            true,
        )
        .await
        .map(drop)
        .map_err(Failure::into_error)
    }

    /// `GET /v1/links/{link}/{index}`, signed once this device has an identity: `None`
    /// while the chunk is not written.
    pub(crate) async fn link_chunk(
        &self,
        link: &[u8],
        index: u32,
    ) -> Result<Option<Vec<u8>>, ClientError> {
        let bytes = self
            .exchange(
                Method::GET,
                &paths::link_chunk(link, index),
                None::<&()>,
                self.identity.is_some(),
            )
            .await;
        match bytes {
            Ok(bytes) => serde_json::from_slice::<LinkChunk>(&bytes)
                .map(|chunk| Some(chunk.data.0))
                .map_err(|e| ClientError::BadResponse(e.to_string())),
            Err(Failure::Client(ClientError::Server {
                code: ErrorCode::NotFound,
                ..
            })) => Ok(None),
            Err(e) => Err(e.into_error()),
        }
    }

    /// `POST /v1/blobs`: room for `size` bytes of an attachment's ciphertext.
    pub(crate) async fn create_blob(&self, size: u64) -> Result<BlobCreated, ClientError> {
        self.plain(Method::POST, paths::BLOBS, Some(&BlobCreate { size }))
            .await
    }

    /// `PUT /v1/blobs/{blob}/{index}`.
    pub(crate) async fn put_blob_chunk(
        &self,
        blob: &str,
        index: u32,
        data: Vec<u8>,
    ) -> Result<(), ClientError> {
        let body = LinkChunk { data: data.into() };
        self.exchange(
            Method::PUT,
            &paths::blob_chunk(blob, index),
            Some(&body),
            true,
        )
        .await
        .map(drop)
        .map_err(Failure::into_error)
    }

    /// `GET /v1/blobs/{blob}/{index}`.
    pub(crate) async fn blob_chunk(&self, blob: &str, index: u32) -> Result<Vec<u8>, ClientError> {
        let chunk: LinkChunk = self
            .plain(Method::GET, &paths::blob_chunk(blob, index), None::<&()>)
            .await?;
        Ok(chunk.data.0)
    }

    /// `DELETE /v1/links/{link}`.
    pub(crate) async fn delete_link(&self, link: &[u8]) -> Result<(), ClientError> {
        self.exchange(Method::DELETE, &paths::link(link), None::<&()>, true)
            .await
            .map(drop)
            .map_err(Failure::into_error)
    }

    /// `PUT /v1/groups/{group}/info`: the group's sealed GroupInfo of its current epoch.
    pub(crate) async fn put_group_info(
        &self,
        group: &GroupId,
        upload: &GroupInfoUpload,
    ) -> Result<(), Failure> {
        self.exchange(
            Method::PUT,
            &paths::group_info(group.as_bytes()),
            Some(upload),
            true,
        )
        .await
        .map(drop)
    }

    /// `GET /v1/groups/{group}/info`: the group's sealed GroupInfo, for one of its devices.
    pub(crate) async fn group_info(&self, group: &GroupId) -> Result<SealedGroupInfo, ClientError> {
        self.plain(
            Method::GET,
            &paths::group_info(group.as_bytes()),
            None::<&()>,
        )
        .await
    }

    /// `PUT /v1/groups/{group}/link`: opens (or replaces) the group's link at the server.
    pub(crate) async fn put_group_link(
        &self,
        group: &GroupId,
        setup: &LinkSetup,
    ) -> Result<(), ClientError> {
        self.exchange(
            Method::PUT,
            &paths::group_link(group.as_bytes()),
            Some(setup),
            true,
        )
        .await
        .map(drop)
        .map_err(Failure::into_error)
    }

    /// `DELETE /v1/groups/{group}/link`: the group's link revoked at the server.
    pub(crate) async fn delete_group_link(&self, group: &GroupId) -> Result<(), ClientError> {
        self.exchange(
            Method::DELETE,
            &paths::group_link(group.as_bytes()),
            None::<&()>,
            true,
        )
        .await
        .map(drop)
        .map_err(Failure::into_error)
    }

    /// `POST /v1/groups/{group}/join`: in by the link whose token this is.
    pub(crate) async fn join_by_link(
        &self,
        group: &GroupId,
        token: &[u8],
    ) -> Result<JoinAnswer, ClientError> {
        let body = JoinByLink {
            token: token.to_vec().into(),
        };
        self.plain(
            Method::POST,
            &paths::group_join(group.as_bytes()),
            Some(&body),
        )
        .await
    }

    /// `GET /v1/groups/{group}/requests`.
    pub(crate) async fn join_requests(&self, group: &GroupId) -> Result<JoinRequests, ClientError> {
        self.plain(
            Method::GET,
            &paths::group_requests(group.as_bytes()),
            None::<&()>,
        )
        .await
    }

    /// `POST /v1/groups/{group}/rejoin`: asks the group's other members for its rejoin key.
    pub(crate) async fn ask_rejoin(&self, group: &GroupId, ask: Vec<u8>) -> Result<(), Failure> {
        let body = RejoinAskUpload { ask: ask.into() };
        self.exchange(
            Method::POST,
            &paths::group_rejoin(group.as_bytes()),
            Some(&body),
            true,
        )
        .await
        .map(drop)
    }

    /// `POST /v1/groups/{group}/rejoin/key`: answers `device`'s ask for the rejoin key.
    pub(crate) async fn answer_rejoin(
        &self,
        group: &GroupId,
        device: DeviceRef,
        key: Vec<u8>,
    ) -> Result<(), ClientError> {
        let body = RejoinKeyUpload {
            device,
            key: key.into(),
        };
        self.exchange(
            Method::POST,
            &paths::group_rejoin_key(group.as_bytes()),
            Some(&body),
            true,
        )
        .await
        .map(drop)
        .map_err(Failure::into_error)
    }

    /// `DELETE /v1/groups/{group}/requests/{user}`: the user's requests answered.
    pub(crate) async fn answer_join_requests(
        &self,
        group: &GroupId,
        user: &str,
    ) -> Result<(), ClientError> {
        self.exchange(
            Method::DELETE,
            &paths::group_request(group.as_bytes(), user),
            None::<&()>,
            true,
        )
        .await
        .map(drop)
        .map_err(Failure::into_error)
    }

    /// `GET /v1/ws`: the push socket.
    pub(crate) async fn connect_push(&self) -> Result<PushSocket, String> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
        let mut request = self
            .ws_url()
            .into_client_request()
            .map_err(|e| e.to_string())?;
        for (name, value) in self
            .headers(Method::GET.as_str(), paths::PUSH, b"")
            .map_err(|e| e.to_string())?
        {
            request
                .headers_mut()
                .insert(name, value.parse().map_err(|_| "bad header".to_string())?);
        }
        // tungstenite zero-fills its whole read buffer (128 KiB by default) on every read;
        // push frames are a few bytes, and a larger one is no push frame: a server (or the
        // network, to a local server) cannot make the client hold more.
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .read_buffer_size(4096)
            .max_message_size(Some(MAX_PUSH_FRAME))
            .max_frame_size(Some(MAX_PUSH_FRAME));
        let connector = tokio_tungstenite::Connector::Rustls(self.tls.clone());
        let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(config),
            true,
            Some(connector),
        )
        .await
        .map_err(|e| e.to_string())?;
        Ok(PushSocket(socket))
    }

    // ------------------------------------------------------------------ plumbing

    /// The signed headers for a request (also used for the WebSocket upgrade).
    fn headers(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<Vec<(&'static str, String)>, ClientError> {
        let identity = self.identity.as_ref().ok_or_else(|| {
            ClientError::InvalidInput("this device has no identity yet to sign with".into())
        })?;
        let me = identity.member();
        let id = fresh_identity(me.user.as_str(), me.device.as_str());
        sign_request(identity.as_ref(), method, path, body, &id)
            .map_err(|e| ClientError::InvalidInput(format!("cannot sign a request: {e}")))
    }

    /// A signed request; JSON in, JSON out.
    async fn request<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, Failure> {
        let text = self.exchange(method, path, body, true).await?;
        serde_json::from_slice(&text)
            .map_err(|e| Failure::Client(ClientError::BadResponse(e.to_string())))
    }

    /// A request, signed or not; the body of a successful answer, or the refusal.
    async fn exchange(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
        signed: bool,
    ) -> Result<Vec<u8>, Failure> {
        let bytes = match body {
            Some(body) => serde_json::to_vec(body)
                .map_err(|e| ClientError::InvalidInput(format!("cannot encode a request: {e}")))?,
            None => Vec::new(),
        };
        let headers = if signed {
            self.headers(method.as_str(), path, &bytes)?
        } else {
            Vec::new()
        };
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request
            .body(bytes)
            .send()
            .await
            .map_err(|e| self.offline(e))?;
        let status = response.status();
        let text = self.read_body(response).await?;
        if status.is_success() {
            return Ok(text);
        }
        let error: ErrorBody = serde_json::from_slice(&text).map_err(|_| {
            ClientError::BadResponse(format!(
                "{status}: {}",
                String::from_utf8_lossy(&text[..text.len().min(200)])
            ))
        })?;
        Err(match error.error {
            ErrorCode::StaleEpoch => Failure::StaleEpoch,
            ErrorCode::DeviceRevoked => Failure::Client(ClientError::Revoked),
            code => Failure::Client(ClientError::Server {
                code,
                message: error.message,
            }),
        })
    }

    /// [`Ds::request`] for endpoints where `stale_epoch` is just an error.
    async fn plain<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, ClientError> {
        self.request(method, path, body)
            .await
            .map_err(Failure::into_error)
    }

    /// A response's body, refused past [`MAX_RESPONSE`] however the server declares it: a
    /// hostile server must not make the client hold what it likes.
    async fn read_body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, ClientError> {
        let too_large = || {
            ClientError::BadResponse(format!(
                "the server's answer is over {} MiB",
                MAX_RESPONSE >> 20
            ))
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.offline(e))? {
            if body.len() + chunk.len() > MAX_RESPONSE {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn offline(&self, e: reqwest::Error) -> ClientError {
        // reqwest's own message is only "error sending request"; the cause (refused, timed
        // out, a certificate nobody vouches for) is down its source chain.
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            reason.push_str(": ");
            reason.push_str(&cause.to_string());
            source = cause.source();
        }
        ClientError::Offline {
            server: self.base.clone(),
            reason,
        }
    }

    /// The WebSocket URL of the push endpoint.
    fn ws_url(&self) -> String {
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
        format!("{rest}{}", paths::PUSH)
    }
}
