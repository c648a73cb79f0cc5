//! Where the delivery service keeps its state: the [`DeliveryStore`] trait and the records
//! it speaks in (here); its SQLite implementation ([`SqliteStore`], the embedded default),
//! whose writes go through one group-commit writer thread (`writer.rs`) and whose queues
//! are in `queue.rs`; and its PostgreSQL implementation ([`PostgresStore`], `postgres/`),
//! for several nodes on one database. What both decide alike is in `rules.rs`.

mod groups;
mod postgres;
mod queue;
mod rules;
mod sqlite;
mod writer;

pub use postgres::{PostgresStore, default_connections};
pub use sqlite::{Durability, SqliteStore};
pub use writer::MAX_BATCH;

use conclave_delivery_api::{
    ClaimResponse, DeviceInfo, DeviceRef, KeyPackageStock, KeyPackageStocks, MessageKind, QueuePage,
};

/// A registered device, as the server's directory keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Internal id.
    pub id: i64,
    /// User name.
    pub user: String,
    /// Device id.
    pub device: String,
    /// Bound signature key.
    pub signature_key: Vec<u8>,
    /// Its ciphersuite.
    pub ciphersuite: u16,
    /// Revoked by its user: it may do nothing, and nothing is delivered to it.
    pub revoked: bool,
}

/// A key package to store: its bytes, and the end of its lifetime (unix seconds), after
/// which it is neither served nor counted.
#[derive(Clone, Debug)]
pub struct KeyPackageEntry {
    /// The `MLSMessage` bytes.
    pub data: Vec<u8>,
    /// End of its lifetime.
    pub not_after: u64,
}

/// A write request's nonce, stored with its effect so a replay fails even after a restart.
#[derive(Clone, Debug)]
pub struct Nonce {
    /// Its text.
    pub nonce: String,
    /// When it may be forgotten (unix seconds).
    pub expires_at: u64,
}

/// What a store operation can refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The name is taken.
    #[error("name taken: {0}")]
    NameTaken(String),
    /// No such user.
    #[error("no such user: {0}")]
    NoSuchUser(String),
    /// Another commit won this epoch.
    #[error("stale epoch: the group is at epoch {current}")]
    StaleEpoch {
        /// Where the group is.
        current: u64,
    },
    /// The sender is not a member of the group (or the group does not exist: the two are
    /// not told apart).
    #[error("not a member of this group")]
    NotMember,
    /// An envelope of a member disagrees with the group's roster.
    #[error("{0}")]
    Roster(String),
    /// Too many key packages for the device.
    #[error("at most {max} key packages per device")]
    TooManyKeyPackages {
        /// The limit.
        max: u32,
    },
    /// The nonce was seen before.
    #[error("replayed request")]
    Replay,
    /// The user already has the most devices allowed.
    #[error("at most {max} devices per user")]
    TooManyDevices {
        /// The limit.
        max: u32,
    },
    /// These recipients' queues are over their quota; nothing was delivered.
    #[error("the queue of {} is full", .0.iter().map(|d| format!("{}/{}", d.user, d.device)).collect::<Vec<_>>().join(", "))]
    QueueFull(Vec<DeviceRef>),
    /// No such device of this user.
    #[error("no such device: {0}")]
    NoSuchDevice(String),
    /// The link is another user's, or its chunk was written with other bytes.
    #[error("{0}")]
    LinkConflict(String),
    /// The link holds as many bytes as the server allows.
    #[error("a link holds at most {max} bytes")]
    LinkFull {
        /// The limit.
        max: u64,
    },
    /// No blob has this id (never created, or expired).
    #[error("no such blob")]
    NoSuchBlob,
    /// The user's blobs would pass their quota.
    #[error("attachments hold at most {max} bytes per user")]
    BlobQuota {
        /// The quota.
        max: u64,
    },
    /// No invite link of the group has this token (never made, replaced or revoked), or it
    /// needs an admin's approval and so no external commit.
    #[error("{0}")]
    LinkInvalid(String),
    /// The group's invite link expired.
    #[error("this invite link expired")]
    LinkExpired,
    /// This device, or the group's devices together, asked for the group's rejoin key as
    /// often as they may in a minute.
    #[error("the group's rejoin key was asked for too often in the last minute")]
    AskedRecently,
    /// No member has left a GroupInfo of the group yet.
    #[error("no member has left this group's info yet")]
    NoGroupInfo,
    /// The blob is another user's, full, or its chunk was written with other bytes.
    #[error("{0}")]
    BlobConflict(String),
    /// The device was revoked (found so by the database: another node revoked it).
    #[error("this device was revoked by its user")]
    DeviceRevoked,
    /// The database failed.
    #[error("storage failure: {0}")]
    Internal(String),
}

/// What another node sharing the store did that this node keeps in memory or pushes: see
/// [`DeliveryStore::events`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreEvent {
    /// A device was registered, added or revoked: its cached record is stale.
    Device {
        /// Its user.
        user: String,
        /// Its device id.
        device: String,
    },
    /// Items were queued, as (recipient device id, sequence number): a push to send.
    Queued(Vec<(i64, u64)>),
    /// Events may have been missed (the store's listening connection was lost and is back):
    /// reload what is cached.
    Resync,
}

/// An envelope with its recipients resolved to device ids.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The group.
    pub group_id: Vec<u8>,
    /// The epoch it was made in.
    pub epoch: u64,
    /// Commit, proposal or application.
    pub kind: MessageKind,
    /// Recipient device ids.
    pub recipients: Vec<i64>,
    /// The MLS message.
    pub message: Vec<u8>,
    /// A Welcome, delivered only if the commit is accepted: (recipients, welcome, tree).
    pub welcome: Option<(Vec<i64>, Vec<u8>, Vec<u8>)>,
    /// With a commit: the members it removes.
    pub removed: Vec<i64>,
    /// An external commit (a device joining, or a member's device rejoining).
    pub external: bool,
    /// With an external commit from a device not in the group: the hash of the invite
    /// link's token it presented.
    pub link_token_hash: Option<Vec<u8>>,
}

/// A group's sealed GroupInfo as a member left it (see
/// [`conclave_delivery_api::GroupInfoUpload`]).
#[derive(Clone, Debug)]
pub struct GroupInfoRecord {
    /// The epoch it is of.
    pub epoch: u64,
    /// The encrypted GroupInfo.
    pub info: Vec<u8>,
    /// Its key for the group's devices.
    pub rejoin_key: Vec<u8>,
    /// Its key for the link's holders.
    pub link_key: Option<Vec<u8>>,
}

/// A group's invite link at the server.
#[derive(Clone, Debug)]
pub struct LinkRecord {
    /// SHA-256 of the token.
    pub token_hash: Vec<u8>,
    /// Whether joining is a request an admin answers.
    pub approval: bool,
    /// When it stops working (unix seconds).
    pub expires_at: Option<u64>,
}

/// How much one device's queue may hold: a delivery that would take a recipient's queue
/// past either bound is refused ([`StoreError::QueueFull`]), except to the devices the
/// delivery's commit removes, so that a group can always remove a device that never reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueQuota {
    /// Items.
    pub items: u64,
    /// Bytes, each message counted once per queue that holds it.
    pub bytes: u64,
}

/// The result of an accepted delivery: the group's epoch, and the queue items written (for
/// push) as (recipient device id, sequence number).
pub type Delivered = (u64, Vec<(i64, u64)>);

/// The delivery service's storage.
pub trait DeliveryStore: Send + Sync + 'static {
    /// Every device, to fill the server's directory at start.
    fn all_devices(&self) -> Result<Vec<DeviceRecord>, StoreError>;
    /// The devices of these (user, device) names that exist: how a node whose store other
    /// nodes share learns of a device registered on another.
    fn devices_named(&self, names: &[(String, String)]) -> Result<Vec<DeviceRecord>, StoreError>;
    /// The events of the other nodes that share this store, to be taken once by the server
    /// that serves it; `None` for a store that only this process uses (then the server's
    /// directory is the whole truth).
    fn events(&self) -> Option<tokio::sync::mpsc::Receiver<StoreEvent>> {
        None
    }
    /// Registers a new user with its first device, or, where one of the user's devices
    /// granted exactly this device and key ([`DeliveryStore::grant_device`]) and the grant
    /// has not expired, another device of the user (the grant is used up; the user may
    /// have at most `max_devices`).
    fn register(
        &self,
        user: &str,
        device: &str,
        key: &[u8],
        ciphersuite: u16,
        max_devices: u32,
        nonce: Nonce,
    ) -> Result<DeviceRecord, StoreError>;
    /// Lets `by`'s user gain `device` with `key` by registering it until `expires_at` (unix
    /// seconds); replaces an earlier grant for the same name.
    fn grant_device(
        &self,
        by: &DeviceRecord,
        grant: conclave_delivery_api::DeviceGrant,
        expires_at: u64,
        nonce: Nonce,
    ) -> Result<(), StoreError>;
    /// Revokes `device` of `by`'s user: refused from now on, off every roster, its queue
    /// and key packages dropped. Returns its record.
    fn revoke_device(
        &self,
        by: &DeviceRecord,
        device: &str,
        nonce: Nonce,
    ) -> Result<DeviceRecord, StoreError>;
    /// Writes chunk `index` of `link` for `by`'s user, unless the link is another user's, or
    /// its chunks would pass `max_bytes`. Writing the same bytes again is a no-op.
    fn put_link_chunk(
        &self,
        by: &DeviceRecord,
        link: Vec<u8>,
        index: u32,
        data: Vec<u8>,
        max_bytes: u64,
        nonce: Nonce,
    ) -> Result<(), StoreError>;
    /// Chunk `index` of `link`, if written, and the user the link belongs to.
    fn link_chunk(&self, link: &[u8], index: u32) -> Result<Option<(Vec<u8>, String)>, StoreError>;
    /// Deletes `link` and its chunks, if it is `by`'s user's.
    fn delete_link(&self, by: &DeviceRecord, link: Vec<u8>, nonce: Nonce)
    -> Result<(), StoreError>;
    /// Adds a device to the user of `by`, unless the user has `max_devices` already.
    fn add_device(
        &self,
        by: &DeviceRecord,
        device: &str,
        key: &[u8],
        ciphersuite: u16,
        max_devices: u32,
        nonce: Nonce,
    ) -> Result<DeviceRecord, StoreError>;
    /// A user's devices, revoked ones included (marked).
    fn user_devices(&self, user: &str) -> Result<Vec<DeviceInfo>, StoreError>;
    /// Publishes key packages of one `ciphersuite` for a device (at most `max` one-time
    /// packages in the suite); the last-resort package replaces the suite's earlier one.
    fn publish_key_packages(
        &self,
        device: i64,
        ciphersuite: u16,
        key_packages: Vec<KeyPackageEntry>,
        last_resort: Option<KeyPackageEntry>,
        max: u32,
        nonce: Nonce,
    ) -> Result<KeyPackageStock, StoreError>;
    /// A device's stock in each suite.
    fn stock(&self, device: i64) -> Result<KeyPackageStocks, StoreError>;
    /// Claims one key package per device of `user` (or of its `device` only), in
    /// `ciphersuite` (absent: each device's registered suite), atomically: a one-time
    /// package (deleted as it is handed out) where `one_time` allows and the device has one,
    /// else its last-resort package.
    fn claim(
        &self,
        by: i64,
        user: &str,
        device: Option<&str>,
        ciphersuite: Option<u16>,
        one_time: bool,
        nonce: Nonce,
    ) -> Result<ClaimResponse, StoreError>;
    /// Fans a message out to its recipients in one transaction, if the sender and every
    /// recipient are on the group's roster; commits are ordered, and change the roster (the
    /// group's first commit starts it). Refused as a whole if it would take a recipient's
    /// queue past `quota`.
    fn deliver(
        &self,
        sender: &DeviceRecord,
        delivery: Delivery,
        quota: QueueQuota,
        nonce: Nonce,
    ) -> Result<Delivered, StoreError>;
    /// Records `voter`'s refusal of the commit `group_id`'s epoch `epoch` ended with, and
    /// goes back to that epoch once more than half of the members it was made among (its
    /// sender aside) refused it.
    fn reject_commit(
        &self,
        voter: i64,
        group_id: Vec<u8>,
        epoch: u64,
        nonce: Nonce,
    ) -> Result<conclave_delivery_api::RejectResponse, StoreError>;
    /// A page of a device's queue after `after`: at most `limit` items, and no more items
    /// once their messages and trees add up to `max_bytes` (but always the first, whatever
    /// its size, so that a device is never stuck behind a large item).
    fn fetch(
        &self,
        device: i64,
        after: u64,
        limit: u32,
        max_bytes: usize,
    ) -> Result<QueuePage, StoreError>;
    /// The bytes of messages and trees the same [`DeliveryStore::fetch`] would return now,
    /// without reading them: what the server sets aside in memory before it reads a page.
    fn page_bytes(
        &self,
        device: i64,
        after: u64,
        limit: u32,
        max_bytes: usize,
    ) -> Result<usize, StoreError>;
    /// Deletes a device's items up to `up_to`.
    fn ack(&self, device: i64, up_to: u64, nonce: Nonce) -> Result<u64, StoreError>;
    /// Makes room for a blob of `size` bytes for `by`'s user under the id `id`, unless the
    /// user's blobs would pass `quota` bytes.
    fn create_blob(
        &self,
        by: &DeviceRecord,
        id: Vec<u8>,
        size: u64,
        quota: u64,
        nonce: Nonce,
    ) -> Result<(), StoreError>;
    /// Writes chunk `index` of a blob of `by`'s user, unless its chunks would pass the size
    /// declared. Writing the same bytes again is a no-op.
    fn put_blob_chunk(
        &self,
        by: &DeviceRecord,
        id: Vec<u8>,
        index: u32,
        data: Vec<u8>,
        nonce: Nonce,
    ) -> Result<(), StoreError>;
    /// Chunk `index` of a blob, if written.
    fn blob_chunk(&self, id: &[u8], index: u32) -> Result<Option<Vec<u8>>, StoreError>;
    /// Deletes never-acknowledged items, blobs, join requests and rejoin asks (with their
    /// answers) created before `before` (unix seconds), link chunks written before
    /// `links_before`, and expired nonces, grants, key packages and group links. Returns the
    /// items dropped.
    fn prune(&self, before: u64, links_before: u64, now: u64) -> Result<u64, StoreError>;
    /// Items waiting in all queues.
    fn queue_depth(&self) -> Result<u64, StoreError>;
    /// Keeps a group's sealed GroupInfo, left by `by`, a member, for the group's current
    /// epoch (replacing the one before).
    fn put_group_info(
        &self,
        by: i64,
        group_id: Vec<u8>,
        info: GroupInfoRecord,
        nonce: Nonce,
    ) -> Result<(), StoreError>;
    /// A group's sealed GroupInfo for `by`, a member (the key sealed under the rejoin key).
    fn group_info(
        &self,
        by: i64,
        group_id: &[u8],
    ) -> Result<conclave_delivery_api::SealedGroupInfo, StoreError>;
    /// Opens, replaces (`Some`) or revokes (`None`) a group's invite link, for `by`, a
    /// member. Revoking also drops the link's key from the stored GroupInfo and the
    /// pending join requests.
    fn set_group_link(
        &self,
        by: i64,
        group_id: Vec<u8>,
        link: Option<LinkRecord>,
        nonce: Nonce,
    ) -> Result<(), StoreError>;
    /// `by` asks to join a group with its link's token: the GroupInfo sealed for link
    /// holders, or, for a link that needs approval, a recorded request, with a notice of it
    /// queued for the devices on the group's roster the first time (the items to push).
    fn join_by_link(
        &self,
        by: i64,
        group_id: Vec<u8>,
        token_hash: Vec<u8>,
        now: u64,
        nonce: Nonce,
    ) -> Result<(conclave_delivery_api::JoinAnswer, Vec<(i64, u64)>), StoreError>;
    /// A group's join requests, for `by`, a member.
    fn join_requests(
        &self,
        by: i64,
        group_id: &[u8],
    ) -> Result<Vec<conclave_delivery_api::JoinRequest>, StoreError>;
    /// Drops `user`'s requests to join a group (answered), for `by`, a member.
    fn answer_join_requests(
        &self,
        by: i64,
        group_id: Vec<u8>,
        user: String,
        nonce: Nonce,
    ) -> Result<(), StoreError>;
    /// `by`, on the group's roster, asks the other devices on it for the rejoin key: `ask`
    /// goes into their queues (at most once a minute per device, three times a minute per
    /// group). Returns the items to push.
    fn ask_rejoin(
        &self,
        by: i64,
        group_id: Vec<u8>,
        ask: Vec<u8>,
        quota: QueueQuota,
        nonce: Nonce,
    ) -> Result<Vec<(i64, u64)>, StoreError>;
    /// `by`, on the group's roster, answers the ask of `asker` (still on it): the first few
    /// answers, one per answering device, go into the asker's queue; later ones are
    /// dropped. Returns the items to push.
    fn answer_rejoin(
        &self,
        by: i64,
        group_id: Vec<u8>,
        asker: i64,
        key: Vec<u8>,
        quota: QueueQuota,
        nonce: Nonce,
    ) -> Result<Vec<(i64, u64)>, StoreError>;
}
