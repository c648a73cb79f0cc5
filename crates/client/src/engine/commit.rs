//! Group changes: create, invite, remove, rename, roles, update, commit others' proposals,
//! leave. What the group's policy does not permit this device's user is refused here,
//! before any commit is made (every other member would refuse it anyway).
//! Each catches up, commits, and sends; when another member's commit wins the epoch, it
//! catches up and redoes the operation.

use std::collections::HashSet;
use std::time::Duration;

use conclave_delivery_api::{
    DeviceRef, Envelope, ErrorCode, MessageKind as WireKind, WelcomeEnvelope,
};
use conclave_protocol::{
    Action, CipherSuite, Crypto, Error as MlsError, Group, MemberId, Role, UserName,
    inspect_key_package,
};
use conclave_storage::{ConversationId, KnownDevice};

use super::{Engine, FollowUp, device_ref, is_me, now_ms, other_members};
use crate::ds::Failure;
use crate::{ClientError, ClientEvent, Result};

/// A group-changing operation, redone on a newer epoch when another member's commit wins.
pub(crate) enum Op {
    /// Add these devices (key packages already claimed).
    Invite(Vec<ClaimedDevice>),
    Remove(UserName),
    /// Remove these devices (a revoked device of this user).
    RemoveDevices(Vec<MemberId>),
    Rename(String),
    /// Change the group's policy.
    Policy(PolicyChange),
    /// Open an invite link (replacing any), or close it.
    Link(Option<conclave_protocol::InviteLink>),
    Update,
    CommitProposals,
}

/// A change to a group's policy.
#[derive(Clone, Debug)]
pub(crate) enum PolicyChange {
    /// Make a user an admin.
    Promote(UserName),
    /// Make an admin a member again.
    Demote(UserName),
    /// Set who may take each action (`None`: as it is).
    Rules {
        add: Option<Role>,
        remove: Option<Role>,
        rename: Option<Role>,
        links: Option<Role>,
    },
    /// No admin is a member any more: this device's user, at the lowest leaf, takes it on
    /// (see `conclave_protocol::policy`).
    Succession,
}

/// A device to add and its key package.
#[derive(Clone)]
pub(crate) struct ClaimedDevice {
    member: DeviceRef,
    key_package: Vec<u8>,
}

impl ClaimedDevice {
    pub(crate) fn key_package(&self) -> &[u8] {
        &self.key_package
    }
}

/// A claimed key package is taken only if it is what was asked for: it names the device the
/// server said it is for, of the user asked for, and, where this profile has seen that
/// device before, with the key it had then (trust on first use: a device's signature key
/// never changes). A server handing out another member's package, or one it made itself
/// for a device this profile knows, is refused here, before anyone is added.
fn check_claimed(member: &DeviceRef, bytes: &[u8], pinned: &[KnownDevice]) -> Result<()> {
    static CRYPTO: std::sync::LazyLock<Crypto> = std::sync::LazyLock::new(Crypto::default);
    let refused = |reason: String| ClientError::UntrustedKeyPackage {
        user: member.user.clone(),
        reason,
    };
    let info = inspect_key_package(&*CRYPTO, bytes).map_err(|e| refused(e.to_string()))?;
    if info.member.user.as_str() != member.user || info.member.device.as_str() != member.device {
        return Err(refused(format!(
            "it belongs to {}, not {}/{}",
            info.member, member.user, member.device
        )));
    }
    if let Some(known) = pinned.iter().find(|d| d.member == info.member)
        && known.signature_key != info.signature_key
    {
        return Err(refused(format!(
            "{} has another key than the one this profile knows",
            info.member
        )));
    }
    Ok(())
}

impl Engine {
    /// Claims one key package in `suite` per device of each user (not this device), each
    /// checked ([`check_claimed`]).
    pub(crate) async fn claim(
        &mut self,
        users: &[UserName],
        suite: CipherSuite,
    ) -> Result<Vec<ClaimedDevice>> {
        let mut claimed = Vec::new();
        for user in users {
            let response = match self.ds.claim(user.as_str(), None, suite).await {
                Ok(r) => r,
                Err(ClientError::Server {
                    code: ErrorCode::NotFound,
                    ..
                }) => return Err(ClientError::UnknownUser(user.to_string())),
                Err(e) => return Err(e),
            };
            let before = claimed.len();
            let pinned = self.store.lock().transaction()?.devices(Some(user))?;
            for kp in response.key_packages {
                let member = DeviceRef {
                    user: user.to_string(),
                    device: kp.device,
                };
                if is_me(&self.identity, &member) {
                    continue;
                }
                check_claimed(&member, &kp.key_package.0, &pinned)?;
                claimed.push(ClaimedDevice {
                    member,
                    key_package: kp.key_package.0,
                });
            }
            if claimed.len() == before && user != &self.identity.member().user {
                return Err(self.no_key_packages(user, suite).await);
            }
        }
        Ok(claimed)
    }

    /// Why none of `user`'s devices could be claimed in `suite`: the suite is not one any
    /// of them registered with (their key signs with another scheme, or their app publishes
    /// no packages in it), or their packages ran out.
    async fn no_key_packages(&self, user: &UserName, suite: CipherSuite) -> ClientError {
        let registered_in_suite = match self.ds.directory(std::slice::from_ref(user)).await {
            Ok(directory) => directory
                .users
                .iter()
                .flat_map(|u| &u.devices)
                .any(|d| d.revoked_at.is_none() && d.ciphersuite == suite.code_point()),
            Err(_) => true,
        };
        if registered_in_suite {
            ClientError::NoKeyPackages(user.to_string())
        } else {
            ClientError::SuiteUnsupported {
                user: user.to_string(),
                suite,
            }
        }
    }

    /// Claims a key package in `suite` of one device of `user` (this user's new device),
    /// checked ([`check_claimed`]).
    pub(crate) async fn claim_device(
        &mut self,
        user: &UserName,
        device: &str,
        suite: CipherSuite,
    ) -> Result<ClaimedDevice> {
        let response = self.ds.claim(user.as_str(), Some(device), suite).await?;
        let pinned = self.store.lock().transaction()?.devices(Some(user))?;
        let kp = response
            .key_packages
            .into_iter()
            .find(|kp| kp.device == device)
            .ok_or_else(|| ClientError::NoKeyPackages(format!("{user}/{device}")))?;
        let member = DeviceRef {
            user: user.to_string(),
            device: kp.device,
        };
        check_claimed(&member, &kp.key_package.0, &pinned)?;
        Ok(ClaimedDevice {
            member,
            key_package: kp.key_package.0,
        })
    }

    /// Creates a group in `suite` and its conversation, with only this device in it.
    pub(crate) fn create_group(
        &mut self,
        name: &str,
        suite: CipherSuite,
    ) -> Result<ConversationId> {
        let now = now_ms();
        let config = self.group_config(suite);
        let mut store = self.store.lock();
        let mut tx = store.transaction()?;
        let group = Group::create(&tx.provider(), &self.identity, &config, name.trim())?;
        let group_id = group.id();
        let conversation = tx.create_conversation(&group_id, &group.name(), now)?;
        tx.set_last_rotation(conversation, now)?;
        tx.observe_device(
            self.identity.member(),
            self.identity.signature_public_key(),
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
            match self.ds.send(&envelope).await {
                Ok(_) => {
                    if matches!(op, Op::Update) {
                        let mut store = self.store.lock();
                        let tx = store.transaction()?;
                        tx.set_last_rotation(conversation, now_ms())?;
                        tx.commit()?;
                    }
                    // The commit merges at its echo, after whatever the server accepted
                    // before it: those messages are in the old epoch, whose keys no member
                    // keeps (`GroupConfig::max_past_epochs` is 0).
                    self.group_info_owed.insert(conversation);
                    match self.drain().await {
                        Ok(_) => {}
                        // Accepted all the same; the next sync meets the echo.
                        Err(e) if e.is_offline() => tracing::debug!("catching up: {e}"),
                        Err(e) => return Err(e),
                    }
                    // The new epoch's GroupInfo, for joins by external commit; owed (and
                    // sent at the next sync) when the server cannot take it now.
                    if let Err(e) = self.publish_group_info(conversation).await {
                        tracing::debug!("the group's info is owed: {e}");
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
        let mut store = self.store.lock();
        let mut tx = store.transaction()?;
        let c = tx.conversation(conversation)?;
        let succession = matches!(op, Op::Policy(PolicyChange::Succession));
        if succession && (c.left_at.is_some() || c.leave_requested || c.request) {
            return Ok(None); // not this device's to take on
        }
        if c.left_at.is_some() {
            return Err(ClientError::NotAMember);
        }
        if c.leave_requested && !matches!(op, Op::CommitProposals) {
            return Err(ClientError::InvalidInput(
                "you are leaving this conversation".into(),
            ));
        }
        if c.request {
            return Err(ClientError::NotAccepted);
        }
        let g = tx.group(&c.group_id)?;
        if g.group.has_pending_commit() {
            g.group.discard_pending_commit(&g.provider)?;
        }
        let members = g.group.members()?;
        let recipients: Vec<DeviceRef> = members.iter().map(|m| device_ref(&m.id)).collect();
        let me = &identity.member().user;
        let permit = |action: Action| -> Result<()> {
            if g.group.permits(me, action)? {
                Ok(())
            } else {
                Err(ClientError::NotPermitted(format!(
                    "only admins may {action} here"
                )))
            }
        };
        match op {
            Op::Invite(devices) if devices.iter().any(|d| d.member.user != me.as_str()) => {
                permit(Action::Add)?
            }
            Op::Remove(user) if user != me => permit(Action::Remove)?,
            Op::Rename(_) => permit(Action::Rename)?,
            Op::Policy(
                PolicyChange::Promote(_) | PolicyChange::Demote(_) | PolicyChange::Rules { .. },
            ) => permit(Action::ChangePolicy)?,
            Op::Link(_) => permit(Action::Links)?,
            _ => {}
        }
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
            Op::RemoveDevices(devices) => {
                let present: HashSet<&MemberId> = members.iter().map(|m| &m.id).collect();
                let still: Vec<MemberId> = devices
                    .iter()
                    .filter(|d| present.contains(d))
                    .cloned()
                    .collect();
                if still.is_empty() {
                    return Ok(None); // removed already
                }
                g.group.remove_devices(&g.provider, &identity, &still)?
            }
            Op::Rename(name) => {
                if !first_attempt && g.group.name() == *name {
                    return Ok(None);
                }
                g.group.rename(&g.provider, &identity, name)?
            }
            Op::Policy(change) => {
                let Some(mut policy) = g.group.policy()? else {
                    return Err(ClientError::NotPermitted(
                        "this conversation predates roles: everyone may do everything".into(),
                    ));
                };
                let before = policy.clone();
                match change {
                    PolicyChange::Promote(user) => {
                        if !members.iter().any(|m| &m.id.user == user) {
                            return Err(ClientError::NotInConversation(user.to_string()));
                        }
                        policy.admins.insert(user.clone());
                    }
                    PolicyChange::Demote(user) => {
                        let admins_left = members
                            .iter()
                            .filter(|m| policy.is_admin(&m.id.user) && &m.id.user != user)
                            .count();
                        if admins_left == 0 {
                            return Err(ClientError::NotPermitted(format!(
                                "{user} is the last admin here: promote someone first"
                            )));
                        }
                        policy.admins.remove(user);
                    }
                    PolicyChange::Rules {
                        add,
                        remove,
                        rename,
                        links,
                    } => {
                        policy.add = add.unwrap_or(policy.add);
                        policy.remove = remove.unwrap_or(policy.remove);
                        policy.rename = rename.unwrap_or(policy.rename);
                        policy.links = links.unwrap_or(policy.links);
                    }
                    PolicyChange::Succession => {
                        let first = members.iter().min_by_key(|m| m.leaf_index);
                        if members.iter().any(|m| policy.is_admin(&m.id.user))
                            || first.map(|m| &m.id) != Some(identity.member())
                        {
                            return Ok(None); // an admin is here, or it is not ours to do
                        }
                        policy.admins = [me.clone()].into();
                    }
                }
                if policy == before {
                    return Ok(None);
                }
                g.group.set_policy(&g.provider, &identity, &policy)?
            }
            Op::Link(link) => {
                let Some(keys) = g.group.join_keys()? else {
                    return Err(ClientError::NotPermitted(
                        "this conversation predates invite links".into(),
                    ));
                };
                if keys.link == *link {
                    return Ok(None);
                }
                g.group
                    .set_invite_link(&g.provider, &identity, link.clone())?
            }
            Op::Update => g.group.self_update(&g.provider, &identity)?,
            Op::CommitProposals => {
                if g.group.pending_proposals()?.is_empty() {
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
            removed: bundle.removed.iter().map(device_ref).collect(),
            link_token: None,
        };
        tx.commit()?;
        Ok(Some(envelope))
    }

    fn discard_own_commit(&mut self, conversation: ConversationId) -> Result<()> {
        let mut store = self.store.lock();
        let mut tx = store.transaction()?;
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
            let mut store = self.store.lock();
            let mut tx = store.transaction()?;
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
                removed: Vec::new(),
                link_token: None,
            }
        };
        match self.ds.send(&envelope).await {
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
}
