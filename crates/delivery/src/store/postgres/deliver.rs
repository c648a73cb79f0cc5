//! Deliveries and commit ordering on PostgreSQL. A commit locks its group's row and ends
//! with a compare-and-set of the epoch (`UPDATE ... WHERE epoch = $expected`), so exactly
//! one commit per epoch is accepted whichever node receives it; other messages hold the row
//! shared, so none is queued between a commit and the epoch it starts. The roster rules are
//! the SQLite store's (`rules.rs`).

use std::collections::HashSet;

use conclave_delivery_api::{MessageKind, RejectResponse};

use super::super::rules::{COMMITS_KEPT, check_roster, now};
use super::super::{Delivered, Delivery, DeviceRecord, Nonce, QueueQuota, StoreError};
use super::devices::insert_nonce;
use super::groups::check_link;
use super::pool::{Db, PgError};
use super::queue::{Outgoing, enqueue, queue_full};

/// The devices on a group's roster.
pub(super) async fn roster(db: &Db<'_>, group_id: &[u8]) -> Result<HashSet<i64>, PgError> {
    db.query(
        "SELECT device_id FROM group_members WHERE group_id = $1",
        &[&group_id],
    )
    .await?
    .iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect()
}

/// A group's epoch and roster, its row locked for a commit (exclusively) or for another
/// message (shared), in one statement; `None` when the group does not exist, except that a
/// commit then creates it (`Created`), and waits for a concurrent creator instead.
enum Locked {
    Group(Option<(u64, HashSet<i64>)>),
    Created,
}

fn group_of(row: Option<tokio_postgres::Row>) -> Result<Option<(u64, HashSet<i64>)>, PgError> {
    let Some(row) = row else {
        return Ok(None);
    };
    let epoch = row.try_get::<_, i64>(0)? as u64;
    let members: Vec<i64> = row.try_get(1)?;
    Ok(Some((epoch, members.into_iter().collect())))
}

async fn lock_group(db: &Db<'_>, delivery: &Delivery) -> Result<Locked, PgError> {
    let group = &delivery.group_id;
    if delivery.kind != MessageKind::Commit {
        let row = db
            .query_opt(
                "SELECT epoch, ARRAY(SELECT device_id FROM group_members WHERE group_id = $1)
                 FROM groups WHERE group_id = $1 FOR SHARE",
                &[group],
            )
            .await?;
        return Ok(Locked::Group(group_of(row)?));
    }
    for _ in 0..2 {
        let row = db
            .query_opt(
                "SELECT epoch, ARRAY(SELECT device_id FROM group_members WHERE group_id = $1)
                 FROM groups WHERE group_id = $1 FOR UPDATE",
                &[group],
            )
            .await?;
        if row.is_some() {
            return Ok(Locked::Group(group_of(row)?));
        }
        let created = db
            .execute(
                "INSERT INTO groups (group_id, epoch) VALUES ($1, $2)
                 ON CONFLICT (group_id) DO NOTHING",
                &[group, &(delivery.epoch as i64)],
            )
            .await?;
        if created == 1 {
            return Ok(Locked::Created);
        }
        // Another node created it meanwhile: lock it as it now is.
    }
    Err(StoreError::Internal("the group row neither exists nor can be created".into()).into())
}

pub(super) async fn deliver(
    db: &Db<'_>,
    sender: &DeviceRecord,
    delivery: &Delivery,
    quota: QueueQuota,
    nonce: &Nonce,
) -> Result<Delivered, PgError> {
    let sender_id = sender.id;
    // Sent together (one round trip): a replay's lock is rolled back with it.
    let ((), locked) =
        tokio::try_join!(insert_nonce(db, sender_id, nonce), lock_group(db, delivery))?;
    let (current, roster, created) = match locked {
        Locked::Group(Some((epoch, roster))) => (Some(epoch), roster, false),
        Locked::Group(None) => (None, HashSet::new(), false),
        // A group's first message must be a commit: it starts the group, with its sender
        // as the only member.
        Locked::Created => (None, [sender_id].into(), true),
    };
    // Checked before anything else: a non-member learns nothing of the group, not even its
    // epoch. The one exception is a device joining by external commit with the group's
    // invite link (one that needs no approval).
    let joiner = match &delivery.link_token_hash {
        Some(hash)
            if !roster.contains(&sender_id)
                && current.is_some()
                && delivery.external
                && delivery.kind == MessageKind::Commit =>
        {
            if check_link(db, &delivery.group_id, hash, now()).await? {
                return Err(StoreError::LinkInvalid(
                    "this invite link needs an admin's approval: ask to join instead".into(),
                )
                .into());
            }
            Some(sender_id)
        }
        _ => None,
    };
    if !roster.contains(&sender_id) && joiner.is_none() {
        return Err(StoreError::NotMember.into());
    }
    let mut epoch = current.unwrap_or(delivery.epoch);
    // Application messages and proposals belong to the epoch they were made in, and exactly
    // one commit per epoch is accepted (see the SQLite store).
    if current.is_some() && delivery.epoch != epoch {
        return Err(StoreError::StaleEpoch { current: epoch }.into());
    }
    if let Some(stranger) = delivery.recipients.iter().find(|r| !roster.contains(r)) {
        let name = super::devices::device_ref(db, *stranger).await?;
        return Err(StoreError::Roster(format!(
            "recipient {}/{} is not a member of this group",
            name.user, name.device
        ))
        .into());
    }
    if delivery.kind == MessageKind::Commit {
        check_roster(&roster, sender_id, delivery)?;
        if joiner.is_some() && !delivery.removed.is_empty() {
            return Err(
                StoreError::Roster("a device joining by link removes no one".into()).into(),
            );
        }
        let creator = created.then_some(sender_id);
        change_roster(db, delivery, creator.or(joiner)).await?;
        remember_commit(db, sender_id, delivery, joiner).await?;
        epoch = delivery.epoch + 1;
        let set = db
            .execute(
                "UPDATE groups SET epoch = $3 WHERE group_id = $1 AND epoch = $2",
                &[
                    &delivery.group_id,
                    &(delivery.epoch as i64),
                    &(epoch as i64),
                ],
            )
            .await?;
        if set != 1 {
            return Err(StoreError::StaleEpoch {
                current: delivery.epoch,
            }
            .into());
        }
    }
    let message = Outgoing {
        sender_id,
        kind: delivery.kind,
        group_id: &delivery.group_id,
        epoch: delivery.epoch,
        message: &delivery.message,
        ratchet_tree: None,
    };
    let (mut pushed, mut full) =
        enqueue(db, &delivery.recipients, &message, quota, &delivery.removed).await?;
    if let Some((recipients, welcome, tree)) = &delivery.welcome {
        let welcome = Outgoing {
            kind: MessageKind::Welcome,
            epoch: delivery.epoch + 1,
            message: welcome,
            ratchet_tree: Some(tree),
            ..message
        };
        let (more, over) = enqueue(db, recipients, &welcome, quota, &delivery.removed).await?;
        pushed.extend(more);
        full.extend(over);
    }
    if !full.is_empty() {
        // The transaction is rolled back: the group, the queues and their counters stay as
        // they were.
        return Err(queue_full(db, full).await?.into());
    }
    Ok((epoch, pushed))
}

/// Applies an accepted commit to the roster: its Welcome's recipients in, the removed out.
/// A group's first commit also puts its sender on the roster, as does a join by link.
async fn change_roster(
    db: &Db<'_>,
    delivery: &Delivery,
    newcomer: Option<i64>,
) -> Result<(), PgError> {
    let mut added: Vec<i64> = newcomer.into_iter().collect();
    if let Some((joiners, _, _)) = &delivery.welcome {
        added.extend(joiners);
    }
    db.execute(
        "DELETE FROM group_members WHERE group_id = $1 AND device_id = ANY($2)",
        &[&delivery.group_id, &delivery.removed],
    )
    .await?;
    db.execute(
        "INSERT INTO group_members (group_id, device_id) SELECT $1, unnest($2::bigint[])",
        &[&delivery.group_id, &added],
    )
    .await?;
    Ok(())
}

/// Keeps an accepted commit's roster change, so that its refusal can undo it.
async fn remember_commit(
    db: &Db<'_>,
    sender: i64,
    delivery: &Delivery,
    joiner: Option<i64>,
) -> Result<(), PgError> {
    let mut added: Vec<i64> = delivery
        .welcome
        .as_ref()
        .map(|(joiners, _, _)| joiners.clone())
        .unwrap_or_default();
    added.extend(joiner);
    db.execute(
        "INSERT INTO group_commits (group_id, epoch, sender, added, removed)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (group_id, epoch) DO UPDATE SET sender = excluded.sender,
             added = excluded.added, removed = excluded.removed",
        &[
            &delivery.group_id,
            &(delivery.epoch as i64),
            &sender,
            &added,
            &delivery.removed,
        ],
    )
    .await?;
    db.execute(
        "DELETE FROM group_commits WHERE group_id = $1 AND epoch < $2",
        &[&delivery.group_id, &(delivery.epoch as i64 - COMMITS_KEPT)],
    )
    .await?;
    Ok(())
}

pub(super) async fn reject_commit(
    db: &Db<'_>,
    voter: i64,
    group_id: &[u8],
    epoch: u64,
    nonce: &Nonce,
) -> Result<RejectResponse, PgError> {
    insert_nonce(db, voter, nonce).await?;
    // A refusal may move the group back: it is ordered with the group's commits.
    let current = db
        .query_opt(
            "SELECT epoch FROM groups WHERE group_id = $1 FOR UPDATE",
            &[&group_id],
        )
        .await?
        .ok_or(StoreError::NotMember)?;
    let current = current.try_get::<_, i64>(0)? as u64;
    // The roster before each commit since `epoch`, undone newest first.
    let mut members = roster(db, group_id).await?;
    let mut commit_sender = None;
    let commits = db
        .query(
            "SELECT epoch, sender, added, removed FROM group_commits
             WHERE group_id = $1 AND epoch >= $2 ORDER BY epoch DESC",
            &[&group_id, &(epoch as i64)],
        )
        .await?;
    for row in &commits {
        let (at, sender): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        let (added, removed): (Vec<i64>, Vec<i64>) = (row.try_get(2)?, row.try_get(3)?);
        for id in added {
            members.remove(&id);
        }
        members.extend(removed);
        if at as u64 == epoch {
            commit_sender = Some(sender);
        }
    }
    if !members.contains(&voter) {
        return Err(StoreError::NotMember.into());
    }
    let Some(commit_sender) = commit_sender.filter(|_| epoch < current) else {
        return Err(StoreError::Roster(format!(
            "no accepted commit of epoch {epoch} to refuse (the group is at {current})"
        ))
        .into());
    };
    if voter == commit_sender {
        return Err(StoreError::Roster("a member cannot refuse its own commit".into()).into());
    }
    db.execute(
        "INSERT INTO commit_rejections (group_id, epoch, device_id) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
        &[&group_id, &(epoch as i64), &voter],
    )
    .await?;
    let voted: Vec<i64> = db
        .query(
            "SELECT device_id FROM commit_rejections WHERE group_id = $1 AND epoch = $2",
            &[&group_id, &(epoch as i64)],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let voters = members.len() as u32 - 1;
    let votes = voted.iter().filter(|v| members.contains(v)).count() as u32;
    if votes * 2 <= voters {
        return Ok(RejectResponse {
            votes,
            voters,
            epoch: current,
        });
    }
    // Refused: back to `epoch`, with the roster the refused commit was made among.
    db.execute(
        "UPDATE groups SET epoch = $2 WHERE group_id = $1",
        &[&group_id, &(epoch as i64)],
    )
    .await?;
    let members: Vec<i64> = members.into_iter().collect();
    db.execute(
        "DELETE FROM group_members WHERE group_id = $1",
        &[&group_id],
    )
    .await?;
    db.execute(
        "INSERT INTO group_members (group_id, device_id) SELECT $1, unnest($2::bigint[])",
        &[&group_id, &members],
    )
    .await?;
    // A GroupInfo of a refused epoch is no way in.
    db.execute(
        "DELETE FROM group_infos WHERE group_id = $1 AND epoch > $2",
        &[&group_id, &(epoch as i64)],
    )
    .await?;
    db.execute(
        "DELETE FROM group_commits WHERE group_id = $1 AND epoch >= $2",
        &[&group_id, &(epoch as i64)],
    )
    .await?;
    db.execute(
        "DELETE FROM commit_rejections WHERE group_id = $1 AND epoch >= $2",
        &[&group_id, &(epoch as i64)],
    )
    .await?;
    Ok(RejectResponse {
        votes,
        voters,
        epoch,
    })
}
