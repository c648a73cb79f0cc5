//! Reactions: an emoji by a user on a message, each under the id of the message that
//! carried it, so that its author can withdraw it.

use rusqlite::{OptionalExtension, params};

use super::{ConversationId, MessageId};
use crate::{StoreError, Tx};

/// One reaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reaction {
    /// The message reacted to.
    pub message: MessageId,
    /// Who reacted.
    pub user: String,
    /// With what.
    pub emoji: String,
}

impl Tx<'_> {
    /// Records a reaction carried by the message `uid`. Returns false for one already
    /// recorded.
    pub fn add_reaction(
        &self,
        conversation: ConversationId,
        uid: &[u8],
        reaction: &Reaction,
        at: i64,
    ) -> Result<bool, StoreError> {
        Ok(self.connection().execute(
            "INSERT OR IGNORE INTO reactions
                 (conversation_id, uid, message_id, user_name, emoji, reacted_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                conversation.0,
                uid,
                reaction.message.0,
                reaction.user,
                reaction.emoji,
                at
            ],
        )? == 1)
    }

    /// The reaction carried by the message `uid`, if recorded.
    pub fn reaction(
        &self,
        conversation: ConversationId,
        uid: &[u8],
    ) -> Result<Option<Reaction>, StoreError> {
        Ok(self
            .connection()
            .query_row(
                "SELECT message_id, user_name, emoji FROM reactions
                 WHERE conversation_id = ?1 AND uid = ?2",
                params![conversation.0, uid],
                |r| {
                    Ok(Reaction {
                        message: MessageId(r.get(0)?),
                        user: r.get(1)?,
                        emoji: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// The id of `user`'s reaction with `emoji` on `message`, if there is one.
    pub fn reaction_uid(
        &self,
        message: MessageId,
        user: &str,
        emoji: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .connection()
            .query_row(
                "SELECT uid FROM reactions WHERE message_id = ?1 AND user_name = ?2 AND emoji = ?3
                 ORDER BY reacted_at LIMIT 1",
                params![message.0, user, emoji],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Withdraws the reaction carried by the message `uid`.
    pub fn remove_reaction(
        &self,
        conversation: ConversationId,
        uid: &[u8],
    ) -> Result<bool, StoreError> {
        Ok(self.connection().execute(
            "DELETE FROM reactions WHERE conversation_id = ?1 AND uid = ?2",
            params![conversation.0, uid],
        )? == 1)
    }

    /// Every reaction on `message` as recorded: the id of the message that carried it, the
    /// reaction, and when (oldest first). What a linked device is given.
    pub fn reaction_records(
        &self,
        message: MessageId,
    ) -> Result<Vec<(Vec<u8>, Reaction, i64)>, StoreError> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT uid, user_name, emoji, reacted_at FROM reactions WHERE message_id = ?1
             ORDER BY reacted_at, uid",
        )?;
        let rows = stmt.query_map([message.0], |r| {
            Ok((
                r.get(0)?,
                Reaction {
                    message,
                    user: r.get(1)?,
                    emoji: r.get(2)?,
                },
                r.get(3)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The reactions on these messages, each (user, emoji) once, in the order given.
    pub fn reactions_on(&self, messages: &[MessageId]) -> Result<Vec<Reaction>, StoreError> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT user_name, emoji FROM reactions WHERE message_id = ?1
             GROUP BY user_name, emoji ORDER BY MIN(reacted_at)",
        )?;
        let mut out = Vec::new();
        for &message in messages {
            let rows = stmt.query_map([message.0], |r| {
                Ok(Reaction {
                    message,
                    user: r.get(0)?,
                    emoji: r.get(1)?,
                })
            })?;
            for row in rows {
                out.push(row?);
            }
        }
        Ok(out)
    }
}
