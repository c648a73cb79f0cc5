//! Message ids (draft-ietf-mimi-content-08 section 2.3): a hash of the sender, the room and
//! the message's bytes, so that nobody can send a message under an id another sender's
//! message has.
//!
//! Conclave names the sender and the room itself, from what MLS authenticated: the sender
//! URI is `mimi://conclave/u/USER` (the user, not the device, so that any device of a user
//! may edit what another wrote) and the room URI `mimi://conclave/r/GROUP-ID-HEX`. The
//! authority is the fixed name `conclave` rather than the server's host name, because the
//! same server may be reached under several names and every member must derive the same
//! ids; federation would give servers names of their own.

use sha2::{Digest, Sha256};

/// A 32-byte message id: a hash algorithm number, then 31 bytes of the hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub [u8; 32]);

impl std::fmt::Debug for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MessageId({})", hex::encode(self.0))
    }
}

/// The named-information registry's number for SHA-256.
const SHA256: u8 = 1;

impl MessageId {
    /// The id of a message of `sender` in the MLS group `group_id`, from its exact bytes
    /// and the salt they carry.
    pub fn of(sender_user: &str, group_id: &[u8], content: &[u8], salt: &[u8; 16]) -> Self {
        Self::of_uris(&sender_uri(sender_user), &room_uri(group_id), content, salt)
    }

    /// The draft's computation for any sender and room URIs.
    pub fn of_uris(sender_uri: &str, room_uri: &str, content: &[u8], salt: &[u8; 16]) -> Self {
        let mut hash = Sha256::new();
        for uri in [sender_uri, room_uri] {
            // A URI longer than 65,535 bytes cannot be named; Conclave's never are.
            hash.update((uri.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
            hash.update(uri.as_bytes());
        }
        hash.update(content);
        hash.update(salt);
        let digest = hash.finalize();
        let mut id = [0u8; 32];
        id[0] = SHA256;
        id[1..].copy_from_slice(&digest[..31]);
        Self(id)
    }

    /// The id under which a message of Conclave's earlier format (a random 16-byte id) is
    /// known: the reserved algorithm number 0, the 16 bytes, then zeros. No hash ever
    /// produces it, every device derives it alike, and a store can rewrite old ids to it.
    pub fn legacy(uid: [u8; 16]) -> Self {
        let mut id = [0u8; 32];
        id[1..17].copy_from_slice(&uid);
        Self(id)
    }
}

/// `mimi://conclave/u/USER`.
pub fn sender_uri(user: &str) -> String {
    format!("mimi://conclave/u/{user}")
}

/// `mimi://conclave/r/GROUP-ID-HEX`.
pub fn room_uri(group_id: &[u8]) -> String {
    format!("mimi://conclave/r/{}", hex::encode(group_id))
}
