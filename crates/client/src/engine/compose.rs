//! Writing: what the user does (a text, a reply, a reaction, an edit, a delete, a receipt,
//! a timer) becomes MIMI content, takes effect in the store at once, and is queued for
//! sending, all in one transaction under the store lock alone: it is kept, and shown, even
//! while an operation holds the network. The caller then flushes the outbox.

use conclave_content::{Body, Expiration, ExternalPart, Message, MessageId as MimiId};
use conclave_protocol::Identity;
use conclave_storage::{ConversationId, MessageId, MessageKind, OutboxKind, StoredMessage, Tx};

use super::content::{Effect, Origin, receipts_on};
use super::{SharedStore, now_ms};
use crate::{ClientError, ClientEvent, Result};

/// Longest message text accepted (bytes).
pub(crate) const MAX_TEXT: usize = 64 * 1024;

/// What was queued.
pub(crate) struct Queued {
    /// The message stored for it, if it shows as one (text, attachment).
    pub(crate) stored: Option<StoredMessage>,
    /// What to tell the UI.
    pub(crate) events: Vec<ClientEvent>,
}

/// Something the user does to a conversation.
pub(crate) enum Action<'a> {
    /// Text, possibly answering a message.
    Text {
        text: &'a str,
        reply_to: Option<MessageId>,
    },
    /// Adds (or, with `remove`, withdraws) the user's reaction.
    React {
        to: MessageId,
        emoji: &'a str,
        remove: bool,
    },
    /// New text for one of the user's messages.
    Edit { message: MessageId, text: &'a str },
    /// Deletes one of the user's messages for everyone.
    Delete { message: MessageId },
    /// Sets the conversation's disappearing-message timer.
    Timer { seconds: u32 },
    /// A file already uploaded: where it is and how to decrypt it.
    File { file: Box<ExternalPart> },
}

/// Whether the user may write to the conversation now (a member, not an unanswered
/// invitation): checked before work that costs (an upload) as well as when queueing.
pub(crate) fn check_writable(store: &SharedStore, conversation: ConversationId) -> Result<()> {
    let c = store.lock().transaction()?.conversation(conversation)?;
    if c.left_at.is_some() {
        return Err(ClientError::NotAMember);
    }
    if c.request {
        return Err(ClientError::NotAccepted);
    }
    Ok(())
}

/// Stores and queues what the user does. Refuses, changing nothing, what the rules forbid:
/// empty or oversized text, editing or deleting someone else's message, a conversation
/// left or not yet accepted.
pub(crate) fn queue_action(
    store: &SharedStore,
    identity: &Identity,
    conversation: ConversationId,
    action: Action<'_>,
) -> Result<Queued> {
    let mut store = store.lock();
    let tx = store.transaction()?;
    let me = identity.member();
    let body = match action {
        Action::Text { text, reply_to } => Body::Text {
            text: checked_text(text)?.to_owned(),
            reply_to: reply_to
                .map(|m| target(&tx, conversation, m).map(|t| t.1))
                .transpose()?,
        },
        Action::React { to, emoji, remove } => {
            let (target, target_id) = target(&tx, conversation, to)?;
            let emoji = emoji.trim();
            if emoji.is_empty() || emoji.len() > conclave_content::message::MAX_REACTION_BYTES {
                return Err(ClientError::InvalidInput("a reaction is one emoji".into()));
            }
            if remove {
                let uid = tx
                    .reaction_uid(target.id, me.user.as_str(), emoji)?
                    .ok_or_else(|| {
                        ClientError::InvalidInput(format!("you have not reacted with {emoji}"))
                    })?;
                Body::Unreact {
                    reaction: mimi_id(&uid)?,
                    to: Some(target_id),
                }
            } else {
                Body::Reaction {
                    to: target_id,
                    emoji: emoji.to_owned(),
                }
            }
        }
        Action::Edit { message, text } => {
            let (target, target_id) = own(&tx, conversation, message, identity)?;
            if target.message.kind != MessageKind::Text {
                return Err(ClientError::InvalidInput("only text can be edited".into()));
            }
            Body::Edit {
                target: target_id,
                text: checked_text(text)?.to_owned(),
            }
        }
        Action::Delete { message } => Body::Delete {
            target: own(&tx, conversation, message, identity)?.1,
        },
        Action::Timer { seconds } => Body::Timer { seconds },
        Action::File { file } => Body::Attachment {
            reply_to: None,
            file,
        },
    };
    let queued = queue_body(&tx, identity, conversation, body)?;
    tx.commit()?;
    Ok(queued)
}

/// Marks a conversation read up to `up_to` and, when read receipts are on and someone
/// else's message is newly read, queues one receipt naming the newest such message (it
/// covers everything before it). Returns whether a receipt was queued.
pub(crate) fn mark_read(
    store: &SharedStore,
    identity: &Identity,
    conversation: ConversationId,
    up_to: MessageId,
) -> Result<bool> {
    let mut store = store.lock();
    let tx = store.transaction()?;
    tx.mark_read(conversation, up_to)?;
    let c = tx.conversation(conversation)?;
    let mut queued = false;
    if receipts_on(&tx)?
        && c.left_at.is_none()
        && !c.request
        && let Some((newest, uid)) = tx.newest_received_up_to(conversation, up_to)?
        && newest > tx.receipt_sent(conversation)?
        && let Ok(id) = mimi_id(&uid)
    {
        queue_body(
            &tx,
            identity,
            conversation,
            Body::Status {
                read: vec![id],
                delivered: Vec::new(),
            },
        )?;
        tx.set_receipt_sent(conversation, newest)?;
        queued = true;
    }
    tx.commit()?;
    Ok(queued)
}

/// Builds the content, applies it here and queues it, inside `tx`.
fn queue_body(
    tx: &Tx<'_>,
    identity: &Identity,
    conversation: ConversationId,
    body: Body,
) -> Result<Queued> {
    let c = tx.conversation(conversation)?;
    if c.left_at.is_some() {
        return Err(ClientError::NotAMember);
    }
    if c.request {
        return Err(ClientError::NotAccepted);
    }
    let now = now_ms();
    let shows = matches!(body, Body::Text { .. } | Body::Attachment { .. });
    let message = Message {
        sent_at: Some(now),
        expires: (shows && c.disappear_after > 0).then(|| Expiration {
            relative: false,
            time: u32::try_from(now / 1000 + i64::from(c.disappear_after)).unwrap_or(u32::MAX),
        }),
        body,
    };
    let me = identity.member();
    let (id, bytes) = conclave_content::write(&message, me.user.as_str(), c.group_id.as_bytes());
    let applied = Effect {
        conversation,
        sender: me,
        me,
        id,
        message: &message,
        origin: Origin::Here,
        now,
    }
    .apply(tx)?;
    if applied.removed_text {
        tx.scrub_search_index()?;
    }
    tx.enqueue(
        OutboxKind::Application,
        Some(conversation),
        applied.stored.as_ref().map(|m| m.id),
        &bytes,
        now,
    )?;
    let mut events = applied.events;
    if let Some(stored) = &applied.stored {
        events.push(ClientEvent::MessageReceived {
            conversation,
            message: stored.clone(),
        });
    }
    Ok(Queued {
        stored: applied.stored,
        events,
    })
}

fn checked_text(text: &str) -> Result<&str> {
    if text.trim().is_empty() {
        return Err(ClientError::InvalidInput("the message is empty".into()));
    }
    if text.len() > MAX_TEXT {
        return Err(ClientError::InvalidInput(format!(
            "the message is longer than {MAX_TEXT} bytes"
        )));
    }
    Ok(text)
}

/// A message of this conversation that can be answered, reacted to, edited or deleted (not
/// an event line), with its MIMI id.
fn target(
    tx: &Tx<'_>,
    conversation: ConversationId,
    message: MessageId,
) -> Result<(StoredMessage, MimiId)> {
    let stored = tx
        .message(message)?
        .filter(|m| m.message.conversation == conversation)
        .ok_or_else(|| ClientError::NoSuchMessage(message.0))?;
    if stored.message.kind == MessageKind::Event || stored.deleted_at.is_some() {
        return Err(ClientError::InvalidInput(
            "that line is not a message one can act on".into(),
        ));
    }
    let id = mimi_id(&stored.message.uid)?;
    Ok((stored, id))
}

/// [`target`], written by this user.
fn own(
    tx: &Tx<'_>,
    conversation: ConversationId,
    message: MessageId,
    identity: &Identity,
) -> Result<(StoredMessage, MimiId)> {
    let (stored, id) = target(tx, conversation, message)?;
    if stored.message.sender.user != identity.member().user {
        return Err(ClientError::NotAuthor);
    }
    Ok((stored, id))
}

pub(super) fn mimi_id(uid: &[u8]) -> Result<MimiId> {
    uid.try_into()
        .map(MimiId)
        .map_err(|_| ClientError::InvalidInput("that message has no MIMI id".into()))
}
