//! What happens to a message after it is stored: edits (earlier texts kept), deletes (text,
//! versions and reactions gone), and disappearing (the row gone at its time).
//!
//! Removing text from the file, not only from view: profiles run with `secure_delete`
//! (freed pages are zeroed), and [`Tx::scrub_search_index`] merges the full-text index so
//! that no segment keeps a removed word. The write-ahead log still holds the old pages until
//! the next checkpoint, which `Store::checkpoint` forces.

use rusqlite::params;

use super::{ConversationId, MessageId};
use crate::{StoreError, Tx};

/// An earlier text of an edited message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageVersion {
    /// The text it had.
    pub body: String,
    /// When the next text replaced it (ms, the author's clock).
    pub replaced_at: i64,
}

impl Tx<'_> {
    /// Gives a message new text, keeping the old one among its versions. Returns false,
    /// changing nothing, for a message that is deleted or gone.
    pub fn edit_message(&self, id: MessageId, body: &str, at: i64) -> Result<bool, StoreError> {
        let saved = self.connection().execute(
            "INSERT INTO message_versions (message_id, body, replaced_at)
             SELECT id, body, ?2 FROM messages WHERE id = ?1 AND deleted_at IS NULL",
            params![id.0, at],
        )?;
        if saved == 0 {
            return Ok(false);
        }
        self.connection().execute(
            "UPDATE messages SET body = ?2, edited_at = ?3 WHERE id = ?1",
            params![id.0, body, at],
        )?;
        Ok(true)
    }

    /// A message's earlier texts, oldest first.
    pub fn message_versions(&self, id: MessageId) -> Result<Vec<MessageVersion>, StoreError> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT body, replaced_at FROM message_versions WHERE message_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([id.0], |r| {
            Ok(MessageVersion {
                body: r.get(0)?,
                replaced_at: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes a message's content for good: its text (and so its search entry), earlier
    /// versions, reactions and attachment; the row stays as a "deleted" mark. Returns false
    /// for a message already deleted or gone.
    pub fn delete_message_content(&self, id: MessageId, at: i64) -> Result<bool, StoreError> {
        let changed = self.connection().execute(
            "UPDATE messages SET body = '', attachment = NULL, deleted_at = ?2
             WHERE id = ?1 AND deleted_at IS NULL",
            params![id.0, at],
        )?;
        if changed == 0 {
            return Ok(false);
        }
        self.connection()
            .execute("DELETE FROM message_versions WHERE message_id = ?1", [id.0])?;
        self.connection()
            .execute("DELETE FROM reactions WHERE message_id = ?1", [id.0])?;
        Ok(true)
    }

    /// Removes every message whose time is up (at `now`, ms), with its versions and
    /// reactions. Returns what was removed, by conversation.
    pub fn remove_expired(&self, now: i64) -> Result<Vec<(ConversationId, MessageId)>, StoreError> {
        let mut stmt = self.connection().prepare_cached(
            "DELETE FROM messages WHERE expires_at IS NOT NULL AND expires_at <= ?1
             RETURNING conversation_id, id",
        )?;
        let rows = stmt.query_map([now], |r| {
            Ok((ConversationId(r.get(0)?), MessageId(r.get(1)?)))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When the next message disappears (ms), if any will.
    pub fn next_expiry(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.connection().query_row(
            "SELECT MIN(expires_at) FROM messages WHERE expires_at IS NOT NULL",
            [],
            |r| r.get(0),
        )?)
    }

    /// Rewrites the full-text index as one segment, so that words of deleted or expired
    /// messages are no longer in any segment (FTS5 otherwise keeps them, marked deleted,
    /// until segments merge). Costs a pass over the index: run once after removals.
    pub fn scrub_search_index(&self) -> Result<(), StoreError> {
        self.index_for_search()?;
        self.connection().execute(
            "INSERT INTO messages_fts (messages_fts) VALUES ('optimize')",
            [],
        )?;
        Ok(())
    }
}
