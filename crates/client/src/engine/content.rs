//! What a message's content does to the store, whether it arrived or was written here: one
//! function for both, so that a device's own edit and a received one follow the same rules.
//!
//! The rules are checked against the sender MLS authenticated, never against anything the
//! content claims: only a message's author (any device of that user) edits or deletes it, or
//! withdraws their reaction; a delete is final; a reference to a message this device does
//! not have changes nothing (a reply to it is still shown, as a reply to a message that is
//! not available).

use conclave_content::{Body, Message, MessageId as MimiId};
use conclave_protocol::MemberId;
use conclave_storage::{
    ConversationId, MessageId, MessageKind, MessageState, NewMessage, Reaction, Receipt,
    StoredMessage, Tx,
};

use crate::{ClientEvent, Result};

/// Setting: read receipts are neither sent nor recorded when it is `"off"`.
pub(crate) const RECEIPTS: &str = "receipts";

/// Whether read receipts are on (the default).
pub(crate) fn receipts_on(tx: &Tx<'_>) -> Result<bool> {
    Ok(tx.setting(RECEIPTS)?.as_deref() != Some("off"))
}

/// Where a message comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Written on this device, about to be sent.
    Here,
    /// Received, with the queue sequence number it came with.
    Received(Option<u64>),
}

/// One message's effect: who sent it, in which conversation, when, and what it says.
pub(crate) struct Effect<'a> {
    pub(crate) conversation: ConversationId,
    pub(crate) sender: &'a MemberId,
    pub(crate) me: &'a MemberId,
    pub(crate) id: MimiId,
    pub(crate) message: &'a Message,
    pub(crate) origin: Origin,
    pub(crate) now: i64,
}

/// What the effect changed, for the caller to report.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// The message stored for it (text, attachment, unsupported, a timer's line).
    pub(crate) stored: Option<StoredMessage>,
    /// UI events to emit once the transaction commits.
    pub(crate) events: Vec<ClientEvent>,
    /// Whether text left the store (delete): the search index is then scrubbed.
    pub(crate) removed_text: bool,
}

impl Effect<'_> {
    /// Applies the effect in `tx`.
    pub(crate) fn apply(&self, tx: &Tx<'_>) -> Result<Applied> {
        let mut applied = Applied::default();
        let sent_at = self.message.sent_at.unwrap_or(self.now);
        match &self.message.body {
            Body::Text { text, reply_to } => {
                applied.stored = self.store(tx, MessageKind::Text, text, *reply_to, None)?;
            }
            Body::Attachment { reply_to, file } => {
                let name = if file.filename.is_empty() {
                    "a file"
                } else {
                    &file.filename
                };
                applied.stored = self.store(
                    tx,
                    MessageKind::Attachment,
                    name,
                    *reply_to,
                    Some(file.encode()),
                )?;
            }
            Body::Unsupported { what } => {
                let line = format!("[a message of a kind this version cannot show: {what}]");
                applied.stored = self.store(tx, MessageKind::Unsupported, &line, None, None)?;
            }
            Body::Edit { target, text } => {
                if let Some(target) = self.own_target(tx, target, "edit", &mut applied)?
                    && target.message.kind == MessageKind::Text
                    && tx.edit_message(target.id, text, sent_at)?
                {
                    applied.events.push(self.changed(target.id));
                }
            }
            Body::Delete { target } => {
                if let Some(target) = self.own_target(tx, target, "delete", &mut applied)?
                    && tx.delete_message_content(target.id, sent_at)?
                {
                    applied.removed_text = true;
                    applied.events.push(self.changed(target.id));
                }
            }
            Body::Reaction { to, emoji } => {
                if let Some(target) = tx.message_by_uid(self.conversation, &to.0)?
                    && target.message.kind != MessageKind::Event
                    && target.deleted_at.is_none()
                {
                    let reaction = Reaction {
                        message: target.id,
                        user: self.sender.user.to_string(),
                        emoji: emoji.clone(),
                    };
                    if tx.add_reaction(self.conversation, &self.id.0, &reaction, sent_at)? {
                        applied.events.push(self.changed(target.id));
                    }
                }
            }
            Body::Unreact { reaction, .. } => {
                if let Some(found) = tx.reaction(self.conversation, &reaction.0)? {
                    if found.user != self.sender.user.as_str() {
                        applied.events.push(self.refused("withdraw", &found.user));
                    } else if tx.remove_reaction(self.conversation, &reaction.0)? {
                        applied.events.push(self.changed(found.message));
                    }
                }
            }
            Body::Status { read, delivered } => {
                self.read(tx, read, &mut applied)?;
                self.delivered(tx, delivered, &mut applied)?;
            }
            Body::Timer { seconds } => {
                tx.set_disappear_after(self.conversation, *seconds)?;
                let line = format!("{} {}", self.sender.user, timer_line(*seconds));
                applied.stored = self.line(tx, &line)?;
            }
            Body::Typing => {
                if self.origin != Origin::Here && self.sender.user != self.me.user {
                    applied.events.push(ClientEvent::Typing {
                        conversation: self.conversation,
                        user: self.sender.user.clone(),
                    });
                }
            }
        }
        Ok(applied)
    }

    /// Stores a message that shows in the conversation.
    fn store(
        &self,
        tx: &Tx<'_>,
        kind: MessageKind,
        body: &str,
        reply_to: Option<MimiId>,
        attachment: Option<Vec<u8>>,
    ) -> Result<Option<StoredMessage>> {
        let here = self.origin == Origin::Here;
        let message = NewMessage {
            conversation: self.conversation,
            uid: self.id.0.to_vec(),
            sender: self.sender.clone(),
            sent_at: self.message.sent_at.unwrap_or(self.now),
            received_at: (!here).then_some(self.now),
            body: body.to_owned(),
            state: if here {
                MessageState::Pending
            } else {
                MessageState::Received
            },
            server_seq: match self.origin {
                Origin::Received(seq) => seq,
                Origin::Here => None,
            },
            // Written by this user (here or on another of their devices): never unread.
            outgoing: self.sender.user == self.me.user,
            kind,
            reply_to: reply_to.map(|r| r.0.to_vec()),
            expires_at: self.message.expires.map(|e| {
                let secs = i64::from(e.time);
                if e.relative {
                    self.now.saturating_add(secs.saturating_mul(1000))
                } else {
                    secs.saturating_mul(1000)
                }
            }),
            attachment,
        };
        Ok(match tx.insert_message(&message)? {
            Some(id) => tx.message(id)?,
            None => None,
        })
    }

    /// A history line this message caused (a timer change), under a name derived from it.
    fn line(&self, tx: &Tx<'_>, text: &str) -> Result<Option<StoredMessage>> {
        let message = NewMessage::event(
            self.conversation,
            self.sender.clone(),
            &format!("content/{}", hex::encode(self.id.0)),
            text.to_owned(),
            self.message.sent_at.unwrap_or(self.now),
        );
        Ok(match tx.insert_message(&message)? {
            Some(id) => tx.message(id)?,
            None => None,
        })
    }

    /// The message an edit or delete names, if it is here and the sender wrote it; a
    /// message someone else wrote is refused (and said so).
    fn own_target(
        &self,
        tx: &Tx<'_>,
        target: &MimiId,
        what: &str,
        applied: &mut Applied,
    ) -> Result<Option<StoredMessage>> {
        let Some(target) = tx.message_by_uid(self.conversation, &target.0)? else {
            return Ok(None);
        };
        if target.message.kind == MessageKind::Event {
            return Ok(None);
        }
        if target.message.sender.user != self.sender.user {
            applied
                .events
                .push(self.refused(what, target.message.sender.user.as_str()));
            return Ok(None);
        }
        Ok(Some(target))
    }

    /// A read receipt: the newest named message here sets how far the sender has read. The
    /// user's own receipt (from another of their devices) marks the conversation read here.
    fn read(&self, tx: &Tx<'_>, messages: &[MimiId], applied: &mut Applied) -> Result<()> {
        let Some(up_to) = newest_here(tx, self.conversation, messages)? else {
            return Ok(());
        };
        if self.sender.user == self.me.user {
            tx.mark_read(self.conversation, up_to)?;
            tx.set_receipt_sent(self.conversation, up_to)?;
        } else if receipts_on(tx)? {
            tx.record_receipt(
                Receipt::Read,
                self.conversation,
                self.sender.user.as_str(),
                up_to,
            )?;
        }
        applied.events.push(ClientEvent::Receipts {
            conversation: self.conversation,
        });
        Ok(())
    }

    /// A delivery receipt: the newest named message here sets how far the sender has
    /// received. Shown whatever the read-receipt setting: like the server's own delivery, it
    /// says nothing about the reader.
    fn delivered(&self, tx: &Tx<'_>, messages: &[MimiId], applied: &mut Applied) -> Result<()> {
        let Some(up_to) = newest_here(tx, self.conversation, messages)? else {
            return Ok(());
        };
        if self.sender.user != self.me.user {
            tx.record_receipt(
                Receipt::Delivery,
                self.conversation,
                self.sender.user.as_str(),
                up_to,
            )?;
            applied.events.push(ClientEvent::Receipts {
                conversation: self.conversation,
            });
        }
        Ok(())
    }

    fn changed(&self, message: MessageId) -> ClientEvent {
        ClientEvent::MessageChanged {
            conversation: self.conversation,
            message,
        }
    }

    fn refused(&self, what: &str, author: &str) -> ClientEvent {
        ClientEvent::Error {
            message: format!(
                "{} tried to {what} something {author} wrote; ignored",
                self.sender.user
            ),
        }
    }
}

/// "set messages to disappear after 1 hour", "turned off disappearing messages".
pub(crate) fn timer_line(seconds: u32) -> String {
    if seconds == 0 {
        return "turned off disappearing messages".to_owned();
    }
    format!(
        "set messages to disappear after {}",
        crate::display::duration(u64::from(seconds))
    )
}

/// Removes the messages whose time is up, text, reactions, versions and search entries
/// alike, and says which went. Runs at open and every second while the client runs.
pub(crate) fn sweep_expired(store: &super::SharedStore, now: i64) -> Result<Vec<ClientEvent>> {
    let mut store = store.lock();
    let tx = store.transaction()?;
    if tx.next_expiry()?.is_none_or(|next| next > now) {
        return Ok(Vec::new());
    }
    let removed = tx.remove_expired(now)?;
    tx.scrub_search_index()?;
    tx.commit()?;
    let mut by_conversation: Vec<(ConversationId, Vec<MessageId>)> = Vec::new();
    for (conversation, message) in removed {
        match by_conversation.iter_mut().find(|(c, _)| *c == conversation) {
            Some((_, messages)) => messages.push(message),
            None => by_conversation.push((conversation, vec![message])),
        }
    }
    Ok(by_conversation
        .into_iter()
        .map(|(conversation, messages)| ClientEvent::MessagesRemoved {
            conversation,
            messages,
        })
        .collect())
}

/// The newest of `messages` that this device has, by local id.
fn newest_here(
    tx: &Tx<'_>,
    conversation: ConversationId,
    messages: &[MimiId],
) -> Result<Option<MessageId>> {
    let mut newest = None;
    for id in messages {
        if let Some(m) = tx.message_by_uid(conversation, &id.0)? {
            newest = newest.max(Some(m.id));
        }
    }
    Ok(newest)
}
