//! Sending and receiving: application messages out, and every incoming message turned into
//! [`GroupEvent`]s.

use openmls::prelude::{
    ContentType, ExtensionType, MlsMessageBodyIn, MlsMessageIn, OpenMlsProvider,
    ProcessedMessageContent, ProtocolMessage, Sender, StagedCommit,
};
use tls_codec::Deserialize as _;

use super::errors::{map_merge_error, map_process_error};
use super::{Group, encode};
use crate::leaf_check::check_leaves;
use crate::{
    AcceptAll, Action, Cause, Error, GroupEvent, Identity, LeafCheck, MemberId, Policy,
    PolicyRefusal, group_name,
};

impl Group {
    /// Encrypts an application message.
    pub fn encrypt(
        &mut self,
        provider: &impl OpenMlsProvider,
        identity: &Identity,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, Error> {
        self.check_operational()?;
        self.expire_past_epochs(provider)?;
        let message = self
            .mls
            .create_message(provider, identity.signer(), plaintext)
            .map_err(|e| Error::Library(Cause::of(e)))?;
        encode(&message)
    }

    /// Processes one incoming message (application, proposal or commit) into events, taking
    /// every leaf MLS accepts ([`Group::process_checked`] with [`AcceptAll`]).
    pub fn process(
        &mut self,
        provider: &impl OpenMlsProvider,
        bytes: &[u8],
    ) -> Result<Vec<GroupEvent>, Error> {
        self.process_checked(provider, bytes, &AcceptAll)
    }

    /// Processes one incoming message (application, proposal or commit) into events. A
    /// commit is merged only if `leaves` accepts every leaf it brings in (added members,
    /// updated leaves, the committer's new leaf).
    ///
    /// On any error the group is unchanged, in memory and in storage, except that past epochs'
    /// keys whose [`PAST_EPOCH_LIFETIME`](crate::PAST_EPOCH_LIFETIME) is over are gone: they are dropped first, whatever the
    /// message turns out to be.
    pub fn process_checked(
        &mut self,
        provider: &impl OpenMlsProvider,
        bytes: &[u8],
        leaves: &impl LeafCheck,
    ) -> Result<Vec<GroupEvent>, Error> {
        let message = MlsMessageIn::tls_deserialize_exact(bytes)
            .map_err(|e| Error::Malformed(Cause::of(e)))?;
        let message: ProtocolMessage = match message.extract() {
            MlsMessageBodyIn::PrivateMessage(m) => m.into(),
            MlsMessageBodyIn::PublicMessage(m) => m.into(),
            other => {
                return Err(Error::UnexpectedMessage {
                    expected: "group message",
                    found: crate::body_name(&other),
                });
            }
        };
        if message.group_id() != self.mls.group_id() {
            return Err(Error::WrongGroup);
        }
        if !self.mls.is_active() {
            return Err(Error::NotAMember);
        }
        self.expire_past_epochs(provider)?;
        let message_epoch = message.epoch().as_u64();
        let group_epoch = self.epoch();
        if message_epoch > group_epoch {
            return Err(Error::FutureEpoch {
                message_epoch,
                group_epoch,
            });
        }
        let content_type = message.content_type();
        let processed = self
            .mls
            .process_message(provider, message)
            .map_err(|e| map_process_error(e, message_epoch, group_epoch))?;
        let sender_credential = processed.credential().clone();
        let sender = processed.sender().clone();
        match processed.into_content() {
            ProcessedMessageContent::ApplicationMessage(app) => Ok(vec![GroupEvent::Message {
                sender: (self.credentials)(&sender_credential)?,
                plaintext: app.into_bytes(),
                epoch: message_epoch,
            }]),
            ProcessedMessageContent::ProposalMessage(proposal) => {
                let by = (self.credentials)(&sender_credential)?;
                let summary = self.summarize(proposal.proposal())?;
                self.mls
                    .store_pending_proposal(provider.storage(), *proposal)
                    .map_err(|e| Error::Storage(Cause::msg(e.to_string())))?;
                Ok(vec![GroupEvent::ProposalStored {
                    by,
                    proposal: summary,
                }])
            }
            ProcessedMessageContent::ExternalJoinProposalMessage(_) => Err(Error::InvalidCommit(
                "external join proposals are not accepted".into(),
            )),
            ProcessedMessageContent::StagedCommitMessage(staged) => {
                let events = match sender {
                    Sender::Member(_) => {
                        let by = (self.credentials)(&sender_credential)?;
                        self.check_new_leaves(&staged, &by, leaves)?;
                        self.check_policy(&staged, &by)?;
                        self.commit_events(&staged, by)?
                    }
                    Sender::NewMemberCommit => {
                        let by = self.external_committer(&staged)?;
                        self.check_new_leaves(&staged, &by, leaves)?;
                        let join = self.check_external_commit(&staged, &by)?;
                        vec![
                            GroupEvent::MemberJoined {
                                member: by.clone(),
                                rejoin: join == super::ExternalJoin::Rejoin,
                            },
                            GroupEvent::EpochAdvanced {
                                by,
                                epoch: staged.epoch().as_u64(),
                            },
                        ]
                    }
                    _ => {
                        return Err(Error::InvalidCommit(
                            "commits from external senders are not accepted".into(),
                        ));
                    }
                };
                if let Err(e) = self.mls.merge_staged_commit(provider, *staged) {
                    self.reload(provider)?;
                    return Err(map_merge_error(e));
                }
                self.start_past_epochs_lifetime();
                Ok(events)
            }
            ProcessedMessageContent::OwnPendingCommit => self.merge_pending_commit(provider),
            ProcessedMessageContent::OwnPrivateMessage => {
                if content_type == ContentType::Commit && message_epoch == group_epoch {
                    // The sender data naming this device is no proof (every member holds
                    // its key): only the very bytes this device sent merge its commit.
                    if self
                        .sent_commit()
                        .is_some_and(|d| d == super::commit_digest(bytes))
                    {
                        return self.merge_pending_commit(provider);
                    }
                    return Err(Error::InvalidCommit(
                        "a commit in this device's name arrived that is not the one it sent".into(),
                    ));
                }
                Ok(vec![GroupEvent::OwnMessageEchoed {
                    epoch: message_epoch,
                }])
            }
        }
    }

    /// Puts every leaf the commit brings in to `check`.
    fn check_new_leaves(
        &self,
        staged: &StagedCommit,
        by: &MemberId,
        check: &impl LeafCheck,
    ) -> Result<(), Error> {
        // Each leaf's member id and key, read in place (the proposals are borrowed from
        // the staged commit one at a time).
        let mut leaves = Vec::new();
        let mut take = |leaf: &openmls::prelude::LeafNode| -> Result<(), Error> {
            let member = (self.credentials)(leaf.credential())?;
            leaves.push((member, leaf.signature_key().as_slice().to_vec()));
            Ok(())
        };
        for add in staged.add_proposals() {
            take(add.add_proposal().key_package().leaf_node())?;
        }
        for update in staged.update_proposals() {
            take(update.update_proposal().leaf_node())?;
        }
        if let Some(path) = staged.update_path_leaf_node() {
            take(path)?;
        }
        check_leaves(check, by, leaves.iter().map(|(m, k)| (m, k.as_slice())))
    }

    /// Checks a member's commit against the policy of this epoch (see [`crate::policy`]).
    fn check_policy(&self, staged: &StagedCommit, by: &MemberId) -> Result<(), Error> {
        let Some(policy) = self.policy()? else {
            return Ok(());
        };
        let refuse = |action: Action, detail: String| {
            Err(Error::PolicyRefused(Box::new(PolicyRefusal {
                by: by.clone(),
                action,
                detail,
            })))
        };
        for add in staged.add_proposals() {
            let member =
                (self.credentials)(add.add_proposal().key_package().leaf_node().credential())?;
            if member.user != by.user && !policy.permits(&by.user, Action::Add) {
                return refuse(Action::Add, format!(" ({})", member.user));
            }
        }
        for remove in staged.remove_proposals() {
            let leaf = remove.remove_proposal().removed();
            let member = self.member_at(leaf)?;
            let own_request = matches!(remove.sender(), Sender::Member(sender) if *sender == leaf);
            if member.user != by.user && !own_request && !policy.permits(&by.user, Action::Remove) {
                return refuse(Action::Remove, format!(" ({})", member.user));
            }
        }
        let before = self.mls.extensions();
        let after = staged.group_context().extensions();
        if after == before {
            return Ok(());
        }
        if group_name::read(after) != self.name() && !policy.permits(&by.user, Action::Rename) {
            return refuse(Action::Rename, String::new());
        }
        // A policy there must be (taking it away would free everyone), and readable.
        let new_policy = match crate::policy::read(after) {
            Ok(Some(policy)) => policy,
            Ok(None) => return refuse(Action::ChangePolicy, " (it was taken away)".into()),
            Err(_) => return refuse(Action::ChangePolicy, " (it cannot be read)".into()),
        };
        if new_policy != policy
            && !policy.is_admin(&by.user)
            && !self.is_succession(&policy, &new_policy, by)?
        {
            return refuse(Action::ChangePolicy, String::new());
        }
        // The link may change only by those the policy lets manage links; the rejoin key
        // by anyone (a removal changes it); the keys may not go once there.
        let keys_after = match crate::join_keys::read(after) {
            Ok(keys) => keys,
            Err(_) => return refuse(Action::Links, " (the join keys cannot be read)".into()),
        };
        match (crate::join_keys::read(before)?, keys_after) {
            (Some(_), None) => {
                return refuse(Action::Links, " (the join keys were taken away)".into());
            }
            (Some(old), Some(new))
                if old.link != new.link && !policy.permits(&by.user, Action::Links) =>
            {
                return refuse(Action::Links, String::new());
            }
            (None, Some(_)) if !policy.permits(&by.user, Action::Links) => {
                return refuse(Action::Links, String::new());
            }
            _ => {}
        }
        let others = |extensions: &openmls::prelude::Extensions<openmls::prelude::GroupContext>| {
            extensions
                .iter()
                .filter(|e| {
                    !matches!(e.extension_type(), ExtensionType::Unknown(t)
                        if t == crate::GROUP_NAME_EXTENSION_TYPE
                            || t == crate::POLICY_EXTENSION_TYPE
                            || t == crate::JOIN_KEYS_EXTENSION_TYPE)
                })
                .cloned()
                .collect::<Vec<_>>()
        };
        if others(after) != others(before) && !policy.is_admin(&by.user) {
            return refuse(Action::ChangePolicy, " (the group's other settings)".into());
        }
        Ok(())
    }

    /// Whether `new` is the policy a group without an admin among its members may take
    /// from `by` without one: `by` the member with the lowest leaf index, and the one admin,
    /// all else kept.
    fn is_succession(&self, old: &Policy, new: &Policy, by: &MemberId) -> Result<bool, Error> {
        let members = self.members()?;
        if members.iter().any(|m| old.is_admin(&m.id.user)) {
            return Ok(false);
        }
        let first = members.iter().min_by_key(|m| m.leaf_index).map(|m| &m.id);
        let expected = Policy {
            admins: std::collections::BTreeSet::from([by.user.clone()]),
            ..old.clone()
        };
        Ok(first == Some(by) && *new == expected)
    }

    /// The events a commit produces, read before it is merged (removed members must still be
    /// in the tree to be named).
    pub(super) fn commit_events(
        &self,
        staged: &StagedCommit,
        by: MemberId,
    ) -> Result<Vec<GroupEvent>, Error> {
        let mut events = Vec::new();
        let added = staged
            .add_proposals()
            .map(|p| (self.credentials)(p.add_proposal().key_package().leaf_node().credential()))
            .collect::<Result<Vec<_>, _>>()?;
        let removed = staged
            .remove_proposals()
            .map(|p| self.member_at(p.remove_proposal().removed()))
            .collect::<Result<Vec<_>, _>>()?;
        for update in staged.update_proposals() {
            if let Sender::Member(leaf) = update.sender() {
                events.push(GroupEvent::MemberUpdated {
                    member: self.member_at(*leaf)?,
                });
            }
        }
        let new_name = group_name::read(staged.group_context().extensions());
        let renamed = new_name != self.name();
        // Read (and so checked) by `check_policy` before this.
        let old_policy = self.policy()?;
        let new_policy = crate::policy::read(staged.group_context().extensions())?;
        let policy_changed = new_policy != old_policy;
        let link = |keys: Option<crate::JoinKeys>| keys.and_then(|k| k.link);
        let old_link = link(crate::join_keys::read(self.mls.extensions())?);
        // Read (and so checked) by `check_policy`, where there is a policy.
        let new_link =
            link(crate::join_keys::read(staged.group_context().extensions()).unwrap_or(None));
        let link_changed = new_link != old_link;
        if staged.update_path_leaf_node().is_some()
            && added.is_empty()
            && removed.is_empty()
            && !renamed
            && !policy_changed
            && !link_changed
        {
            events.push(GroupEvent::MemberUpdated { member: by.clone() });
        }
        if !added.is_empty() {
            events.push(GroupEvent::MembersAdded {
                by: by.clone(),
                added,
            });
        }
        if !removed.is_empty() {
            events.push(GroupEvent::MembersRemoved {
                by: by.clone(),
                removed,
            });
        }
        if renamed {
            events.push(GroupEvent::GroupRenamed {
                by: by.clone(),
                name: new_name,
            });
        }
        if policy_changed {
            let admins =
                |p: &Option<Policy>| p.as_ref().map(|p| p.admins.clone()).unwrap_or_default();
            let (before, after) = (admins(&old_policy), admins(&new_policy));
            events.push(GroupEvent::PolicyChanged {
                by: by.clone(),
                promoted: after.difference(&before).cloned().collect(),
                demoted: before.difference(&after).cloned().collect(),
            });
        }
        if link_changed {
            events.push(GroupEvent::InviteLinkChanged {
                by: by.clone(),
                open: new_link.is_some(),
                approval: new_link.is_some_and(|l| l.approval),
            });
        }
        if staged.self_removed() {
            events.push(GroupEvent::RemovedFromGroup { by: by.clone() });
        }
        events.push(GroupEvent::EpochAdvanced {
            by,
            epoch: staged.epoch().as_u64(),
        });
        Ok(events)
    }
}
