//! The extractors every device endpoint starts with: the request's signature checked once,
//! here, and its body read within the size limit and parsed; and the ids in request paths.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use conclave_delivery_api::ErrorCode;
use serde::de::DeserializeOwned;

use crate::Shared;
use crate::authn::{Authed, authenticate, plausible};
use crate::error::ApiError;

/// A request as it was signed: method, path, headers and the raw body, read within the
/// server's body limit. For the endpoints that check a signature their own way
/// (registration, adding a device: proof of possession of a new key).
pub struct Raw {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Where the connection came from (absent only when the router is served without
    /// [`crate::Peer`] connect info, as in-process tests may).
    pub peer: Option<std::net::SocketAddr>,
}

impl Raw {
    /// The body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
    }
}

impl FromRequest<Arc<Shared>> for Raw {
    type Rejection = ApiError;

    async fn from_request(request: Request, shared: &Arc<Shared>) -> Result<Self, ApiError> {
        let method = request.method().clone();
        let uri = request.uri().clone();
        let headers = request.headers().clone();
        let peer = request
            .extensions()
            .get::<axum::extract::ConnectInfo<crate::Peer>>()
            .map(|info| info.0.0);
        let body = tokio::time::timeout(
            crate::budget::BODY_TIMEOUT,
            Bytes::from_request(request, shared),
        )
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::BadRequest,
                "the request body took too long to arrive",
            )
        })?
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorCode::PayloadTooLarge,
                    "request body too large",
                )
            } else {
                ApiError::bad_request(rejection.body_text())
            }
        })?;
        Ok(Self {
            method,
            uri,
            headers,
            body,
            peer,
        })
    }
}

/// A request signed by a registered device (checked: known device, valid signature, fresh
/// timestamp, unused nonce, within its rate limit), with its JSON body parsed as `T`.
pub struct Signed<T> {
    pub authed: Authed,
    pub body: T,
}

impl<T: DeserializeOwned> FromRequest<Arc<Shared>> for Signed<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, shared: &Arc<Shared>) -> Result<Self, ApiError> {
        crate::nodes::learn_signer(shared, request.headers()).await?;
        plausible(shared, request.headers())?;
        let raw = Raw::from_request(request, shared).await?;
        let authed = authenticate(shared, &raw.method, &raw.uri, &raw.headers, &raw.body)?;
        Ok(Self {
            authed,
            body: raw.json()?,
        })
    }
}

/// A signed request without a body (`GET`s and the push socket's upgrade), signed over the
/// empty body.
pub struct SignedEmpty(pub Authed);

impl FromRequestParts<Arc<Shared>> for SignedEmpty {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, shared: &Arc<Shared>) -> Result<Self, ApiError> {
        crate::nodes::learn_signer(shared, &parts.headers).await?;
        authenticate(shared, &parts.method, &parts.uri, &parts.headers, b"").map(SignedEmpty)
    }
}

/// An id in a request path: lowercase hex of a length in `bytes` (in bytes), or a
/// `bad_request` that says `expected`.
pub(crate) fn hex_id(
    text: &str,
    bytes: std::ops::RangeInclusive<usize>,
    expected: &'static str,
) -> Result<Vec<u8>, ApiError> {
    let bad = || ApiError::bad_request(expected);
    let lowercase = text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !lowercase || !text.len().is_multiple_of(2) || !bytes.contains(&(text.len() / 2)) {
        return Err(bad());
    }
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad()))
        .collect()
}
