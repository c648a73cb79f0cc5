//! Delivery receipts: after a sync, each conversation's new messages are reported received
//! (a MIMI status report, "delivered") to their authors' devices, not to the whole group.
//!
//! A receipt to everyone would make every message in a group of N cost N more messages to
//! N devices each; one to the authors costs one message per author. What was reported is
//! kept per conversation (`delivery_sent`) in the store, so a report that could not be sent
//! goes with the next sync, and nothing is reported twice. Pending invitations are not
//! reported until accepted: a receipt would tell a stranger this device is alive.

use conclave_content::{Body, Message};
use conclave_storage::Undelivered;

use super::compose::mimi_id;
use super::outbox::{Audience, Sealed};
use super::{Engine, now_ms};
use crate::Result;

impl Engine {
    /// Sends the delivery receipts due. A conversation whose receipt cannot go now (the
    /// server unreachable, a commit pending) keeps it for the next sync.
    pub(crate) async fn report_deliveries(&mut self) -> Result<()> {
        let me = self.identity.member().user.to_string();
        let due = self.store.lock().transaction()?.undelivered(&me)?;
        for receipt in by_conversation(due) {
            if let Err(e) = self.report(&me, &receipt).await {
                tracing::debug!(
                    "delivery receipt for conversation {} kept for later: {e}",
                    receipt[0].conversation.0
                );
            }
        }
        Ok(())
    }

    /// One conversation's receipt: the newest message of each author, to those authors.
    async fn report(&mut self, me: &str, receipt: &[Undelivered]) -> Result<()> {
        let conversation = receipt[0].conversation;
        let group_id = self
            .store
            .lock()
            .transaction()?
            .conversation(conversation)?
            .group_id;
        let message = Message {
            sent_at: Some(now_ms()),
            expires: None,
            body: Body::Status {
                read: Vec::new(),
                delivered: receipt
                    .iter()
                    .filter_map(|r| mimi_id(&r.uid).ok())
                    .collect(),
            },
        };
        let (_, payload) = conclave_content::write(&message, me, group_id.as_bytes());
        let authors: Vec<String> = receipt.iter().map(|r| r.author.clone()).collect();
        if let Sealed::Ready(envelope) =
            self.seal(conversation, &payload, Audience::Users(&authors))?
        {
            // A stale epoch too waits for the next sync, which brings the commit.
            self.ds
                .send(&envelope)
                .await
                .map_err(crate::ds::Failure::into_error)?;
        }
        let newest = receipt.iter().map(|r| r.newest).max();
        if let Some(newest) = newest {
            let mut store = self.store.lock();
            let tx = store.transaction()?;
            tx.set_delivery_sent(conversation, newest)?;
            tx.commit()?;
        }
        Ok(())
    }
}

/// The rows (ordered by conversation) split into one receipt per conversation.
fn by_conversation(rows: Vec<Undelivered>) -> Vec<Vec<Undelivered>> {
    let mut out: Vec<Vec<Undelivered>> = Vec::new();
    for row in rows {
        match out.last_mut() {
            Some(last) if last[0].conversation == row.conversation => last.push(row),
            _ => out.push(vec![row]),
        }
    }
    out
}
