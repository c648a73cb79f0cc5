//! The engine: one profile store, one identity, one server, in rooms by concern.
//!
//! - [`registration`]: the device at the server, and its key-package stock.
//! - [`inbound`]: fetching the queue and applying each item with the cursor.
//! - [`directory`]: the device keys every new leaf is checked against.
//! - [`apply`]: turning a group's events into stored messages, trust records and UI events.
//! - [`content`]: what a message's content does to the store (received or written here),
//!   and who may do it.
//! - [`compose`]: what the user does, as content applied here and queued.
//! - [`commit`]: group changes (create, invite, remove, rename, update, leave) with
//!   commit-conflict retry.
//! - [`join`]: joining by external commit: invite links, join requests, rejoining, and the
//!   sealed GroupInfo at the server.
//! - [`devices`]: the user's own devices: approving a linked one, listing, revoking.
//! - [`outbox`]: queued messages, encrypted and sent with retries.
//! - [`delivery`]: delivery receipts, to the authors of what arrived.
//! - [`annotations`]: reactions, read receipts and quoted replies around messages.
//! - [`read`]: what the UI reads, and the local marks it sets (read, verified).
//!
//! ## Locks
//! Two, never one inside the other the wrong way round:
//! - The **operation lock** (the `tokio::sync::Mutex<Engine>` the [`crate::Client`] holds):
//!   one operation at a time (a sync, a send, a commit with its retries), held across
//!   network awaits, so a commit in flight and a sync never interleave.
//! - The **store lock** ([`SharedStore`]): held for one transaction and never across an
//!   await. Its guard is not `Send`, so a future that held it over an await could not be
//!   spawned; the compiler checks the rule. Reads take only this lock, so history, search
//!   and the conversation list answer while an operation waits on the network.

mod annotations;
mod apply;
mod ask;
mod commit;
mod compose;
mod content;
mod delivery;
mod devices;
mod directory;
mod inbound;
mod join;
mod outbox;
mod read;
mod registration;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use conclave_delivery_api::DeviceRef;
use conclave_protocol::{CipherSuite, Group, GroupConfig, Identity, MemberId};
use conclave_storage::{ConversationId, Store};
use tokio::sync::broadcast;

pub use annotations::{Annotations, Quote};
pub(crate) use commit::{Op, PolicyChange};
pub(crate) use compose::{Action, check_writable, mark_read, queue_action};
pub(crate) use content::{RECEIPTS, sweep_expired};
pub use devices::OwnDevice;
pub use join::LinkJoin;
pub use read::{Member, Reader, SecurityInfo};

use crate::ds::Ds;
use crate::{ClientConfig, ClientEvent, Result};

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The profile store, shared by the engine and the client's reads; see the module docs for
/// when it may be held.
#[derive(Clone)]
pub(crate) struct SharedStore(Arc<Mutex<Store>>);

impl SharedStore {
    pub(crate) fn new(store: Store) -> Self {
        Self(Arc::new(Mutex::new(store)))
    }

    /// The store, for one transaction. A panic in an earlier holder dropped its transaction,
    /// which rolled back and evicted the groups it touched, so what is left is sound.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Store> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Work found while processing that must wait until the queue is drained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum FollowUp {
    /// Someone proposed (a leave): commit it if this device is the one to.
    CommitProposals(conclave_storage::ConversationId),
    /// Our leave proposal was made obsolete by a commit: propose again.
    Leave(conclave_storage::ConversationId),
    /// Members were removed: if no admin is left, the longest-standing member (maybe this
    /// device) takes over.
    Succession(conclave_storage::ConversationId),
    /// The group went on without this device (a commit it could not process, its state
    /// behind for good): rejoin by external commit, if it is behind indeed.
    Rejoin(conclave_storage::ConversationId),
}

pub(crate) struct Engine {
    store: SharedStore,
    identity: Arc<Identity>,
    config: ClientConfig,
    ds: Ds,
    events: broadcast::Sender<ClientEvent>,
    read: Reader,
    followups: Vec<FollowUp>,
    last_stock_check: Option<Instant>,
    directory: directory::Directory,
    /// Refused commits the server has not been told of yet (group, epoch made in).
    rejections: Vec<(conclave_protocol::GroupId, u64)>,
    /// Answers to other devices' asks for a rejoin key, not sent yet.
    rejoin_answers: Vec<ask::RejoinAnswer>,
    /// Per conversation: the epoch, and how many messages of this device in it went to
    /// some members only since the last that went to all (see [`Engine::seal`]).
    skipped_by_some: std::collections::HashMap<ConversationId, (u64, u32)>,
    /// Conversations with a request to leave that another member is to commit, and since
    /// when this device has waited for it (see [`ClientConfig::leave_commit_delay`]).
    leaves_waiting: std::collections::HashMap<ConversationId, Instant>,
    /// Conversations whose GroupInfo this device owes the server (see
    /// [`Engine::publish_group_info`]).
    group_info_owed: std::collections::HashSet<ConversationId>,
}

impl Engine {
    pub(crate) fn new(
        store: SharedStore,
        identity: Arc<Identity>,
        config: ClientConfig,
        ds: Ds,
        events: broadcast::Sender<ClientEvent>,
    ) -> Self {
        Self {
            read: Reader::new(store.clone(), identity.clone()),
            store,
            identity: identity.clone(),
            config,
            ds,
            events,
            followups: Vec::new(),
            last_stock_check: None,
            directory: directory::Directory::new(
                identity.member(),
                identity.signature_public_key(),
            ),
            rejections: Vec::new(),
            rejoin_answers: Vec::new(),
            skipped_by_some: std::collections::HashMap::new(),
            leaves_waiting: std::collections::HashMap::new(),
            group_info_owed: std::collections::HashSet::new(),
        }
    }

    /// The profile's reads, for operations that decide on them.
    pub(crate) fn read(&self) -> &Reader {
        &self.read
    }

    /// The suites this device takes part in ([`ClientConfig::suites_of`](crate::ClientConfig)).
    pub(crate) fn suites(&self) -> Vec<CipherSuite> {
        self.config.suites_of(&self.identity)
    }

    /// The configured group settings in `suite`: what this device creates groups and key
    /// packages of that suite with.
    pub(crate) fn group_config(&self, suite: CipherSuite) -> GroupConfig {
        GroupConfig {
            ciphersuite: suite,
            ..self.config.group.clone()
        }
    }

    /// Drops past epochs' keys whose lifetime is over, in every group in memory.
    pub(crate) fn expire_past_epochs(&mut self) -> Result<()> {
        self.store
            .lock()
            .expire_past_epochs(std::time::SystemTime::now())?;
        Ok(())
    }

    /// Conversations whose scheduled key rotation is due.
    pub(crate) fn rotations_due(&mut self) -> Result<Vec<ConversationId>> {
        let Some(interval) = self.config.rotation_interval else {
            return Ok(Vec::new());
        };
        let now = now_ms();
        let mut store = self.store.lock();
        let tx = store.transaction()?;
        Ok(tx
            .conversation_list()?
            .into_iter()
            .filter(|c| {
                c.left_at.is_none()
                    && !c.leave_requested
                    && !c.request
                    && now - c.last_rotation >= interval.as_millis() as i64
            })
            .map(|c| c.id)
            .collect())
    }

    fn emit(&self, events: Vec<ClientEvent>) {
        for event in events {
            // Nobody listening is fine.
            let _ = self.events.send(event);
        }
    }
}

fn device_ref(member: &MemberId) -> DeviceRef {
    DeviceRef {
        user: member.user.to_string(),
        device: member.device.to_string(),
    }
}

/// Every member's device but this one: the recipients of what this device sends.
fn other_members(group: &Group, identity: &Identity) -> Result<Vec<DeviceRef>> {
    Ok(group
        .members()?
        .iter()
        .filter(|m| m.id != *identity.member())
        .map(|m| device_ref(&m.id))
        .collect())
}

fn is_me(identity: &Identity, device: &DeviceRef) -> bool {
    let me = identity.member();
    me.user.as_str() == device.user && me.device.as_str() == device.device
}
