//! The queues on PostgreSQL: a message stored once and fanned out to its recipients' queues
//! in one statement, each recipient's sequence number taken from its device row (locked
//! until the delivery commits, so numbers become visible in order); releasing items; pages
//! bounded in bytes.

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

/// The fan-out statement: the message stored, each recipient's counter row taken (locked
/// until commit) for its next sequence number, and the queue rows written; with `$extra`
/// common table expressions after those, and `$last` as the rows' last column (every
/// parameter must be used, so the statement without a notification still names `$10`).
macro_rules! fan_out {
    ($extra:literal, $last:literal) => {
        concat!(
            "WITH message AS (
                 INSERT INTO messages (sender_device, kind, group_id, epoch, message,
                                       ratchet_tree, size, created_at)
                 VALUES ($3, $4, $5, $6, $7, $8, $2, $9) RETURNING id
             ), counted AS (
                 UPDATE devices SET last_seq = last_seq + 1,
                                    queued_items = queued_items + 1,
                                    queued_bytes = queued_bytes + $2
                 WHERE id = ANY($1)
                 RETURNING id, last_seq, queued_items, queued_bytes
             ), queued AS (
                 INSERT INTO queue (device_id, seq, message_id)
                 SELECT counted.id, counted.last_seq, message.id FROM counted, message
             )",
            $extra,
            " SELECT id, last_seq, queued_items, queued_bytes, ",
            $last,
            " FROM counted"
        )
    };
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
    // One statement: the message stored, each recipient's counter row taken (locked until
    // commit) for its next sequence number, the queue rows written, and (up to a
    // notification's worth of recipients: a payload stays under PostgreSQL's 8,000 bytes)
    // the other nodes told.
    let notify_here = recipients.len() <= notify::ITEMS_PER_NOTIFICATION;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 10] = [
        &recipients,
        &size,
        &out.sender_id,
        &kind_name(out.kind),
        &out.group_id,
        &(out.epoch as i64),
        &out.message,
        &out.ratchet_tree,
        &(now() as i64),
        &db.node(),
    ];
    let rows = if notify_here {
        db.query(
            fan_out!(
                ", notified AS (
                     SELECT pg_notify('conclave_ds', json_build_object(
                         'node', $10::bigint,
                         'queued', json_agg(json_build_array(id, last_seq)))::text)
                     FROM counted
                 )",
                "(SELECT COUNT(*) FROM notified)"
            ),
            &params,
        )
        .await?
    } else {
        db.query(fan_out!("", "$10::bigint"), &params).await?
    };
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
    if !notify_here {
        notify::queued(db, &pushed).await?;
    }
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

/// Deletes `device`'s items up to `up_to`, and the messages no queue refers to any more;
/// with `seen` (unix seconds), notes too that the device showed signs of life. Returns the
/// items deleted.
pub(super) async fn dequeue_device(
    db: &Db<'_>,
    device: i64,
    up_to: i64,
    seen: Option<i64>,
) -> Result<u64, PgError> {
    // One statement: the items out, the device's counters down by what they held, and the
    // messages no other queue refers to deleted. A message whose last two references go in
    // two acks at once is seen by each as still the other's, and stays: each ack notes the
    // messages it released but kept, and retention deletes those that no queue refers to
    // any more. (Counting references instead made every recipient's ack lock the message.)
    let released: i64 = db
        .query_one(
            "WITH released AS (
                 DELETE FROM queue q USING messages m
                 WHERE q.device_id = $1 AND q.seq <= $2 AND m.id = q.message_id
                 RETURNING q.message_id, m.size
             ), counted AS (
                 UPDATE devices SET
                     queued_items = GREATEST(queued_items - (SELECT COUNT(*) FROM released), 0),
                     queued_bytes = GREATEST(queued_bytes
                         - (SELECT COALESCE(SUM(size), 0) FROM released), 0),
                     last_seen = COALESCE($3, last_seen)
                 WHERE id = $1
             ), gone AS (
                 DELETE FROM messages m WHERE m.id IN (SELECT message_id FROM released)
                     AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.message_id = m.id
                                     AND NOT (q.device_id = $1 AND q.seq <= $2))
                 RETURNING m.id
             ), noted AS (
                 INSERT INTO released_messages (message_id)
                 SELECT DISTINCT message_id FROM released
                 WHERE message_id NOT IN (SELECT id FROM gone)
             )
             SELECT COUNT(*) FROM released",
            &[&device, &up_to, &seen],
        )
        .await?
        .try_get(0)?;
    Ok(released as u64)
}

/// How the page after `after` fills: the sizes of its items.
async fn page_sizes(
    db: &Db<'_>,
    device: i64,
    after: u64,
    limit: u32,
    max_bytes: usize,
) -> Result<PageFill, PgError> {
    // One statement: the device's state (a device revoked through another node, which this
    // node has not heard of yet, reads nothing more either), and its items' sizes.
    let rows = db
        .query(
            "SELECT d.revoked_at IS NOT NULL, p.size FROM devices d
             LEFT JOIN LATERAL (
                 SELECT m.size FROM queue q JOIN messages m ON m.id = q.message_id
                 WHERE q.device_id = d.id AND q.seq > $2 ORDER BY q.seq LIMIT $3
             ) p ON TRUE
             WHERE d.id = $1",
            &[&device, &(after as i64), &i64::from(limit)],
        )
        .await?;
    if rows.first().map(|r| r.try_get::<_, bool>(0)).transpose()? != Some(false) {
        return Err(StoreError::DeviceRevoked.into());
    }
    let mut page = PageFill::new(max_bytes);
    for row in &rows {
        let Some(size) = row.try_get::<_, Option<i64>>(1)? else {
            break; // the device's row alone: an empty page
        };
        if !page.admit(size) {
            break;
        }
    }
    Ok(page)
}

pub(super) async fn page_bytes(
    db: &Db<'_>,
    device: i64,
    after: u64,
    limit: u32,
    max_bytes: usize,
) -> Result<usize, PgError> {
    Ok(page_sizes(db, device, after, limit, max_bytes).await?.bytes)
}

pub(super) async fn fetch(
    db: &Db<'_>,
    device: i64,
    after: u64,
    limit: u32,
    max_bytes: usize,
) -> Result<QueuePage, PgError> {
    // One statement: the device's state, and the items that fit the page (running sums of
    // their sizes, so that only those are read: a page never holds more than `max_bytes` in
    // memory, beyond its first item), and how many of the next were left for another page.
    let rows = db
        .query(
            "WITH page AS (
                 SELECT q.seq, q.message_id,
                        (SUM(m.size) OVER (ORDER BY q.seq))::BIGINT AS upto,
                        ROW_NUMBER() OVER (ORDER BY q.seq) AS n
                 FROM queue q JOIN messages m ON m.id = q.message_id
                 WHERE q.device_id = $1 AND q.seq > $2 ORDER BY q.seq LIMIT $3::BIGINT + 1
             ), fits AS (
                 SELECT seq, message_id FROM page WHERE n <= $3::BIGINT AND (upto <= $4::BIGINT OR n = 1)
             )
             SELECT d.revoked_at IS NOT NULL,
                    (SELECT COUNT(*) FROM page) - (SELECT COUNT(*) FROM fits),
                    f.seq, m.kind, m.group_id, m.epoch, m.message, m.ratchet_tree,
                    su.name, sd.name
             FROM devices d
                 LEFT JOIN fits f ON TRUE
                 LEFT JOIN messages m ON m.id = f.message_id
                 LEFT JOIN devices sd ON sd.id = m.sender_device
                 LEFT JOIN users su ON su.id = sd.user_id
             WHERE d.id = $1
             ORDER BY f.seq",
            &[
                &device,
                &(after as i64),
                &i64::from(limit),
                &i64::try_from(max_bytes).unwrap_or(i64::MAX),
            ],
        )
        .await?;
    let Some(first) = rows.first() else {
        return Err(StoreError::DeviceRevoked.into());
    };
    if first.try_get::<_, bool>(0)? {
        return Err(StoreError::DeviceRevoked.into());
    }
    let more = first.try_get::<_, i64>(1)? > 0;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        let Some(seq) = r.try_get::<_, Option<i64>>(2)? else {
            continue; // the device's row alone: an empty page
        };
        items.push(QueueItem {
            seq: seq as u64,
            kind: kind_of(r.try_get(3)?)?,
            group_id: r.try_get::<_, Vec<u8>>(4)?.into(),
            epoch: r.try_get::<_, i64>(5)? as u64,
            message: r.try_get::<_, Vec<u8>>(6)?.into(),
            ratchet_tree: r.try_get::<_, Option<Vec<u8>>>(7)?.map(Into::into),
            sender: conclave_delivery_api::DeviceRef {
                user: r.try_get(8)?,
                device: r.try_get(9)?,
            },
        });
    }
    Ok(QueuePage { items, more })
}

pub(super) async fn queue_depth(db: &Db<'_>) -> Result<u64, PgError> {
    let row = db.query_one("SELECT COUNT(*) FROM queue", &[]).await?;
    Ok(row.try_get::<_, i64>(0)? as u64)
}
