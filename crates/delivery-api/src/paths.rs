//! Every endpoint's path, for the server's router and for clients: the one place a path is
//! spelled. Methods and bodies are in `crates/delivery/API.md` and beside each body type.

/// `GET`: liveness, unauthenticated (`ok`).
pub const HEALTH: &str = "/health";
/// `GET`: Prometheus metrics.
pub const METRICS: &str = "/metrics";
/// `POST` [`crate::RegisterRequest`] → [`crate::DeviceInfo`].
pub const REGISTER: &str = "/v1/register";
/// `POST` [`crate::AddDeviceRequest`] → [`crate::DeviceInfo`].
pub const DEVICES: &str = "/v1/devices";
/// `POST` [`crate::DeviceGrant`] → `204`.
pub const DEVICE_GRANTS: &str = "/v1/devices/grants";
/// `POST` [`crate::RevokeRequest`] → [`crate::DeviceInfo`] (the revoked device).
pub const DEVICE_REVOKE: &str = "/v1/devices/revoke";
/// `PUT` [`crate::LinkChunk`] → `204` (signed); `GET` → [`crate::LinkChunk`] (unsigned: the
/// link id is the capability); the router's pattern (see [`link_chunk`]).
pub const LINK_CHUNK: &str = "/v1/links/{link}/{index}";
/// `DELETE` → `204` (signed, by the link's user): the link and its chunks; the router's
/// pattern (see [`link`]).
pub const LINK: &str = "/v1/links/{link}";
/// `POST` [`crate::BlobCreate`] → [`crate::BlobCreated`] (signed): room for an attachment's
/// ciphertext.
pub const BLOBS: &str = "/v1/blobs";
/// `PUT` [`crate::LinkChunk`] → `204` (signed, by the blob's uploader); `GET` →
/// [`crate::LinkChunk`] (signed, any registered device); the router's pattern (see
/// [`blob_chunk`]).
pub const BLOB_CHUNK: &str = "/v1/blobs/{blob}/{index}";
/// `GET` → [`crate::DevicesResponse`]; the router's pattern (see [`user_devices`]).
pub const USER_DEVICES: &str = "/v1/users/{user}/devices";
/// `POST` [`crate::DirectoryRequest`] → [`crate::DirectoryResponse`].
pub const DIRECTORY: &str = "/v1/directory";
/// `POST` [`crate::PublishKeyPackages`] → [`crate::KeyPackageStock`].
pub const KEY_PACKAGES: &str = "/v1/key-packages";
/// `GET` → [`crate::KeyPackageStock`].
pub const KEY_PACKAGE_STOCK: &str = "/v1/key-packages/stock";
/// `POST` [`crate::ClaimRequest`] → [`crate::ClaimResponse`].
pub const CLAIM: &str = "/v1/key-packages/claim";
/// `POST` [`crate::Envelope`] → [`crate::SendResponse`].
pub const MESSAGES: &str = "/v1/messages";
/// `POST` [`crate::RejectRequest`] → [`crate::RejectResponse`].
pub const REJECT: &str = "/v1/reject";
/// `PUT` [`crate::GroupInfoUpload`] → `204` (signed, by a member, for the group's current
/// epoch); `GET` → [`crate::SealedGroupInfo`] (signed, by a member: sealed under the rejoin
/// key). The router's pattern (see [`group_info`]).
pub const GROUP_INFO: &str = "/v1/groups/{group}/info";
/// `PUT` [`crate::LinkSetup`] → `204` (signed, by a member): the group's invite link token;
/// `DELETE` → `204`: revoked. The router's pattern (see [`group_link`]).
pub const GROUP_LINK: &str = "/v1/groups/{group}/link";
/// `POST` [`crate::JoinByLink`] → [`crate::JoinAnswer`] (signed, by anyone holding the
/// link's token). The router's pattern (see [`group_join`]).
pub const GROUP_JOIN: &str = "/v1/groups/{group}/join";
/// `GET` → [`crate::JoinRequests`] (signed, by a member). The router's pattern (see
/// [`group_requests`]).
pub const GROUP_REQUESTS: &str = "/v1/groups/{group}/requests";
/// `DELETE` → `204` (signed, by a member): a user's requests answered (approved or
/// declined). The router's pattern (see [`group_request`]).
pub const GROUP_REQUEST: &str = "/v1/groups/{group}/requests/{user}";
/// `POST` [`crate::RejoinAskUpload`] → `204` (signed, by a device on the group's roster).
/// The router's pattern (see [`group_rejoin`]).
pub const GROUP_REJOIN: &str = "/v1/groups/{group}/rejoin";
/// `POST` [`crate::RejoinKeyUpload`] → `204` (signed, by a device on the group's roster).
/// The router's pattern (see [`group_rejoin_key`]).
pub const GROUP_REJOIN_KEY: &str = "/v1/groups/{group}/rejoin/key";
/// `GET ?after=SEQ&limit=N` → [`crate::QueuePage`] (see [`queue`]).
pub const QUEUE: &str = "/v1/queue";
/// `POST` [`crate::AckRequest`] → [`crate::AckResponse`].
pub const QUEUE_ACK: &str = "/v1/queue/ack";
/// `GET`, upgraded to a WebSocket of [`crate::PushFrame`]s.
pub const PUSH: &str = "/v1/ws";

/// The path and query of a queue page: items after `after`, at most `limit`.
pub fn queue(after: u64, limit: u32) -> String {
    format!("{QUEUE}?after={after}&limit={limit}")
}

/// The path of a user's device list. User names are `[a-z0-9._-]`, which need no escaping
/// in a path segment.
pub fn user_devices(user: &str) -> String {
    USER_DEVICES.replace("{user}", user)
}

/// The path of a link: its id as lowercase hex.
pub fn link(link: &[u8]) -> String {
    LINK.replace("{link}", &hex(link))
}

/// The path of a link's chunk.
pub fn link_chunk(link: &[u8], index: u32) -> String {
    LINK_CHUNK
        .replace("{link}", &hex(link))
        .replace("{index}", &index.to_string())
}

/// The path of a blob's chunk; the blob's id is lowercase hex as the server gave it.
pub fn blob_chunk(blob: &str, index: u32) -> String {
    BLOB_CHUNK
        .replace("{blob}", blob)
        .replace("{index}", &index.to_string())
}

fn group(pattern: &str, group_id: &[u8]) -> String {
    pattern.replace("{group}", &hex(group_id))
}

/// The path of a group's sealed GroupInfo; the group id is lowercase hex.
pub fn group_info(group_id: &[u8]) -> String {
    group(GROUP_INFO, group_id)
}

/// The path of a group's invite link.
pub fn group_link(group_id: &[u8]) -> String {
    group(GROUP_LINK, group_id)
}

/// The path to join a group by its link.
pub fn group_join(group_id: &[u8]) -> String {
    group(GROUP_JOIN, group_id)
}

/// The path of a group's join requests.
pub fn group_requests(group_id: &[u8]) -> String {
    group(GROUP_REQUESTS, group_id)
}

/// The path of a user's join requests to a group.
pub fn group_request(group_id: &[u8], user: &str) -> String {
    group(GROUP_REQUEST, group_id).replace("{user}", user)
}

/// The path to ask a group's members for its rejoin key.
pub fn group_rejoin(group_id: &[u8]) -> String {
    group(GROUP_REJOIN, group_id)
}

/// The path to answer a member's ask for the rejoin key.
pub fn group_rejoin_key(group_id: &[u8]) -> String {
    group(GROUP_REJOIN_KEY, group_id)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_filled_in() {
        assert_eq!(queue(7, 100), "/v1/queue?after=7&limit=100");
        assert_eq!(user_devices("bob"), "/v1/users/bob/devices");
        assert_eq!(link(&[0xab, 0x01]), "/v1/links/ab01");
        assert_eq!(link_chunk(&[0xab, 0x01], 3), "/v1/links/ab01/3");
        assert_eq!(blob_chunk("ab01", 0), "/v1/blobs/ab01/0");
        assert_eq!(group_info(&[0xab, 0x01]), "/v1/groups/ab01/info");
        assert_eq!(group_request(&[0xab], "bob"), "/v1/groups/ab/requests/bob");
    }
}
