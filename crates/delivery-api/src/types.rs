//! Request and response bodies, as JSON. Binary fields are standard base64.

use serde::{Deserialize, Serialize};

/// Bytes that travel as standard base64 in JSON.
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Bytes(#[serde(with = "b64")] pub Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes({} bytes)", self.0.len())
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Self(v)
    }
}

impl From<&[u8]> for Bytes {
    fn from(v: &[u8]) -> Self {
        Self(v.to_vec())
    }
}

mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

/// A device: user name and device id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeviceRef {
    /// The user.
    pub user: String,
    /// The device.
    pub device: String,
}

/// `POST /v1/register`: the first device of a new user. Signed with the key being
/// registered (proof of possession); the user and device come from the auth headers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// The device's MLS signature public key.
    pub signature_key: Bytes,
    /// The ciphersuite the key belongs to (its signature scheme).
    pub ciphersuite: u16,
}

/// `POST /v1/devices`: another device for the signing device's user. The body carries a
/// signature by the new key over the same canonical request (proof of possession).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddDeviceRequest {
    /// The new device's id.
    pub device: String,
    /// Its signature public key.
    pub signature_key: Bytes,
    /// Its ciphersuite.
    pub ciphersuite: u16,
}

/// A registered device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Its id.
    pub device: String,
    /// Its signature public key (bound to it at registration).
    pub signature_key: Bytes,
    /// Its ciphersuite.
    pub ciphersuite: u16,
    /// When it was registered (unix seconds; 0 from a server that does not say).
    #[serde(default)]
    pub added_at: u64,
    /// When it last acknowledged its queue or published key packages (unix seconds), if
    /// ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<u64>,
    /// When its user revoked it (unix seconds). A revoked device is listed still: its key
    /// stays bound to its name, so that a commit that added it before the revocation can be
    /// checked; it is never handed out to be added, and the server refuses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<u64>,
}

/// `POST /v1/devices/grants`: lets the signing device's user gain a device that registers
/// itself (`POST /v1/register` under the user's name, signed with the granted key) within
/// ten minutes. How a device linked by a code joins its user: the existing device vouches
/// for the new key, the new device proves it holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceGrant {
    /// The new device's id.
    pub device: String,
    /// Its signature public key.
    pub signature_key: Bytes,
    /// Its ciphersuite.
    pub ciphersuite: u16,
}

/// `POST /v1/devices/revoke`: removes a device of the signing device's user for good. The
/// server refuses its requests from then on (`device_revoked`), drops its queue and key
/// packages, and takes it off every group's roster; its name is never registered again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeRequest {
    /// The device to revoke.
    pub device: String,
}

/// `PUT /v1/links/{link}/{index}`: one chunk of a device link's transfer, already encrypted
/// end to end by the client (the server sees ciphertext and its size only). A link belongs
/// to the user whose device wrote its first chunk; chunks are written once (writing an
/// index again with the same bytes is a no-op, with other bytes a conflict).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkChunk {
    /// The ciphertext, at most 1 MiB.
    pub data: Bytes,
}

/// `POST /v1/blobs`: room for `size` bytes of an attachment's ciphertext, counted against
/// the user's quota until the blob expires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobCreate {
    /// Bytes of ciphertext to come.
    pub size: u64,
}

/// The answer to [`BlobCreate`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobCreated {
    /// The blob's id (32 lowercase hex characters: 128 random bits).
    pub id: String,
    /// The largest chunk the server takes, in bytes.
    pub max_chunk: u32,
}

/// `GET /v1/users/{user}/devices`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicesResponse {
    /// The user.
    pub user: String,
    /// Every device of the user.
    pub devices: Vec<DeviceInfo>,
}

/// `POST /v1/directory`: the devices of several users in one request (what a client checks
/// the leaves of a commit or Welcome against).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryRequest {
    /// The users, at most the server's recipient limit.
    pub users: Vec<String>,
}

/// The answer to [`DirectoryRequest`]: an entry per user that exists (unknown users are left
/// out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryResponse {
    /// Each user's devices.
    pub users: Vec<DevicesResponse>,
}

/// `POST /v1/key-packages`: publish key packages for the signing device, all in one
/// ciphersuite. A device publishes for every suite its key signs in, each suite's stock kept
/// apart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishKeyPackages {
    /// The suite of every package here; absent: the suite the device registered with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphersuite: Option<u16>,
    /// One-time key packages (`MLSMessage` bytes).
    pub key_packages: Vec<Bytes>,
    /// The suite's last-resort key package, replacing any earlier one of the suite.
    pub last_resort: Option<Bytes>,
}

/// A device's key-package stock in one ciphersuite (the answer to publishing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPackageStock {
    /// The suite.
    #[serde(default)]
    pub ciphersuite: u16,
    /// One-time key packages left.
    pub available: u32,
    /// Whether a last-resort key package is on file.
    pub has_last_resort: bool,
}

/// `GET /v1/key-packages/stock`: the device's stock in each suite it has published
/// packages for, in code-point order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPackageStocks {
    /// One entry per suite.
    pub suites: Vec<KeyPackageStock>,
}

impl KeyPackageStocks {
    /// The stock in `ciphersuite` (none published: empty).
    pub fn of(&self, ciphersuite: u16) -> KeyPackageStock {
        self.suites
            .iter()
            .find(|s| s.ciphersuite == ciphersuite)
            .copied()
            .unwrap_or(KeyPackageStock {
                ciphersuite,
                available: 0,
                has_last_resort: false,
            })
    }
}

/// `POST /v1/key-packages/claim`: one key package per device of `user`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRequest {
    /// Whose devices.
    pub user: String,
    /// Only this device of the user (a device being added to each of its user's
    /// conversations needs one package per conversation, and its siblings none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The suite of the group they are for: each device's package in it; absent: each
    /// device's package in the suite it registered with. A device with none in the suite is
    /// `unavailable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphersuite: Option<u16>,
}

/// One claimed key package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimedKeyPackage {
    /// The device it adds.
    pub device: String,
    /// The key package (`MLSMessage`).
    pub key_package: Bytes,
    /// Whether it is the device's last-resort package (its one-time ones ran out, or the
    /// user's one-time packages were claimed too often this hour).
    pub last_resort: bool,
}

/// The answer to a claim. Devices with no key package at all are listed in `unavailable`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimResponse {
    /// The user.
    pub user: String,
    /// A package per device that had one.
    pub key_packages: Vec<ClaimedKeyPackage>,
    /// Devices with none.
    pub unavailable: Vec<String>,
}

/// What an envelope carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// A commit: ordered, one per group epoch.
    Commit,
    /// A proposal.
    Proposal,
    /// An application message.
    Application,
    /// A Welcome (only inside queue items; it travels in [`Envelope::welcome`]).
    Welcome,
    /// A member's ask for the group's rejoin key (only inside queue items, from
    /// [`RejoinAskUpload`]): the item's sender is the asking device.
    RejoinAsk,
    /// A member's answer to this device's ask (only inside queue items, from
    /// [`RejoinKeyUpload`]): the rejoin key, sealed to the ask.
    RejoinKey,
    /// The server's notice that the item's sender asked to join the group by its link,
    /// which needs an admin's approval (only inside queue items; the message is empty). The
    /// requests themselves are listed by `GET /v1/groups/{group}/requests`.
    JoinRequest,
}

/// `POST /v1/messages`: one MLS message, fanned out to `recipients` in one transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The MLS group id.
    pub group_id: Bytes,
    /// The epoch the message was made in.
    pub epoch: u64,
    /// Commit, proposal or application (not welcome).
    pub kind: MessageKind,
    /// Who receives it.
    pub recipients: Vec<DeviceRef>,
    /// The `MLSMessage` bytes.
    pub message: Bytes,
    /// With a commit that adds members: their Welcome, delivered only if the commit is
    /// accepted. Its recipients are the devices the commit adds.
    pub welcome: Option<WelcomeEnvelope>,
    /// With a commit: the members it removes. They receive the commit (it tells them so) and
    /// are not members after it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<DeviceRef>,
    /// With an external commit from a device not in the group: the invite link's token (see
    /// [`LinkSetup`]), without which the server refuses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_token: Option<Bytes>,
}

/// `PUT /v1/groups/{group}/info`: the group's GroupInfo of its current epoch, sealed by a
/// member (the server cannot read it) for the two kinds of reader it has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupInfoUpload {
    /// The epoch it is of; refused unless it is the group's current one.
    pub epoch: u64,
    /// The GroupInfo, encrypted under a key of its own.
    pub info: Bytes,
    /// That key, sealed for the group's own devices (a member that lost its state).
    pub rejoin_key: Bytes,
    /// That key, sealed for holders of the group's invite link, while one is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_key: Option<Bytes>,
}

/// A group's sealed GroupInfo, with the key sealed for the reader that asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedGroupInfo {
    /// The epoch it is of.
    pub epoch: u64,
    /// The group's epoch now (the GroupInfo is stale when this is later).
    pub group_epoch: u64,
    /// The encrypted GroupInfo.
    pub info: Bytes,
    /// Its key, sealed for this reader.
    pub key: Bytes,
}

/// `PUT /v1/groups/{group}/link`: opens (or replaces) the group's invite link at the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkSetup {
    /// The token joiners present, derived from the link's secret (the server never sees
    /// the secret, and keeps only the token's hash).
    pub token: Bytes,
    /// Whether a join is a request an admin answers.
    pub approval: bool,
    /// When the link stops working (unix seconds); none: until revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

/// `POST /v1/groups/{group}/join`: a device with the group's invite link asks in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinByLink {
    /// The link's token.
    pub token: Bytes,
}

/// The answer to [`JoinByLink`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinAnswer {
    /// Join by external commit from this GroupInfo (its key sealed under the link's).
    Join(SealedGroupInfo),
    /// The link needs an admin's approval: the request is recorded.
    Requested,
}

/// `GET /v1/groups/{group}/requests`: who asked to join by the link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequests {
    /// The requests, oldest first.
    pub requests: Vec<JoinRequest>,
}

/// One request to join.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequest {
    /// The device that asked.
    pub device: DeviceRef,
    /// When (unix seconds).
    pub at: u64,
}

/// `POST /v1/groups/{group}/rejoin`: a member's device whose state of the group is older
/// than its rejoin key asks the other members for it (signed by its MLS leaf; the server
/// cannot read or forge it). The server hands it to every other device on the group's roster
/// as a [`MessageKind::RejoinAsk`] item; a device asks at most once a minute per group, and a
/// group takes three asks a minute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejoinAskUpload {
    /// The signed ask.
    pub ask: Bytes,
}

/// `POST /v1/groups/{group}/rejoin/key`: a member answers `device`'s ask. The first three
/// answers to an ask, one per answering device, reach the asker (as
/// [`MessageKind::RejoinKey`] items); later ones are dropped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejoinKeyUpload {
    /// The asking device.
    pub device: DeviceRef,
    /// The rejoin key, sealed to the ask.
    pub key: Bytes,
}

/// A Welcome travelling with its commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WelcomeEnvelope {
    /// The new members' devices.
    pub recipients: Vec<DeviceRef>,
    /// The Welcome (`MLSMessage`).
    pub message: Bytes,
    /// The ratchet tree beside it.
    pub ratchet_tree: Bytes,
}

/// `POST /v1/reject`: this member refuses the commit the group's epoch `epoch` ended with
/// (it brought in a leaf whose key is not its device's, say). See [`RejectResponse`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectRequest {
    /// The group.
    pub group_id: Bytes,
    /// The epoch the refused commit was made in.
    pub epoch: u64,
}

/// The answer to [`RejectRequest`]. When more than half of the members the commit was made
/// among (its sender aside) refuse it, the group goes back to `epoch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectResponse {
    /// Members that refused it so far.
    pub votes: u32,
    /// Members that may refuse it.
    pub voters: u32,
    /// The group's epoch now.
    pub epoch: u64,
}

/// The answer to an accepted envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendResponse {
    /// The group's epoch now (after an accepted commit: the message's epoch + 1).
    pub epoch: u64,
}

/// One item of a device's queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueItem {
    /// Strictly increasing per device.
    pub seq: u64,
    /// Who sent it.
    pub sender: DeviceRef,
    /// What it is.
    pub kind: MessageKind,
    /// Its group.
    pub group_id: Bytes,
    /// The epoch it was made in.
    pub epoch: u64,
    /// The `MLSMessage` bytes.
    pub message: Bytes,
    /// For a Welcome: the ratchet tree beside it.
    pub ratchet_tree: Option<Bytes>,
}

/// `GET /v1/queue?after=SEQ&limit=N`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuePage {
    /// Items after `after`, in order.
    pub items: Vec<QueueItem>,
    /// Whether more items follow.
    pub more: bool,
}

/// `POST /v1/queue/ack`: everything up to and including `up_to` may be deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckRequest {
    /// The last sequence number processed.
    pub up_to: u64,
}

/// What `POST /v1/queue/ack` deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckResponse {
    /// Items deleted.
    pub deleted: u64,
}

/// Machine-readable error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Malformed request (bad JSON, bad field).
    BadRequest,
    /// Missing or bad authentication (unknown device, bad signature, stale timestamp).
    Unauthorized,
    /// The nonce was used before.
    Replay,
    /// Authenticated, but not allowed (say, sending to a group this device is not in).
    Forbidden,
    /// The named user or device does not exist.
    NotFound,
    /// The user or device name is taken.
    NameTaken,
    /// Another commit won this epoch; `current_epoch` says where the group is.
    StaleEpoch,
    /// The body is too large.
    PayloadTooLarge,
    /// Too many recipients in one envelope.
    TooManyRecipients,
    /// Too many key packages for one device.
    TooManyKeyPackages,
    /// Too many requests; retry later.
    RateLimited,
    /// A recipient's queue is over its quota (items or bytes): nothing was delivered.
    /// `recipients` names them; retry later, or remove them from the group (a commit that
    /// removes a device is delivered whatever its queue holds).
    QueueFull,
    /// The user has as many devices as the server allows.
    TooManyDevices,
    /// The server, or this device, has as many open connections as it allows; retry later.
    TooManyConnections,
    /// The signing device was revoked by its user: it can do nothing more at this server.
    DeviceRevoked,
    /// The request conflicts with what the server holds (a link chunk written before with
    /// other bytes).
    Conflict,
    /// The user's attachments hold as many bytes as the server allows.
    QuotaExceeded,
    /// The invite link is not (or no longer) valid: revoked, replaced, or never made.
    LinkInvalid,
    /// The invite link expired.
    LinkExpired,
    /// The server failed (never a client's mistake).
    Internal,
    /// A code this version does not know (a newer server's): read the status and message.
    #[serde(other)]
    Unknown,
}

/// The body of every error response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorCode,
    /// For people.
    pub message: String,
    /// With [`ErrorCode::StaleEpoch`]: the group's current epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_epoch: Option<u64>,
    /// With [`ErrorCode::QueueFull`]: the recipients whose queue is full.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<DeviceRef>,
}

/// A WebSocket push: for each new queue item, the server sends this as a JSON text frame.
/// It carries the item's sequence number only: a client that has processed up to `seq`
/// already has nothing to do, and otherwise fetches its queue once (`GET /v1/queue`), which
/// is the one path by which items arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushFrame {
    /// The new item's sequence number in the device's queue.
    pub seq: u64,
}
