//! Retention on PostgreSQL: old queue items dropped a batch of messages per transaction
//! (short transactions, never a month's backlog locked at once), and expired nonces,
//! grants, key packages, links, blobs, join requests and rejoin asks.

use std::collections::BTreeMap;

use super::super::StoreError;
use super::pool::{Db, PgError, Pool};

/// Deletes the messages acknowledgements released that no queue refers to any more (those
/// whose last references went in two acknowledgements at once), a batch per transaction.
pub(super) fn collect_released(pool: &Pool) -> Result<(), StoreError> {
    loop {
        let taken = pool.transaction(async move |db| {
            let row = db
                .query_one(
                    "WITH batch AS (
                         DELETE FROM released_messages WHERE ctid = ANY(ARRAY(
                             SELECT ctid FROM released_messages LIMIT $1))
                         RETURNING message_id
                     ), gone AS (
                         DELETE FROM messages m WHERE m.id IN (SELECT message_id FROM batch)
                             AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.message_id = m.id)
                     )
                     SELECT COUNT(*) FROM batch",
                    &[&PRUNE_BATCH],
                )
                .await?;
            Ok(row.try_get::<_, i64>(0)?)
        })?;
        if taken < PRUNE_BATCH {
            return Ok(());
        }
    }
}

/// Messages one retention transaction drops: deletes stay short, and never hold the locks
/// of a whole month's backlog at once.
const PRUNE_BATCH: i64 = 2_000;

/// Drops the queue items of messages created before `before`, a batch per transaction;
/// returns the items dropped.
pub(super) fn prune_messages(pool: &Pool, before: u64) -> Result<u64, StoreError> {
    let mut dropped = 0;
    loop {
        let (items, messages) = pool.transaction(async move |db| {
            let old: Vec<i64> = db
                .query(
                    "SELECT id FROM messages WHERE created_at < $1 ORDER BY id LIMIT $2
                     FOR UPDATE SKIP LOCKED",
                    &[&(before as i64), &PRUNE_BATCH],
                )
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            if old.is_empty() {
                return Ok((0, 0));
            }
            let released = db
                .query(
                    "DELETE FROM queue q USING messages m
                     WHERE q.message_id = ANY($1) AND m.id = q.message_id
                     RETURNING q.device_id, m.size",
                    &[&old],
                )
                .await?;
            let mut per_device = BTreeMap::<i64, (i64, i64)>::new();
            for row in &released {
                let entry = per_device.entry(row.try_get(0)?).or_default();
                entry.0 += 1;
                entry.1 += row.try_get::<_, i64>(1)?;
            }
            let mut devices = Vec::with_capacity(per_device.len());
            let mut items = Vec::with_capacity(per_device.len());
            let mut bytes = Vec::with_capacity(per_device.len());
            for (device, (n, b)) in per_device {
                devices.push(device);
                items.push(n);
                bytes.push(b);
            }
            db.execute(
                "SELECT id FROM devices WHERE id = ANY($1) ORDER BY id FOR UPDATE",
                &[&devices],
            )
            .await?;
            db.execute(
                "UPDATE devices d SET queued_items = GREATEST(d.queued_items - t.n, 0),
                                      queued_bytes = GREATEST(d.queued_bytes - t.b, 0)
                 FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS t(id, n, b)
                 WHERE d.id = t.id",
                &[&devices, &items, &bytes],
            )
            .await?;
            db.execute("DELETE FROM messages WHERE id = ANY($1)", &[&old])
                .await?;
            Ok((released.len() as u64, old.len() as i64))
        })?;
        dropped += items;
        if messages < PRUNE_BATCH {
            return Ok(dropped);
        }
    }
}

/// Retention for everything but queues: expired nonces, grants, key packages and links,
/// old link chunks, blobs, join requests and rejoin asks (with their answers).
pub(super) async fn prune_rest(
    db: &Db<'_>,
    before: u64,
    links_before: u64,
    now: u64,
) -> Result<(), PgError> {
    let (before, links_before, now) = (before as i64, links_before as i64, now as i64);
    db.execute("DELETE FROM nonces WHERE expires_at < $1", &[&now])
        .await?;
    db.execute("DELETE FROM device_grants WHERE expires_at < $1", &[&now])
        .await?;
    db.execute(
        "DELETE FROM link_chunks WHERE created_at < $1",
        &[&links_before],
    )
    .await?;
    // Chunks go with their blob (ON DELETE CASCADE).
    db.execute("DELETE FROM blobs WHERE created_at < $1", &[&before])
        .await?;
    db.execute("DELETE FROM key_packages WHERE not_after < $1", &[&now])
        .await?;
    db.execute("DELETE FROM group_links WHERE expires_at < $1", &[&now])
        .await?;
    db.execute(
        "DELETE FROM join_requests WHERE requested_at < $1",
        &[&before],
    )
    .await?;
    // An ask older than the retention has no queue item left to answer; its answers go
    // with it.
    db.execute(
        "DELETE FROM rejoin_answers WHERE (group_id, device_id) IN
             (SELECT group_id, device_id FROM rejoin_asks WHERE asked_at < $1)",
        &[&before],
    )
    .await?;
    db.execute("DELETE FROM rejoin_asks WHERE asked_at < $1", &[&before])
        .await?;
    Ok(())
}
