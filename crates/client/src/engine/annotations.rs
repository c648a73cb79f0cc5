//! What a conversation view shows around each message: its reactions, who has received and
//! read it, and the message it answers.

use conclave_storage::{ConversationId, MessageId, MessageVersion, Receipt, StoredMessage};

use super::Reader;
use super::content::receipts_on;
use crate::Result;

/// What is shown around one message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Annotations {
    /// Reactions, each (user, emoji) once, oldest first.
    pub reactions: Vec<(String, String)>,
    /// The users (other than its author) whose read receipts cover it; empty when read
    /// receipts are off.
    pub read_by: Vec<String>,
    /// The users (other than its author) whose delivery or read receipts cover it.
    pub delivered_to: Vec<String>,
    /// For a reply: the message it answers.
    pub reply: Option<Quote>,
    /// For an edited message: its earlier texts, oldest first.
    pub versions: Vec<MessageVersion>,
}

/// The message a reply answers, as the reply shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Quote {
    /// Here.
    Message {
        /// Its local id (to jump to).
        id: MessageId,
        /// Its author.
        user: String,
        /// Its text now (empty when deleted).
        body: String,
        /// Whether it was deleted.
        deleted: bool,
    },
    /// Not on this device (sent before it joined, or gone).
    Missing,
}

impl Reader {
    /// The annotations of `messages` (of one conversation), in the same order.
    pub(crate) fn annotations(
        &self,
        conversation: ConversationId,
        messages: &[StoredMessage],
    ) -> Result<Vec<Annotations>> {
        let mut store = self.store.lock();
        let tx = store.transaction()?;
        let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
        let reactions = tx.reactions_on(&ids)?;
        let receipts = if receipts_on(&tx)? {
            tx.receipts(Receipt::Read, conversation)?
        } else {
            Vec::new()
        };
        let deliveries = tx.receipts(Receipt::Delivery, conversation)?;
        let mut out = Vec::with_capacity(messages.len());
        for m in messages {
            let reply = match &m.message.reply_to {
                None => None,
                Some(uid) => Some(match tx.message_by_uid(conversation, uid)? {
                    Some(q) => Quote::Message {
                        id: q.id,
                        user: q.message.sender.user.to_string(),
                        body: q.message.body,
                        deleted: q.deleted_at.is_some(),
                    },
                    None => Quote::Missing,
                }),
            };
            let versions = if m.edited_at.is_some() {
                tx.message_versions(m.id)?
            } else {
                Vec::new()
            };
            out.push(Annotations {
                versions,
                reactions: reactions
                    .iter()
                    .filter(|r| r.message == m.id)
                    .map(|r| (r.user.clone(), r.emoji.clone()))
                    .collect(),
                read_by: covering(&receipts, m),
                delivered_to: {
                    let mut users = covering(&deliveries, m);
                    users.extend(covering(&receipts, m));
                    users.sort();
                    users.dedup();
                    users
                },
                reply,
            });
        }
        Ok(out)
    }

    /// A message's earlier texts, oldest first.
    pub(crate) fn versions(&self, message: MessageId) -> Result<Vec<MessageVersion>> {
        Ok(self.store.lock().transaction()?.message_versions(message)?)
    }

    /// Whether read receipts are sent and shown.
    pub(crate) fn read_receipts_on(&self) -> Result<bool> {
        receipts_on(&self.store.lock().transaction()?)
    }
}

/// The users other than `m`'s author whose receipts (user, up to) reach it.
fn covering(receipts: &[(String, MessageId)], m: &StoredMessage) -> Vec<String> {
    receipts
        .iter()
        .filter(|(user, up_to)| *up_to >= m.id && user.as_str() != m.message.sender.user.as_str())
        .map(|(user, _)| user.clone())
        .collect()
}
