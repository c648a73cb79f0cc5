//! Conversations: one per MLS group, with the list view's summary.

use conclave_protocol::GroupId;
use rusqlite::{OptionalExtension, Row, params};

use super::messages::StoredMessage;
use super::{ConversationId, MessageId};
use crate::{StoreError, Tx};

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
    /// Whether it is an invitation from someone this profile had never talked to, not yet
    /// accepted: nothing is sent to the group until it is.
    pub request: bool,
    /// Seconds a new message lives, as a member last set it (0: messages stay).
    pub disappear_after: u32,
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

const CONVERSATION_COLUMNS: &str =
    "id, group_id, name, created_at, last_read, archived, left_at, leave_requested, last_rotation,
     request, disappear_after";

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
        request: row.get(9)?,
        disappear_after: row.get(10)?,
    })
}

impl Tx<'_> {
    /// Sets the conversation's disappearing-message timer (seconds; 0: off).
    pub fn set_disappear_after(&self, id: ConversationId, seconds: u32) -> Result<(), StoreError> {
        self.connection().execute(
            "UPDATE conversations SET disappear_after = ?2 WHERE id = ?1",
            params![id.0, seconds],
        )?;
        Ok(())
    }

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

    /// Marks a conversation as an invitation request (`true`), or as accepted.
    pub fn set_request(&self, id: ConversationId, request: bool) -> Result<(), StoreError> {
        self.update_conversation(id, "request", request)
    }

    /// Records when this device last rotated its keys in the group (ms).
    pub fn set_last_rotation(&self, id: ConversationId, at: i64) -> Result<(), StoreError> {
        self.update_conversation(id, "last_rotation", at)
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
}
