//! Messages: stored once each, history pages, read marks and unread counts, full-text search.

use conclave_protocol::MemberId;
use rusqlite::{OptionalExtension, Row, params};

use super::{ConversationId, MessageId, MessageKind, MessageState, member};
use crate::{StoreError, Tx};

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
    /// Whether this profile's user wrote it: on this device (its state then tells whether
    /// it was sent), or on another device of the user (received, then). The user's own
    /// messages are never unread.
    pub outgoing: bool,
    /// What it is.
    pub kind: MessageKind,
    /// The id of the message it answers (which may not be stored here).
    pub reply_to: Option<Vec<u8>>,
    /// When it disappears (ms).
    pub expires_at: Option<i64>,
    /// For an attachment: where it is and how to decrypt it (the client's encoding).
    pub attachment: Option<Vec<u8>>,
}

impl NewMessage {
    /// A line about a change in the conversation (a member added, a timer set), written
    /// by this device at `at` as `actor`'s doing. `name` makes its uid (`event/NAME`), so
    /// that the same change recorded twice is stored once.
    pub fn event(
        conversation: ConversationId,
        actor: MemberId,
        name: &str,
        text: String,
        at: i64,
    ) -> Self {
        Self {
            conversation,
            uid: format!("event/{name}").into_bytes(),
            sender: actor,
            sent_at: at,
            received_at: Some(at),
            body: text,
            state: MessageState::Received,
            server_seq: None,
            outgoing: false,
            kind: MessageKind::Event,
            reply_to: None,
            expires_at: None,
            attachment: None,
        }
    }
}

/// A stored message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    /// Local id.
    pub id: MessageId,
    /// The rest, as stored.
    pub message: NewMessage,
    /// When its author last edited it (ms, the author's clock).
    pub edited_at: Option<i64>,
    /// When its author deleted it (ms): the body is then empty.
    pub deleted_at: Option<i64>,
}

const MESSAGE_COLUMNS: &str = "id, conversation_id, uid, sender_user, sender_device, sent_at, \
     received_at, body, state, server_seq, outgoing, kind, reply_to, expires_at, attachment, \
     edited_at, deleted_at";

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
    reply_to: Option<Vec<u8>>,
    expires_at: Option<i64>,
    attachment: Option<Vec<u8>>,
    edited_at: Option<i64>,
    deleted_at: Option<i64>,
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
        reply_to: row.get(12)?,
        expires_at: row.get(13)?,
        attachment: row.get(14)?,
        edited_at: row.get(15)?,
        deleted_at: row.get(16)?,
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
            reply_to: raw.reply_to,
            expires_at: raw.expires_at,
            attachment: raw.attachment,
        },
        edited_at: raw.edited_at,
        deleted_at: raw.deleted_at,
    })
}

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
    /// Stores a message. Returns `None`, changing nothing, when the conversation already has
    /// a message with this uid: a message delivered twice is stored once.
    pub fn insert_message(&self, message: &NewMessage) -> Result<Option<MessageId>, StoreError> {
        let inserted = self
            .connection()
            .prepare_cached(
                "INSERT INTO messages (conversation_id, uid, sender_user, sender_device, sent_at,
                                   received_at, body, state, server_seq, outgoing, kind,
                                   reply_to, expires_at, attachment)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
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
                message.reply_to,
                message.expires_at,
                message.attachment,
            ])?;
        Ok((inserted == 1).then(|| MessageId(self.connection().last_insert_rowid())))
    }

    /// Stores a message brought from another device of the user under `id` (history
    /// imported by a device being linked: ids below every message this device received
    /// itself, so that the history reads in order). Returns false, changing nothing, when
    /// the id or the conversation's uid is taken: an import resumed after a crash stores
    /// each message once.
    pub fn import_message(&self, id: MessageId, message: &NewMessage) -> Result<bool, StoreError> {
        let inserted = self
            .connection()
            .prepare_cached(
                "INSERT OR IGNORE INTO messages (id, conversation_id, uid, sender_user,
                     sender_device, sent_at, received_at, body, state, server_seq, outgoing,
                     kind, reply_to, expires_at, attachment)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )?
            .execute(params![
                id.0,
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
                message.reply_to,
                message.expires_at,
                message.attachment,
            ])?;
        Ok(inserted == 1)
    }

    /// Messages of every conversation after `after`, oldest first, at most `limit`: sent and
    /// received ones only (what another device of the user can be given; messages still
    /// pending reach it when they are sent).
    pub fn settled_messages_after(
        &self,
        after: MessageId,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let mut stmt = self.connection().prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE id > ?1 AND (state = 'sent' OR state = 'received') ORDER BY id LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![after.0, limit as i64], message_from_row)?;
        rows.map(|r| finish_message(r?)).collect()
    }

    /// How many messages [`Tx::settled_messages_after`] would give from the start.
    pub fn settled_message_count(&self) -> Result<u64, StoreError> {
        Ok(self.connection().query_row(
            "SELECT COUNT(*) FROM messages WHERE state = 'sent' OR state = 'received'",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Where, among the messages [`Tx::settled_messages_after`] gives (counted from 0), the
    /// last one at or before `id` is; `None` when there is none.
    pub fn settled_position(&self, id: MessageId) -> Result<Option<u64>, StoreError> {
        let at_or_before: i64 = self.connection().query_row(
            "SELECT COUNT(*) FROM messages
             WHERE id <= ?1 AND (state = 'sent' OR state = 'received')",
            [id.0],
            |r| r.get(0),
        )?;
        Ok((at_or_before as u64).checked_sub(1))
    }

    /// Where, among the messages [`Tx::settled_messages_after`] gives (counted from 0), the
    /// conversation's reading stands: its last message that is read or that this device
    /// sent (whoever writes has read what came before). `None` when there is none.
    pub fn settled_read_position(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<u64>, StoreError> {
        let mark: Option<i64> = self.connection().query_row(
            "SELECT MAX(m.id) FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.conversation_id = ?1 AND (m.state = 'sent' OR m.state = 'received')
               AND (m.id <= c.last_read OR m.outgoing = 1)",
            [conversation.0],
            |r| r.get(0),
        )?;
        let Some(mark) = mark else {
            return Ok(None);
        };
        let before: i64 = self.connection().query_row(
            "SELECT COUNT(*) FROM messages
             WHERE id < ?1 AND (state = 'sent' OR state = 'received')",
            [mark],
            |r| r.get(0),
        )?;
        Ok(Some(before as u64))
    }

    /// Sets the read mark of a conversation nothing was read in yet on this device (a mark
    /// brought with imported history, which may be below every id here).
    pub fn set_read_mark_if_unread(
        &self,
        conversation: ConversationId,
        up_to: MessageId,
    ) -> Result<(), StoreError> {
        self.connection().execute(
            "UPDATE conversations SET last_read = ?2 WHERE id = ?1 AND last_read <= 0",
            params![conversation.0, up_to.0],
        )?;
        Ok(())
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
