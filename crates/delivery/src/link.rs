//! Device links' transfers: chunks of ciphertext one device of a user writes and a device
//! being linked reads (before it is registered, so reads are unsigned: the link id, 256 bits
//! derived from the code's secret, is the capability). The server learns sizes and timing,
//! never contents; chunks go when the link is deleted or after the link retention.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use conclave_delivery_api::{ErrorCode, LinkChunk};

use crate::Shared;
use crate::error::ApiError;
use crate::extract::{Signed, SignedEmpty, hex_id};
use crate::handlers::blocking;

/// The largest chunk, in bytes of ciphertext.
pub const MAX_CHUNK: usize = 1 << 20;
/// A link id's length in bytes.
const LINK_ID_LEN: usize = 32;

type Result<T> = std::result::Result<T, ApiError>;

fn link_id(hex: &str) -> Result<Vec<u8>> {
    hex_id(
        hex,
        LINK_ID_LEN..=LINK_ID_LEN,
        "a link id is 64 lowercase hex characters",
    )
}

pub async fn put_chunk(
    State(shared): State<Arc<Shared>>,
    Path((link, index)): Path<(String, u32)>,
    Signed {
        authed,
        body: chunk,
    }: Signed<LinkChunk>,
) -> Result<StatusCode> {
    let link = link_id(&link)?;
    if chunk.data.0.len() > MAX_CHUNK {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("a link chunk holds at most {MAX_CHUNK} bytes"),
        ));
    }
    let store = shared.store.clone();
    let max = shared.limits.max_link_bytes;
    blocking(move || {
        store.put_link_chunk(&authed.device, link, index, chunk.data.0, max, authed.nonce)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get_chunk(
    State(shared): State<Arc<Shared>>,
    Path((link, index)): Path<(String, u32)>,
    request: axum::extract::Request,
) -> Result<Json<LinkChunk>> {
    let link = link_id(&link)?;
    // Signed by a registered device (the new device, once registered): counted against its
    // user's request rate. Unsigned (the new device before it is anyone): against its
    // address's link reads. The body, if any, is never read.
    let reader = if request
        .headers()
        .contains_key(conclave_delivery_api::auth::headers::SIGNATURE)
    {
        crate::nodes::learn_signer(&shared, request.headers()).await?;
        Some(
            crate::authn::authenticate(
                &shared,
                request.method(),
                request.uri(),
                request.headers(),
                b"",
            )?
            .device
            .user,
        )
    } else {
        let peer = request
            .extensions()
            .get::<axum::extract::ConnectInfo<crate::Peer>>()
            .map(|info| info.0.0);
        if let Some(peer) = peer
            && !shared.link_reads.allow(crate::handlers::source(peer.ip()))
        {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                "too many link reads; retry later",
            ));
        }
        None
    };
    let store = shared.store.clone();
    match blocking(move || store.link_chunk(&link, index)).await? {
        // The first chunk of a link is for a device that is nobody yet. The others are for
        // a device of the link's user only: someone who saw the code (over a shoulder) has
        // its secret, but not a device of the user to read the history with.
        Some((data, owner)) if index == 0 || reader.as_ref() == Some(&owner) => {
            Ok(Json(LinkChunk { data: data.into() }))
        }
        Some(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "after its first chunk, a link is read by a device of its user only",
        )),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no such chunk (yet)",
        )),
    }
}

pub async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(link): Path<String>,
    SignedEmpty(authed): SignedEmpty,
) -> Result<StatusCode> {
    let link = link_id(&link)?;
    let store = shared.store.clone();
    blocking(move || store.delete_link(&authed.device, link, authed.nonce)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_ids_are_64_lowercase_hex_characters() {
        let id = "ab".repeat(32);
        assert_eq!(link_id(&id).unwrap(), vec![0xab; 32]);
        assert!(link_id(&"AB".repeat(32)).is_err());
        assert!(link_id(&"ab".repeat(31)).is_err());
        assert!(link_id(&format!("{}+1", "ab".repeat(31))).is_err());
        assert!(link_id("é".repeat(32).as_str()).is_err());
    }
}
