//! The queues on PostgreSQL: a message stored once and fanned out to its recipients' queues
//! in one statement, each recipient's sequence number taken from its device row (locked
//! until the delivery commits, so numbers become visible in order); releasing items and
//! the messages no queue refers to any more; pages bounded in bytes.

use std::collections::BTreeMap;

use conclave_delivery_api::{MessageKind, QueueItem, QueuePage};

use super::super::rules::{PageFill, kind_name, kind_of, now};
use super::super::{QueueQuota, StoreError};
use super::devices::device_ref;
use super::notify;
use super::pool::{Db, PgError};

/// One message, stored once and queued for each of its recipients.
pub(super) struct Outgoing<'a> {
    pub(super) sender_id: i64,
    pub(super) kind: MessageKind,
    pub(super) group_id: &'a [u8],
    pub(super) epoch: u64,
    pub(super) message: &'a [u8],
    pub(super) ratchet_tree: Option<&'a [u8]>,
}

/// Stores `out` once and queues it for each recipient; returns the (recipient, sequence
/// number) pairs written, and the recipients (not `exempt`) whose queue it takes past
/// `quota`: the caller must then refuse the delivery.
pub(super) async fn enqueue(
    db: &Db<'_>,
    recipients: &[i64],
    out: &Outgoing<'_>,
    quota: QueueQuota,
    exempt: &[i64],
) -> Result<(Vec<(i64, u64)>, Vec<i64>), PgError> {
    if recipients.is_empty() {
        return Ok((Vec::new(), Vec::new())); // nobody would ever acknowledge it
    }
    // Device rows are locked in one order by every delivery, so two never wait on each other.
    let mut recipients = recipients.to_vec();
    recipients.sort_unstable();
    recipients.dedup();
    let size = (out.message.len() + out.ratchet_tree.map_or(0, <[u8]>::len)) as i64;
    let message_id: i64 = db
        .query_one(
            "INSERT INTO messages (sender_device, kind, group_id, epoch, message, ratchet_tree,
                                   size, created_at, refs)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            &[
                &out.sender_id,
                &kind_name(out.kind),
                &out.group_id,
                &(out.epoch as i64),
                &out.message,
                &out.ratchet_tree,
                &size,
                &(now() as i64),
                &(recipients.len() as i64),
            ],
        )
        .await?
        .try_get(0)?;
    let rows = db
        .query(
            "WITH counted AS (
                 UPDATE devices SET last_seq = last_seq + 1,
                                    queued_items = queued_items + 1,
                                    queued_bytes = queued_bytes + $2
                 WHERE id = ANY($1)
                 RETURNING id, last_seq, queued_items, queued_bytes
             ), queued AS (
                 INSERT INTO queue (device_id, seq, message_id)
                 SELECT id, last_seq, $3 FROM counted
             )
             SELECT id, last_seq, queued_items, queued_bytes FROM counted",
            &[&recipients, &size, &message_id],
        )
        .await?;
    if rows.len() != recipients.len() {
        return Err(StoreError::Internal("a recipient has no device row".into()).into());
    }
    let mut pushed = Vec::with_capacity(rows.len());
    let mut full = Vec::new();
    for row in rows {
        let (device, seq, items, bytes): (i64, i64, i64, i64) = (
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
        );
        let over = items as u64 > quota.items || bytes as u64 > quota.bytes;
        if over && !exempt.contains(&device) {
            full.push(device);
        }
        pushed.push((device, seq as u64));
    }
    // Sent at commit only: a delivery refused for a full queue rolls its notification back.
    notify::queued(db, &pushed).await?;
    Ok((pushed, full))
}

/// The recipients whose queues are full, named, for [`StoreError::QueueFull`].
pub(super) async fn queue_full(db: &Db<'_>, mut full: Vec<i64>) -> Result<StoreError, PgError> {
    full.sort_unstable();
    full.dedup();
    let mut names = Vec::with_capacity(full.len());
    for id in full {
        names.push(device_ref(db, id).await?);
    }
    Ok(StoreError::QueueFull(names))
}

/// Deletes `device`'s items up to `up_to`, and the messages no queue refers to any more.
/// Returns the items deleted.
pub(super) async fn dequeue_device(db: &Db<'_>, device: i64, up_to: i64) -> Result<u64, PgError> {
    let released = db
        .query(
            "DELETE FROM queue q USING messages m
             WHERE q.device_id = $1 AND q.seq <= $2 AND m.id = q.message_id
             RETURNING q.message_id, m.size",
            &[&device, &up_to],
        )
        .await?;
    let mut per_message = BTreeMap::<i64, i64>::new();
    let mut bytes = 0i64;
    for row in &released {
        *per_message.entry(row.try_get(0)?).or_default() += 1;
        bytes += row.try_get::<_, i64>(1)?;
    }
    if released.is_empty() {
        return Ok(0);
    }
    db.execute(
        "UPDATE devices SET queued_items = GREATEST(queued_items - $2, 0),
                            queued_bytes = GREATEST(queued_bytes - $3, 0)
         WHERE id = $1",
        &[&device, &(released.len() as i64), &bytes],
    )
    .await?;
    release(db, per_message).await?;
    Ok(released.len() as u64)
}

/// Takes `count` references off each message, and deletes those left with none.
async fn release(db: &Db<'_>, per_message: BTreeMap<i64, i64>) -> Result<(), PgError> {
    let (ids, counts): (Vec<i64>, Vec<i64>) = per_message.into_iter().unzip();
    // Every release locks its messages in id order: the recipients of one message, acking
    // at once, queue up on it instead of deadlocking.
    db.execute(
        "SELECT id FROM messages WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        &[&ids],
    )
    .await?;
    db.execute(
        "UPDATE messages m SET refs = m.refs - t.n
         FROM unnest($1::bigint[], $2::bigint[]) AS t(id, n) WHERE m.id = t.id",
        &[&ids, &counts],
    )
    .await?;
    db.execute(
        "DELETE FROM messages WHERE id = ANY($1) AND refs <= 0",
        &[&ids],
    )
    .await?;
    Ok(())
}

/// The sizes of the items a page after `after` would hold, and whether more follow.
async fn page_sizes(
    db: &Db<'_>,
    device: i64,
    after: u64,
    limit: u32,
    max_bytes: usize,
) -> Result<(PageFill, Option<i64>, bool), PgError> {
    // A device revoked through another node, which this node has not heard of yet, reads
    // nothing more either.
    let revoked = db
        .query_opt(
            "SELECT 1 FROM devices WHERE id = $1 AND revoked_at IS NOT NULL",
            &[&device],
        )
        .await?;
    if revoked.is_some() {
        return Err(StoreError::DeviceRevoked.into());
    }
    let rows = db
        .query(
            "SELECT q.seq, m.size FROM queue q JOIN messages m ON m.id = q.message_id
             WHERE q.device_id = $1 AND q.seq > $2 ORDER BY q.seq LIMIT $3",
            &[&device, &(after as i64), &i64::from(limit)],
        )
        .await?;
    let mut page = PageFill::new(max_bytes);
    let mut last = None;
    for row in &rows {
        if !page.admit(row.try_get(1)?) {
            return Ok((page, last, true));
        }
        last = Some(row.try_get::<_, i64>(0)?);
    }
    let more = if rows.len() == limit as usize {
        db.query_opt(
            "SELECT 1 FROM queue WHERE device_id = $1 AND seq > $2 LIMIT 1",
            &[&device, &last.unwrap_or(after as i64)],
        )
        .await?
        .is_some()
    } else {
        false
    };
    Ok((page, last, more))
}

pub(super) async fn page_bytes(
    db: &Db<'_>,
    device: i64,
    after: u64,
    limit: u32,
    max_bytes: usize,
) -> Result<usize, PgError> {
    Ok(page_sizes(db, device, after, limit, max_bytes)
        .await?
        .0
        .bytes)
}

pub(super) async fn fetch(
    db: &Db<'_>,
    device: i64,
    after: u64,
    limit: u32,
    max_bytes: usize,
) -> Result<QueuePage, PgError> {
    // The sizes first, then only the items that fit: a page never holds more than
    // `max_bytes` in memory (beyond its first item).
    let (_, last, more) = page_sizes(db, device, after, limit, max_bytes).await?;
    let Some(last) = last else {
        return Ok(QueuePage {
            items: Vec::new(),
            more,
        });
    };
    let items = db
        .query(
            "SELECT q.seq, u.name, d.name, m.kind, m.group_id, m.epoch, m.message,
                    m.ratchet_tree
             FROM queue q JOIN messages m ON m.id = q.message_id
                 JOIN devices d ON d.id = m.sender_device JOIN users u ON u.id = d.user_id
             WHERE q.device_id = $1 AND q.seq > $2 AND q.seq <= $3 ORDER BY q.seq",
            &[&device, &(after as i64), &last],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(QueueItem {
                seq: r.try_get::<_, i64>(0)? as u64,
                sender: conclave_delivery_api::DeviceRef {
                    user: r.try_get(1)?,
                    device: r.try_get(2)?,
                },
                kind: kind_of(r.try_get(3)?)?,
                group_id: r.try_get::<_, Vec<u8>>(4)?.into(),
                epoch: r.try_get::<_, i64>(5)? as u64,
                message: r.try_get::<_, Vec<u8>>(6)?.into(),
                ratchet_tree: r.try_get::<_, Option<Vec<u8>>>(7)?.map(Into::into),
            })
        })
        .collect::<Result<Vec<_>, PgError>>()?;
    Ok(QueuePage { items, more })
}

pub(super) async fn queue_depth(db: &Db<'_>) -> Result<u64, PgError> {
    let row = db.query_one("SELECT COUNT(*) FROM queue", &[]).await?;
    Ok(row.try_get::<_, i64>(0)? as u64)
}
