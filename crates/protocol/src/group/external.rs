//! Joining by external commit (RFC 9420, section 12.4.3.2): a new member with an invite
//! link, or a member that lost its state rejoining, its old leaf removed in the same commit.
//! What members accept of one is in [`crate::join_keys`].

use openmls::prelude::{
    LeafNodeParameters, MlsGroup, MlsMessageBodyIn, MlsMessageIn, OpenMlsProvider, StagedCommit,
};
use tls_codec::Deserialize as _;

use super::{CommitBundle, Group, encode};
use crate::{Cause, CipherSuite, Error, GroupConfig, GroupId, Identity, LeafCheck, MemberId};

/// Whether an external commit brings in a new member or gives a member a new leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExternalJoin {
    /// A device new to the group (it had an invite link).
    New,
    /// A member's device replacing its own old leaf (it lost its state).
    Rejoin,
}

impl Group {
    /// The signed GroupInfo of the current epoch, with the ratchet tree and the external
    /// public key: what a device needs to join by external commit. It names the members and
    /// carries the group context (name, policy, join keys): seal it before it leaves the
    /// device.
    pub fn group_info(
        &self,
        provider: &impl OpenMlsProvider,
        identity: &Identity,
    ) -> Result<Vec<u8>, Error> {
        self.check_operational()?;
        let message = self
            .mls
            .export_group_info(provider.crypto(), identity.signer(), true)
            .map_err(|e| Error::Library(Cause::of(e)))?;
        encode(&message)
    }

    /// Whether a GroupInfo of this group (as [`Group::group_info`] made it, read here
    /// without checking its signature) shows a state this device is not in: a later epoch,
    /// or the same epoch with another history (this device forked off, say by a server
    /// that showed it another commit). What a device asks before rejoining.
    pub fn is_behind_or_apart(&self, group_info: &[u8]) -> Result<bool, Error> {
        let message = MlsMessageIn::tls_deserialize_exact(group_info)
            .map_err(|e| Error::Malformed(Cause::of(e)))?;
        let MlsMessageBodyIn::GroupInfo(info) = message.extract() else {
            return Err(Error::InvalidGroupInfo(Cause::msg("not a group info")));
        };
        if info.group_id() != self.mls.group_id() {
            return Err(Error::WrongGroup);
        }
        let theirs = info.group_context();
        let ours = self.mls.public_group().group_context();
        Ok(theirs.epoch() != ours.epoch()
            || theirs.confirmed_transcript_hash() != ours.confirmed_transcript_hash())
    }

    /// Joins the group `expected` by external commit from its GroupInfo (as
    /// [`Group::group_info`] made it): a rejoin when a leaf of this very device is in it
    /// (that leaf is removed by the same commit), a new join otherwise, which members accept
    /// only while an invite link without approval is open. Refused here, before anything
    /// is made, when the members would refuse it.
    ///
    /// The group returned is in the commit's epoch already and stored through `provider`
    /// (an external commit cannot stay pending): the caller keeps it only once the delivery
    /// service accepts the commit, and otherwise drops it (with its storage transaction) and
    /// tries again from a newer GroupInfo. `leaves` checks every member's leaf, as for a
    /// Welcome.
    pub fn join_external(
        provider: &impl OpenMlsProvider,
        identity: &Identity,
        config: &GroupConfig,
        group_info: &[u8],
        expected: &GroupId,
        leaves: &impl LeafCheck,
    ) -> Result<(Self, CommitBundle, ExternalJoin), Error> {
        let message = MlsMessageIn::tls_deserialize_exact(group_info)
            .map_err(|e| Error::Malformed(Cause::of(e)))?;
        let info = match message.extract() {
            MlsMessageBodyIn::GroupInfo(info) => info,
            other => {
                return Err(Error::UnexpectedMessage {
                    expected: "group info",
                    found: crate::body_name(&other),
                });
            }
        };
        if GroupId::from_openmls(info.group_id()) != *expected {
            return Err(Error::WrongGroup);
        }
        identity.check_supports(CipherSuite::from_openmls(info.ciphersuite())?)?;
        let epoch = info.epoch().as_u64();
        // openmls removes a leaf with the joiner's signature key, if there is one: then it is
        // a rejoin. (The tree is read unverified here; openmls verifies it while building.)
        let own_key = identity.signature_public_key();
        let kind = match info.extensions().ratchet_tree() {
            Some(tree)
                if tree
                    .ratchet_tree()
                    .leaves()
                    .any(|leaf| leaf.signature_key().as_slice() == own_key) =>
            {
                ExternalJoin::Rejoin
            }
            Some(_) => ExternalJoin::New,
            None => return Err(Error::InvalidGroupInfo(Cause::msg("no ratchet tree in it"))),
        };
        let (mls, bundle) = MlsGroup::external_commit_builder()
            .with_config(config.join_config())
            .build_group(provider, info, identity.credential_with_key())
            .map_err(|e| Error::InvalidGroupInfo(Cause::msg(e.to_string())))?
            .leaf_node_parameters(
                LeafNodeParameters::builder()
                    .with_capabilities(GroupConfig::capabilities())
                    .build(),
            )
            .load_psks(provider.storage())
            .map_err(|e| Error::Library(Cause::msg(e.to_string())))?
            .build(
                provider.rand(),
                provider.crypto(),
                identity.signer(),
                |_| true,
            )
            .map_err(|e| Error::InvalidGroupInfo(Cause::msg(e.to_string())))?
            .finalize(provider)
            .map_err(|e| Error::Library(Cause::msg(e.to_string())))?;
        let group = Self::wrap(mls, MemberId::from_credential);
        // What the members will check, checked on the state the commit made: the members'
        // leaves, and that the join is one they accept. The GroupInfo's signature and tree
        // were verified by openmls while building.
        let me = identity.member();
        let members = group.members()?;
        let others: Vec<_> = members.iter().filter(|m| &m.id != me).collect();
        crate::leaf_check::check_leaves(
            leaves,
            me,
            others.iter().map(|m| (&m.id, m.signature_key.as_slice())),
        )?;
        if kind == ExternalJoin::New {
            group.check_new_join_allowed()?;
        }
        let (commit, _, _) = bundle.into_contents();
        let commit = encode(&commit)?;
        Ok((
            group,
            CommitBundle {
                commit,
                epoch,
                invitation: None,
                group_info: None,
                removed: Vec::new(),
            },
            kind,
        ))
    }

    /// A new member may join by external commit only while an invite link without approval
    /// is open. The join keys read here are the new epoch's, which an external commit cannot
    /// change (it carries no group-context proposal), so they are those of the epoch the
    /// members check it against.
    fn check_new_join_allowed(&self) -> Result<(), Error> {
        match crate::join_keys::read(self.mls.extensions())? {
            Some(crate::JoinKeys {
                link: Some(link), ..
            }) if !link.approval => Ok(()),
            Some(crate::JoinKeys { link: Some(_), .. }) => {
                Err(self.join_refused("this group's invite link needs an admin's approval"))
            }
            _ => Err(self.join_refused("this group has no open invite link")),
        }
    }

    fn join_refused(&self, reason: &str) -> Error {
        match self.own_member() {
            Ok(me) => Error::JoinRefused {
                by: Box::new(me),
                reason: reason.into(),
            },
            Err(e) => e,
        }
    }

    /// Checks a member's external commit as every member does (see [`crate::join_keys`]):
    /// it may remove only the joiner's own old leaf (a rejoin), and otherwise needs an open
    /// invite link without approval. Returns which it is.
    pub(super) fn check_external_commit(
        &self,
        staged: &StagedCommit,
        by: &MemberId,
    ) -> Result<ExternalJoin, Error> {
        let refuse = |reason: String| {
            Err(Error::JoinRefused {
                by: Box::new(by.clone()),
                reason,
            })
        };
        let mut rejoin = false;
        for remove in staged.remove_proposals() {
            let removed = self.member_at(remove.remove_proposal().removed())?;
            if removed != *by {
                return refuse(format!("it removed {removed}"));
            }
            rejoin = true;
        }
        if staged.add_proposals().next().is_some() || staged.update_proposals().next().is_some() {
            return refuse("it brought in more than its own leaf".into());
        }
        if staged.group_context().extensions() != self.mls.extensions() {
            return refuse("it changed the group's settings".into());
        }
        if rejoin {
            return Ok(ExternalJoin::Rejoin);
        }
        if self.members()?.iter().any(|m| m.id == *by) {
            return refuse("its device is a member already".into());
        }
        match crate::join_keys::read(self.mls.extensions())? {
            Some(crate::JoinKeys {
                link: Some(link), ..
            }) if !link.approval => Ok(ExternalJoin::New),
            _ => refuse("there is no open invite link without approval".into()),
        }
    }

    /// The joiner of an external commit: the credential of the leaf its path brings in.
    pub(super) fn external_committer(&self, staged: &StagedCommit) -> Result<MemberId, Error> {
        let leaf = staged
            .update_path_leaf_node()
            .ok_or_else(|| Error::InvalidCommit(Cause::msg("an external commit without a path")))?;
        (self.credentials)(leaf.credential())
    }
}
