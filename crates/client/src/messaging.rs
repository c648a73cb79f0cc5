//! [`Client`]'s operations on messages: send, reply, react, edit, delete, disappearing
//! timers, read receipts, and what is shown around each message.
//!
//! Each is stored and takes effect here first, in one transaction with its outbox entry
//! (it survives a restart and shows at once), then is sent; while the server is unreachable
//! it waits in the outbox and is retried with backoff by [`Client::start`]'s background work
//! or the next [`Client::sync`].

use conclave_storage::{ConversationId, MessageId, MessageVersion};

use crate::engine::{
    Action, Annotations, RECEIPTS, check_writable, mark_read, queue_action, sweep_expired,
};
use crate::{Client, ClientError, Result};

impl Client {
    /// Sends a text message. Returns its id at once, sent or not.
    pub async fn send_text(&self, conversation: ConversationId, text: &str) -> Result<MessageId> {
        self.act(
            conversation,
            Action::Text {
                text,
                reply_to: None,
            },
        )
        .await
    }

    /// Sends a text answering `to` (a message of the conversation).
    pub async fn reply(
        &self,
        conversation: ConversationId,
        to: MessageId,
        text: &str,
    ) -> Result<MessageId> {
        self.act(
            conversation,
            Action::Text {
                text,
                reply_to: Some(to),
            },
        )
        .await
    }

    /// Reacts to a message with an emoji.
    pub async fn react(
        &self,
        conversation: ConversationId,
        to: MessageId,
        emoji: &str,
    ) -> Result<()> {
        self.act_quietly(
            conversation,
            Action::React {
                to,
                emoji,
                remove: false,
            },
        )
        .await
    }

    /// Withdraws the user's reaction `emoji` from a message.
    pub async fn unreact(
        &self,
        conversation: ConversationId,
        to: MessageId,
        emoji: &str,
    ) -> Result<()> {
        self.act_quietly(
            conversation,
            Action::React {
                to,
                emoji,
                remove: true,
            },
        )
        .await
    }

    /// Gives one of the user's messages new text, for everyone; its earlier texts stay
    /// readable ([`Client::versions`]). [`ClientError::NotAuthor`] for someone else's.
    pub async fn edit(
        &self,
        conversation: ConversationId,
        message: MessageId,
        text: &str,
    ) -> Result<()> {
        self.act_quietly(conversation, Action::Edit { message, text })
            .await
    }

    /// Deletes one of the user's messages for everyone: its text, earlier versions and
    /// reactions leave every member's store and search index. [`ClientError::NotAuthor`]
    /// for someone else's.
    pub async fn delete(&self, conversation: ConversationId, message: MessageId) -> Result<()> {
        self.act_quietly(conversation, Action::Delete { message })
            .await
    }

    /// Sets how long new messages of the conversation live, for every member (0: they
    /// stay). Each member's client deletes a message when its time is up.
    pub async fn set_disappearing(&self, conversation: ConversationId, seconds: u32) -> Result<()> {
        self.act_quietly(conversation, Action::Timer { seconds })
            .await
    }

    /// Marks messages up to `up_to` read and, with read receipts on, tells the others (one
    /// receipt for the newest message read; it covers those before it).
    pub async fn mark_read(&self, conversation: ConversationId, up_to: MessageId) -> Result<()> {
        let inner = self.inner();
        if mark_read(&inner.store, &inner.identity, conversation, up_to)? {
            self.flush().await?;
        }
        Ok(())
    }

    /// Tells the others the user is typing: sent now if the server takes it, else dropped;
    /// never stored, here or there. Callers send it at most every few seconds while the
    /// user types (the app: every 4 s).
    pub async fn send_typing(&self, conversation: ConversationId) -> Result<()> {
        let inner = self.inner();
        check_writable(&inner.store, conversation)?;
        let group = inner.read.conversation(conversation)?.group_id;
        let message = conclave_content::Message {
            sent_at: Some(crate::engine::now_ms()),
            expires: None,
            body: conclave_content::Body::Typing,
        };
        let (_, bytes) =
            conclave_content::write(&message, self.me().user.as_str(), group.as_bytes());
        inner
            .engine
            .lock()
            .await
            .send_ephemeral(conversation, &bytes)
            .await
    }

    /// Turns read receipts on or off: off, none are sent and none are shown.
    pub async fn set_read_receipts(&self, on: bool) -> Result<()> {
        let mut store = self.inner().store.lock();
        let tx = store.transaction()?;
        tx.set_setting(RECEIPTS, if on { "on" } else { "off" })?;
        tx.commit()?;
        Ok(())
    }

    /// Whether read receipts are on (the default).
    pub async fn read_receipts(&self) -> Result<bool> {
        self.inner().read.read_receipts_on()
    }

    /// What is shown around these messages of a conversation: reactions, who read them,
    /// the message each answers.
    pub async fn annotations(
        &self,
        conversation: ConversationId,
        messages: &[conclave_storage::StoredMessage],
    ) -> Result<Vec<Annotations>> {
        self.inner().read.annotations(conversation, messages)
    }

    /// A message's earlier texts, oldest first (empty unless it was edited).
    pub async fn versions(&self, message: MessageId) -> Result<Vec<MessageVersion>> {
        self.inner().read.versions(message)
    }

    /// Deletes the messages whose time is up (also run by [`Client::start`]'s background
    /// work every second, and at open). Returns how many went.
    pub async fn remove_expired(&self) -> Result<usize> {
        let events = sweep_expired(&self.inner().store, crate::engine::now_ms())?;
        let mut removed = 0;
        for event in events {
            if let crate::ClientEvent::MessagesRemoved { messages, .. } = &event {
                removed += messages.len();
            }
            self.emit(event);
        }
        Ok(removed)
    }

    async fn act(&self, conversation: ConversationId, action: Action<'_>) -> Result<MessageId> {
        let inner = self.inner();
        let queued = queue_action(&inner.store, &inner.identity, conversation, action)?;
        let id = queued.stored.as_ref().map(|m| m.id);
        for event in queued.events {
            self.emit(event);
        }
        self.flush().await?;
        id.ok_or_else(|| ClientError::InvalidInput("nothing was stored".into()))
    }

    async fn act_quietly(&self, conversation: ConversationId, action: Action<'_>) -> Result<()> {
        let inner = self.inner();
        let queued = queue_action(&inner.store, &inner.identity, conversation, action)?;
        for event in queued.events {
            self.emit(event);
        }
        self.flush().await
    }

    /// Sends what the outbox holds now; an unreachable server leaves it for later.
    async fn flush(&self) -> Result<()> {
        let mut engine = self.inner().engine.lock().await;
        match engine.flush_outbox().await {
            Ok(_) => Ok(()),
            Err(e) if e.is_offline() => Ok(()),
            Err(e) => Err(e),
        }
    }
}
