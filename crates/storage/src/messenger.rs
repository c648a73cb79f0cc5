//! The messenger's own tables: profile, devices, conversations, messages, outbox, cursors.
//!
//! Every method is on [`Tx`], so messenger data changes in the same transaction as the MLS
//! state it goes with.

use conclave_protocol::{DeviceId, GroupId, IdentityRecord, MemberId, UserName};
use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use crate::{StoreError, Tx};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub i64);
    };
}
id_type!(
    /// A conversation's local id.
    ConversationId
);
id_type!(
    /// A message's local id; ids grow in the order messages were stored.
    MessageId
);
id_type!(
    /// An outbox entry's id; entries are sent in id order.
    OutboxId
);

/// A message's delivery state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MessageState {
    /// Written by this device, not yet accepted by the server.
    Pending,
    /// Accepted by the server.
    Sent,
    /// Given up on (the user may retry).
    Failed,
    /// Received from another device.
    Received,
}

impl MessageState {
    fn as_str(self) -> &'static str {
        match self {
            MessageState::Pending => "pending",
            MessageState::Sent => "sent",
            MessageState::Failed => "failed",
            MessageState::Received => "received",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "pending" => MessageState::Pending,
            "sent" => MessageState::Sent,
            "failed" => MessageState::Failed,
            "received" => MessageState::Received,
            other => return Err(StoreError::InvalidData(format!("message state {other:?}"))),
        })
    }
}

/// What a message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MessageKind {
    /// Text written by a member.
    Text,
    /// A change in the conversation (members, name) recorded by this device; the body
    /// describes it.
    Event,
    /// Content of a kind this version does not understand (from a newer client); kept, and
    /// shown as unsupported.
    Unsupported,
}

impl MessageKind {
    fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Event => "event",
            MessageKind::Unsupported => "unsupported",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "text" => MessageKind::Text,
            "event" => MessageKind::Event,
            "unsupported" => MessageKind::Unsupported,
            other => return Err(StoreError::InvalidData(format!("message kind {other:?}"))),
        })
    }
}

/// A message to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    /// Its conversation.
    pub conversation: ConversationId,
    /// The sender's id for it, unique in the conversation.
    pub uid: Vec<u8>,
    /// Who sent it.
    pub sender: MemberId,
    /// When the sender says it was sent (ms since the Unix epoch).
    pub sent_at: i64,
    /// When this device received it (ms), for received messages.
    pub received_at: Option<i64>,
    /// The text.
    pub body: String,
    /// Its state.
    pub state: MessageState,
    /// The server's queue sequence number it arrived with, if any.
    pub server_seq: Option<u64>,
    /// Whether this device wrote it.
    pub outgoing: bool,
    /// What it is.
    pub kind: MessageKind,
}

/// A stored message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    /// Local id.
    pub id: MessageId,
    /// The rest, as stored.
    pub message: NewMessage,
}

/// A conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    /// Local id.
    pub id: ConversationId,
    /// Its MLS group.
    pub group_id: GroupId,
    /// Its name, as last agreed in the group.
    pub name: String,
    /// When it was created or joined here (ms).
    pub created_at: i64,
    /// The newest message the user has seen.
    pub last_read: MessageId,
    /// Whether the user archived it.
    pub archived: bool,
    /// When this device stopped being a member (ms); its history stays readable.
    pub left_at: Option<i64>,
    /// Whether this device asked to leave and waits for the commit.
    pub leave_requested: bool,
    /// When this device last rotated its keys in the group (ms; 0: never).
    pub last_rotation: i64,
}

/// A conversation for the list view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationSummary {
    /// The conversation.
    pub conversation: Conversation,
    /// Its newest message.
    pub last_message: Option<StoredMessage>,
    /// How many received messages are newer than `last_read`.
    pub unread: u64,
}

/// What an outbox entry carries; the payload's meaning is the client's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OutboxKind {
    /// An application message.
    Application,
    /// A commit (with its Welcome, if any).
    Commit,
    /// A proposal.
    Proposal,
}

impl OutboxKind {
    fn as_str(self) -> &'static str {
        match self {
            OutboxKind::Application => "application",
            OutboxKind::Commit => "commit",
            OutboxKind::Proposal => "proposal",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "application" => OutboxKind::Application,
            "commit" => OutboxKind::Commit,
            "proposal" => OutboxKind::Proposal,
            other => return Err(StoreError::InvalidData(format!("outbox kind {other:?}"))),
        })
    }
}

/// Something waiting to be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Its id.
    pub id: OutboxId,
    /// The conversation it belongs to.
    pub conversation: Option<ConversationId>,
    /// The message it sends, for application messages.
    pub message: Option<MessageId>,
    /// What it is.
    pub kind: OutboxKind,
    /// The bytes to send (the client's envelope).
    pub payload: Vec<u8>,
    /// When it was queued (ms).
    pub created_at: i64,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Not before this time (ms).
    pub next_attempt_at: i64,
}

/// A device seen in some group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownDevice {
    /// Who it is.
    pub member: MemberId,
    /// Its current signature key.
    pub signature_key: Vec<u8>,
    /// Its safety-number fingerprint.
    pub fingerprint: String,
    /// When its current key was first seen (ms).
    pub first_seen: i64,
    /// Whether the user verified this key.
    pub verified: bool,
}

/// What recording a device's key found (trust on first use).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceTrust {
    /// Never seen before: its key is now trusted.
    New,
    /// Seen with this same key.
    Known {
        /// Whether the user verified it.
        verified: bool,
    },
    /// Seen before with another key. The new key is recorded, unverified; the user must be
    /// told.
    KeyChanged {
        /// The fingerprint of the key it had.
        previous_fingerprint: String,
    },
}

const MESSAGE_COLUMNS: &str = "id, conversation_id, uid, sender_user, sender_device, sent_at, \
     received_at, body, state, server_seq, outgoing, kind";

/// A `messages` row before its text columns are validated.
struct RawMessage {
    id: i64,
    conversation: i64,
    uid: Vec<u8>,
    user: String,
    device: String,
    sent_at: i64,
    received_at: Option<i64>,
    body: String,
    state: String,
    server_seq: Option<i64>,
    outgoing: bool,
    kind: String,
}

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<RawMessage> {
    Ok(RawMessage {
        id: row.get(0)?,
        conversation: row.get(1)?,
        uid: row.get(2)?,
        user: row.get(3)?,
        device: row.get(4)?,
        sent_at: row.get(5)?,
        received_at: row.get(6)?,
        body: row.get(7)?,
        state: row.get(8)?,
        server_seq: row.get(9)?,
        outgoing: row.get(10)?,
        kind: row.get(11)?,
    })
}

fn finish_message(raw: RawMessage) -> Result<StoredMessage, StoreError> {
    Ok(StoredMessage {
        id: MessageId(raw.id),
        message: NewMessage {
            conversation: ConversationId(raw.conversation),
            uid: raw.uid,
            sender: member(&raw.user, &raw.device)?,
            sent_at: raw.sent_at,
            received_at: raw.received_at,
            body: raw.body,
            state: MessageState::parse(&raw.state)?,
            server_seq: raw.server_seq.map(|s| s as u64),
            outgoing: raw.outgoing,
            kind: MessageKind::parse(&raw.kind)?,
        },
    })
}

fn member(user: &str, device: &str) -> Result<MemberId, StoreError> {
    Ok(MemberId::new(
        UserName::new(user).map_err(|e| StoreError::InvalidData(e.to_string()))?,
        DeviceId::new(device).map_err(|e| StoreError::InvalidData(e.to_string()))?,
    ))
}

fn conversation_from_row(row: &Row<'_>) -> rusqlite::Result<Conversation> {
    Ok(Conversation {
        id: ConversationId(row.get(0)?),
        group_id: GroupId::from_bytes(row.get::<_, Vec<u8>>(1)?),
        name: row.get(2)?,
        created_at: row.get(3)?,
        last_read: MessageId(row.get(4)?),
        archived: row.get(5)?,
        left_at: row.get(6)?,
        leave_requested: row.get(7)?,
        last_rotation: row.get(8)?,
    })
}

const CONVERSATION_COLUMNS: &str =
    "id, group_id, name, created_at, last_read, archived, left_at, leave_requested, last_rotation";

/// Makes a user's search text safe for FTS5: every word becomes a quoted term (so `AND`,
/// `-`, `*` or quotes in the text cannot break the query); all terms must match.
fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split_whitespace()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

impl Tx<'_> {
    // ------------------------------------------------------------------ profile

    /// Records this device's identity and server (once; later calls update the server).
    pub fn set_profile(
        &self,
        identity: &IdentityRecord,
        server_url: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let json =
            serde_json::to_string(identity).map_err(|e| StoreError::InvalidData(e.to_string()))?;
        self.connection().execute(
            "INSERT INTO profile (id, identity, server_url, created_at) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET identity = excluded.identity,
                                            server_url = excluded.server_url",
            params![json, server_url, now],
        )?;
        Ok(())
    }

    /// The server this profile uses.
    pub fn server_url(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .connection()
            .query_row("SELECT server_url FROM profile WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?)
    }

    // ------------------------------------------------------------------ devices

    /// Records that `member` was seen with `signature_key` (trust on first use).
    pub fn observe_device(
        &self,
        member: &MemberId,
        signature_key: &[u8],
        fingerprint: &str,
        now: i64,
    ) -> Result<DeviceTrust, StoreError> {
        let known: Option<(Vec<u8>, String, bool)> = self
            .connection()
            .query_row(
                "SELECT signature_key, fingerprint, verified FROM devices
                 WHERE user_name = ?1 AND device_id = ?2",
                params![member.user.as_str(), member.device.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        match known {
            Some((key, _, verified)) if key == signature_key => Ok(DeviceTrust::Known { verified }),
            Some((_, previous_fingerprint, _)) => {
                self.connection().execute(
                    "UPDATE devices SET signature_key = ?3, fingerprint = ?4, first_seen = ?5,
                            verified = 0
                     WHERE user_name = ?1 AND device_id = ?2",
                    params![
                        member.user.as_str(),
                        member.device.as_str(),
                        signature_key,
                        fingerprint,
                        now
                    ],
                )?;
                Ok(DeviceTrust::KeyChanged {
                    previous_fingerprint,
                })
            }
            None => {
                self.connection().execute(
                    "INSERT INTO devices (user_name, device_id, signature_key, fingerprint,
                                          first_seen)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        member.user.as_str(),
                        member.device.as_str(),
                        signature_key,
                        fingerprint,
                        now
                    ],
                )?;
                Ok(DeviceTrust::New)
            }
        }
    }

    /// Marks a device's current key verified (or not).
    pub fn set_verified(&self, member: &MemberId, verified: bool) -> Result<(), StoreError> {
        let changed = self.connection().execute(
            "UPDATE devices SET verified = ?3 WHERE user_name = ?1 AND device_id = ?2",
            params![member.user.as_str(), member.device.as_str(), verified],
        )?;
        if changed == 0 {
            return Err(StoreError::InvalidData(format!("unknown device {member}")));
        }
        Ok(())
    }

    /// Devices seen, of one user or of all.
    pub fn devices(&self, user: Option<&UserName>) -> Result<Vec<KnownDevice>, StoreError> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT user_name, device_id, signature_key, fingerprint, first_seen, verified
             FROM devices WHERE ?1 IS NULL OR user_name = ?1 ORDER BY user_name, device_id",
        )?;
        let rows = stmt.query_map([user.map(|u| u.as_str())], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
        rows.map(|row| {
            let (user, device, signature_key, fingerprint, first_seen, verified) = row?;
            Ok(KnownDevice {
                member: member(&user, &device)?,
                signature_key,
                fingerprint,
                first_seen,
                verified,
            })
        })
        .collect()
    }

    // ------------------------------------------------------------------ conversations

    /// Records a conversation for a group created or joined in this transaction.
    pub fn create_conversation(
        &self,
        group_id: &GroupId,
        name: &str,
        now: i64,
    ) -> Result<ConversationId, StoreError> {
        self.connection().execute(
            "INSERT INTO conversations (group_id, name, created_at) VALUES (?1, ?2, ?3)",
            params![group_id.as_bytes(), name, now],
        )?;
        Ok(ConversationId(self.connection().last_insert_rowid()))
    }

    /// A conversation by id.
    pub fn conversation(&self, id: ConversationId) -> Result<Conversation, StoreError> {
        self.connection()
            .query_row(
                &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?1"),
                [id.0],
                conversation_from_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::NoSuchConversation(id.0.to_string()))
    }

    /// The conversation of a group, if there is one.
    pub fn conversation_by_group(
        &self,
        group_id: &GroupId,
    ) -> Result<Option<Conversation>, StoreError> {
        Ok(self
            .connection()
            .query_row(
                &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE group_id = ?1"),
                [group_id.as_bytes()],
                conversation_from_row,
            )
            .optional()?)
    }

    /// Renames a conversation (after the group's rename commit).
    pub fn rename_conversation(&self, id: ConversationId, name: &str) -> Result<(), StoreError> {
        self.update_conversation(id, "name", name)
    }

    /// Archives or unarchives a conversation.
    pub fn set_archived(&self, id: ConversationId, archived: bool) -> Result<(), StoreError> {
        self.update_conversation(id, "archived", archived)
    }

    /// Records that this device is no longer a member (`Some(time)`), or is again (`None`,
    /// after being invited back). Either way a pending leave request is settled.
    pub fn set_left(&self, id: ConversationId, left_at: Option<i64>) -> Result<(), StoreError> {
        self.update_conversation(id, "left_at", left_at)?;
        self.update_conversation(id, "leave_requested", false)
    }

    /// Records that this device asked to leave (a member must commit it).
    pub fn set_leave_requested(&self, id: ConversationId) -> Result<(), StoreError> {
        self.update_conversation(id, "leave_requested", true)
    }

    /// Records when this device last rotated its keys in the group (ms).
    pub fn set_last_rotation(&self, id: ConversationId, at: i64) -> Result<(), StoreError> {
        self.update_conversation(id, "last_rotation", at)
    }

    /// A per-profile setting.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .connection()
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Sets a per-profile setting.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.connection().execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    fn update_conversation(
        &self,
        id: ConversationId,
        column: &str,
        value: impl rusqlite::ToSql,
    ) -> Result<(), StoreError> {
        let changed = self.connection().execute(
            &format!("UPDATE conversations SET {column} = ?2 WHERE id = ?1"),
            params![id.0, value],
        )?;
        if changed == 0 {
            return Err(StoreError::NoSuchConversation(id.0.to_string()));
        }
        Ok(())
    }

    /// Deletes a conversation, all its messages (from the full-text index too) and its
    /// outbox entries, and its group's MLS state. With `secure_delete` the plaintext is
    /// overwritten on disk.
    pub fn delete_conversation(&mut self, id: ConversationId) -> Result<(), StoreError> {
        let conversation = self.conversation(id)?;
        match self.delete_group(&conversation.group_id) {
            Ok(()) | Err(StoreError::Protocol(conclave_protocol::Error::NotFound(_))) => {}
            Err(e) => return Err(e),
        }
        self.connection()
            .execute("DELETE FROM conversations WHERE id = ?1", [id.0])?;
        Ok(())
    }

    /// Every conversation, in creation order, without the per-conversation queries of
    /// [`Tx::conversations`]: for the engine's bookkeeping (pending commits, due rotations).
    pub fn conversation_list(&self) -> Result<Vec<Conversation>, StoreError> {
        let mut stmt = self.connection().prepare_cached(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations ORDER BY id"
        ))?;
        let rows = stmt.query_map([], conversation_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every conversation with its newest message and unread count, most recently active
    /// first.
    pub fn conversations(&self) -> Result<Vec<ConversationSummary>, StoreError> {
        let mut stmt = self.connection().prepare_cached(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c
             ORDER BY COALESCE((SELECT MAX(id) FROM messages m WHERE m.conversation_id = c.id), 0)
                      DESC, id DESC"
        ))?;
        let conversations = stmt
            .query_map([], conversation_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        conversations
            .into_iter()
            .map(|conversation| {
                let last_message = self.history(conversation.id, None, 1)?.pop();
                let unread = self.unread_count(conversation.id)?;
                Ok(ConversationSummary {
                    conversation,
                    last_message,
                    unread,
                })
            })
            .collect()
    }

    // ------------------------------------------------------------------ messages

    /// Stores a message. Returns `None`, changing nothing, when the conversation already has
    /// a message with this uid: a message delivered twice is stored once.
    pub fn insert_message(&self, message: &NewMessage) -> Result<Option<MessageId>, StoreError> {
        let inserted = self
            .connection()
            .prepare_cached(
                "INSERT INTO messages (conversation_id, uid, sender_user, sender_device, sent_at,
                                   received_at, body, state, server_seq, outgoing, kind)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (conversation_id, uid) DO NOTHING",
            )?
            .execute(params![
                message.conversation.0,
                message.uid,
                message.sender.user.as_str(),
                message.sender.device.as_str(),
                message.sent_at,
                message.received_at,
                message.body,
                message.state.as_str(),
                message.server_seq.map(|s| s as i64),
                message.outgoing,
                message.kind.as_str(),
            ])?;
        Ok((inserted == 1).then(|| MessageId(self.connection().last_insert_rowid())))
    }

    /// Updates a message's state (and the server sequence it was accepted under).
    pub fn set_message_state(
        &self,
        id: MessageId,
        state: MessageState,
        server_seq: Option<u64>,
    ) -> Result<(), StoreError> {
        let changed = self.connection().execute(
            "UPDATE messages SET state = ?2, server_seq = COALESCE(?3, server_seq) WHERE id = ?1",
            params![id.0, state.as_str(), server_seq.map(|s| s as i64)],
        )?;
        if changed == 0 {
            return Err(StoreError::InvalidData(format!("no message {}", id.0)));
        }
        Ok(())
    }

    /// One message.
    pub fn message(&self, id: MessageId) -> Result<Option<StoredMessage>, StoreError> {
        self.connection()
            .query_row(
                &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1"),
                [id.0],
                message_from_row,
            )
            .optional()?
            .map(finish_message)
            .transpose()
    }

    /// A message by conversation and uid.
    pub fn message_by_uid(
        &self,
        conversation: ConversationId,
        uid: &[u8],
    ) -> Result<Option<StoredMessage>, StoreError> {
        self.connection()
            .query_row(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ?1 AND uid = ?2"
                ),
                params![conversation.0, uid],
                message_from_row,
            )
            .optional()?
            .map(finish_message)
            .transpose()
    }

    /// A page of history, newest first: up to `limit` messages older than `before` (or the
    /// newest, without it).
    pub fn history(
        &self,
        conversation: ConversationId,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let mut stmt = self.connection().prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE conversation_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
        ))?;
        let rows = stmt.query_map(
            params![
                conversation.0,
                before.map_or(i64::MAX, |b| b.0),
                limit as i64
            ],
            message_from_row,
        )?;
        rows.map(|r| finish_message(r?)).collect()
    }

    /// Messages by position, oldest first: up to `limit` starting at the `offset`-th oldest.
    /// For views that show a long history as rows and load the visible ones.
    pub fn history_at(
        &self,
        conversation: ConversationId,
        offset: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let mut stmt = self.connection().prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE conversation_id = ?1 ORDER BY id LIMIT ?2 OFFSET ?3"
        ))?;
        let rows = stmt.query_map(
            params![conversation.0, limit as i64, offset as i64],
            message_from_row,
        )?;
        rows.map(|r| finish_message(r?)).collect()
    }

    /// How many messages a conversation has.
    pub fn message_count(&self, conversation: ConversationId) -> Result<u64, StoreError> {
        Ok(self.connection().query_row(
            "SELECT COUNT(*) FROM messages WHERE conversation_id = ?1",
            [conversation.0],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Marks everything up to `up_to` read.
    pub fn mark_read(
        &self,
        conversation: ConversationId,
        up_to: MessageId,
    ) -> Result<(), StoreError> {
        self.connection().execute(
            "UPDATE conversations SET last_read = MAX(last_read, ?2) WHERE id = ?1",
            params![conversation.0, up_to.0],
        )?;
        Ok(())
    }

    /// Received messages newer than the last read one.
    pub fn unread_count(&self, conversation: ConversationId) -> Result<u64, StoreError> {
        Ok(self
            .connection()
            .prepare_cached(
                "SELECT COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.conversation_id = ?1 AND m.id > c.last_read AND m.outgoing = 0",
            )?
            .query_row([conversation.0], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Adds the messages stored in this transaction so far to the full-text index, in one
    /// statement (migration V4 says why). Runs at commit and before a search.
    pub(crate) fn index_for_search(&self) -> Result<(), StoreError> {
        // Most transactions store no message. Touching the FTS5 table anyway made every
        // commit write (26 us for an empty transaction instead of 5).
        let pending: bool = self
            .connection()
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM fts_pending)")?
            .query_row([], |r| r.get(0))?;
        if !pending {
            return Ok(());
        }
        self.connection()
            .prepare_cached(
                "INSERT INTO messages_fts (rowid, body)
                 SELECT m.id, m.body FROM fts_pending p JOIN messages m ON m.id = p.id",
            )?
            .execute([])?;
        self.connection()
            .prepare_cached("DELETE FROM fts_pending")?
            .execute([])?;
        Ok(())
    }

    /// Full-text search over all decrypted history, newest first. Every word of `text` must
    /// occur (FTS5 tokens; syntax in `text` is taken literally).
    pub fn search(&self, text: &str, limit: usize) -> Result<Vec<StoredMessage>, StoreError> {
        let Some(query) = fts_query(text) else {
            return Ok(Vec::new());
        };
        self.index_for_search()?;
        let mut stmt = self.connection().prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?1)
             ORDER BY id DESC LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![query, limit as i64], message_from_row)?;
        rows.map(|r| finish_message(r?)).collect()
    }

    // ------------------------------------------------------------------ outbox

    /// Queues something to send.
    pub fn enqueue(
        &self,
        kind: OutboxKind,
        conversation: Option<ConversationId>,
        message: Option<MessageId>,
        payload: &[u8],
        now: i64,
    ) -> Result<OutboxId, StoreError> {
        self.connection()
            .prepare_cached(
                "INSERT INTO outbox (conversation_id, message_id, kind, payload, created_at,
                                 next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            )?
            .execute(params![
                conversation.map(|c| c.0),
                message.map(|m| m.0),
                kind.as_str(),
                payload,
                now
            ])?;
        Ok(OutboxId(self.connection().last_insert_rowid()))
    }

    /// The queue, oldest first.
    pub fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT id, conversation_id, message_id, kind, payload, created_at, attempts,
                    next_attempt_at
             FROM outbox ORDER BY id LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Vec<u8>>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, i64>(7)?,
            ))
        })?;
        rows.map(|row| {
            let (id, conversation, message, kind, payload, created_at, attempts, next) = row?;
            Ok(OutboxEntry {
                id: OutboxId(id),
                conversation: conversation.map(ConversationId),
                message: message.map(MessageId),
                kind: OutboxKind::parse(&kind)?,
                payload,
                created_at,
                attempts: attempts as u32,
                next_attempt_at: next,
            })
        })
        .collect()
    }

    /// Removes a sent (or abandoned) entry.
    pub fn outbox_done(&self, id: OutboxId) -> Result<(), StoreError> {
        self.connection()
            .execute("DELETE FROM outbox WHERE id = ?1", [id.0])?;
        Ok(())
    }

    /// Records a failed attempt; the entry waits until `next_attempt_at`.
    pub fn outbox_retry(&self, id: OutboxId, next_attempt_at: i64) -> Result<(), StoreError> {
        self.connection().execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2 WHERE id = ?1",
            params![id.0, next_attempt_at],
        )?;
        Ok(())
    }

    // ------------------------------------------------------------------ sync cursors

    /// The last queue sequence processed from `server` (0 if none).
    pub fn cursor(&self, server: &str) -> Result<u64, StoreError> {
        Ok(self
            .connection()
            .prepare_cached("SELECT last_seq FROM sync_cursors WHERE server = ?1")?
            .query_row([server], |r| r.get::<_, i64>(0))
            .optional()?
            .unwrap_or(0) as u64)
    }

    /// Moves the cursor forward to `seq` (never backward).
    pub fn advance_cursor(&self, server: &str, seq: u64) -> Result<(), StoreError> {
        self.connection()
            .prepare_cached(
                "INSERT INTO sync_cursors (server, last_seq) VALUES (?1, ?2)
             ON CONFLICT (server) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq)",
            )?
            .execute(params![server, seq as i64])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn fts_queries_are_literal() {
        assert_eq!(fts_query("hello world").unwrap(), "\"hello\" \"world\"");
        assert_eq!(
            fts_query("a\"b OR -c*").unwrap(),
            "\"a\"\"b\" \"OR\" \"-c*\""
        );
        assert_eq!(fts_query("   "), None);
    }
}
