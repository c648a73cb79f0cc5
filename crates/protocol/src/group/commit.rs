//! The operations that change a group: each makes a commit (or a proposal) and leaves it
//! pending until the delivery service decides (see the module docs of `group`).

use openmls::group::MergePendingCommitError;
use openmls::prelude::{
    KeyPackage, LeafNodeIndex, LeafNodeParameters, MlsMessageOut, OpenMlsProvider,
};
use openmls::treesync::RatchetTree;
use rayon::prelude::*;

use super::errors::{map_merge_error, map_state_error};
use super::{CommitBundle, Group, Invitation, encode};
use crate::{
    Cause, Error, GroupEvent, Identity, MemberId, PendingProposal, UserName, group_name,
    identity::inspect_key_package_with,
};

impl Group {
    /// Adds every device whose key package is given, in one commit.
    ///
    /// Each key package is validated (signature, lifetime, ciphersuite, a Conclave identity
    /// not already in the group) before anything changes.
    pub fn add_members<P: OpenMlsProvider>(
        &mut self,
        provider: &P,
        identity: &Identity,
        key_packages: &[impl AsRef<[u8]> + Sync],
    ) -> Result<CommitBundle, Error>
    where
        P::CryptoProvider: Sync,
    {
        if key_packages.is_empty() {
            return Err(Error::EmptyInput("no key packages to add"));
        }
        self.check_operational()?;
        // The members, and those this add brings, as they come: one set, so that a large add
        // does not compare each newcomer with every one before it (that was quadratic).
        let mut members: std::collections::HashSet<MemberId> = self
            .member_leaves()?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        // Signature checks dominate large adds (two per key package): the packages are
        // validated with the checks set aside, then the checks are made as batches on every
        // core, each signature getting the verdict a single check gives it. If a batch
        // fails, the packages are validated again one by one, to name the one at fault.
        let crypto = provider.crypto();
        let deferred = crate::crypto::Deferred::new(crypto);
        let inspected: Vec<(MemberId, KeyPackage)> = key_packages
            .par_iter()
            .map(|bytes| inspect_key_package_with(&deferred, bytes.as_ref()))
            .collect::<Result<_, _>>()?;
        if deferred.verify().is_err() {
            key_packages
                .par_iter()
                .try_for_each(|bytes| inspect_key_package_with(crypto, bytes.as_ref()).map(drop))?;
            return Err(Error::InvalidKeyPackage(Cause::msg(
                "a key package's signature does not verify",
            )));
        }
        let mut new_members = Vec::with_capacity(inspected.len());
        let mut packages: Vec<KeyPackage> = Vec::with_capacity(inspected.len());
        for (member, key_package) in inspected {
            if key_package.ciphersuite() != self.mls.ciphersuite() {
                return Err(Error::InvalidKeyPackage(Cause::msg(format!(
                    "{member}: ciphersuite differs from the group's"
                ))));
            }
            if !members.insert(member.clone()) {
                return Err(Error::AlreadyMember(member.to_string()));
            }
            new_members.push(member);
            packages.push(key_package);
        }
        let epoch = self.epoch();
        let rotated = self.rotated_keys_if_removing(provider, self.mls.extensions(), false)?;
        // Without a path (RFC 9420, section 12.4, allows it for a commit of adds only, and
        // mls-rs makes them so): a path would seal a secret to every member the tree's blanks
        // expose, which after a large add is every member, for no gain to the newcomers (the
        // Welcome gives them the epoch either way). The adder's own key is renewed by its
        // scheduled key rotation, which is what gives post-compromise security.
        let builder = self.mls.commit_builder().propose_adds(packages);
        let bundle = stage(builder, rotated, provider, identity)
            .map_err(|e| Error::InvalidKeyPackage(Cause::msg(e)))?;
        let welcome = bundle
            .to_welcome_msg()
            .ok_or_else(|| Error::Library(Cause::msg("an add without a Welcome")))?;
        let (commit, _, group_info) = bundle.into_contents();
        let invitation = Invitation {
            welcome: encode(&welcome)?,
            ratchet_tree: self.pending_ratchet_tree(provider)?,
            new_members,
        };
        self.bundle(commit, epoch, group_info, Some(invitation))
    }

    /// Removes every device of `user`, in one commit.
    pub fn remove_user(
        &mut self,
        provider: &impl OpenMlsProvider,
        identity: &Identity,
        user: &UserName,
    ) -> Result<CommitBundle, Error> {
        let devices: Vec<MemberId> = self
            .member_leaves()?
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| &id.user == user)
            .collect();
        if devices.is_empty() {
            return Err(Error::UnknownMember(user.to_string()));
        }
        self.remove_devices(provider, identity, &devices)
    }

    /// Removes the given devices, in one commit.
    pub fn remove_devices(
        &mut self,
        provider: &impl OpenMlsProvider,
        identity: &Identity,
        devices: &[MemberId],
    ) -> Result<CommitBundle, Error> {
        if devices.is_empty() {
            return Err(Error::EmptyInput("no devices to remove"));
        }
        self.check_operational()?;
        let members: std::collections::HashMap<MemberId, LeafNodeIndex> =
            self.member_leaves()?.into_iter().collect();
        let mut leaves = Vec::with_capacity(devices.len());
        for device in devices {
            let leaf = *members
                .get(device)
                .ok_or_else(|| Error::UnknownMember(device.to_string()))?;
            if leaf == self.mls.own_leaf_index() {
                // RFC 9420 forbids committing one's own removal; leaving is a proposal.
                return Err(Error::InvalidCommit(Cause::msg(
                    "a member cannot remove itself; use leave()",
                )));
            }
            leaves.push(leaf);
        }
        self.commit_with_removals(provider, identity, leaves)
    }

    /// Commits the removal of `leaves` and the stored proposals, with a new rejoin key when
    /// someone is removed (see [`crate::join_keys`]).
    fn commit_with_removals(
        &mut self,
        provider: &impl OpenMlsProvider,
        identity: &Identity,
        leaves: Vec<LeafNodeIndex>,
    ) -> Result<CommitBundle, Error> {
        let rotated =
            self.rotated_keys_if_removing(provider, self.mls.extensions(), !leaves.is_empty())?;
        let epoch = self.epoch();
        let builder = self.mls.commit_builder().propose_removals(leaves);
        let bundle = stage(builder, rotated, provider, identity)
            .map_err(|e| Error::InvalidCommit(Cause::msg(e)))?;
        let (commit, _, group_info) = bundle.into_contents();
        self.bundle(commit, epoch, group_info, None)
    }

    /// Whether a stored proposal removes someone (a member's leave): any commit of this
    /// device applies it.
    fn removal_pending(&self) -> bool {
        self.mls
            .pending_proposals()
            .any(|p| matches!(p.proposal(), openmls::prelude::Proposal::Remove(_)))
    }

    /// `extensions` with a new rejoin key, when the commit about to be made removes someone
    /// (`removing`, or a stored leave it applies) and the group has join keys: a removed
    /// member must not read later GroupInfos (see [`crate::join_keys`]). `None`: keep them.
    fn rotated_keys_if_removing(
        &self,
        provider: &impl OpenMlsProvider,
        extensions: &openmls::prelude::Extensions<openmls::prelude::GroupContext>,
        removing: bool,
    ) -> Result<Option<openmls::prelude::Extensions<openmls::prelude::GroupContext>>, Error> {
        if !removing && !self.removal_pending() {
            return Ok(None);
        }
        match crate::join_keys::read(extensions)? {
            Some(keys) => Ok(Some(crate::join_keys::with_keys(
                extensions,
                &keys.rotated(provider.rand())?,
            )?)),
            None => Ok(None),
        }
    }

    /// The group's join keys (see [`crate::join_keys`]): `None` for a group made before them.
    pub fn join_keys(&self) -> Result<Option<crate::JoinKeys>, Error> {
        crate::join_keys::read(self.mls.extensions())
    }

    /// Opens an invite link (a new one replaces any open link), or closes it (`None`). Whether
    /// this device's user may is for the caller to check ([`Group::permits`] with
    /// [`crate::Action::Links`]); every other member checks it too.
    pub fn set_invite_link(
        &mut self,
        provider: &impl OpenMlsProvider,
        identity: &Identity,
        link: Option<crate::InviteLink>,
    ) -> Result<CommitBundle, Error> {
        self.check_operational()?;
        let keys = self.join_keys()?.ok_or_else(|| {
            Error::NotFound("join keys (this group predates invite links)".into())
        })?;
        let extensions =
            crate::join_keys::with_keys(self.mls.extensions(), &crate::JoinKeys { link, ..keys })?;
        self.commit_extensions(provider, identity, extensions)
    }

    /// Rotates this device's leaf keys (post-compromise security), committing any stored
    /// proposals with it.
    pub fn self_update(
        &mut self,
        provider: &impl OpenMlsProvider,
        identity: &Identity,
    ) -> Result<CommitBundle, Error> {
        self.check_operational()?;
        // A leave waiting in the store goes with it: then the rejoin key changes too (the
        // commit's path renews this device's leaf all the same).
        if self.removal_pending() {
            return self.commit_with_removals(provider, identity, Vec::new());
        }
        let epoch = self.epoch();
        let bundle = self
            .mls
            .self_update(provider, identity.signer(), LeafNodeParameters::default())
            .map_err(|e| Error::InvalidCommit(Cause::msg(e.to_string())))?;
        let (commit, _, group_info) = bundle.into_contents();
        self.bundle(commit, epoch, group_info, None)
    }

    /// Renames the group. The name is encrypted to the members like everything else.
    pub fn rename(
        &mut self,
        provider: &impl OpenMlsProvider,
        identity: &Identity,
        name: &str,
    ) -> Result<CommitBundle, Error> {
        let name = group_name::validate(name)?;
        self.check_operational()?;
        let extensions = group_name::with_name(self.mls.extensions(), &name)?;
        self.commit_extensions(provider, identity, extensions)
    }

    /// Replaces the group's policy: promotes, demotes, changes who may do what. Whether this
    /// device's user may is for the caller to check ([`Group::permits`]); every other
    /// member checks it too.
    pub fn set_policy(
        &mut self,
        provider: &impl OpenMlsProvider,
        identity: &Identity,
        policy: &crate::Policy,
    ) -> Result<CommitBundle, Error> {
        self.check_operational()?;
        let extensions = crate::policy::with_policy(self.mls.extensions(), policy)?;
        self.commit_extensions(provider, identity, extensions)
    }

    fn commit_extensions(
        &mut self,
        provider: &impl OpenMlsProvider,
        identity: &Identity,
        extensions: openmls::prelude::Extensions<openmls::prelude::GroupContext>,
    ) -> Result<CommitBundle, Error> {
        let extensions = self
            .rotated_keys_if_removing(provider, &extensions, false)?
            .unwrap_or(extensions);
        let epoch = self.epoch();
        let (commit, _, group_info) = self
            .mls
            .update_group_context_extensions(provider, extensions, identity.signer())
            .map_err(|e| Error::InvalidCommit(Cause::msg(e.to_string())))?;
        self.bundle(commit, epoch, group_info, None)
    }

    /// Commits the stored proposals (say, another member's request to leave).
    pub fn commit_pending_proposals(
        &mut self,
        provider: &impl OpenMlsProvider,
        identity: &Identity,
    ) -> Result<CommitBundle, Error> {
        if !self.mls.has_pending_proposals() {
            return Err(Error::EmptyInput("no stored proposals"));
        }
        self.check_operational()?;
        self.commit_with_removals(provider, identity, Vec::new())
    }

    /// Asks to leave: returns a proposal to send. Another member commits it (a member cannot
    /// commit its own removal); this device sees [`GroupEvent::RemovedFromGroup`] then.
    pub fn leave(
        &mut self,
        provider: &impl OpenMlsProvider,
        identity: &Identity,
    ) -> Result<Vec<u8>, Error> {
        self.check_operational()?;
        let proposal = self
            .mls
            .leave_group(provider, identity.signer())
            .map_err(|e| Error::InvalidCommit(Cause::msg(e.to_string())))?;
        encode(&proposal)
    }

    /// Proposes that another member be removed: returns the proposal to send. It takes
    /// effect only if some member commits it (Conclave's clients commit only a member's own
    /// leave on its behalf, see `conclave-client`).
    pub fn propose_remove(
        &mut self,
        provider: &impl OpenMlsProvider,
        identity: &Identity,
        member: &MemberId,
    ) -> Result<Vec<u8>, Error> {
        self.check_operational()?;
        let leaf = self
            .member_leaves()?
            .into_iter()
            .find(|(id, _)| id == member)
            .map(|(_, leaf)| leaf)
            .ok_or_else(|| Error::UnknownMember(member.to_string()))?;
        let (proposal, _) = self
            .mls
            .propose_remove_member(provider, identity.signer(), leaf)
            .map_err(|e| Error::InvalidCommit(Cause::msg(e.to_string())))?;
        encode(&proposal)
    }

    /// Drops the stored proposals `keep` says no to, so that no commit of this device
    /// applies them. Returns how many were dropped.
    pub fn discard_proposals(
        &mut self,
        provider: &impl OpenMlsProvider,
        keep: impl Fn(&PendingProposal) -> bool,
    ) -> Result<usize, Error> {
        let mut dropped = Vec::new();
        for queued in self.mls.pending_proposals() {
            if !keep(&self.pending(queued)?) {
                dropped.push(queued.proposal_reference_ref().clone());
            }
        }
        for reference in &dropped {
            self.mls
                .remove_pending_proposal(provider.storage(), reference)
                .map_err(|e| Error::Storage(Cause::msg(e.to_string())))?;
        }
        Ok(dropped.len())
    }

    /// Applies the pending own commit after the delivery service accepted it.
    pub fn merge_pending_commit(
        &mut self,
        provider: &impl OpenMlsProvider,
    ) -> Result<Vec<GroupEvent>, Error> {
        let staged = self.mls.pending_commit().ok_or(Error::NoPendingCommit)?;
        let me = self.own_member()?;
        let events = self.commit_events(staged, me)?;
        if let Err(e) = self.mls.merge_pending_commit(provider) {
            self.reload(provider)?;
            return Err(match e {
                MergePendingCommitError::MlsGroupStateError(s) => map_state_error(s),
                MergePendingCommitError::MergeCommitError(m) => map_merge_error(m),
            });
        }
        self.start_past_epochs_lifetime();
        Ok(events)
    }

    /// Drops the pending own commit after the delivery service rejected it.
    pub fn discard_pending_commit(&mut self, provider: &impl OpenMlsProvider) -> Result<(), Error> {
        if self.mls.pending_commit().is_none() {
            return Err(Error::NoPendingCommit);
        }
        self.mls
            .clear_pending_commit(provider.storage())
            .map_err(|e| Error::Storage(Cause::msg(e.to_string())))
    }

    pub(super) fn pending_ratchet_tree(
        &self,
        provider: &impl OpenMlsProvider,
    ) -> Result<Vec<u8>, Error> {
        let staged = self.mls.pending_commit().ok_or(Error::NoPendingCommit)?;
        let tree: RatchetTree = staged
            .export_ratchet_tree(provider.crypto(), self.mls.export_ratchet_tree())
            .map_err(|e| Error::Library(Cause::of(e)))?
            .ok_or_else(|| Error::Library(Cause::msg("pending commit has no tree")))?;
        encode(&tree)
    }

    /// The bundle of the commit just made (and now pending), whose digest is kept for its
    /// echo ([`Group::sent_commit`]).
    pub(super) fn bundle(
        &mut self,
        commit: MlsMessageOut,
        epoch: u64,
        group_info: Option<openmls::messages::group_info::GroupInfo>,
        invitation: Option<Invitation>,
    ) -> Result<CommitBundle, Error> {
        let staged = self.mls.pending_commit().ok_or(Error::NoPendingCommit)?;
        let removed = staged
            .remove_proposals()
            .map(|p| self.member_at(p.remove_proposal().removed()))
            .collect::<Result<Vec<_>, _>>()?;
        let commit = encode(&commit)?;
        self.sent_commit = Some(super::commit_digest(&commit));
        Ok(CommitBundle {
            commit,
            epoch,
            invitation,
            group_info: group_info.map(|gi| encode(&gi)).transpose()?,
            removed,
        })
    }
}

/// Builds and stages a commit: the builder's proposals, a group-context change if given,
/// the stored proposals, signed by `identity`. An error is openmls's, as text.
fn stage(
    mut builder: openmls::group::CommitBuilder<'_, openmls::group::Initial>,
    extensions: Option<openmls::prelude::Extensions<openmls::prelude::GroupContext>>,
    provider: &impl OpenMlsProvider,
    identity: &Identity,
) -> Result<openmls::group::CommitMessageBundle, String> {
    if let Some(extensions) = extensions {
        builder = builder
            .propose_group_context_extensions(extensions)
            .map_err(|e| e.to_string())?;
    }
    builder
        .load_psks(provider.storage())
        .map_err(|e| e.to_string())?
        .build(
            provider.rand(),
            provider.crypto(),
            identity.signer(),
            |_| true,
        )
        .map_err(|e| e.to_string())?
        .stage_commit(provider)
        .map_err(|e| e.to_string())
}
