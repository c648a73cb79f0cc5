//! What Conclave's messages say: the IETF MIMI content format.
//!
//! Every application message carries one MIMI content container
//! (draft-ietf-mimi-content-08, CBOR), read receipts a draft-mahy-mimi-message-status
//! report inside one. Three layers, one file each:
//!
//! - [`mimi`]: the container exactly as the draft defines it, encoded and decoded;
//! - [`message`]: what Conclave means by each container (text, reply, reaction, edit,
//!   delete, receipt, timer, typing, attachment);
//! - [`message_id`]: the draft's message ids, derived from the authenticated sender.
//!
//! [`write()`] and [`read()`] are the two doors: the bytes an MLS application message carries,
//! with the id every member derives for them. [`read()`] also reads Conclave's format from
//! before MIMI, so that old messages still show.

#![forbid(unsafe_code)]

mod legacy;
pub mod message;
pub mod message_id;
pub mod mimi;

pub use message::{Body, Message};
pub use message_id::MessageId;
pub use mimi::{Expiration, ExternalPart, MimiContent};

/// The largest content Conclave writes or reads (an MLS application message's plaintext).
pub const MAX_CONTENT_BYTES: usize = 1 << 20;

/// Why bytes are not a message.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// Not well-formed CBOR.
    #[error("not CBOR: {0}")]
    Cbor(String),
    /// CBOR, but not what the draft's schema allows.
    #[error("not a MIMI container: {0}")]
    Schema(&'static str),
    /// A field of the wrong type.
    #[error("{0} must be {1}")]
    Field(&'static str, &'static str),
    /// Neither MIMI nor Conclave's earlier format.
    #[error("not a message of Conclave's earlier format either: {0}")]
    Legacy(String),
    /// Larger than [`MAX_CONTENT_BYTES`].
    #[error("the content is larger than {MAX_CONTENT_BYTES} bytes")]
    TooLarge,
}

/// The bytes to encrypt for `message`, sent by `sender_user` in the group `group_id`, and
/// the id every member will derive for them.
pub fn write(message: &Message, sender_user: &str, group_id: &[u8]) -> (MessageId, Vec<u8>) {
    let container = message.to_mimi();
    let bytes = container.encode();
    (
        MessageId::of(sender_user, group_id, &bytes, &container.salt),
        bytes,
    )
}

/// Reads decrypted bytes from `sender_user` (as MLS authenticated them) in `group_id`: the
/// message's id and meaning. A MIMI container is recognised by its first byte (an array of
/// 7); anything else is tried as the earlier format.
pub fn read(
    bytes: &[u8],
    sender_user: &str,
    group_id: &[u8],
) -> Result<(MessageId, Message), ContentError> {
    if bytes.len() > MAX_CONTENT_BYTES {
        return Err(ContentError::TooLarge);
    }
    if bytes.first() != Some(&0x87) {
        return legacy::decode(bytes);
    }
    let container = MimiContent::decode(bytes)?;
    let message = Message::from_mimi(&container)?;
    Ok((
        MessageId::of(sender_user, group_id, bytes, &container.salt),
        message,
    ))
}
