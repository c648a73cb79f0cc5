//! Receipts: how far each member has read, and received, a conversation, and how far this
//! device has told the others it read and received.

use rusqlite::params;

use super::{ConversationId, MessageId};
use crate::{StoreError, Tx};

impl Tx<'_> {
    /// Records that `user` has read, or received, the conversation up to `up_to` (never
    /// backwards).
    pub fn record_receipt(
        &self,
        kind: Receipt,
        conversation: ConversationId,
        user: &str,
        up_to: MessageId,
    ) -> Result<(), StoreError> {
        self.connection().execute(
            &format!(
                "INSERT INTO {} (conversation_id, user_name, up_to) VALUES (?1, ?2, ?3)
                 ON CONFLICT (conversation_id, user_name) DO UPDATE SET up_to = MAX(up_to, ?3)",
                kind.table()
            ),
            params![conversation.0, user, up_to.0],
        )?;
        Ok(())
    }

    /// Who has read, or received, how far in a conversation, by user name.
    pub fn receipts(
        &self,
        kind: Receipt,
        conversation: ConversationId,
    ) -> Result<Vec<(String, MessageId)>, StoreError> {
        let mut stmt = self.connection().prepare_cached(&format!(
            "SELECT user_name, up_to FROM {} WHERE conversation_id = ?1 ORDER BY user_name",
            kind.table()
        ))?;
        let rows = stmt.query_map([conversation.0], |r| Ok((r.get(0)?, MessageId(r.get(1)?))))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest message this device sent a read receipt for in the conversation.
    pub fn receipt_sent(&self, conversation: ConversationId) -> Result<MessageId, StoreError> {
        Ok(MessageId(self.connection().query_row(
            "SELECT receipt_sent FROM conversations WHERE id = ?1",
            [conversation.0],
            |r| r.get(0),
        )?))
    }

    /// Notes that a read receipt up to `up_to` is on its way.
    pub fn set_receipt_sent(
        &self,
        conversation: ConversationId,
        up_to: MessageId,
    ) -> Result<(), StoreError> {
        self.connection().execute(
            "UPDATE conversations SET receipt_sent = MAX(receipt_sent, ?2) WHERE id = ?1",
            params![conversation.0, up_to.0],
        )?;
        Ok(())
    }

    /// The newest message of the conversation at or below `up_to` that someone else wrote
    /// (what a read receipt names).
    pub fn newest_received_up_to(
        &self,
        conversation: ConversationId,
        up_to: MessageId,
    ) -> Result<Option<(MessageId, Vec<u8>)>, StoreError> {
        use rusqlite::OptionalExtension as _;
        Ok(self
            .connection()
            .query_row(
                "SELECT id, uid FROM messages
                 WHERE conversation_id = ?1 AND id <= ?2 AND outgoing = 0 AND kind != 'event'
                 ORDER BY id DESC LIMIT 1",
                params![conversation.0, up_to.0],
                |r| Ok((MessageId(r.get(0)?), r.get(1)?)),
            )
            .optional()?)
    }

    /// What this device has received and not yet reported: per conversation that is neither
    /// left nor a pending request, the newest message of each author (other than this user)
    /// above the last report.
    pub fn undelivered(&self, me: &str) -> Result<Vec<Undelivered>, StoreError> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT m.conversation_id, m.sender_user, MAX(m.id), m.uid
             FROM conversations c JOIN messages m
               ON m.conversation_id = c.id AND m.id > c.delivery_sent AND m.outgoing = 0
             WHERE c.left_at IS NULL AND c.request = 0 AND m.kind != 'event'
               AND m.sender_user != ?1
             GROUP BY m.conversation_id, m.sender_user
             ORDER BY m.conversation_id, m.sender_user",
        )?;
        let rows = stmt.query_map([me], |r| {
            Ok(Undelivered {
                conversation: ConversationId(r.get(0)?),
                author: r.get(1)?,
                newest: MessageId(r.get(2)?),
                uid: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Notes that the conversation's messages up to `up_to` were reported received.
    pub fn set_delivery_sent(
        &self,
        conversation: ConversationId,
        up_to: MessageId,
    ) -> Result<(), StoreError> {
        self.connection().execute(
            "UPDATE conversations SET delivery_sent = MAX(delivery_sent, ?2) WHERE id = ?1",
            params![conversation.0, up_to.0],
        )?;
        Ok(())
    }
}

/// An author's newest message this device received and has not reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undelivered {
    /// The conversation.
    pub conversation: ConversationId,
    /// Who wrote it.
    pub author: String,
    /// Its local id.
    pub newest: MessageId,
    /// Its MIMI id.
    pub uid: Vec<u8>,
}

/// Which receipts: how far each member has read, or has received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Receipt {
    /// Read receipts.
    Read,
    /// Delivery receipts.
    Delivery,
}

impl Receipt {
    fn table(self) -> &'static str {
        match self {
            Receipt::Read => "read_receipts",
            Receipt::Delivery => "delivery_receipts",
        }
    }
}
