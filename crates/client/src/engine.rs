//! The engine: one profile store, one identity, one server. Every method runs with the
//! client's operation lock held, so a commit in flight and a sync never interleave.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use conclave_delivery::api::{
    ClaimRequest, ClaimResponse, DeviceInfo, DeviceRef, Envelope, ErrorCode, KeyPackageStock,
    MessageKind as WireKind, PublishKeyPackages, QueueItem, QueuePage, RegisterRequest,
    SendResponse, WelcomeEnvelope,
};
use conclave_protocol::{
    Error as MlsError, Group, GroupEvent, GroupId, Identity, MemberId, MemberInfo, SafetyNumber,
    UserName,
};
use conclave_storage::{
    ConversationId, DeviceTrust, MessageId, MessageKind, MessageState, NewMessage, OutboxEntry,
    OutboxKind, Store, Tx,
};
use tokio::sync::broadcast;

use crate::content::{Body, Content};
use crate::ds::{Ds, Failure};
use crate::{ClientConfig, ClientError, ClientEvent, Result};

/// Setting: the device is registered at the server.
const REGISTERED: &str = "registered";
/// How often the key-package stock is checked.
const STOCK_CHECK: Duration = Duration::from_secs(600);
/// Longest message text accepted (bytes).
pub(crate) const MAX_TEXT: usize = 64 * 1024;

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A group-changing operation, redone on a newer epoch when another member's commit wins.
pub(crate) enum Op {
    /// Add these devices (key packages already claimed).
    Invite(Vec<ClaimedDevice>),
    Remove(UserName),
    Rename(String),
    Update,
    CommitProposals,
}

/// A device to add and its key package.
#[derive(Clone)]
pub(crate) struct ClaimedDevice {
    pub(crate) member: DeviceRef,
    pub(crate) key_package: Vec<u8>,
}

/// Work found while processing that must wait until the queue is drained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum FollowUp {
    /// Someone proposed (a leave): commit it if this device is the one to.
    CommitProposals(ConversationId),
    /// Our leave proposal was made obsolete by a commit: propose again.
    Leave(ConversationId),
}

/// A member as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Who.
    pub id: MemberId,
    /// Its key fingerprint (30 digits).
    pub fingerprint: String,
    /// The safety number between this device and it (60 digits).
    pub safety_number: String,
    /// Whether the user verified this device's key.
    pub verified: bool,
    /// Whether it is this device.
    pub is_me: bool,
}

/// A conversation's security state, for a security panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityInfo {
    /// The MLS ciphersuite.
    pub ciphersuite: String,
    /// The current epoch (one per commit).
    pub epoch: u64,
    /// The epoch authenticator (hex): equal on every member's screen iff they agree on the
    /// group's state.
    pub epoch_authenticator: String,
    /// When this device last rotated its keys here (ms; 0: at join).
    pub last_rotation: i64,
    /// How many devices are members.
    pub members: usize,
}

pub(crate) struct Engine {
    pub(crate) store: Store,
    pub(crate) identity: Arc<Identity>,
    pub(crate) config: ClientConfig,
    pub(crate) ds: Ds,
    pub(crate) events: broadcast::Sender<ClientEvent>,
    followups: Vec<FollowUp>,
    last_stock_check: Option<Instant>,
}

/// What processing found, applied after the transaction commits.
#[derive(Default)]
struct Outcome {
    events: Vec<ClientEvent>,
    followups: Vec<FollowUp>,
}

fn device_ref(member: &MemberId) -> DeviceRef {
    DeviceRef {
        user: member.user.to_string(),
        device: member.device.to_string(),
    }
}

/// Every member's device but this one: the recipients of what this device sends.
fn other_members(group: &Group, identity: &Identity) -> Result<Vec<DeviceRef>> {
    Ok(group
        .members()?
        .iter()
        .filter(|m| m.id != *identity.member())
        .map(|m| device_ref(&m.id))
        .collect())
}

fn is_me(identity: &Identity, user: &str, device: &str) -> bool {
    let me = identity.member();
    me.user.as_str() == user && me.device.as_str() == device
}

impl Engine {
    pub(crate) fn new(
        store: Store,
        identity: Arc<Identity>,
        config: ClientConfig,
        ds: Ds,
        events: broadcast::Sender<ClientEvent>,
    ) -> Self {
        Self {
            store,
            identity,
            config,
            ds,
            events,
            followups: Vec::new(),
            last_stock_check: None,
        }
    }

    fn emit(&self, events: Vec<ClientEvent>) {
        for event in events {
            // Nobody listening is fine.
            let _ = self.events.send(event);
        }
    }

    fn server(&self) -> String {
        self.ds.base().to_owned()
    }

    // ------------------------------------------------------------------ registration

    /// Registers this device unless that is already recorded. A crash after the server
    /// registered us but before we recorded it is recognised: the server then accepts our
    /// signature.
    pub(crate) async fn ensure_registered(&mut self) -> Result<()> {
        {
            let tx = self.store.transaction()?;
            if tx.setting(REGISTERED)?.as_deref() == Some("1") {
                return Ok(());
            }
        }
        let request = RegisterRequest {
            signature_key: self.identity.signature_public_key().to_vec().into(),
            ciphersuite: self.identity.ciphersuite().code_point(),
        };
        match self
            .ds
            .request::<DeviceInfo>("POST", "/v1/register", Some(&request))
            .await
        {
            Ok(_) => {}
            Err(ClientError::Server {
                code: ErrorCode::NameTaken,
                ..
            }) => {
                // Ours (registered before a crash) if the server accepts our signature.
                match self
                    .ds
                    .request::<KeyPackageStock>("GET", "/v1/key-packages/stock", None::<&()>)
                    .await
                {
                    Ok(_) => {}
                    Err(ClientError::Server {
                        code: ErrorCode::Unauthorized,
                        ..
                    }) => {
                        return Err(ClientError::NameTaken(
                            self.identity.member().user.to_string(),
                        ));
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
        let tx = self.store.transaction()?;
        tx.set_setting(REGISTERED, "1")?;
        tx.commit()?;
        Ok(())
    }

    /// Keeps the server's stock of this device's key packages at the configured level.
    pub(crate) async fn top_up_key_packages(&mut self) -> Result<u32> {
        let stock: KeyPackageStock = self
            .ds
            .request("GET", "/v1/key-packages/stock", None::<&()>)
            .await?;
        self.last_stock_check = Some(Instant::now());
        let target = self.config.key_package_stock;
        if stock.available * 2 >= target && stock.has_last_resort {
            return Ok(0);
        }
        let count = target.saturating_sub(stock.available);
        // The private keys are stored before the packages are published: a Welcome for a
        // published package always finds its key.
        let (packages, last_resort) = {
            let tx = self.store.transaction()?;
            let provider = tx.provider();
            let packages =
                self.identity
                    .key_packages(&provider, &self.config.group, count as usize)?;
            let last_resort = if stock.has_last_resort {
                None
            } else {
                Some(
                    self.identity
                        .last_resort_key_package(&provider, &self.config.group)?,
                )
            };
            tx.commit()?;
            (packages, last_resort)
        };
        let body = PublishKeyPackages {
            key_packages: packages.into_iter().map(|p| p.bytes.into()).collect(),
            last_resort: last_resort.map(|p| p.bytes.into()),
        };
        self.ds
            .request::<KeyPackageStock>("POST", "/v1/key-packages", Some(&body))
            .await?;
        Ok(count)
    }

    async fn top_up_if_due(&mut self) -> Result<()> {
        let due = self
            .last_stock_check
            .is_none_or(|t| t.elapsed() >= STOCK_CHECK);
        if due {
            self.top_up_key_packages().await?;
        }
        Ok(())
    }

    // ------------------------------------------------------------------ sync

    /// Fetches and processes everything queued for this device, then does what processing
    /// asked for (committing a member's leave, renewing our own). Returns how many items
    /// were processed.
    pub(crate) async fn sync(&mut self) -> Result<usize> {
        self.ensure_registered().await?;
        let processed = self.drain().await?;
        self.run_followups().await?;
        self.top_up_if_due().await?;
        Ok(processed)
    }

    /// Processes the queue until it is empty. Each item is applied together with the cursor
    /// in one transaction, then acknowledged.
    pub(crate) async fn drain(&mut self) -> Result<usize> {
        let server = self.server();
        let mut processed = 0;
        loop {
            let cursor = self.store.transaction()?.cursor(&server)?;
            let page: QueuePage = self
                .ds
                .request(
                    "GET",
                    &format!("/v1/queue?after={cursor}&limit=100"),
                    None::<&()>,
                )
                .await?;
            let Some(last) = page.items.last().map(|i| i.seq) else {
                break;
            };
            for item in page.items {
                if item.seq <= cursor {
                    continue;
                }
                self.process_item(&server, item)?;
                processed += 1;
            }
            // The items are applied; deleting them is only housekeeping.
            if let Err(e) = self
                .ds
                .request::<serde_json::Value>(
                    "POST",
                    "/v1/queue/ack",
                    Some(&serde_json::json!({ "up_to": last })),
                )
                .await
            {
                tracing::debug!("ack failed: {e}");
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
        let mut tx = self.store.transaction()?;
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

    fn process_item(&mut self, server: &str, item: QueueItem) -> Result<()> {
        let now = now_ms();
        let identity = self.identity.clone();
        let config = self.config.group.clone();
        let mut outcome = Outcome::default();
        let mut tx = self.store.transaction()?;
        let group_id = GroupId::from_bytes(item.group_id.0.clone());
        let sender = format!("{}/{}", item.sender.user, item.sender.device);
        match item.kind {
            WireKind::Welcome => {
                if !join_from_welcome(&mut tx, &identity, &config, &item, now, &mut outcome)? {
                    // Nothing of the join may stay; only the cursor moves.
                    drop(tx);
                    tx = self.store.transaction()?;
                }
            }
            _ => 'process: {
                let Some(conversation) = tx.conversation_by_group(&group_id)? else {
                    break 'process; // a group we never joined or have forgotten
                };
                if conversation.left_at.is_some() {
                    break 'process;
                }
                let g = tx.group(&group_id)?;
                let mine = is_me(&identity, &item.sender.user, &item.sender.device);
                // Our own items matter only as the echo of a commit still pending, which
                // merges it; anything else of ours is applied already.
                if mine && !g.group.has_pending_commit() {
                    break 'process;
                }
                let leaving = leaving_members(g.group);
                match g.group.process(&g.provider, &item.message.0) {
                    Ok(events) => apply_events(
                        &mut tx,
                        &identity,
                        conversation.id,
                        &group_id,
                        events,
                        &leaving,
                        Some(item.seq),
                        now,
                        &mut outcome,
                    )?,
                    // Delivered twice, or our own commit's echo after merging: nothing to do.
                    Err(MlsError::AlreadyProcessed | MlsError::StaleEpoch { .. }) if mine => {}
                    Err(MlsError::AlreadyProcessed) => {}
                    Err(e) => outcome.events.push(ClientEvent::Error {
                        message: format!(
                            "a message from {sender} in \"{}\" could not be read: {e}",
                            conversation.name
                        ),
                    }),
                }
            }
        }
        tx.advance_cursor(server, item.seq)?;
        tx.commit()?;
        self.followups.extend(outcome.followups);
        self.emit(outcome.events);
        Ok(())
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
                        Ok(())
                    }
                }
                FollowUp::Leave(conversation) => self.propose_leave(conversation).await,
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

    /// Whether this device commits the stored proposals of a group: the member with the
    /// lowest leaf index among those not proposing their own removal. Everyone else's next
    /// commit includes them anyway.
    fn designated_committer(&mut self, conversation: ConversationId) -> Result<bool> {
        let mut tx = self.store.transaction()?;
        let c = tx.conversation(conversation)?;
        if c.left_at.is_some() || c.leave_requested {
            return Ok(false);
        }
        let g = tx.group(&c.group_id)?;
        let leaving: HashSet<u32> = g
            .group
            .mls()
            .pending_proposals()
            .filter_map(|p| match p.proposal() {
                conclave_protocol::openmls::prelude::Proposal::Remove(r) => Some(r.removed().u32()),
                _ => None,
            })
            .collect();
        if leaving.is_empty() && g.group.mls().pending_proposals().next().is_none() {
            return Ok(false);
        }
        let first = g
            .group
            .members()?
            .into_iter()
            .map(|m| m.leaf_index)
            .filter(|leaf| !leaving.contains(leaf))
            .min();
        Ok(first == Some(g.group.own_leaf_index()))
    }

    // ------------------------------------------------------------------ commits

    /// Claims one key package per device of each user (not this device).
    pub(crate) async fn claim(&mut self, users: &[UserName]) -> Result<Vec<ClaimedDevice>> {
        let mut claimed = Vec::new();
        for user in users {
            let response: ClaimResponse = match self
                .ds
                .request(
                    "POST",
                    "/v1/key-packages/claim",
                    Some(&ClaimRequest {
                        user: user.to_string(),
                    }),
                )
                .await
            {
                Ok(r) => r,
                Err(ClientError::Server {
                    code: ErrorCode::NotFound,
                    ..
                }) => return Err(ClientError::UnknownUser(user.to_string())),
                Err(e) => return Err(e),
            };
            let before = claimed.len();
            for kp in response.key_packages {
                if is_me(&self.identity, user.as_str(), &kp.device) {
                    continue;
                }
                claimed.push(ClaimedDevice {
                    member: DeviceRef {
                        user: user.to_string(),
                        device: kp.device,
                    },
                    key_package: kp.key_package.0,
                });
            }
            if claimed.len() == before && user != &self.identity.member().user {
                return Err(ClientError::NoKeyPackages(user.to_string()));
            }
        }
        Ok(claimed)
    }

    /// Creates a group and its conversation, with only this device in it.
    pub(crate) fn create_group(&mut self, name: &str) -> Result<ConversationId> {
        let now = now_ms();
        let mut tx = self.store.transaction()?;
        let group = Group::create(
            &tx.provider(),
            &self.identity,
            &self.config.group,
            name.trim(),
        )?;
        let group_id = group.id();
        let conversation = tx.create_conversation(&group_id, &group.name(), now)?;
        tx.set_last_rotation(conversation, now)?;
        tx.observe_device(
            self.identity.member(),
            self.identity.signature_public_key(),
            &self.identity.fingerprint().digits(),
            now,
        )?;
        tx.insert_group(group);
        tx.commit()?;
        self.emit(vec![ClientEvent::ConversationJoined { conversation }]);
        Ok(conversation)
    }

    /// Runs a group-changing operation: catch up, commit, send; when another member's
    /// commit wins the epoch, catch up and redo it, up to the configured number of times.
    pub(crate) async fn commit_op(&mut self, conversation: ConversationId, op: Op) -> Result<()> {
        let attempts = self.config.max_commit_attempts.max(1);
        for attempt in 1..=attempts {
            self.drain().await?;
            let Some(envelope) = self.make_commit(conversation, &op, attempt == 1)? else {
                return Ok(()); // nothing left to do (someone else did it)
            };
            match self
                .ds
                .call::<SendResponse>("POST", "/v1/messages", Some(&envelope))
                .await
            {
                Ok(_) => {
                    if matches!(op, Op::Update) {
                        let tx = self.store.transaction()?;
                        tx.set_last_rotation(conversation, now_ms())?;
                        tx.commit()?;
                    }
                    // The commit merges at its echo, after whatever the server accepted
                    // before it: those messages are in the old epoch, whose keys no member
                    // keeps (`GroupConfig::max_past_epochs` is 0).
                    match self.drain().await {
                        Ok(_) => {}
                        // Accepted all the same; the next sync meets the echo.
                        Err(e) if e.is_offline() => tracing::debug!("catching up: {e}"),
                        Err(e) => return Err(e),
                    }
                    return Ok(());
                }
                Err(Failure::StaleEpoch) => {
                    self.discard_own_commit(conversation)?;
                    // Spread out retries so that racing members do not collide again.
                    let jitter = rand::random::<u64>() % (20 * u64::from(attempt));
                    tokio::time::sleep(Duration::from_millis(jitter)).await;
                }
                // Whether the server got it is unknown: the commit stays pending, and the
                // next sync merges it (its echo arrives) or drops it.
                Err(Failure::Client(e)) if e.is_offline() => return Err(e),
                Err(Failure::Client(e)) => {
                    self.discard_own_commit(conversation)?;
                    return Err(e);
                }
            }
        }
        Err(ClientError::Contention(attempts))
    }

    /// Builds the commit for `op` in the current epoch; `None` when there is nothing to do.
    fn make_commit(
        &mut self,
        conversation: ConversationId,
        op: &Op,
        first_attempt: bool,
    ) -> Result<Option<Envelope>> {
        let identity = self.identity.clone();
        let mut tx = self.store.transaction()?;
        let c = tx.conversation(conversation)?;
        if c.left_at.is_some() {
            return Err(ClientError::NotAMember);
        }
        if c.leave_requested && !matches!(op, Op::CommitProposals) {
            return Err(ClientError::InvalidInput(
                "you are leaving this conversation".into(),
            ));
        }
        let g = tx.group(&c.group_id)?;
        if g.group.has_pending_commit() {
            g.group.discard_pending_commit(&g.provider)?;
        }
        let members = g.group.members()?;
        let recipients: Vec<DeviceRef> = members.iter().map(|m| device_ref(&m.id)).collect();
        let bundle = match op {
            Op::Invite(devices) => {
                let present: HashSet<DeviceRef> = recipients.iter().cloned().collect();
                let missing: Vec<&ClaimedDevice> = devices
                    .iter()
                    .filter(|d| !present.contains(&d.member))
                    .collect();
                if missing.is_empty() {
                    if first_attempt {
                        let users: Vec<String> =
                            devices.iter().map(|d| d.member.user.clone()).collect();
                        return Err(ClientError::AlreadyMember(users.join(", ")));
                    }
                    return Ok(None); // a concurrent invite added them
                }
                let packages: Vec<&[u8]> =
                    missing.iter().map(|d| d.key_package.as_slice()).collect();
                g.group.add_members(&g.provider, &identity, &packages)?
            }
            Op::Remove(user) => match g.group.remove_user(&g.provider, &identity, user) {
                Ok(bundle) => bundle,
                Err(MlsError::UnknownMember(_)) if !first_attempt => return Ok(None),
                Err(MlsError::UnknownMember(_)) => {
                    return Err(ClientError::NotInConversation(user.to_string()));
                }
                Err(e) => return Err(e.into()),
            },
            Op::Rename(name) => {
                if !first_attempt && g.group.name() == *name {
                    return Ok(None);
                }
                g.group.rename(&g.provider, &identity, name)?
            }
            Op::Update => g.group.self_update(&g.provider, &identity)?,
            Op::CommitProposals => {
                if g.group.mls().pending_proposals().next().is_none() {
                    return Ok(None);
                }
                g.group.commit_pending_proposals(&g.provider, &identity)?
            }
        };
        let welcome = bundle.invitation.as_ref().map(|inv| WelcomeEnvelope {
            recipients: inv.new_members.iter().map(device_ref).collect(),
            message: inv.welcome.clone().into(),
            ratchet_tree: inv.ratchet_tree.clone().into(),
        });
        let envelope = Envelope {
            group_id: c.group_id.as_bytes().to_vec().into(),
            epoch: bundle.epoch,
            kind: WireKind::Commit,
            // Every current member, this device included: its echo merges the commit if
            // this process dies before the server's answer arrives.
            recipients,
            message: bundle.commit.clone().into(),
            welcome,
        };
        tx.commit()?;
        Ok(Some(envelope))
    }

    fn discard_own_commit(&mut self, conversation: ConversationId) -> Result<()> {
        let mut tx = self.store.transaction()?;
        let c = tx.conversation(conversation)?;
        let g = tx.group(&c.group_id)?;
        if g.group.has_pending_commit() {
            g.group.discard_pending_commit(&g.provider)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Asks the other members to remove this device (a member cannot commit its own
    /// removal). Proposed again after every commit that leaves it out, until one applies it.
    pub(crate) async fn propose_leave(&mut self, conversation: ConversationId) -> Result<()> {
        self.drain().await?;
        let envelope = {
            let identity = self.identity.clone();
            let mut tx = self.store.transaction()?;
            let c = tx.conversation(conversation)?;
            if c.left_at.is_some() {
                return Err(ClientError::NotAMember);
            }
            let g = tx.group(&c.group_id)?;
            if g.group.has_pending_commit() {
                g.group.discard_pending_commit(&g.provider)?;
            }
            let epoch = g.group.epoch();
            let recipients = other_members(g.group, &identity)?;
            if recipients.is_empty() {
                // The last member: nobody to commit it, so the conversation just ends here.
                tx.set_left(conversation, Some(now_ms()))?;
                tx.commit()?;
                self.emit(vec![ClientEvent::ConversationLeft {
                    conversation,
                    by: identity.member().clone(),
                }]);
                return Ok(());
            }
            let proposal = g.group.leave(&g.provider, &identity)?;
            tx.set_leave_requested(conversation)?;
            tx.commit()?;
            Envelope {
                group_id: c.group_id.as_bytes().to_vec().into(),
                epoch,
                kind: WireKind::Proposal,
                recipients,
                message: proposal.into(),
                welcome: None,
            }
        };
        match self
            .ds
            .call::<SendResponse>("POST", "/v1/messages", Some(&envelope))
            .await
        {
            Ok(_) => Ok(()),
            // A commit got in first: the next epoch's processing proposes again (the
            // conversation is marked as leaving).
            Err(Failure::StaleEpoch) => {
                self.drain().await?;
                self.followups.push(FollowUp::Leave(conversation));
                Ok(())
            }
            Err(Failure::Client(e)) => Err(e),
        }
    }

    // ------------------------------------------------------------------ messages

    /// Stores a text message as pending and queues it; the caller then flushes the outbox.
    pub(crate) fn queue_text(
        &mut self,
        conversation: ConversationId,
        text: &str,
    ) -> Result<MessageId> {
        if text.trim().is_empty() {
            return Err(ClientError::InvalidInput("the message is empty".into()));
        }
        if text.len() > MAX_TEXT {
            return Err(ClientError::InvalidInput(format!(
                "the message is longer than {MAX_TEXT} bytes"
            )));
        }
        let now = now_ms();
        let content = Content::text(text, now);
        let tx = self.store.transaction()?;
        let c = tx.conversation(conversation)?;
        if c.left_at.is_some() {
            return Err(ClientError::NotAMember);
        }
        let message = NewMessage {
            conversation,
            uid: content.id.0.to_vec(),
            sender: self.identity.member().clone(),
            sent_at: now,
            received_at: None,
            body: text.to_owned(),
            state: MessageState::Pending,
            server_seq: None,
            outgoing: true,
            kind: MessageKind::Text,
        };
        let id = tx
            .insert_message(&message)?
            .ok_or_else(|| ClientError::InvalidInput("duplicate message id".into()))?;
        tx.enqueue(
            OutboxKind::Application,
            Some(conversation),
            Some(id),
            &content.encode(),
            now,
        )?;
        let stored = tx.message(id)?;
        tx.commit()?;
        if let Some(message) = stored {
            self.emit(vec![ClientEvent::MessageReceived {
                conversation,
                message,
            }]);
        }
        Ok(id)
    }

    /// Sends what the outbox holds, oldest first, stopping at the first entry not yet due
    /// or at a network failure. Returns how many were sent.
    pub(crate) async fn flush_outbox(&mut self) -> Result<usize> {
        let mut sent = 0;
        loop {
            let entries = self.store.transaction()?.outbox(32)?;
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
                        let tx = self.store.transaction()?;
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
        let (Some(conversation), Some(message)) = (entry.conversation, entry.message) else {
            let tx = self.store.transaction()?;
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
            result = self
                .ds
                .call::<SendResponse>("POST", "/v1/messages", Some(&envelope))
                .await;
            if !matches!(result, Err(Failure::StaleEpoch)) {
                break;
            }
            self.drain().await?;
        }
        let backoff = self.backoff(entry.attempts);
        let tx = self.store.transaction()?;
        let state = match result {
            Ok(_) => {
                tx.set_message_state(message, MessageState::Sent, None)?;
                tx.outbox_done(entry.id)?;
                MessageState::Sent
            }
            Err(Failure::Client(e)) if e.is_offline() => {
                tx.outbox_retry(entry.id, now_ms() + backoff.as_millis() as i64)?;
                tx.commit()?;
                return Err(e);
            }
            // Busy server, or a group changing faster than we catch up: later.
            Err(
                Failure::StaleEpoch
                | Failure::Client(ClientError::Server {
                    code: ErrorCode::RateLimited | ErrorCode::Internal,
                    ..
                }),
            ) => {
                tx.outbox_retry(entry.id, now_ms() + backoff.as_millis() as i64)?;
                tx.commit()?;
                return Ok(false);
            }
            Err(Failure::Client(e)) => {
                tracing::warn!("message refused by the server: {e}");
                tx.set_message_state(message, MessageState::Failed, None)?;
                tx.outbox_done(entry.id)?;
                MessageState::Failed
            }
        };
        tx.commit()?;
        self.emit(vec![ClientEvent::MessageStateChanged {
            conversation,
            message,
            state,
        }]);
        Ok(state == MessageState::Sent)
    }

    /// Encrypts an outbox entry for the current members, committing the ratchet step.
    /// `Err(state)` when the entry was settled without sending (the conversation was left:
    /// failed; nobody else in it: sent).
    fn encrypt_entry(
        &mut self,
        entry: &OutboxEntry,
        conversation: ConversationId,
        message: MessageId,
    ) -> Result<std::result::Result<Envelope, MessageState>> {
        let identity = self.identity.clone();
        let mut tx = self.store.transaction()?;
        let c = tx.conversation(conversation)?;
        let settled = if c.left_at.is_some() {
            Some(MessageState::Failed)
        } else {
            let g = tx.group(&c.group_id)?;
            let recipients = other_members(g.group, &identity)?;
            if recipients.is_empty() {
                Some(MessageState::Sent)
            } else {
                let ciphertext = match g.group.encrypt(&g.provider, &identity, &entry.payload) {
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
                let epoch = g.group.epoch();
                tx.commit()?;
                return Ok(Ok(Envelope {
                    group_id: c.group_id.as_bytes().to_vec().into(),
                    epoch,
                    kind: WireKind::Application,
                    recipients,
                    message: ciphertext.into(),
                    welcome: None,
                }));
            }
        };
        let state = settled.unwrap_or(MessageState::Failed);
        tx.set_message_state(message, state, None)?;
        tx.outbox_done(entry.id)?;
        tx.commit()?;
        self.emit(vec![ClientEvent::MessageStateChanged {
            conversation,
            message,
            state,
        }]);
        Ok(Err(state))
    }

    fn backoff(&self, attempts: u32) -> Duration {
        let factor = 1u32 << attempts.min(16);
        (self.config.min_backoff * factor).min(self.config.max_backoff)
    }

    // ------------------------------------------------------------------ reading

    pub(crate) fn members(&mut self, conversation: ConversationId) -> Result<Vec<Member>> {
        let mine = self.identity.fingerprint();
        let me = self.identity.member().clone();
        let mut tx = self.store.transaction()?;
        let c = tx.conversation(conversation)?;
        if c.left_at.is_some() {
            return Ok(Vec::new());
        }
        let infos: Vec<MemberInfo> = tx.group(&c.group_id)?.group.members()?;
        let verified: HashMap<MemberId, bool> = tx
            .devices(None)?
            .into_iter()
            .map(|d| (d.member, d.verified))
            .collect();
        Ok(infos
            .into_iter()
            .map(|m| Member {
                fingerprint: m.fingerprint().digits(),
                safety_number: SafetyNumber::between(mine, m.fingerprint()).digits(),
                verified: verified.get(&m.id).copied().unwrap_or(false),
                is_me: m.id == me,
                id: m.id,
            })
            .collect())
    }

    pub(crate) fn security(&mut self, conversation: ConversationId) -> Result<SecurityInfo> {
        let mut tx = self.store.transaction()?;
        let c = tx.conversation(conversation)?;
        if c.left_at.is_some() {
            return Err(ClientError::NotAMember);
        }
        let g = tx.group(&c.group_id)?;
        Ok(SecurityInfo {
            ciphersuite: format!("{:?}", g.group.ciphersuite()?),
            epoch: g.group.epoch(),
            epoch_authenticator: hex::encode(g.group.epoch_authenticator()),
            last_rotation: c.last_rotation,
            members: g.group.members()?.len(),
        })
    }

    /// Drops past epochs' keys whose lifetime is over, in every group in memory.
    pub(crate) fn expire_past_epochs(&mut self) -> Result<()> {
        self.store
            .expire_past_epochs(std::time::SystemTime::now())?;
        Ok(())
    }

    /// Conversations whose scheduled key rotation is due.
    pub(crate) fn rotations_due(&mut self) -> Result<Vec<ConversationId>> {
        let Some(interval) = self.config.rotation_interval else {
            return Ok(Vec::new());
        };
        let now = now_ms();
        let tx = self.store.transaction()?;
        Ok(tx
            .conversation_list()?
            .into_iter()
            .filter(|c| {
                c.left_at.is_none()
                    && !c.leave_requested
                    && now - c.last_rotation >= interval.as_millis() as i64
            })
            .map(|c| c.id)
            .collect())
    }
}

/// Joins a group from a Welcome queued for this device. Returns false when the transaction
/// must be rolled back (a Welcome into a group this device is in already).
fn join_from_welcome(
    tx: &mut Tx<'_>,
    identity: &Identity,
    config: &conclave_protocol::GroupConfig,
    item: &QueueItem,
    now: i64,
    outcome: &mut Outcome,
) -> Result<bool> {
    let tree = item.ratchet_tree.as_ref().map(|t| t.0.as_slice());
    let group = match Group::join(&tx.provider(), config, &item.message.0, tree) {
        Ok(group) => group,
        Err(e) => {
            outcome.events.push(ClientEvent::Error {
                message: format!(
                    "an invitation from {}/{} could not be used: {e}",
                    item.sender.user, item.sender.device
                ),
            });
            return Ok(false);
        }
    };
    let group_id = group.id();
    let conversation = match tx.conversation_by_group(&group_id)? {
        // Invited back into a conversation we had left: its history continues.
        Some(existing) => {
            if existing.left_at.is_none() {
                // Already a member: a replayed Welcome. Keep the group we have.
                return Ok(false);
            }
            tx.set_left(existing.id, None)?;
            tx.rename_conversation(existing.id, &group.name())?;
            existing.id
        }
        None => tx.create_conversation(&group_id, &group.name(), now)?,
    };
    tx.set_last_rotation(conversation, now)?;
    let inviter = item.sender.user.clone();
    tx.insert_group(group);
    observe_members(tx, &group_id, now, outcome)?;
    record_event(
        tx,
        conversation,
        &identity.member().clone(),
        &format!("{inviter} added you"),
        &format!("join/{}", item.seq),
        now,
        outcome,
    )?;
    outcome
        .events
        .push(ClientEvent::ConversationJoined { conversation });
    Ok(true)
}

/// Members whose own removal proposal (a leave) waits in the group's proposal store, so that
/// the commit applying it can be shown as "left" rather than "removed".
fn leaving_members(group: &Group) -> HashSet<MemberId> {
    use conclave_protocol::openmls::prelude::{Proposal, Sender};
    let leaves: HashSet<u32> = group
        .mls()
        .pending_proposals()
        .filter_map(|p| match (p.proposal(), p.sender()) {
            (Proposal::Remove(r), Sender::Member(by)) if r.removed() == *by => Some(by.u32()),
            _ => None,
        })
        .collect();
    if leaves.is_empty() {
        return HashSet::new();
    }
    group
        .members()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| leaves.contains(&m.leaf_index))
        .map(|m| m.id)
        .collect()
}

/// Records every member's key (trust on first use); a changed key raises an event.
fn observe_members(
    tx: &mut Tx<'_>,
    group_id: &GroupId,
    now: i64,
    outcome: &mut Outcome,
) -> Result<()> {
    let members = tx.group(group_id)?.group.members()?;
    let known: HashMap<MemberId, Vec<u8>> = tx
        .devices(None)?
        .into_iter()
        .map(|d| (d.member, d.signature_key))
        .collect();
    for m in members {
        if known.get(&m.id) == Some(&m.signature_key) {
            continue; // the common case, without computing a fingerprint
        }
        let fingerprint = m.fingerprint().digits();
        if let DeviceTrust::KeyChanged {
            previous_fingerprint,
        } = tx.observe_device(&m.id, &m.signature_key, &fingerprint, now)?
        {
            outcome.events.push(ClientEvent::KeyChanged {
                member: m.id,
                previous_fingerprint,
                fingerprint,
            });
        }
    }
    Ok(())
}

/// Writes a line about a change into the conversation's history.
fn record_event(
    tx: &mut Tx<'_>,
    conversation: ConversationId,
    actor: &MemberId,
    text: &str,
    uid: &str,
    now: i64,
    outcome: &mut Outcome,
) -> Result<()> {
    let message = NewMessage {
        conversation,
        uid: format!("event/{uid}").into_bytes(),
        sender: actor.clone(),
        sent_at: now,
        received_at: Some(now),
        body: text.to_owned(),
        state: MessageState::Received,
        server_seq: None,
        outgoing: false,
        kind: MessageKind::Event,
    };
    if let Some(id) = tx.insert_message(&message)?
        && let Some(message) = tx.message(id)?
    {
        outcome.events.push(ClientEvent::MessageReceived {
            conversation,
            message,
        });
    }
    Ok(())
}

fn users_of(members: &[MemberId]) -> String {
    let mut users: Vec<&str> = members.iter().map(|m| m.user.as_str()).collect();
    users.dedup();
    users.join(", ")
}

/// Turns a group's events into stored messages, conversation changes and UI events.
#[allow(clippy::too_many_arguments)]
fn apply_events(
    tx: &mut Tx<'_>,
    identity: &Identity,
    conversation: ConversationId,
    group_id: &GroupId,
    events: Vec<GroupEvent>,
    leaving: &HashSet<MemberId>,
    seq: Option<u64>,
    now: i64,
    outcome: &mut Outcome,
) -> Result<()> {
    let me = identity.member().clone();
    let mut epoch_tag = String::new();
    for event in &events {
        if let GroupEvent::EpochAdvanced { epoch, .. } = event {
            epoch_tag = epoch.to_string();
        }
    }
    for (index, event) in events.into_iter().enumerate() {
        let uid = format!("{epoch_tag}/{index}");
        match event {
            GroupEvent::Message {
                sender, plaintext, ..
            } => match Content::decode(&plaintext) {
                Ok(content) => {
                    let (kind, body) = match content.body {
                        Body::Text(text) => (MessageKind::Text, text),
                        Body::Unsupported { kind } => (
                            MessageKind::Unsupported,
                            format!("[a message of a kind this version cannot show: {kind}]"),
                        ),
                    };
                    let message = NewMessage {
                        conversation,
                        uid: content.id.0.to_vec(),
                        sender,
                        sent_at: content.sent_at,
                        received_at: Some(now),
                        body,
                        state: MessageState::Received,
                        server_seq: seq,
                        outgoing: false,
                        kind,
                    };
                    // `None`: a resend of a message already shown.
                    if let Some(id) = tx.insert_message(&message)?
                        && let Some(message) = tx.message(id)?
                    {
                        outcome.events.push(ClientEvent::MessageReceived {
                            conversation,
                            message,
                        });
                    }
                }
                Err(e) => outcome.events.push(ClientEvent::Error {
                    message: format!("a message from {sender} could not be read: {e}"),
                }),
            },
            GroupEvent::MembersAdded { by, added } => {
                let text = format!("{} added {}", by.user, users_of(&added));
                record_event(tx, conversation, &by, &text, &uid, now, outcome)?;
                outcome
                    .events
                    .push(ClientEvent::MembersChanged { conversation });
            }
            GroupEvent::MembersRemoved { by, removed } => {
                let (left, kicked): (Vec<MemberId>, Vec<MemberId>) =
                    removed.into_iter().partition(|m| leaving.contains(m));
                let mut lines = Vec::new();
                if !left.is_empty() {
                    lines.push(format!("{} left", users_of(&left)));
                }
                if !kicked.is_empty() {
                    lines.push(format!("{} removed {}", by.user, users_of(&kicked)));
                }
                record_event(tx, conversation, &by, &lines.join("; "), &uid, now, outcome)?;
                outcome
                    .events
                    .push(ClientEvent::MembersChanged { conversation });
            }
            GroupEvent::GroupRenamed { by, name } => {
                tx.rename_conversation(conversation, &name)?;
                let text = format!("{} renamed the conversation to \"{name}\"", by.user);
                record_event(tx, conversation, &by, &text, &uid, now, outcome)?;
                outcome
                    .events
                    .push(ClientEvent::ConversationRenamed { conversation, name });
            }
            GroupEvent::RemovedFromGroup { by } => {
                let c = tx.conversation(conversation)?;
                let text = if c.leave_requested {
                    "you left".to_owned()
                } else {
                    format!("{} removed you", by.user)
                };
                tx.set_left(conversation, Some(now))?;
                // The group's secrets are of no more use here: deleting them keeps past
                // epochs' keys off the disk (and frees the group id for an invitation back).
                tx.delete_group(group_id)?;
                record_event(tx, conversation, &by, &text, &uid, now, outcome)?;
                outcome
                    .events
                    .push(ClientEvent::ConversationLeft { conversation, by });
                return Ok(());
            }
            GroupEvent::ProposalStored { by, .. } if by != me => {
                outcome
                    .followups
                    .push(FollowUp::CommitProposals(conversation));
            }
            GroupEvent::EpochAdvanced { .. } => {
                observe_members(tx, group_id, now, outcome)?;
                if tx.conversation(conversation)?.leave_requested {
                    outcome.followups.push(FollowUp::Leave(conversation));
                }
            }
            GroupEvent::MemberUpdated { .. } | GroupEvent::OwnMessageEchoed { .. } => {}
            _ => {}
        }
    }
    Ok(())
}
