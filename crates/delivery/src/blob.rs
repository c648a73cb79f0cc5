//! Attachments: ciphertext a device uploads in chunks (each a separately sealed piece of
//! the file) and any registered device reads by the blob's id. The id is 128 random bits
//! the server picks; the key that decrypts the blob travels only inside MLS messages, so the
//! server stores what it cannot read. Size per blob and per user are capped; blobs go after
//! the retention period, read or not.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use conclave_delivery_api::{BlobCreate, BlobCreated, ErrorCode, LinkChunk};

use crate::Shared;
use crate::error::ApiError;
use crate::extract::{Signed, SignedEmpty, hex_id};
use crate::handlers::blocking;
use crate::link::MAX_CHUNK;

/// A blob id's length in bytes.
const BLOB_ID_LEN: usize = 16;

type Result<T> = std::result::Result<T, ApiError>;

fn blob_id(hex: &str) -> Result<Vec<u8>> {
    hex_id(
        hex,
        BLOB_ID_LEN..=BLOB_ID_LEN,
        "a blob id is 32 lowercase hex characters",
    )
}

pub async fn create(
    State(shared): State<Arc<Shared>>,
    Signed { authed, body }: Signed<BlobCreate>,
) -> Result<Json<BlobCreated>> {
    let max = shared.limits.max_blob_bytes;
    if body.size == 0 || body.size > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("an attachment is 1 to {max} bytes"),
        ));
    }
    let id: [u8; BLOB_ID_LEN] = rand::random();
    let store = shared.store.clone();
    let quota = shared.limits.blob_quota_bytes;
    blocking(move || {
        store.create_blob(&authed.device, id.to_vec(), body.size, quota, authed.nonce)
    })
    .await?;
    Ok(Json(BlobCreated {
        id: id.iter().map(|b| format!("{b:02x}")).collect(),
        max_chunk: MAX_CHUNK as u32,
    }))
}

pub async fn put_chunk(
    State(shared): State<Arc<Shared>>,
    Path((blob, index)): Path<(String, u32)>,
    Signed {
        authed,
        body: chunk,
    }: Signed<LinkChunk>,
) -> Result<StatusCode> {
    let blob = blob_id(&blob)?;
    if chunk.data.0.len() > MAX_CHUNK {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("a chunk holds at most {MAX_CHUNK} bytes"),
        ));
    }
    let store = shared.store.clone();
    blocking(move || store.put_blob_chunk(&authed.device, blob, index, chunk.data.0, authed.nonce))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Any registered device may read a chunk (the id is unguessable, the bytes ciphertext);
/// the signature counts the read against its user's request rate.
pub async fn get_chunk(
    State(shared): State<Arc<Shared>>,
    Path((blob, index)): Path<(String, u32)>,
    SignedEmpty(_): SignedEmpty,
) -> Result<Json<LinkChunk>> {
    let blob = blob_id(&blob)?;
    let store = shared.store.clone();
    match blocking(move || store.blob_chunk(&blob, index)).await? {
        Some(data) => Ok(Json(LinkChunk { data: data.into() })),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no such chunk",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ids_are_32_lowercase_hex_characters() {
        assert_eq!(blob_id(&"0a".repeat(16)).unwrap(), vec![10; 16]);
        assert!(blob_id(&"0A".repeat(16)).is_err());
        assert!(blob_id(&"0a".repeat(15)).is_err());
        assert!(blob_id(&"é".repeat(16)).is_err());
    }
}
