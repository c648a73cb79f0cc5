//! The SQLite store's part for joining by external commit: sealed GroupInfos, invite links,
//! join requests, and members' asks for the rejoin key (see
//! [`super::DeliveryStore::put_group_info`] and the methods after it).

use conclave_delivery_api::{JoinAnswer, JoinRequest, MessageKind, SealedGroupInfo};
use rusqlite::{Connection, OptionalExtension, params};

use super::queue::{Outgoing, Quota, enqueue};
use super::rules::{ANSWERS_PER_ASK, ASK_INTERVAL_SECS, ASKS_PER_GROUP, now};
use super::sqlite::{device_ref, insert_nonce, roster};
use super::writer::Writer;
use super::{GroupInfoRecord, LinkRecord, Nonce, QueueQuota, SqliteStore, StoreError};

/// The group's epoch, if `by` is on its roster (otherwise the group is not told to exist).
fn member_epoch(conn: &Connection, by: i64, group_id: &[u8]) -> Result<u64, StoreError> {
    let epoch: Option<i64> = conn
        .prepare_cached("SELECT epoch FROM groups WHERE group_id = ?1")?
        .query_row([group_id], |r| r.get(0))
        .optional()?;
    match epoch {
        Some(epoch) if roster(conn, group_id)?.contains(&by) => Ok(epoch as u64),
        _ => Err(StoreError::NotMember),
    }
}

/// Whether `token_hash` opens the group's link now: `Ok(approval)`, or why not.
pub(super) fn check_link(
    conn: &Connection,
    group_id: &[u8],
    token_hash: &[u8],
    now: u64,
) -> Result<bool, StoreError> {
    let link: Option<(Vec<u8>, bool, Option<i64>)> = conn
        .prepare_cached(
            "SELECT token_hash, approval, expires_at FROM group_links WHERE group_id = ?1",
        )?
        .query_row([group_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    match link {
        Some((hash, approval, expires_at)) if hash == token_hash => {
            if expires_at.is_some_and(|at| (at as u64) <= now) {
                Err(StoreError::LinkExpired)
            } else {
                Ok(approval)
            }
        }
        _ => Err(StoreError::LinkInvalid(
            "this invite link is not valid (revoked, replaced, or never made)".into(),
        )),
    }
}

/// Queues `message` of kind `kind` from `sender` for `recipients` within `quota`, or refuses
/// it (nothing queued) when a recipient's queue is full.
fn enqueue_within(
    w: &mut Writer,
    sender: i64,
    recipients: &[i64],
    (kind, group_id, epoch, message): (MessageKind, &[u8], u64, &[u8]),
    quota: QueueQuota,
) -> Result<Vec<(i64, u64)>, StoreError> {
    let mut pushed = Vec::with_capacity(recipients.len());
    let mut full = Vec::new();
    let out = Outgoing {
        sender_id: sender,
        kind,
        group_id,
        epoch,
        message,
        ratchet_tree: None,
    };
    let quota = Quota {
        limit: quota,
        exempt: &[],
        full: &mut full,
    };
    enqueue(w, recipients, &out, quota, &mut pushed)?;
    if !full.is_empty() {
        let names = full
            .iter()
            .map(|&id| device_ref(&w.conn, id))
            .collect::<Result<_, _>>()?;
        return Err(StoreError::QueueFull(names));
    }
    Ok(pushed)
}

/// Queues an empty notice of `kind` from `sender` for `recipients`, outside their quotas.
fn enqueue_notice(
    w: &mut Writer,
    sender: i64,
    recipients: &[i64],
    (kind, group_id, epoch): (MessageKind, &[u8], u64),
) -> Result<Vec<(i64, u64)>, StoreError> {
    let mut pushed = Vec::with_capacity(recipients.len());
    let out = Outgoing {
        sender_id: sender,
        kind,
        group_id,
        epoch,
        message: &[],
        ratchet_tree: None,
    };
    let quota = Quota {
        limit: QueueQuota {
            items: u64::MAX,
            bytes: u64::MAX,
        },
        exempt: recipients,
        full: &mut Vec::new(),
    };
    enqueue(w, recipients, &out, quota, &mut pushed)?;
    Ok(pushed)
}

/// The stored GroupInfo with the key chosen by `key` (a column).
fn sealed(
    conn: &Connection,
    group_id: &[u8],
    group_epoch: u64,
    key: &str,
) -> Result<SealedGroupInfo, StoreError> {
    let row: Option<(i64, Vec<u8>, Option<Vec<u8>>)> = conn
        .prepare_cached(&format!(
            "SELECT epoch, info, {key} FROM group_infos WHERE group_id = ?1"
        ))?
        .query_row([group_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    match row {
        Some((epoch, info, Some(key))) => Ok(SealedGroupInfo {
            epoch: epoch as u64,
            group_epoch,
            info: info.into(),
            key: key.into(),
        }),
        _ => Err(StoreError::NoGroupInfo),
    }
}

impl SqliteStore {
    pub(super) fn put_group_info_impl(
        &self,
        by: i64,
        group_id: Vec<u8>,
        info: GroupInfoRecord,
        nonce: Nonce,
    ) -> Result<(), StoreError> {
        self.write(move |w| {
            let conn = &w.conn;
            insert_nonce(conn, by, &nonce)?;
            let current = member_epoch(conn, by, &group_id)?;
            if info.epoch != current {
                return Err(StoreError::StaleEpoch { current });
            }
            conn.prepare_cached(
                "INSERT OR REPLACE INTO group_infos (group_id, epoch, info, rejoin_key, link_key)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                group_id,
                info.epoch as i64,
                info.info,
                info.rejoin_key,
                info.link_key
            ])?;
            Ok(())
        })
    }

    pub(super) fn group_info_impl(
        &self,
        by: i64,
        group_id: &[u8],
    ) -> Result<SealedGroupInfo, StoreError> {
        self.read(|conn| {
            let current = member_epoch(conn, by, group_id)?;
            sealed(conn, group_id, current, "rejoin_key")
        })
    }

    pub(super) fn set_group_link_impl(
        &self,
        by: i64,
        group_id: Vec<u8>,
        link: Option<LinkRecord>,
        nonce: Nonce,
    ) -> Result<(), StoreError> {
        self.write(move |w| {
            let conn = &w.conn;
            insert_nonce(conn, by, &nonce)?;
            member_epoch(conn, by, &group_id)?;
            match link {
                Some(link) => {
                    conn.prepare_cached(
                        "INSERT OR REPLACE INTO group_links
                             (group_id, token_hash, approval, expires_at)
                         VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![
                        group_id,
                        link.token_hash,
                        link.approval,
                        link.expires_at.map(|at| at as i64)
                    ])?;
                }
                None => {
                    for statement in [
                        "DELETE FROM group_links WHERE group_id = ?1",
                        "DELETE FROM join_requests WHERE group_id = ?1",
                        "UPDATE group_infos SET link_key = NULL WHERE group_id = ?1",
                    ] {
                        conn.prepare_cached(statement)?.execute([&group_id])?;
                    }
                }
            }
            Ok(())
        })
    }

    pub(super) fn join_by_link_impl(
        &self,
        by: i64,
        group_id: Vec<u8>,
        token_hash: Vec<u8>,
        now: u64,
        nonce: Nonce,
    ) -> Result<(JoinAnswer, Vec<(i64, u64)>), StoreError> {
        self.write(move |w| {
            insert_nonce(&w.conn, by, &nonce)?;
            let approval = check_link(&w.conn, &group_id, &token_hash, now)?;
            let current: i64 = w
                .conn
                .prepare_cached("SELECT epoch FROM groups WHERE group_id = ?1")?
                .query_row([&group_id], |r| r.get(0))?;
            if approval {
                let new = w
                    .conn
                    .prepare_cached(
                        "INSERT OR IGNORE INTO join_requests (group_id, device_id, requested_at)
                         VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![group_id, by, now as i64])?;
                // The members hear of a request once. The notice is exempt from their
                // queues' quotas: a full queue must neither lose the request nor tell the
                // stranger asking who is in the group.
                let pushed = if new == 1 {
                    let mut members: Vec<i64> = roster(&w.conn, &group_id)?.into_iter().collect();
                    members.sort_unstable();
                    let notice = (
                        MessageKind::JoinRequest,
                        group_id.as_slice(),
                        current as u64,
                    );
                    enqueue_notice(w, by, &members, notice)?
                } else {
                    Vec::new()
                };
                return Ok((JoinAnswer::Requested, pushed));
            }
            let info = sealed(&w.conn, &group_id, current as u64, "link_key")?;
            Ok((JoinAnswer::Join(info), Vec::new()))
        })
    }

    pub(super) fn join_requests_impl(
        &self,
        by: i64,
        group_id: &[u8],
    ) -> Result<Vec<JoinRequest>, StoreError> {
        self.read(|conn| {
            member_epoch(conn, by, group_id)?;
            let rows: Vec<(i64, i64)> = conn
                .prepare_cached(
                    "SELECT device_id, requested_at FROM join_requests WHERE group_id = ?1
                     ORDER BY requested_at, device_id",
                )?
                .query_map([group_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            rows.into_iter()
                .map(|(device, at)| {
                    Ok(JoinRequest {
                        device: device_ref(conn, device)?,
                        at: at as u64,
                    })
                })
                .collect()
        })
    }

    pub(super) fn answer_join_requests_impl(
        &self,
        by: i64,
        group_id: Vec<u8>,
        user: String,
        nonce: Nonce,
    ) -> Result<(), StoreError> {
        self.write(move |w| {
            let conn = &w.conn;
            insert_nonce(conn, by, &nonce)?;
            member_epoch(conn, by, &group_id)?;
            conn.prepare_cached(
                "DELETE FROM join_requests WHERE group_id = ?1 AND device_id IN
                     (SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id
                      WHERE u.name = ?2)",
            )?
            .execute(params![group_id, user])?;
            Ok(())
        })
    }

    pub(super) fn ask_rejoin_impl(
        &self,
        by: i64,
        group_id: Vec<u8>,
        ask: Vec<u8>,
        quota: QueueQuota,
        nonce: Nonce,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        self.write(move |w| {
            insert_nonce(&w.conn, by, &nonce)?;
            let epoch = member_epoch(&w.conn, by, &group_id)?;
            let now = now();
            let last: Option<i64> = w
                .conn
                .prepare_cached(
                    "SELECT asked_at FROM rejoin_asks WHERE group_id = ?1 AND device_id = ?2",
                )?
                .query_row(params![group_id, by], |r| r.get(0))
                .optional()?;
            if last.is_some_and(|at| now < at as u64 + ASK_INTERVAL_SECS) {
                return Err(StoreError::AskedRecently);
            }
            let recent: i64 = w
                .conn
                .prepare_cached(
                    "SELECT COUNT(*) FROM rejoin_asks WHERE group_id = ?1 AND asked_at > ?2",
                )?
                .query_row(
                    params![group_id, now.saturating_sub(ASK_INTERVAL_SECS) as i64],
                    |r| r.get(0),
                )?;
            if recent >= ASKS_PER_GROUP {
                return Err(StoreError::AskedRecently);
            }
            w.conn
                .prepare_cached(
                    "INSERT OR REPLACE INTO rejoin_asks (group_id, device_id, asked_at)
                     VALUES (?1, ?2, ?3)",
                )?
                .execute(params![group_id, by, now as i64])?;
            w.conn
                .prepare_cached(
                    "DELETE FROM rejoin_answers WHERE group_id = ?1 AND device_id = ?2",
                )?
                .execute(params![group_id, by])?;
            let mut others: Vec<i64> = roster(&w.conn, &group_id)?
                .into_iter()
                .filter(|&d| d != by)
                .collect();
            others.sort_unstable();
            let message = (MessageKind::RejoinAsk, group_id.as_slice(), epoch, &ask[..]);
            enqueue_within(w, by, &others, message, quota)
        })
    }

    pub(super) fn answer_rejoin_impl(
        &self,
        by: i64,
        group_id: Vec<u8>,
        asker: i64,
        key: Vec<u8>,
        quota: QueueQuota,
        nonce: Nonce,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        self.write(move |w| {
            insert_nonce(&w.conn, by, &nonce)?;
            let epoch = member_epoch(&w.conn, by, &group_id)?;
            // Only an ask of a device still on the roster gets answers, and only the first
            // few, one per answering device: later ones are dropped.
            if !roster(&w.conn, &group_id)?.contains(&asker) {
                return Ok(Vec::new());
            }
            let (asked, answers): (i64, i64) = w.conn.prepare_cached(
                "SELECT (SELECT COUNT(*) FROM rejoin_asks WHERE group_id = ?1 AND device_id = ?2),
                        (SELECT COUNT(*) FROM rejoin_answers WHERE group_id = ?1 AND device_id = ?2)",
            )?
            .query_row(params![group_id, asker], |r| Ok((r.get(0)?, r.get(1)?)))?;
            if asked == 0 || answers >= ANSWERS_PER_ASK {
                return Ok(Vec::new());
            }
            let first = w
                .conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO rejoin_answers (group_id, device_id, answerer_id)
                     VALUES (?1, ?2, ?3)",
                )?
                .execute(params![group_id, asker, by])?;
            if first == 0 {
                return Ok(Vec::new());
            }
            let message = (MessageKind::RejoinKey, group_id.as_slice(), epoch, &key[..]);
            enqueue_within(w, by, &[asker], message, quota)
        })
    }
}
