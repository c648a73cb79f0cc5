//! The outbox: what waits to be sent, in order, with its retry schedule.

use rusqlite::params;

use super::{ConversationId, MessageId, OutboxId, OutboxKind};
use crate::{StoreError, Tx};

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

impl Tx<'_> {
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
}
