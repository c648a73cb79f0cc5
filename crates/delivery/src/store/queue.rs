//! The queues in SQLite: a message stored once and referenced from each recipient's queue,
//! the per-device counters its quota is checked against, releasing rows and messages, and
//! how a page fills. Used by the SQLite store (`sqlite.rs`).

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::rules::{kind_name, now};
use super::writer::Writer;
use super::{QueueQuota, StoreError};
use conclave_delivery_api::MessageKind;

/// One message, stored once and queued for each of its recipients.
pub(super) struct Outgoing<'a> {
    pub(super) sender_id: i64,
    pub(super) kind: MessageKind,
    pub(super) group_id: &'a [u8],
    pub(super) epoch: u64,
    pub(super) message: &'a [u8],
    pub(super) ratchet_tree: Option<&'a [u8]>,
}

/// Stores `out` once and appends a reference to it to each recipient's queue; adds each
/// (recipient, sequence number) to `pushed`. A recipient whose queue this takes past `quota`
/// (unless `exempt`) is added to `full`, and the caller must then refuse the delivery.
pub(super) fn enqueue(
    writer: &mut Writer,
    recipients: &[i64],
    out: &Outgoing<'_>,
    quota: Quota<'_>,
    pushed: &mut Vec<(i64, u64)>,
) -> Result<(), StoreError> {
    if recipients.is_empty() {
        return Ok(()); // nobody would ever acknowledge it, so it could never be deleted
    }
    writer
        .conn
        .prepare_cached(
            "INSERT INTO messages (sender_device, kind, group_id, epoch, message, ratchet_tree,
                               created_at, refs)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            out.sender_id,
            kind_name(out.kind),
            out.group_id,
            out.epoch as i64,
            out.message,
            out.ratchet_tree,
            now() as i64,
            recipients.len() as i64
        ])?;
    let message_id = writer.conn.last_insert_rowid();
    let size = (out.message.len() + out.ratchet_tree.map_or(0, <[u8]>::len)) as i64;
    for &recipient in recipients {
        let seq = writer.next_seq(recipient)?;
        writer
            .conn
            .prepare_cached("INSERT INTO queue (device_id, seq, message_id) VALUES (?1, ?2, ?3)")?
            .execute(params![recipient, seq, message_id])?;
        let (items, bytes): (i64, i64) = writer
            .conn
            .prepare_cached(
                "UPDATE devices SET queued_items = queued_items + 1,
                                    queued_bytes = queued_bytes + ?2
                 WHERE id = ?1 RETURNING queued_items, queued_bytes",
            )?
            .query_row(params![recipient, size], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let over = items as u64 > quota.limit.items || bytes as u64 > quota.limit.bytes;
        if over && !quota.exempt.contains(&recipient) {
            quota.full.push(recipient);
        }
        pushed.push((recipient, seq as u64));
    }
    Ok(())
}

/// The quota one delivery is checked against, the devices it does not apply to, and the
/// recipients found over it.
pub(super) struct Quota<'a> {
    pub(super) limit: QueueQuota,
    pub(super) exempt: &'a [i64],
    pub(super) full: &'a mut Vec<i64>,
}

impl Quota<'_> {
    pub(super) fn reborrow(&mut self) -> Quota<'_> {
        Quota {
            limit: self.limit,
            exempt: self.exempt,
            full: self.full,
        }
    }
}

/// Deletes the queue rows `condition` selects (with its parameters), and every message no
/// queue row points at any more; records each device's highest deleted sequence number (see
/// [`Writer::last_seq`]). Returns the queue rows deleted.
pub(super) fn dequeue(
    conn: &Connection,
    condition: &str,
    params: impl rusqlite::Params,
) -> Result<u64, StoreError> {
    let released: Vec<(i64, i64, i64)> = conn
        .prepare_cached(&format!(
            "DELETE FROM queue WHERE {condition} RETURNING device_id, seq, message_id"
        ))?
        .query_map(params, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut counts = HashMap::<i64, i64>::new();
    for &(_, _, message) in &released {
        *counts.entry(message).or_default() += 1;
    }
    // `length()` of a blob reads its size from the record header, not the blob itself.
    let mut size_of = conn.prepare_cached(
        "SELECT length(message) + COALESCE(length(ratchet_tree), 0) FROM messages WHERE id = ?1",
    )?;
    let mut sizes = HashMap::<i64, i64>::with_capacity(counts.len());
    for &id in counts.keys() {
        let size: Option<i64> = size_of.query_row([id], |r| r.get(0)).optional()?;
        sizes.insert(id, size.unwrap_or(0));
    }
    // Per device: highest sequence number deleted, items and bytes released.
    let mut devices = HashMap::<i64, (i64, i64, i64)>::new();
    for &(device, seq, message) in &released {
        let entry = devices.entry(device).or_default();
        entry.0 = entry.0.max(seq);
        entry.1 += 1;
        entry.2 += sizes.get(&message).copied().unwrap_or(0);
    }
    let mut record = conn.prepare_cached(
        "UPDATE devices SET last_seq = MAX(last_seq, ?2),
                            queued_items = MAX(queued_items - ?3, 0),
                            queued_bytes = MAX(queued_bytes - ?4, 0)
         WHERE id = ?1",
    )?;
    for (device, (seq, items, bytes)) in devices {
        record.execute([device, seq, items, bytes])?;
    }
    let mut release =
        conn.prepare_cached("UPDATE messages SET refs = refs - ?2 WHERE id = ?1 RETURNING refs")?;
    let mut delete = conn.prepare_cached("DELETE FROM messages WHERE id = ?1")?;
    for (id, count) in counts {
        let left: Option<i64> = release.query_row([id, count], |r| r.get(0)).optional()?;
        if left.is_some_and(|left| left <= 0) {
            delete.execute([id])?;
        }
    }
    Ok(released.len() as u64)
}

/// A `queue` row as read, before its sender is named.
pub(super) struct QueueRow {
    pub(super) seq: i64,
    pub(super) sender: i64,
    pub(super) kind: String,
    pub(super) group_id: Vec<u8>,
    pub(super) epoch: i64,
    pub(super) message: Vec<u8>,
    pub(super) ratchet_tree: Option<Vec<u8>>,
}
