//! Device-link transfers and attachments on PostgreSQL: chunks written once, within a
//! link's or a blob's size, and blobs within their user's quota. Each write locks what it
//! counts against (the link, the blob, or the user's row) so that nodes writing at once
//! still add up.

use super::super::rules::{chunk_is_new, now};
use super::super::{DeviceRecord, Nonce, StoreError};
use super::devices::{insert_nonce, lock_user_of};
use super::pool::{Db, PgError};

/// Holds a transaction-long lock on `key` in `space` (a link, a blob): writes to one of
/// them are counted one at a time, on every node.
async fn lock(db: &Db<'_>, space: i32, key: &[u8]) -> Result<(), PgError> {
    db.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext(encode($2, 'hex')))",
        &[&space, &key],
    )
    .await?;
    Ok(())
}

const LINKS: i32 = 1;
const BLOBS: i32 = 2;

pub(super) async fn put_link_chunk(
    db: &Db<'_>,
    by: &DeviceRecord,
    (link, index, data): (&[u8], u32, &[u8]),
    max_bytes: u64,
    nonce: &Nonce,
) -> Result<(), PgError> {
    insert_nonce(db, by.id, nonce).await?;
    lock(db, LINKS, link).await?;
    let user_id: i64 = db
        .query_one("SELECT user_id FROM devices WHERE id = $1", &[&by.id])
        .await?
        .try_get(0)?;
    let held = db
        .query_one(
            "SELECT MIN(user_id), COALESCE(SUM(octet_length(data)), 0)::BIGINT
             FROM link_chunks WHERE link = $1",
            &[&link],
        )
        .await?;
    let (owner, bytes): (Option<i64>, i64) = (held.try_get(0)?, held.try_get(1)?);
    if owner.is_some_and(|owner| owner != user_id) {
        return Err(StoreError::LinkConflict("this link belongs to another user".into()).into());
    }
    let existing = db
        .query_opt(
            "SELECT data FROM link_chunks WHERE link = $1 AND idx = $2",
            &[&link, &i64::from(index)],
        )
        .await?
        .map(|r| r.try_get::<_, Vec<u8>>(0))
        .transpose()?;
    if !chunk_is_new(existing, data, index, StoreError::LinkConflict)? {
        return Ok(());
    }
    if bytes as u64 + data.len() as u64 > max_bytes {
        return Err(StoreError::LinkFull { max: max_bytes }.into());
    }
    db.execute(
        "INSERT INTO link_chunks (link, idx, user_id, data, created_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[&link, &i64::from(index), &user_id, &data, &(now() as i64)],
    )
    .await?;
    Ok(())
}

pub(super) async fn link_chunk(
    db: &Db<'_>,
    link: &[u8],
    index: u32,
) -> Result<Option<(Vec<u8>, String)>, PgError> {
    let row = db
        .query_opt(
            "SELECT c.data, u.name FROM link_chunks c JOIN users u ON u.id = c.user_id
             WHERE c.link = $1 AND c.idx = $2",
            &[&link, &i64::from(index)],
        )
        .await?;
    Ok(match row {
        Some(row) => Some((row.try_get(0)?, row.try_get(1)?)),
        None => None,
    })
}

pub(super) async fn delete_link(
    db: &Db<'_>,
    by: &DeviceRecord,
    link: &[u8],
    nonce: &Nonce,
) -> Result<(), PgError> {
    insert_nonce(db, by.id, nonce).await?;
    lock(db, LINKS, link).await?;
    let deleted = db
        .execute(
            "DELETE FROM link_chunks WHERE link = $1
               AND user_id = (SELECT user_id FROM devices WHERE id = $2)",
            &[&link, &by.id],
        )
        .await?;
    let left = db
        .query_opt(
            "SELECT 1 FROM link_chunks WHERE link = $1 LIMIT 1",
            &[&link],
        )
        .await?;
    if deleted == 0 && left.is_some() {
        return Err(StoreError::LinkConflict("this link belongs to another user".into()).into());
    }
    Ok(())
}

pub(super) async fn create_blob(
    db: &Db<'_>,
    by: &DeviceRecord,
    id: &[u8],
    (size, quota): (u64, u64),
    nonce: &Nonce,
) -> Result<(), PgError> {
    insert_nonce(db, by.id, nonce).await?;
    let user_id = lock_user_of(db, by.id).await?;
    let held: i64 = db
        .query_one(
            "SELECT COALESCE(SUM(size), 0)::BIGINT FROM blobs WHERE user_id = $1",
            &[&user_id],
        )
        .await?
        .try_get(0)?;
    if held as u64 + size > quota {
        return Err(StoreError::BlobQuota { max: quota }.into());
    }
    let created = db
        .execute(
            "INSERT INTO blobs (id, user_id, size, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO NOTHING",
            &[&id, &user_id, &(size as i64), &(now() as i64)],
        )
        .await?;
    if created == 0 {
        return Err(StoreError::BlobConflict("this blob id is taken".into()).into());
    }
    Ok(())
}

pub(super) async fn put_blob_chunk(
    db: &Db<'_>,
    by: &DeviceRecord,
    (id, index, data): (&[u8], u32, &[u8]),
    nonce: &Nonce,
) -> Result<(), PgError> {
    insert_nonce(db, by.id, nonce).await?;
    lock(db, BLOBS, id).await?;
    let user_id: i64 = db
        .query_one("SELECT user_id FROM devices WHERE id = $1", &[&by.id])
        .await?
        .try_get(0)?;
    let blob = db
        .query_opt("SELECT user_id, size FROM blobs WHERE id = $1", &[&id])
        .await?;
    let Some(blob) = blob else {
        return Err(StoreError::NoSuchBlob.into());
    };
    let (owner, size): (i64, i64) = (blob.try_get(0)?, blob.try_get(1)?);
    if owner != user_id {
        return Err(StoreError::BlobConflict("this blob belongs to another user".into()).into());
    }
    let existing = db
        .query_opt(
            "SELECT data FROM blob_chunks WHERE blob_id = $1 AND idx = $2",
            &[&id, &i64::from(index)],
        )
        .await?
        .map(|r| r.try_get::<_, Vec<u8>>(0))
        .transpose()?;
    if !chunk_is_new(existing, data, index, StoreError::BlobConflict)? {
        return Ok(());
    }
    let written: i64 = db
        .query_one(
            "SELECT COALESCE(SUM(octet_length(data)), 0)::BIGINT FROM blob_chunks
             WHERE blob_id = $1",
            &[&id],
        )
        .await?
        .try_get(0)?;
    if written as u64 + data.len() as u64 > size as u64 {
        return Err(
            StoreError::BlobConflict(format!("the blob was declared as {size} bytes")).into(),
        );
    }
    db.execute(
        "INSERT INTO blob_chunks (blob_id, idx, data) VALUES ($1, $2, $3)",
        &[&id, &i64::from(index), &data],
    )
    .await?;
    Ok(())
}

pub(super) async fn blob_chunk(
    db: &Db<'_>,
    id: &[u8],
    index: u32,
) -> Result<Option<Vec<u8>>, PgError> {
    let row = db
        .query_opt(
            "SELECT data FROM blob_chunks WHERE blob_id = $1 AND idx = $2",
            &[&id, &i64::from(index)],
        )
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}
