//! The history a linked device is given: its conversations (with how far each member has
//! read and received them), the trust store (devices seen, with verified marks), read marks,
//! and every sent or received message (text, events, attachments) with its earlier versions
//! and its reactions, which the new device's search index takes in as they are stored.
//!
//! The approving device sends a [`Header`] and then [`Batch`]es of messages in the order it
//! stored them. Message `p` of `total` (counted from 0) is stored on the new device under id
//! `p - total`: below every message the new device received itself (ids from 1 up), so
//! history reads in order whenever the parts arrive, and a part imported twice (after a
//! crash) stores nothing twice.

use std::collections::HashMap;

use conclave_protocol::{DeviceId, GroupId, MemberId, UserName};
use conclave_storage::{
    ConversationId, KnownDevice, MessageId, MessageKind, MessageState, NewMessage, Reaction,
    Receipt, StoredMessage, Tx,
};
use serde::{Deserialize, Serialize};

use crate::{ClientError, Result};

/// Bytes of text per batch, about (a chunk holds at most 1 MiB of ciphertext).
const BATCH_BYTES: usize = 512 << 10;
/// A message longer than this is brought over as a note that it was left out.
const MAX_BODY: usize = 256 << 10;
/// What a message's earlier versions and reactions count for in a batch's bytes, each.
const ANNOTATION_BYTES: usize = 64;

/// One part of the history.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Part {
    /// The first part.
    Header(Header),
    /// Messages, oldest first.
    Messages(Batch),
}

/// What comes before the messages.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Header {
    /// The approving device.
    pub(crate) from: String,
    /// Messages in all the batches together.
    pub(crate) total: u64,
    pub(crate) conversations: Vec<ArchivedConversation>,
    pub(crate) devices: Vec<ArchivedDevice>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ArchivedConversation {
    #[serde(with = "serde_bytes_compat")]
    group_id: Vec<u8>,
    name: String,
    created_at: i64,
    left_at: Option<i64>,
    archived: bool,
    /// The position of its last read message.
    read_up_to: Option<u64>,
    /// How far each member has read and received it (added with receipts; absent before).
    #[serde(default)]
    receipts: Vec<ArchivedReceipt>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ArchivedReceipt {
    user: String,
    /// Read, or only received.
    read: bool,
    /// The position of the last message it covers.
    up_to: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ArchivedDevice {
    user: String,
    device: String,
    #[serde(with = "serde_bytes_compat")]
    signature_key: Vec<u8>,
    first_seen: i64,
    verified: bool,
}

/// Messages from position `first` on.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Batch {
    pub(crate) first: u64,
    pub(crate) messages: Vec<ArchivedMessage>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ArchivedMessage {
    /// Index into the header's conversations.
    conversation: u32,
    #[serde(with = "serde_bytes_compat")]
    uid: Vec<u8>,
    user: String,
    device: String,
    sent_at: i64,
    received_at: Option<i64>,
    body: String,
    kind: String,
    /// The MIMI id of the message it answers (added with rich content; absent before).
    #[serde(default, with = "serde_opt_bytes")]
    reply_to: Option<Vec<u8>>,
    #[serde(default)]
    expires_at: Option<i64>,
    #[serde(default)]
    deleted_at: Option<i64>,
    /// For an attachment: its external part (where it is, its key).
    #[serde(default, with = "serde_opt_bytes")]
    attachment: Option<Vec<u8>>,
    /// Its earlier texts, oldest first (`body` is the latest).
    #[serde(default)]
    versions: Vec<ArchivedVersion>,
    #[serde(default)]
    reactions: Vec<ArchivedReaction>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ArchivedVersion {
    body: String,
    /// When the next text replaced it.
    replaced_at: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ArchivedReaction {
    /// The id of the message that carried it (its author withdraws it by that id).
    #[serde(with = "serde_bytes_compat")]
    uid: Vec<u8>,
    user: String,
    emoji: String,
    at: i64,
}

/// Optional byte strings, as MessagePack binaries.
mod serde_opt_bytes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Bytes(#[serde(with = "super::serde_bytes_compat")] Vec<u8>);

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        bytes.clone().map(Bytes).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Ok(Option::<Bytes>::deserialize(d)?.map(|b| b.0))
    }
}

/// Byte strings as MessagePack binaries rather than arrays of numbers.
mod serde_bytes_compat {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        d.deserialize_byte_buf(Visitor)
    }
}

fn kind_name(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Text => "text",
        MessageKind::Event => "event",
        MessageKind::Attachment => "attachment",
        _ => "unsupported",
    }
}

fn kind_of(name: &str) -> MessageKind {
    match name {
        "text" => MessageKind::Text,
        "event" => MessageKind::Event,
        "attachment" => MessageKind::Attachment,
        _ => MessageKind::Unsupported,
    }
}

// ------------------------------------------------------------------ export

/// Reads the history out of the approving device's store, part by part.
pub(crate) struct Exporter {
    batch_messages: usize,
    total: u64,
    position: u64,
    after: MessageId,
    conversations: HashMap<ConversationId, u32>,
}

impl Exporter {
    /// The header, and an exporter for the batches after it.
    pub(crate) fn start(
        tx: &Tx<'_>,
        from: &MemberId,
        batch_messages: usize,
    ) -> Result<(Header, Exporter)> {
        let total = tx.settled_message_count()?;
        let mut conversations = HashMap::new();
        let mut archived = Vec::new();
        for c in tx.conversation_list()? {
            conversations.insert(c.id, archived.len() as u32);
            let mut receipts = Vec::new();
            for (kind, read) in [(Receipt::Read, true), (Receipt::Delivery, false)] {
                for (user, up_to) in tx.receipts(kind, c.id)? {
                    if let Some(up_to) = tx.settled_position(up_to)? {
                        receipts.push(ArchivedReceipt { user, read, up_to });
                    }
                }
            }
            archived.push(ArchivedConversation {
                group_id: c.group_id.as_bytes().to_vec(),
                name: c.name,
                created_at: c.created_at,
                left_at: c.left_at,
                archived: c.archived,
                read_up_to: tx.settled_read_position(c.id)?,
                receipts,
            });
        }
        let devices = tx
            .devices(None)?
            .into_iter()
            .map(|d| ArchivedDevice {
                user: d.member.user.to_string(),
                device: d.member.device.to_string(),
                signature_key: d.signature_key,
                first_seen: d.first_seen,
                verified: d.verified,
            })
            .collect();
        let header = Header {
            from: from.device.to_string(),
            total,
            conversations: archived,
            devices,
        };
        let exporter = Exporter {
            batch_messages: batch_messages.max(1),
            total,
            position: 0,
            after: MessageId(i64::MIN),
            conversations,
        };
        Ok((header, exporter))
    }

    /// The next batch; `None` once every message was given.
    pub(crate) fn next_batch(&mut self, tx: &Tx<'_>) -> Result<Option<Batch>> {
        if self.position >= self.total {
            return Ok(None);
        }
        let first = self.position;
        let mut messages = Vec::new();
        let mut bytes = 0;
        'fill: while messages.len() < self.batch_messages && bytes < BATCH_BYTES {
            let page = tx.settled_messages_after(self.after, 256)?;
            if page.is_empty() {
                break;
            }
            for stored in page {
                if messages.len() >= self.batch_messages || bytes >= BATCH_BYTES {
                    break 'fill;
                }
                self.after = stored.id;
                let message = self.archived(tx, stored)?;
                bytes += message.body.len()
                    + message.versions.iter().map(|v| v.body.len()).sum::<usize>()
                    + (1 + message.versions.len() + message.reactions.len()) * ANNOTATION_BYTES;
                messages.push(message);
                self.position += 1;
                if self.position >= self.total {
                    break 'fill;
                }
            }
        }
        if messages.is_empty() {
            // Fewer messages than counted (deleted meanwhile): nothing more to give.
            self.position = self.total;
            return Ok(None);
        }
        Ok(Some(Batch { first, messages }))
    }

    fn archived(&self, tx: &Tx<'_>, stored: StoredMessage) -> Result<ArchivedMessage> {
        let versions = tx
            .message_versions(stored.id)?
            .into_iter()
            .map(|v| ArchivedVersion {
                body: within_bounds(v.body),
                replaced_at: v.replaced_at,
            })
            .collect();
        let reactions = tx
            .reaction_records(stored.id)?
            .into_iter()
            .map(|(uid, reaction, at)| ArchivedReaction {
                uid,
                user: reaction.user,
                emoji: reaction.emoji,
                at,
            })
            .collect();
        let m = stored.message;
        let conversation = *self.conversations.get(&m.conversation).ok_or_else(|| {
            ClientError::InvalidInput("a message of an unknown conversation".into())
        })?;
        let body = within_bounds(m.body);
        Ok(ArchivedMessage {
            conversation,
            uid: m.uid,
            user: m.sender.user.to_string(),
            device: m.sender.device.to_string(),
            sent_at: m.sent_at,
            received_at: m.received_at,
            body,
            kind: kind_name(m.kind).to_owned(),
            reply_to: m.reply_to,
            expires_at: m.expires_at,
            deleted_at: stored.deleted_at,
            attachment: m.attachment,
            versions,
            reactions,
        })
    }
}

/// A text as it is brought over: a note in its place when it is too long.
fn within_bounds(body: String) -> String {
    if body.len() > MAX_BODY {
        "[a message too long to bring to a linked device]".to_owned()
    } else {
        body
    }
}

// ------------------------------------------------------------------ import

/// Takes the header in: conversations (one this device is not in yet is kept as history
/// only, marked left), read marks, the trust store. Idempotent. Returns the conversation
/// of each of the header's entries.
pub(crate) fn import_header(
    tx: &mut Tx<'_>,
    header: &Header,
    now: i64,
) -> Result<Vec<ConversationId>> {
    let mut ids = Vec::with_capacity(header.conversations.len());
    for c in &header.conversations {
        let group_id = GroupId::from_bytes(c.group_id.clone());
        let id = match tx.conversation_by_group(&group_id)? {
            Some(existing) => existing.id,
            None => {
                let id = tx.create_conversation(&group_id, &c.name, c.created_at)?;
                tx.set_left(id, Some(c.left_at.unwrap_or(now)))?;
                id
            }
        };
        if c.archived {
            tx.set_archived(id, true)?;
        }
        // A line saying where the history came from. Stored before any imported message, it
        // is also what keeps the ids of messages this device receives above those of the
        // history (SQLite gives a new row the highest id plus one).
        tx.insert_message(&NewMessage::event(
            id,
            header_sender(tx, header)?,
            &format!("link/{}", header.from),
            format!(
                "earlier messages were brought from your device {}",
                header.from
            ),
            now,
        ))?;
        let mark = match c.read_up_to {
            Some(position) => position_id(header, position)?,
            None => MessageId(-checked_total(header)? - 1),
        };
        tx.set_read_mark_if_unread(id, mark)?;
        for r in c.receipts.iter().filter(|r| UserName::new(&r.user).is_ok()) {
            let kind = if r.read {
                Receipt::Read
            } else {
                Receipt::Delivery
            };
            tx.record_receipt(kind, id, &r.user, position_id(header, r.up_to)?)?;
        }
        ids.push(id);
    }
    for d in &header.devices {
        let (Ok(user), Ok(device)) = (UserName::new(&d.user), DeviceId::new(&d.device)) else {
            continue; // a name that breaks the rules names no device
        };
        tx.import_device(&KnownDevice {
            member: MemberId::new(user, device),
            signature_key: d.signature_key.clone(),
            first_seen: d.first_seen,
            verified: d.verified,
        })?;
    }
    Ok(ids)
}

/// The approving device, as the sender of the history's lines.
fn header_sender(tx: &Tx<'_>, header: &Header) -> Result<MemberId> {
    let me = tx
        .identity_record()?
        .ok_or_else(|| ClientError::LinkFailed("this device has no identity yet".into()))?
        .member;
    let device = DeviceId::new(&header.from)
        .map_err(|e| ClientError::LinkFailed(format!("the approving device's id: {e}")))?;
    Ok(MemberId::new(me.user, device))
}

/// The id message `position` is stored under.
fn position_id(header: &Header, position: u64) -> Result<MessageId> {
    let total = checked_total(header)?;
    if position >= header.total {
        return Err(ClientError::LinkFailed(format!(
            "the history names message {position} of {}",
            header.total
        )));
    }
    // position < total <= MAX_TOTAL: both fit in an i64 and the difference cannot overflow.
    Ok(MessageId(position as i64 - total))
}

/// The most messages a history may say it holds: far beyond any real one, and small enough
/// that every id below zero it maps to is an i64.
const MAX_TOTAL: u64 = 1 << 48;

/// The header's message count, refused past [`MAX_TOTAL`] (a header that says more would
/// make ids overflow).
fn checked_total(header: &Header) -> Result<i64> {
    if header.total > MAX_TOTAL {
        return Err(ClientError::LinkFailed(format!(
            "the history says it holds {} messages",
            header.total
        )));
    }
    Ok(header.total as i64)
}

/// Stores a batch (`conversations` from [`import_header`]). Returns the messages stored
/// (fewer than the batch's when some were stored before).
pub(crate) fn import_batch(
    tx: &Tx<'_>,
    header: &Header,
    conversations: &[ConversationId],
    batch: &Batch,
) -> Result<u64> {
    let me = header_sender(tx, header)?.user;
    let mut stored = 0;
    for (offset, m) in batch.messages.iter().enumerate() {
        let id = position_id(header, batch.first + offset as u64)?;
        let conversation = *conversations
            .get(m.conversation as usize)
            .ok_or_else(|| ClientError::LinkFailed("a message of no conversation".into()))?;
        let (Ok(user), Ok(device)) = (UserName::new(&m.user), DeviceId::new(&m.device)) else {
            continue;
        };
        let kind = kind_of(&m.kind);
        let outgoing = user == me && kind != MessageKind::Event;
        // Stored with its first text, then edited through its versions, so that its
        // versions and its edit time are the approving device's.
        let first = m.versions.first().map_or(&m.body, |v| &v.body);
        let message = NewMessage {
            conversation,
            uid: m.uid.clone(),
            sender: MemberId::new(user, device),
            sent_at: m.sent_at,
            received_at: m.received_at,
            body: first.clone(),
            state: MessageState::Received,
            server_seq: None,
            outgoing,
            kind,
            reply_to: m.reply_to.clone(),
            expires_at: m.expires_at,
            attachment: m.attachment.clone(),
        };
        if tx.import_message(id, &message)? {
            let later = m.versions.iter().skip(1).map(|v| &v.body).chain([&m.body]);
            for (version, body) in m.versions.iter().zip(later) {
                tx.edit_message(id, body, version.replaced_at)?;
            }
            for r in m
                .reactions
                .iter()
                .filter(|r| UserName::new(&r.user).is_ok())
            {
                let reaction = Reaction {
                    message: id,
                    user: r.user.clone(),
                    emoji: r.emoji.clone(),
                };
                tx.add_reaction(conversation, &r.uid, &reaction, r.at)?;
            }
            if let Some(at) = m.deleted_at {
                tx.delete_message_content(id, at)?;
            }
            stored += 1;
        }
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(total: u64) -> Header {
        Header {
            from: "laptop".into(),
            total,
            conversations: Vec::new(),
            devices: Vec::new(),
        }
    }

    #[test]
    fn positions_map_below_zero_and_a_header_claiming_too_many_is_refused() {
        assert_eq!(position_id(&header(3), 0).unwrap(), MessageId(-3));
        assert_eq!(position_id(&header(3), 2).unwrap(), MessageId(-1));
        assert!(matches!(
            position_id(&header(3), 3),
            Err(ClientError::LinkFailed(_))
        ));
        // A hostile total must be a typed error, not an overflow.
        for total in [u64::MAX, 1 << 63, MAX_TOTAL + 1] {
            assert!(matches!(
                position_id(&header(total), total - 1),
                Err(ClientError::LinkFailed(_))
            ));
            assert!(checked_total(&header(total)).is_err());
        }
    }
}
