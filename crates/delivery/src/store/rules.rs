//! What both stores decide the same way from what they read: the roster rules of a commit,
//! how a queue page fills, chunks written once, the rejoin asks' pacing, and the names
//! stored for message kinds. The stores (`sqlite.rs`, `postgres/`) only read and write.

use std::collections::HashSet;

use conclave_delivery_api::MessageKind;

use super::{Delivery, StoreError};

/// Unix seconds now.
pub(super) fn now() -> u64 {
    conclave_delivery_api::auth::now_secs()
}

/// The name a message kind is stored under.
pub(super) fn kind_name(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Commit => "commit",
        MessageKind::Proposal => "proposal",
        MessageKind::Application => "application",
        MessageKind::Welcome => "welcome",
        MessageKind::RejoinAsk => "rejoin_ask",
        MessageKind::RejoinKey => "rejoin_key",
        MessageKind::JoinRequest => "join_request",
    }
}

/// The message kind stored under `name`.
pub(super) fn kind_of(name: &str) -> Result<MessageKind, StoreError> {
    Ok(match name {
        "commit" => MessageKind::Commit,
        "proposal" => MessageKind::Proposal,
        "application" => MessageKind::Application,
        "welcome" => MessageKind::Welcome,
        "rejoin_ask" => MessageKind::RejoinAsk,
        "rejoin_key" => MessageKind::RejoinKey,
        "join_request" => MessageKind::JoinRequest,
        other => return Err(StoreError::Internal(format!("unknown kind {other}"))),
    })
}

/// Unix seconds as the databases' signed integer (a lifetime's end past 2^63 is "never").
pub(super) fn as_seconds(seconds: u64) -> i64 {
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

/// Whether a chunk about to be written is new: `false` when the same bytes are there already
/// (a retry, a no-op), a conflict when other bytes are (chunks are written once).
pub(super) fn chunk_is_new(
    existing: Option<Vec<u8>>,
    data: &[u8],
    index: u32,
    conflict: fn(String) -> StoreError,
) -> Result<bool, StoreError> {
    match existing {
        None => Ok(true),
        Some(existing) if existing == data => Ok(false),
        Some(_) => Err(conflict(format!(
            "chunk {index} was written with other bytes"
        ))),
    }
}

/// A commit goes to every member (a member left out would fall behind for good), removes
/// only members other than its sender, and adds (by its Welcome) only devices not yet in.
pub(super) fn check_roster(
    roster: &HashSet<i64>,
    sender: i64,
    delivery: &Delivery,
) -> Result<(), StoreError> {
    let told: HashSet<i64> = delivery.recipients.iter().copied().collect();
    if roster.iter().any(|m| *m != sender && !told.contains(m)) {
        return Err(StoreError::Roster(
            "a commit must go to every member of the group".into(),
        ));
    }
    for removed in &delivery.removed {
        if *removed == sender || !roster.contains(removed) {
            return Err(StoreError::Roster(
                "a commit can remove only other members of the group".into(),
            ));
        }
    }
    if let Some((joiners, _, _)) = &delivery.welcome
        && joiners.iter().any(|j| roster.contains(j))
    {
        return Err(StoreError::Roster(
            "a Welcome goes only to devices the commit adds".into(),
        ));
    }
    Ok(())
}

/// How many past commits of a group are kept for [`DeliveryStore::reject_commit`].
pub(super) const COMMITS_KEPT: i64 = 100;

/// How long a device waits between two asks for a group's rejoin key: each ask reaches every
/// member, so a device that asks in a loop must not make the whole group answer in one.
pub(super) const ASK_INTERVAL_SECS: u64 = 60;

/// Asks a group takes in [`ASK_INTERVAL_SECS`], from all its devices together: a commit that
/// changes the rejoin key and that the members refuse could otherwise make every member ask
/// at once, N asks to N members each.
pub(super) const ASKS_PER_GROUP: i64 = 3;

/// How many answers to one ask reach the asker, one per answering device: more than one,
/// so that a member answering first with a bad key cannot keep the others' from it; few,
/// so that a large group does not fill the asker's queue.
pub(super) const ANSWERS_PER_ASK: i64 = 3;

/// How a queue page fills: items while their messages and trees fit in `max` bytes, and
/// always its first, whatever its size (a device is never stuck behind a large item).
pub(super) struct PageFill {
    pub(super) max: usize,
    pub(super) bytes: usize,
    pub(super) items: usize,
}

impl PageFill {
    pub(super) fn new(max: usize) -> Self {
        Self {
            max,
            bytes: 0,
            items: 0,
        }
    }

    /// Whether an item of `size` bytes joins the page; counts it if it does.
    pub(super) fn admit(&mut self, size: i64) -> bool {
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if self.items > 0 && self.bytes.saturating_add(size) > self.max {
            return false;
        }
        self.bytes = self.bytes.saturating_add(size);
        self.items += 1;
        true
    }
}
