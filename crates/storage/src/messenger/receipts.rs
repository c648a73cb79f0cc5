//! Read receipts: how far each member has read a conversation, and how far this device has
//! told them it read.

use rusqlite::params;

use super::{ConversationId, MessageId};
use crate::{StoreError, Tx};

impl Tx<'_> {
    /// Records that `user` has read the conversation up to `up_to` (never backwards).
    pub fn record_read_receipt(
        &self,
        conversation: ConversationId,
        user: &str,
        up_to: MessageId,
    ) -> Result<(), StoreError> {
        self.connection().execute(
            "INSERT INTO read_receipts (conversation_id, user_name, up_to) VALUES (?1, ?2, ?3)
             ON CONFLICT (conversation_id, user_name) DO UPDATE SET up_to = MAX(up_to, ?3)",
            params![conversation.0, user, up_to.0],
        )?;
        Ok(())
    }

    /// Who has read how far in a conversation, by user name.
    pub fn read_receipts(
        &self,
        conversation: ConversationId,
    ) -> Result<Vec<(String, MessageId)>, StoreError> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT user_name, up_to FROM read_receipts WHERE conversation_id = ?1
             ORDER BY user_name",
        )?;
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
}
