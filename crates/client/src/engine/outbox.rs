//! Sending: a message is stored as pending and queued in one transaction, then encrypted
//! and sent, with retries and backoff while the server cannot be reached.

use std::time::Duration;

use conclave_delivery_api::{Envelope, ErrorCode, MessageKind as WireKind};
use conclave_protocol::Error as MlsError;
use conclave_storage::{ConversationId, MessageId, MessageState, OutboxEntry, OutboxKind};

use super::{Engine, now_ms, other_members};
use crate::ds::Failure;
use crate::{ClientError, ClientEvent, Result};

impl Engine {
    /// Sends what the outbox holds, oldest first, stopping at the first entry not yet due
    /// or at a network failure. Returns how many were sent.
    pub(crate) async fn flush_outbox(&mut self) -> Result<usize> {
        let mut sent = 0;
        loop {
            let entries = self.store.lock().transaction()?.outbox(32)?;
            if entries.is_empty() {
                return Ok(sent);
            }
            let now = now_ms();
            for entry in entries {
                if entry.next_attempt_at > now {
                    return Ok(sent);
                }
                match entry.kind {
                    OutboxKind::Application => {
                        if self.send_application(entry).await? {
                            sent += 1;
                        }
                    }
                    // This client queues only application messages.
                    OutboxKind::Commit | OutboxKind::Proposal => {
                        let mut store = self.store.lock();
                        let tx = store.transaction()?;
                        tx.outbox_done(entry.id)?;
                        tx.commit()?;
                    }
                }
            }
        }
    }

    /// Whether an outbox entry is due now.
    pub(crate) fn outbox_due(&mut self) -> Result<bool> {
        let now = now_ms();
        Ok(self
            .store
            .lock()
            .transaction()?
            .outbox(1)?
            .first()
            .is_some_and(|e| e.next_attempt_at <= now))
    }

    /// Encrypts and sends one queued message. Each attempt encrypts anew in the current
    /// epoch (the ratchet step is committed before the bytes leave); receivers recognise a
    /// resend by the message id, so a message is shown once however often it was sent. The
    /// server takes messages for the group's current epoch only: when this device is behind
    /// it catches up and encrypts again.
    async fn send_application(&mut self, entry: OutboxEntry) -> Result<bool> {
        // Content that shows as no message of its own (a reaction, an edit, a receipt)
        // has no message row to settle.
        let message = entry.message;
        let Some(conversation) = entry.conversation else {
            let mut store = self.store.lock();
            let tx = store.transaction()?;
            tx.outbox_done(entry.id)?;
            tx.commit()?;
            return Ok(false);
        };
        let attempts = self.config.max_commit_attempts.max(1);
        let mut result = Err(Failure::StaleEpoch);
        for _ in 0..attempts {
            let envelope = match self.encrypt_entry(&entry, conversation, message)? {
                Ok(envelope) => envelope,
                Err(state) => return Ok(state == MessageState::Sent),
            };
            result = self.ds.send(&envelope).await;
            if !matches!(result, Err(Failure::StaleEpoch)) {
                break;
            }
            self.drain().await?;
        }
        if matches!(result, Err(Failure::StaleEpoch)) {
            // Still behind with nothing left to catch up on: maybe this device missed the
            // group's commits (restored from a backup). The rejoin checks, and does nothing
            // when the device is not behind.
            self.followups.push(super::FollowUp::Rejoin(conversation));
        }
        let backoff = self.backoff(entry.attempts);
        let mut store = self.store.lock();
        let tx = store.transaction()?;
        let state = match result {
            Ok(_) => {
                settle(&tx, message, MessageState::Sent)?;
                tx.outbox_done(entry.id)?;
                MessageState::Sent
            }
            Err(Failure::Client(e)) if e.is_offline() => {
                tx.outbox_retry(entry.id, now_ms() + backoff.as_millis() as i64)?;
                tx.commit()?;
                return Err(e);
            }
            // Busy server, a group changing faster than we catch up, or a member whose
            // queue is full until it reads (or is removed): later.
            Err(
                Failure::StaleEpoch
                | Failure::Client(ClientError::Server {
                    code: ErrorCode::RateLimited | ErrorCode::Internal | ErrorCode::QueueFull,
                    ..
                }),
            ) => {
                tx.outbox_retry(entry.id, now_ms() + backoff.as_millis() as i64)?;
                tx.commit()?;
                return Ok(false);
            }
            Err(Failure::Client(e)) => {
                tracing::warn!("message refused by the server: {e}");
                settle(&tx, message, MessageState::Failed)?;
                tx.outbox_done(entry.id)?;
                MessageState::Failed
            }
        };
        tx.commit()?;
        if let Some(message) = message {
            self.emit(vec![ClientEvent::MessageStateChanged {
                conversation,
                message,
                state,
            }]);
        }
        Ok(state == MessageState::Sent)
    }

    /// Encrypts an outbox entry for the current members, committing the ratchet step.
    /// `Err(state)` when the entry was settled without sending (the conversation was left:
    /// failed; nobody else in it: sent).
    fn encrypt_entry(
        &mut self,
        entry: &OutboxEntry,
        conversation: ConversationId,
        message: Option<MessageId>,
    ) -> Result<std::result::Result<Envelope, MessageState>> {
        let state = match self.seal(conversation, &entry.payload, Audience::Everyone)? {
            Sealed::Ready(envelope) => return Ok(Ok(*envelope)),
            Sealed::Left => MessageState::Failed,
            Sealed::Alone => MessageState::Sent,
        };
        let mut store = self.store.lock();
        let tx = store.transaction()?;
        settle(&tx, message, state)?;
        tx.outbox_done(entry.id)?;
        tx.commit()?;
        if let Some(message) = message {
            self.emit(vec![ClientEvent::MessageStateChanged {
                conversation,
                message,
                state,
            }]);
        }
        Ok(Err(state))
    }

    /// Sends content that is worth nothing later (typing): encrypted and sent now, or, when
    /// the server cannot take it at once, dropped. Never stored.
    pub(crate) async fn send_ephemeral(
        &mut self,
        conversation: ConversationId,
        payload: &[u8],
    ) -> Result<()> {
        if let Sealed::Ready(envelope) = self.seal(conversation, payload, Audience::Everyone)? {
            // A stale epoch or an unreachable server: the moment has passed.
            let _ = self.ds.send(&envelope).await;
        }
        Ok(())
    }

    /// Encrypts `payload` for the conversation's other members, or those of them in
    /// `audience`, committing the ratchet step.
    ///
    /// What only some members get still takes a step of this device's ratchet, so the
    /// others see its generation jump at the next message they do get, and refuse a jump
    /// beyond `maximum_forward_distance`. So at most a quarter of that goes to some members
    /// between two messages that reach all of them (counted per epoch, whose new ratchet
    /// starts from zero), and, since the count is lost with the process, the first message
    /// of a run goes to everyone.
    pub(super) fn seal(
        &mut self,
        conversation: ConversationId,
        payload: &[u8],
        audience: Audience<'_>,
    ) -> Result<Sealed> {
        let identity = self.identity.clone();
        let mut store = self.store.lock();
        let mut tx = store.transaction()?;
        let c = tx.conversation(conversation)?;
        if c.left_at.is_some() {
            return Ok(Sealed::Left);
        }
        let g = tx.group(&c.group_id)?;
        let epoch = g.group.epoch();
        let mut recipients = other_members(g.group, &identity)?;
        let limit = self.config.group.maximum_forward_distance / 4;
        let skipped = match (audience, self.skipped_by_some.get(&conversation)) {
            (Audience::Users(users), Some(&(at, skipped))) if at != epoch || skipped < limit => {
                let before = recipients.len();
                recipients.retain(|r| users.contains(&r.user));
                let skipped = if at == epoch { skipped } else { 0 };
                skipped + u32::from(recipients.len() < before)
            }
            _ => 0,
        };
        if recipients.is_empty() {
            return Ok(Sealed::Alone);
        }
        let ciphertext = match g.group.encrypt(&g.provider, &identity, payload) {
            Ok(c) => c,
            // A commit of ours awaits the server's verdict; the next sync settles it.
            Err(MlsError::CommitPending) => {
                return Err(ClientError::Offline {
                    server: self.ds.base().to_owned(),
                    reason: "a commit is still pending".into(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        tx.commit()?;
        self.skipped_by_some.insert(conversation, (epoch, skipped));
        Ok(Sealed::Ready(Box::new(Envelope {
            group_id: c.group_id.as_bytes().to_vec().into(),
            epoch,
            kind: WireKind::Application,
            recipients,
            message: ciphertext.into(),
            welcome: None,
            removed: Vec::new(),
            link_token: None,
        })))
    }

    fn backoff(&self, attempts: u32) -> Duration {
        let factor = 1u32 << attempts.min(16);
        (self.config.min_backoff * factor).min(self.config.max_backoff)
    }
}

/// Sets a queued message's state, if it has a message row.
fn settle(
    tx: &conclave_storage::Tx<'_>,
    message: Option<MessageId>,
    state: MessageState,
) -> Result<()> {
    if let Some(message) = message {
        tx.set_message_state(message, state, None)?;
    }
    Ok(())
}

/// Who an application message is for.
#[derive(Clone, Copy, Debug)]
pub(super) enum Audience<'a> {
    /// Every other member's device.
    Everyone,
    /// The devices of these users (others may get it too; see [`Engine::seal`]).
    Users(&'a [String]),
}

/// An application message encrypted for the conversation's members, or why there is none.
pub(super) enum Sealed {
    Ready(Box<Envelope>),
    /// This device left the conversation.
    Left,
    /// Nobody else is in it.
    Alone,
}
