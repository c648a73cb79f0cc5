//! Joining by external commit on PostgreSQL: sealed GroupInfos, invite links, join
//! requests, and members' asks for the rejoin key (the SQLite store's `groups.rs`, with
//! the group's row locked where the SQLite writer's one-at-a-time order was relied on).

use conclave_delivery_api::{JoinAnswer, JoinRequest, MessageKind, SealedGroupInfo};

use super::super::rules::{ANSWERS_PER_ASK, ASK_INTERVAL_SECS, ASKS_PER_GROUP, now};
use super::super::{GroupInfoRecord, LinkRecord, Nonce, QueueQuota, StoreError};
use super::deliver::roster;
use super::devices::{device_ref, insert_nonce};
use super::pool::{Db, PgError};
use super::queue::{Outgoing, enqueue, queue_full};

/// The group's epoch, if `by` is on its roster (otherwise the group is not told to exist);
/// with `lock`, the group's row is held (shared) until the transaction ends, so no commit
/// changes the roster or the epoch meanwhile.
async fn member_epoch(db: &Db<'_>, by: i64, group_id: &[u8], lock: bool) -> Result<u64, PgError> {
    let row = if lock {
        db.query_opt(
            "SELECT epoch FROM groups WHERE group_id = $1 FOR SHARE",
            &[&group_id],
        )
        .await?
    } else {
        db.query_opt("SELECT epoch FROM groups WHERE group_id = $1", &[&group_id])
            .await?
    };
    match row {
        Some(row) if roster(db, group_id).await?.contains(&by) => {
            Ok(row.try_get::<_, i64>(0)? as u64)
        }
        _ => Err(StoreError::NotMember.into()),
    }
}

/// Whether `token_hash` opens the group's link now: `Ok(approval)`, or why not.
pub(super) async fn check_link(
    db: &Db<'_>,
    group_id: &[u8],
    token_hash: &[u8],
    now: u64,
) -> Result<bool, PgError> {
    let link = db
        .query_opt(
            "SELECT token_hash, approval, expires_at FROM group_links WHERE group_id = $1",
            &[&group_id],
        )
        .await?;
    if let Some(link) = link {
        let (hash, approval, expires_at): (Vec<u8>, bool, Option<i64>) =
            (link.try_get(0)?, link.try_get(1)?, link.try_get(2)?);
        if hash == token_hash {
            if expires_at.is_some_and(|at| (at as u64) <= now) {
                return Err(StoreError::LinkExpired.into());
            }
            return Ok(approval);
        }
    }
    Err(StoreError::LinkInvalid(
        "this invite link is not valid (revoked, replaced, or never made)".into(),
    )
    .into())
}

/// The stored GroupInfo, with the key for the group's devices or for the link's holders.
async fn sealed(
    db: &Db<'_>,
    group_id: &[u8],
    group_epoch: u64,
    for_link: bool,
) -> Result<SealedGroupInfo, PgError> {
    let row = if for_link {
        db.query_opt(
            "SELECT epoch, info, link_key FROM group_infos WHERE group_id = $1",
            &[&group_id],
        )
        .await?
    } else {
        db.query_opt(
            "SELECT epoch, info, rejoin_key FROM group_infos WHERE group_id = $1",
            &[&group_id],
        )
        .await?
    };
    let Some(row) = row else {
        return Err(StoreError::NoGroupInfo.into());
    };
    let Some(key) = row.try_get::<_, Option<Vec<u8>>>(2)? else {
        return Err(StoreError::NoGroupInfo.into());
    };
    Ok(SealedGroupInfo {
        epoch: row.try_get::<_, i64>(0)? as u64,
        group_epoch,
        info: row.try_get::<_, Vec<u8>>(1)?.into(),
        key: key.into(),
    })
}

pub(super) async fn put_group_info(
    db: &Db<'_>,
    by: i64,
    group_id: &[u8],
    info: &GroupInfoRecord,
    nonce: &Nonce,
) -> Result<(), PgError> {
    insert_nonce(db, by, nonce).await?;
    let current = member_epoch(db, by, group_id, true).await?;
    if info.epoch != current {
        return Err(StoreError::StaleEpoch { current }.into());
    }
    db.execute(
        "INSERT INTO group_infos (group_id, epoch, info, rejoin_key, link_key)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (group_id) DO UPDATE SET epoch = excluded.epoch, info = excluded.info,
             rejoin_key = excluded.rejoin_key, link_key = excluded.link_key",
        &[
            &group_id,
            &(info.epoch as i64),
            &info.info,
            &info.rejoin_key,
            &info.link_key,
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn group_info(
    db: &Db<'_>,
    by: i64,
    group_id: &[u8],
) -> Result<SealedGroupInfo, PgError> {
    let current = member_epoch(db, by, group_id, false).await?;
    sealed(db, group_id, current, false).await
}

pub(super) async fn set_group_link(
    db: &Db<'_>,
    by: i64,
    group_id: &[u8],
    link: Option<&LinkRecord>,
    nonce: &Nonce,
) -> Result<(), PgError> {
    insert_nonce(db, by, nonce).await?;
    member_epoch(db, by, group_id, true).await?;
    match link {
        Some(link) => {
            db.execute(
                "INSERT INTO group_links (group_id, token_hash, approval, expires_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (group_id) DO UPDATE SET token_hash = excluded.token_hash,
                     approval = excluded.approval, expires_at = excluded.expires_at",
                &[
                    &group_id,
                    &link.token_hash,
                    &link.approval,
                    &link.expires_at.map(|at| at as i64),
                ],
            )
            .await?;
        }
        None => {
            db.execute("DELETE FROM group_links WHERE group_id = $1", &[&group_id])
                .await?;
            db.execute(
                "DELETE FROM join_requests WHERE group_id = $1",
                &[&group_id],
            )
            .await?;
            db.execute(
                "UPDATE group_infos SET link_key = NULL WHERE group_id = $1",
                &[&group_id],
            )
            .await?;
        }
    }
    Ok(())
}

pub(super) async fn join_by_link(
    db: &Db<'_>,
    by: i64,
    group_id: &[u8],
    token_hash: &[u8],
    now: u64,
    nonce: &Nonce,
) -> Result<(JoinAnswer, Vec<(i64, u64)>), PgError> {
    insert_nonce(db, by, nonce).await?;
    let approval = check_link(db, group_id, token_hash, now).await?;
    let current: i64 = db
        .query_one(
            "SELECT epoch FROM groups WHERE group_id = $1 FOR SHARE",
            &[&group_id],
        )
        .await?
        .try_get(0)?;
    if !approval {
        let info = sealed(db, group_id, current as u64, true).await?;
        return Ok((JoinAnswer::Join(info), Vec::new()));
    }
    let new = db
        .execute(
            "INSERT INTO join_requests (group_id, device_id, requested_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&group_id, &by, &(now as i64)],
        )
        .await?;
    // The members hear of a request once. The notice is exempt from their queues' quotas: a
    // full queue must neither lose the request nor tell the stranger asking who is in the
    // group.
    let pushed = if new == 1 {
        let members: Vec<i64> = roster(db, group_id).await?.into_iter().collect();
        let notice = Outgoing {
            sender_id: by,
            kind: MessageKind::JoinRequest,
            group_id,
            epoch: current as u64,
            message: &[],
            ratchet_tree: None,
        };
        let unbounded = QueueQuota {
            items: u64::MAX,
            bytes: u64::MAX,
        };
        enqueue(db, &members, &notice, unbounded, &members).await?.0
    } else {
        Vec::new()
    };
    Ok((JoinAnswer::Requested, pushed))
}

pub(super) async fn join_requests(
    db: &Db<'_>,
    by: i64,
    group_id: &[u8],
) -> Result<Vec<JoinRequest>, PgError> {
    member_epoch(db, by, group_id, false).await?;
    let rows = db
        .query(
            "SELECT device_id, requested_at FROM join_requests WHERE group_id = $1
             ORDER BY requested_at, device_id",
            &[&group_id],
        )
        .await?;
    let mut requests = Vec::with_capacity(rows.len());
    for row in rows {
        requests.push(JoinRequest {
            device: device_ref(db, row.try_get(0)?).await?,
            at: row.try_get::<_, i64>(1)? as u64,
        });
    }
    Ok(requests)
}

pub(super) async fn answer_join_requests(
    db: &Db<'_>,
    by: i64,
    group_id: &[u8],
    user: &str,
    nonce: &Nonce,
) -> Result<(), PgError> {
    insert_nonce(db, by, nonce).await?;
    member_epoch(db, by, group_id, false).await?;
    db.execute(
        "DELETE FROM join_requests WHERE group_id = $1 AND device_id IN
             (SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id WHERE u.name = $2)",
        &[&group_id, &user],
    )
    .await?;
    Ok(())
}

/// Queues `message` for `recipients` within `quota`, or refuses it (nothing queued) when a
/// recipient's queue is full.
async fn enqueue_within(
    db: &Db<'_>,
    recipients: &[i64],
    message: &Outgoing<'_>,
    quota: QueueQuota,
) -> Result<Vec<(i64, u64)>, PgError> {
    let (pushed, full) = enqueue(db, recipients, message, quota, &[]).await?;
    if !full.is_empty() {
        return Err(queue_full(db, full).await?.into());
    }
    Ok(pushed)
}

pub(super) async fn ask_rejoin(
    db: &Db<'_>,
    by: i64,
    group_id: &[u8],
    ask: &[u8],
    quota: QueueQuota,
    nonce: &Nonce,
) -> Result<Vec<(i64, u64)>, PgError> {
    insert_nonce(db, by, nonce).await?;
    // The group's row, held exclusively: asks of one group are counted one at a time.
    db.query_opt(
        "SELECT 1 FROM groups WHERE group_id = $1 FOR UPDATE",
        &[&group_id],
    )
    .await?;
    let epoch = member_epoch(db, by, group_id, false).await?;
    let now = now();
    let last = db
        .query_opt(
            "SELECT asked_at FROM rejoin_asks WHERE group_id = $1 AND device_id = $2",
            &[&group_id, &by],
        )
        .await?;
    if let Some(last) = last
        && now < last.try_get::<_, i64>(0)? as u64 + ASK_INTERVAL_SECS
    {
        return Err(StoreError::AskedRecently.into());
    }
    let recent: i64 = db
        .query_one(
            "SELECT COUNT(*) FROM rejoin_asks WHERE group_id = $1 AND asked_at > $2",
            &[&group_id, &(now.saturating_sub(ASK_INTERVAL_SECS) as i64)],
        )
        .await?
        .try_get(0)?;
    if recent >= ASKS_PER_GROUP {
        return Err(StoreError::AskedRecently.into());
    }
    db.execute(
        "INSERT INTO rejoin_asks (group_id, device_id, asked_at) VALUES ($1, $2, $3)
         ON CONFLICT (group_id, device_id) DO UPDATE SET asked_at = excluded.asked_at",
        &[&group_id, &by, &(now as i64)],
    )
    .await?;
    db.execute(
        "DELETE FROM rejoin_answers WHERE group_id = $1 AND device_id = $2",
        &[&group_id, &by],
    )
    .await?;
    let others: Vec<i64> = roster(db, group_id)
        .await?
        .into_iter()
        .filter(|&d| d != by)
        .collect();
    let message = Outgoing {
        sender_id: by,
        kind: MessageKind::RejoinAsk,
        group_id,
        epoch,
        message: ask,
        ratchet_tree: None,
    };
    enqueue_within(db, &others, &message, quota).await
}

pub(super) async fn answer_rejoin(
    db: &Db<'_>,
    by: i64,
    group_id: &[u8],
    asker: i64,
    key: &[u8],
    quota: QueueQuota,
    nonce: &Nonce,
) -> Result<Vec<(i64, u64)>, PgError> {
    insert_nonce(db, by, nonce).await?;
    let epoch = member_epoch(db, by, group_id, true).await?;
    // Only an ask of a device still on the roster gets answers, and only the first few, one
    // per answering device: later ones are dropped. The ask's row is locked so that answers
    // on several nodes count each other.
    if !roster(db, group_id).await?.contains(&asker) {
        return Ok(Vec::new());
    }
    let asked = db
        .query_opt(
            "SELECT 1 FROM rejoin_asks WHERE group_id = $1 AND device_id = $2 FOR UPDATE",
            &[&group_id, &asker],
        )
        .await?;
    let answers: i64 = db
        .query_one(
            "SELECT COUNT(*) FROM rejoin_answers WHERE group_id = $1 AND device_id = $2",
            &[&group_id, &asker],
        )
        .await?
        .try_get(0)?;
    if asked.is_none() || answers >= ANSWERS_PER_ASK {
        return Ok(Vec::new());
    }
    let first = db
        .execute(
            "INSERT INTO rejoin_answers (group_id, device_id, answerer_id) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&group_id, &asker, &by],
        )
        .await?;
    if first == 0 {
        return Ok(Vec::new());
    }
    let message = Outgoing {
        sender_id: by,
        kind: MessageKind::RejoinKey,
        group_id,
        epoch,
        message: key,
        ratchet_tree: None,
    };
    enqueue_within(db, &[asker], &message, quota).await
}
