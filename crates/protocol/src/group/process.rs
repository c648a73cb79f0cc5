//! Sending and receiving: application messages out, and every incoming message turned into
//! [`GroupEvent`]s.

use openmls::prelude::{
    ContentType, MlsMessageBodyIn, MlsMessageIn, OpenMlsProvider, ProcessedMessageContent,
    ProtocolMessage, Sender, StagedCommit,
};
use tls_codec::Deserialize as _;

use super::errors::{map_merge_error, map_process_error};
use super::{Group, encode};
use crate::leaf_check::check_leaves;
use crate::{AcceptAll, Cause, Error, GroupEvent, Identity, LeafCheck, MemberId, group_name};

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
                let by = match sender {
                    Sender::Member(_) => (self.credentials)(&sender_credential)?,
                    _ => {
                        return Err(Error::InvalidCommit(
                            "commits from non-members are not accepted".into(),
                        ));
                    }
                };
                self.check_new_leaves(&staged, &by, leaves)?;
                let events = self.commit_events(&staged, by)?;
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
        if staged.update_path_leaf_node().is_some()
            && added.is_empty()
            && removed.is_empty()
            && !renamed
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
