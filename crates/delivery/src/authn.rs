//! Checking a request's signature headers (see `conclave_delivery_api::auth`).

use axum::http::{HeaderMap, Method, Uri};

use crate::Shared;
use crate::error::ApiError;
use crate::store::{DeviceRecord, Nonce};
use conclave_delivery_api::ErrorCode;
use conclave_delivery_api::auth::{
    MAX_SKEW_SECS, RequestIdentity, decode_signature, headers, now_secs, scheme_of, signing_input,
    verify,
};

/// The crypto provider requests and key packages are checked with: the one groups use, so
/// the server verifies every signature scheme a supported suite signs with. Built (and its
/// RNG seeded) once.
pub(crate) static CRYPTO: std::sync::LazyLock<conclave_protocol::Crypto> =
    std::sync::LazyLock::new(conclave_protocol::Crypto::default);

/// An authenticated request.
pub struct Authed {
    /// The device that signed it.
    pub device: DeviceRecord,
    /// Its nonce, to store with a write's effect.
    pub nonce: Nonce,
}

fn header<'a>(map: &'a HeaderMap, name: &str) -> Result<&'a str, ApiError> {
    map.get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::unauthorized(format!("missing header {name}")))
}

/// The identity headers, their timestamp checked.
pub fn identity(map: &HeaderMap) -> Result<(RequestIdentity, Vec<u8>), ApiError> {
    let timestamp: u64 = header(map, headers::TIMESTAMP)?
        .parse()
        .map_err(|_| ApiError::unauthorized("bad timestamp"))?;
    if now_secs().abs_diff(timestamp) > MAX_SKEW_SECS {
        return Err(ApiError::unauthorized(
            "timestamp too far from the server's clock",
        ));
    }
    let nonce = header(map, headers::NONCE)?.to_owned();
    if nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::unauthorized("nonce must be 32 hex characters"));
    }
    let signature = decode_signature(header(map, headers::SIGNATURE)?)
        .ok_or_else(|| ApiError::unauthorized("signature is not base64"))?;
    Ok((
        RequestIdentity {
            user: header(map, headers::USER)?.to_owned(),
            device: header(map, headers::DEVICE)?.to_owned(),
            timestamp,
            nonce,
        },
        signature,
    ))
}

/// Checks, before a body is read, that the request names a registered device and a fresh
/// timestamp: a body is only read (and held) for a request that could be authentic. The
/// signature is checked once the body is there ([`authenticate`]).
pub fn plausible(shared: &Shared, map: &HeaderMap) -> Result<(), ApiError> {
    let (id, _) = identity(map)?;
    // A revoked device passes here: [`authenticate`] tells it so once its signature checks.
    let known = shared
        .directory
        .read()
        .map_err(|_| ApiError::unauthorized("directory unavailable"))?
        .contains_key(&(id.user, id.device));
    if !known {
        return Err(ApiError::unauthorized("unknown device"));
    }
    Ok(())
}

fn revoked_error() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        ErrorCode::DeviceRevoked,
        "this device was revoked by its user",
    )
}

/// The canonical path of a request, as signed.
pub fn path_of(uri: &Uri) -> &str {
    uri.path_and_query().map_or(uri.path(), |pq| pq.as_str())
}

/// Authenticates a request from a registered device: known device, valid signature, fresh
/// timestamp, unused nonce, and within its rate limit.
pub fn authenticate(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    map: &HeaderMap,
    body: &[u8],
) -> Result<Authed, ApiError> {
    let (id, signature) = identity(map)?;
    let device = shared
        .directory
        .read()
        .map_err(|_| ApiError::unauthorized("directory unavailable"))?
        .get(&(id.user.clone(), id.device.clone()))
        .cloned()
        .ok_or_else(|| ApiError::unauthorized("unknown device"))?;
    let scheme = scheme_of(device.ciphersuite)
        .ok_or_else(|| ApiError::unauthorized("unsupported ciphersuite"))?;
    let input = signing_input(method.as_str(), path_of(uri), body, &id);
    if !verify(&*CRYPTO, scheme, &device.signature_key, &input, &signature) {
        shared.metrics.auth_failures.inc();
        return Err(ApiError::unauthorized("bad signature"));
    }
    // Told only to the device itself (its signature verified): it must learn that it was
    // revoked, so that it deletes its group state.
    if device.revoked {
        return Err(revoked_error());
    }
    if !shared.allow(&device.user) {
        return Err(ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            "too many requests from this user's devices",
        ));
    }
    let expires_at = id.timestamp + 2 * MAX_SKEW_SECS;
    {
        let mut nonces = shared
            .nonces
            .lock()
            .map_err(|_| ApiError::unauthorized("nonce cache unavailable"))?;
        if nonces
            .insert((device.id, id.nonce.clone()), expires_at)
            .is_some()
        {
            shared.metrics.auth_failures.inc();
            return Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                ErrorCode::Replay,
                "nonce already used",
            ));
        }
    }
    Ok(Authed {
        device,
        nonce: Nonce {
            nonce: id.nonce,
            expires_at,
        },
    })
}
