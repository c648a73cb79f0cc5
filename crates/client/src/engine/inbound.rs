//! What arrives: the device's queue fetched after the cursor, each item applied with the
//! cursor in one transaction, and the work that processing asks for afterwards.

use std::collections::HashSet;

use conclave_delivery_api::{MessageKind as WireKind, QueueItem};
use conclave_protocol::{
    Error as MlsError, GroupEvent, GroupId, LeafCheck, LeafRefusal, MemberId, ProposalSummary,
    UserName,
};
use conclave_storage::ConversationId;

use super::apply::{Apply, Outcome};
use super::{Engine, FollowUp, Op, PolicyChange, is_me, now_ms};
use crate::{ClientError, ClientEvent, Result};

/// Queue items fetched per request.
const PAGE: u32 = 100;
/// Users looked up per directory request.
const DIRECTORY_BATCH: usize = 1000;

impl Engine {
    /// Fetches and processes everything queued for this device, then does what processing
    /// asked for (committing a member's leave, renewing our own). Returns how many items
    /// were processed.
    pub(crate) async fn sync(&mut self) -> Result<usize> {
        self.ensure_registered().await?;
        let processed = self.drain().await?;
        self.run_followups().await?;
        self.publish_owed_group_infos().await?;
        self.commit_overdue_leaves().await?;
        self.report_deliveries().await?;
        self.top_up_if_due().await?;
        Ok(processed)
    }

    /// The sequence number of the last queue item applied.
    pub(crate) fn cursor(&self) -> Result<u64> {
        Ok(self.store.lock().transaction()?.cursor(self.ds.base())?)
    }

    /// Processes the queue until it is empty. Each item is applied together with the cursor
    /// in one transaction, then acknowledged.
    pub(crate) async fn drain(&mut self) -> Result<usize> {
        let mut processed = 0;
        loop {
            let cursor = self.cursor()?;
            let page = match self.ds.fetch(cursor, PAGE).await {
                Ok(page) => page,
                Err(ClientError::Revoked) => {
                    self.forget_after_revocation()?;
                    return Err(ClientError::Revoked);
                }
                Err(e) => return Err(e),
            };
            let Some(last) = page.items.last().map(|i| i.seq) else {
                break;
            };
            for item in page.items {
                if item.seq <= cursor {
                    continue;
                }
                self.process_item_checked(&item).await?;
                processed += 1;
            }
            // The items are applied. Before the server may delete them they must survive a
            // power loss too, not only a crash (the profile commits with
            // `synchronous = NORMAL`); without that, acknowledging is skipped and retried
            // with the next page.
            let synced = self.store.lock().sync();
            match synced {
                Ok(()) => {
                    if let Err(e) = self.ds.ack(last).await {
                        tracing::debug!("ack failed: {e}");
                    }
                }
                Err(e) => tracing::warn!("not acknowledging: the profile did not sync: {e}"),
            }
            if !page.more {
                break;
            }
        }
        self.settle_pending_commits()?;
        Ok(processed)
    }

    /// With the queue drained and no operation in flight, a commit still pending was never
    /// accepted (its echo would have merged it): drop it.
    fn settle_pending_commits(&mut self) -> Result<()> {
        let mut store = self.store.lock();
        let mut tx = store.transaction()?;
        let conversations = tx.conversation_list()?;
        let mut changed = false;
        for c in conversations {
            if c.left_at.is_some() {
                continue;
            }
            let Ok(g) = tx.group(&c.group_id) else {
                continue;
            };
            if g.group.has_pending_commit() {
                g.group.discard_pending_commit(&g.provider)?;
                changed = true;
            }
        }
        if changed {
            tx.commit()?;
        }
        Ok(())
    }

    /// Applies one item, first looking up in the directory the users whose new leaves it
    /// brings in and this device does not know yet (the item is then applied again: its
    /// first attempt rolled back).
    async fn process_item_checked(&mut self, item: &QueueItem) -> Result<()> {
        self.directory.start_item();
        // One lookup covers every user the item names; a second could only follow a
        // server that answered for other users than asked.
        for _ in 0..2 {
            let lookup = self.process_item(item)?;
            if lookup.is_empty() {
                self.send_rejections().await;
                self.send_rejoin_answers().await;
                return Ok(());
            }
            let users: Vec<UserName> = lookup
                .into_iter()
                .map(|m| m.user)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            // In requests the server takes (its recipient limit is 10,000 by default).
            for batch in users.chunks(DIRECTORY_BATCH) {
                let response = self.ds.directory(batch).await?;
                self.directory.learn(batch, response);
            }
        }
        Err(ClientError::BadResponse(
            "the directory did not answer for the users asked".into(),
        ))
    }

    /// Tells the server of the commits this device refused (see [`Outcome::refused`]); one
    /// that cannot be sent now is sent after the next item.
    async fn send_rejections(&mut self) {
        for (group, epoch) in std::mem::take(&mut self.rejections) {
            match self.ds.reject(&group, epoch).await {
                Ok(r) => tracing::info!(
                    "refused the commit of epoch {epoch} ({} of {} members so far; the group is at {})",
                    r.votes,
                    r.voters,
                    r.epoch
                ),
                Err(e) if e.is_offline() => self.rejections.push((group, epoch)),
                Err(e) => tracing::warn!("the server took no refusal of epoch {epoch}: {e}"),
            }
        }
    }

    /// Applies one item with the cursor, or returns the members to look up first (and
    /// changes nothing).
    fn process_item(&mut self, item: &QueueItem) -> Result<Vec<MemberId>> {
        let me = self.identity.member().clone();
        let mut store = self.store.lock();
        let mut tx = store.transaction()?;
        let mut apply = Apply::new(&mut tx, &me, now_ms());
        let directory = &self.directory;
        let leaves = |member: &MemberId, key: &[u8]| directory.verdict(member, key);
        let keep = match item.kind {
            WireKind::Welcome => apply.join_from_welcome(&self.config.group, item, &leaves)?,
            WireKind::RejoinAsk => {
                self.answer_rejoin_ask(&mut apply, item);
                true
            }
            WireKind::RejoinKey => {
                self.take_rejoin_key(&mut apply, item)?;
                true
            }
            WireKind::JoinRequest => {
                self.join_requested(&mut apply, item)?;
                true
            }
            WireKind::Commit | WireKind::Proposal | WireKind::Application => {
                self.process_group_item(&mut apply, item, &leaves)?;
                true
            }
        };
        let mut outcome = apply.finish();
        if !outcome.lookup.is_empty() {
            return Ok(std::mem::take(&mut outcome.lookup)); // `tx` rolls back
        }
        if !keep {
            // Nothing of the join may stay; only the cursor moves.
            drop(tx);
            tx = store.transaction()?;
        }
        tx.advance_cursor(self.ds.base(), item.seq)?;
        tx.commit()?;
        drop(store);
        self.finish(outcome);
        Ok(Vec::new())
    }

    /// A commit, proposal or application message for a group this device may be in.
    fn process_group_item(
        &self,
        apply: &mut Apply<'_, '_>,
        item: &QueueItem,
        leaves: &impl LeafCheck,
    ) -> Result<()> {
        let group_id = GroupId::from_bytes(item.group_id.0.clone());
        let Some(conversation) = apply.tx.conversation_by_group(&group_id)? else {
            return Ok(()); // a group we never joined or have forgotten
        };
        if conversation.left_at.is_some() {
            return Ok(());
        }
        let g = match apply.tx.group(&group_id) {
            Ok(g) => g,
            // Its state is gone or damaged: the way back is a rejoin.
            Err(e) => {
                tracing::warn!("the state of \"{}\" cannot be read: {e}", conversation.name);
                apply
                    .outcome
                    .followups
                    .push(FollowUp::Rejoin(conversation.id));
                return Ok(());
            }
        };
        let mine = is_me(&self.identity, &item.sender);
        // Our own items matter only as the echo of a commit still pending, which merges it;
        // anything else of ours is applied already.
        if mine && !g.group.has_pending_commit() {
            return Ok(());
        }
        let leaving = g
            .group
            .pending_proposals()
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.leaving_member().cloned())
            .collect();
        match g
            .group
            .process_checked(&g.provider, &item.message.0, leaves)
        {
            Ok(events) => {
                // Only a member's own leave is committed on its behalf; any other proposal
                // from a member is dropped, so no commit of this device applies it in the
                // name of someone who never committed it (`apply` records it in history).
                let me = self.identity.member();
                let foreign = events.iter().any(|e| {
                    matches!(e, GroupEvent::ProposalStored { by, proposal }
                        if by != me && *proposal != ProposalSummary::Remove(by.clone()))
                });
                if foreign {
                    g.group.discard_proposals(&g.provider, |p| {
                        p.by.as_ref() == Some(me) || p.leaving_member().is_some()
                    })?;
                }
                apply.events(conversation.id, &group_id, events, &leaving, Some(item.seq))?;
            }
            Err(MlsError::LeavesUnknown(members)) => apply.outcome.lookup = members,
            Err(MlsError::LeafRefused(refusal)) => {
                let LeafRefusal { member, by, reason } = *refusal;
                let line =
                    format!("{by}'s change was refused: it brought in {member}, but {reason}");
                apply.refuse(&conversation, &group_id, item, &by, &line)?;
            }
            // The same verdict on the same data for every honest member: refused like a
            // refused leaf (the server rewinds once most have told it).
            Err(MlsError::PolicyRefused(refusal)) => {
                let line = MlsError::PolicyRefused(refusal.clone()).to_string();
                apply.refuse(&conversation, &group_id, item, &refusal.by, &line)?;
            }
            Err(MlsError::JoinRefused { by, reason }) => {
                let line = format!("{by}'s join was refused: {reason}");
                apply.refuse(&conversation, &group_id, item, &by, &line)?;
            }
            // Delivered twice, or our own commit's echo after merging: nothing to do.
            Err(MlsError::AlreadyProcessed | MlsError::StaleEpoch { .. }) if mine => {}
            Err(MlsError::AlreadyProcessed) => {}
            // From before this device's (re)join, or a refused epoch: what it missed.
            Err(MlsError::StaleEpoch { .. }) => {
                tracing::debug!(
                    "an item of a past epoch of \"{}\" skipped",
                    conversation.name
                );
            }
            // The group is ahead of this device, which missed its commits (expired at the
            // server, or restored from a backup): rejoin.
            Err(MlsError::FutureEpoch { .. }) => {
                apply
                    .outcome
                    .followups
                    .push(FollowUp::Rejoin(conversation.id));
            }
            // A commit this device cannot process: refused at the server (a commit no honest
            // member can process is undone once most have said so, and costs the group a
            // delay), and a rejoin scheduled, for when the group went on with it all the
            // same (it was this device that could not read it); the rejoin does nothing
            // once the server went back.
            Err(e) if item.kind == WireKind::Commit && !mine => {
                // The server's word names the sender in the line; nothing is decided by it.
                let sender = UserName::new(&item.sender.user).and_then(|user| {
                    Ok(MemberId::new(
                        user,
                        conclave_protocol::DeviceId::new(&item.sender.device)?,
                    ))
                });
                let line = format!(
                    "a change (epoch {}) could not be processed: {e}",
                    item.epoch
                );
                match sender {
                    Ok(sender) => apply.refuse(&conversation, &group_id, item, &sender, &line)?,
                    Err(_) => apply.outcome.refused.push((group_id.clone(), item.epoch)),
                }
                apply
                    .outcome
                    .followups
                    .push(FollowUp::Rejoin(conversation.id));
            }
            Err(e) => {
                apply.outcome.events.push(ClientEvent::Error {
                    message: format!(
                        "a message from {}/{} in \"{}\" could not be read: {e}",
                        item.sender.user, item.sender.device, conversation.name
                    ),
                });
                // A message of the current epoch this device cannot decrypt: maybe its
                // state forked off the group's. The rejoin compares with the group's info
                // and does nothing when the state is the group's.
                if matches!(e, MlsError::Undecryptable(_)) {
                    apply
                        .outcome
                        .followups
                        .push(FollowUp::Rejoin(conversation.id));
                }
            }
        }
        Ok(())
    }

    /// Takes on what a committed transaction found: its events go out, its follow-ups wait.
    pub(super) fn finish(&mut self, outcome: Outcome) {
        self.followups.extend(outcome.followups);
        self.rejections.extend(outcome.refused);
        self.rejoin_answers.extend(outcome.rejoin_answers);
        self.emit(outcome.events);
    }

    async fn run_followups(&mut self) -> Result<()> {
        // Bounded: a follow-up's own sync may find more, which wait for the next sync.
        let followups = std::mem::take(&mut self.followups);
        let mut seen = HashSet::new();
        for followup in followups {
            if !seen.insert(followup) {
                continue;
            }
            let result = match followup {
                FollowUp::CommitProposals(conversation) => {
                    if self.designated_committer(conversation)? {
                        self.commit_op(conversation, Op::CommitProposals).await
                    } else {
                        self.leaves_waiting
                            .entry(conversation)
                            .or_insert_with(std::time::Instant::now);
                        Ok(())
                    }
                }
                FollowUp::Leave(conversation) => self.propose_leave(conversation).await,
                FollowUp::Succession(conversation) => {
                    self.commit_op(conversation, Op::Policy(PolicyChange::Succession))
                        .await
                }
                FollowUp::Rejoin(conversation) => match self.rejoin(conversation).await {
                    Err(e) if !e.is_offline() => {
                        self.emit(vec![ClientEvent::RejoinNeeded {
                            conversation,
                            reason: e.to_string(),
                            asked: matches!(e, ClientError::RejoinAsked),
                        }]);
                        Ok(())
                    }
                    other => other,
                },
            };
            match result {
                Ok(()) | Err(ClientError::NotAMember) => {}
                Err(e) if e.is_offline() => return Err(e),
                Err(e) => self.emit(vec![ClientEvent::Error {
                    message: e.to_string(),
                }]),
            }
        }
        Ok(())
    }

    /// Commits the requests to leave that the designated committer has left standing for
    /// longer than [`crate::ClientConfig::leave_commit_delay`] (it is offline, say). Several
    /// members may then try at once; one commit wins and the others find nothing left.
    async fn commit_overdue_leaves(&mut self) -> Result<()> {
        let delay = self.config.leave_commit_delay;
        let overdue: Vec<ConversationId> = self
            .leaves_waiting
            .iter()
            .filter(|(_, since)| since.elapsed() >= delay)
            .map(|(conversation, _)| *conversation)
            .collect();
        for conversation in overdue {
            let c = self
                .store
                .lock()
                .transaction()?
                .conversation(conversation)?;
            // Not while this device asks to leave itself (a member cannot commit its own
            // removal), nor in a group not accepted yet.
            if c.left_at.is_some() || c.leave_requested || c.request {
                self.leaves_waiting.remove(&conversation);
                continue;
            }
            match self.commit_op(conversation, Op::CommitProposals).await {
                Ok(()) | Err(ClientError::NotAMember) => {}
                Err(e) if e.is_offline() => return Err(e),
                Err(e) => self.emit(vec![ClientEvent::Error {
                    message: e.to_string(),
                }]),
            }
            self.leaves_waiting.remove(&conversation);
        }
        Ok(())
    }

    /// Whether this device commits the stored proposals of a group: the member with the
    /// lowest leaf index among those not proposing their own removal. Everyone else's next
    /// commit includes them anyway.
    fn designated_committer(&mut self, conversation: ConversationId) -> Result<bool> {
        let mut store = self.store.lock();
        let mut tx = store.transaction()?;
        let c = tx.conversation(conversation)?;
        if c.left_at.is_some() || c.leave_requested || c.request {
            return Ok(false);
        }
        let g = tx.group(&c.group_id)?;
        let proposals = g.group.pending_proposals()?;
        if proposals.is_empty() {
            return Ok(false);
        }
        let removed: HashSet<_> = proposals
            .iter()
            .filter_map(|p| match &p.proposal {
                conclave_protocol::ProposalSummary::Remove(member) => Some(member),
                _ => None,
            })
            .collect();
        let first = g
            .group
            .members()?
            .into_iter()
            .filter(|m| !removed.contains(&m.id))
            .map(|m| m.leaf_index)
            .min();
        Ok(first == Some(g.group.own_leaf_index()))
    }
}
