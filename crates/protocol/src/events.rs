//! What processing a message, or merging an own commit, tells the application.

use serde::{Deserialize, Serialize};

use crate::MemberId;

/// One thing that happened in a group. A single incoming message can produce several (a
/// commit that adds two members and renames the group gives `MembersAdded`, `GroupRenamed`
/// and `EpochAdvanced`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum GroupEvent {
    /// An application message.
    Message {
        /// Who sent it.
        sender: MemberId,
        /// The decrypted bytes, padding removed.
        plaintext: Vec<u8>,
        /// The epoch it was sent in (older than the group's when it arrived late).
        epoch: u64,
    },
    /// Members joined through a commit.
    MembersAdded {
        /// Who committed the addition.
        by: MemberId,
        /// The new members.
        added: Vec<MemberId>,
    },
    /// Members were removed (or left) through a commit.
    MembersRemoved {
        /// Who committed the removal.
        by: MemberId,
        /// The members gone.
        removed: Vec<MemberId>,
    },
    /// A member rotated its leaf keys (a self-update, or an update proposal committed).
    MemberUpdated {
        /// The member whose keys changed.
        member: MemberId,
    },
    /// The group name changed.
    GroupRenamed {
        /// Who renamed it.
        by: MemberId,
        /// The new name.
        name: String,
    },
    /// The group's policy changed: admins made or unmade, or who may do what.
    PolicyChanged {
        /// Who changed it.
        by: MemberId,
        /// Users made admins.
        promoted: Vec<crate::UserName>,
        /// Users no longer admins.
        demoted: Vec<crate::UserName>,
    },
    /// A device joined by external commit: a new member with the group's invite link, or a
    /// member's device that lost its state rejoining with a new leaf (its old one removed by
    /// the same commit).
    MemberJoined {
        /// The device.
        member: MemberId,
        /// Whether it was a member before (a rejoin).
        rejoin: bool,
    },
    /// The group's invite link was opened, replaced or closed.
    InviteLinkChanged {
        /// Who changed it.
        by: MemberId,
        /// Whether a link is open now.
        open: bool,
        /// Whether joining by it needs an admin's approval.
        approval: bool,
    },
    /// This device was removed from the group. The group can no longer be used.
    RemovedFromGroup {
        /// Who committed the removal.
        by: MemberId,
    },
    /// A proposal was received and stored; it takes effect when some member commits it.
    ProposalStored {
        /// Who proposed.
        by: MemberId,
        /// What was proposed.
        proposal: ProposalSummary,
    },
    /// A commit was applied: the group moved to a new epoch with fresh keys. Always the last
    /// event of a commit.
    EpochAdvanced {
        /// Who committed.
        by: MemberId,
        /// The new epoch.
        epoch: u64,
    },
    /// A message this device sent came back from the server. Nothing changed.
    OwnMessageEchoed {
        /// The epoch it was sent in.
        epoch: u64,
    },
}

/// What a stored proposal asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ProposalSummary {
    /// Add a member.
    Add(MemberId),
    /// Remove a member (the proposer itself, when it is leaving).
    Remove(MemberId),
    /// The proposer rotates its leaf keys.
    Update,
    /// Change the group context extensions (for Conclave: the name).
    GroupContextExtensions,
    /// Another proposal type (PSK, re-init, ...).
    Other,
}

/// A proposal stored in a group, waiting for some member to commit it
/// ([`crate::Group::pending_proposals`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingProposal {
    /// The member that sent it; `None` for a sender outside the group.
    pub by: Option<MemberId>,
    /// What it asks for.
    pub proposal: ProposalSummary,
}

impl PendingProposal {
    /// The member that asks to be removed itself (a leave), if that is what this is.
    pub fn leaving_member(&self) -> Option<&MemberId> {
        match (&self.by, &self.proposal) {
            (Some(by), ProposalSummary::Remove(removed)) if by == removed => Some(by),
            _ => None,
        }
    }
}
