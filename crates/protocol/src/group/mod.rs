//! An MLS group as Conclave uses it.
//!
//! # Own commits are pending until the delivery service decides
//!
//! Every operation that changes the group ([`Group::add_members`], [`Group::remove_user`],
//! [`Group::self_update`], [`Group::rename`], [`Group::commit_pending_proposals`]) returns a
//! [`CommitBundle`] and leaves the group in its current epoch with the commit *pending*. The
//! caller sends the commit; then
//! - the server accepted it: keep processing the group's incoming messages in the server's
//!   order; the commit's echo, when its turn comes, merges it through [`Group::process`]
//!   (once). Messages the server accepted before the commit are still in the old epoch, and
//!   with the default [`GroupConfig::max_past_epochs`] of 0 only a group that has not merged
//!   yet can read them. [`Group::merge_pending_commit`] merges at once instead (for a client
//!   that keeps a past epoch, or a group nobody else writes to);
//! - the server rejected it because another member's commit won the epoch:
//!   [`Group::discard_pending_commit`], process the winner, and redo the operation. Processing
//!   the winner also drops the pending commit, so forgetting to discard is harmless.
//!
//! This is what keeps members from forking when two of them commit at once.
//!
//! An echo of an own commit that was already merged is a handshake message from a past epoch:
//! it fails with [`Error::StaleEpoch`] and changes nothing (openmls rejects past-epoch
//! handshakes before decrypting them, so it cannot be told apart from another member's stale
//! commit). Clients know which items they sent, since the server says who sent each one, and
//! skip those.

mod commit;
mod errors;
mod external;
mod process;

pub use external::ExternalJoin;

use openmls::group::{PastEpochDeletion, PastEpochDeletionPolicy};
use openmls::prelude::{
    LeafNodeIndex, MlsGroup, MlsMessageBodyIn, MlsMessageIn, OpenMlsProvider, QueuedProposal,
    RatchetTreeIn, StagedWelcome,
};
use std::time::SystemTime;
use tls_codec::Deserialize as _;

use self::errors::{map_state_error, map_welcome_error};
use crate::{
    AcceptAll, Cause, CipherSuite, Error, GroupConfig, GroupId, Identity, LeafCheck, MemberId,
    PAST_EPOCH_LIFETIME, PendingProposal, ProposalSummary, UserName, group_name,
    safety::Fingerprint,
};

/// A member of a group, as listed by [`Group::members`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberInfo {
    /// Who the member is.
    pub id: MemberId,
    /// Its leaf in the ratchet tree.
    pub leaf_index: u32,
    /// Its signature public key.
    pub signature_key: Vec<u8>,
}

impl MemberInfo {
    /// Its safety-number fingerprint (credential + signature key). Computed on each call, at
    /// the cost of ~1,000 hashes: for display, not for lookups.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.id, &self.signature_key)
    }
}

/// What a commit-creating operation produces, ready to hand to the delivery service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitBundle {
    /// The commit, an `MLSMessage`.
    pub commit: Vec<u8>,
    /// The epoch the commit was made in (the group moves to `epoch + 1` when it is merged).
    pub epoch: u64,
    /// For commits that add members: what the new members need to join.
    pub invitation: Option<Invitation>,
    /// The signed GroupInfo of the new epoch (for external joins and diagnostics).
    pub group_info: Option<Vec<u8>>,
    /// The members the commit removes (a removal asked for, or a member's own leave
    /// committed with it): they receive the commit, and are members no more after it.
    pub removed: Vec<MemberId>,
}

/// The SHA-256 of a commit this device sent (the `MLSMessage` bytes): the one echo that may
/// merge its pending commit (see [`Group::sent_commit`]).
pub type CommitDigest = [u8; 32];

pub(crate) fn commit_digest(bytes: &[u8]) -> CommitDigest {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// What new members receive to join a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    /// The `MLSMessage`-framed Welcome.
    pub welcome: Vec<u8>,
    /// The TLS-encoded ratchet tree of the new epoch, sent beside the Welcome (see
    /// [`GroupConfig::ratchet_tree_in_welcome`]).
    pub ratchet_tree: Vec<u8>,
    /// Who the Welcome is for.
    pub new_members: Vec<MemberId>,
}

/// How a member's MLS credential becomes the [`MemberId`] that events and member lists name.
///
/// Conclave's groups use [`MemberId::from_credential`], which accepts only Conclave's
/// `"{user}/{device}"` basic credentials; a group with anyone else in it is refused. Tools that
/// follow groups made by other MLS implementations (the interop test-vector runner) supply
/// their own mapping through [`JoinOptions`] or [`Group::set_credential_mapper`].
pub type CredentialMapper = fn(&openmls::prelude::Credential) -> Result<MemberId, Error>;

/// Options for [`Group::join_with`]. The defaults are what [`Group::join`] uses.
#[derive(Clone, Copy, Debug)]
pub struct JoinOptions {
    /// How credentials map to members. Default: [`MemberId::from_credential`].
    pub credentials: CredentialMapper,
    /// Whether the lifetimes of the leaves in the joined tree are checked. Default: true.
    /// Only for replaying recorded groups (test vectors), whose key packages have expired.
    pub check_lifetimes: bool,
}

impl Default for JoinOptions {
    fn default() -> Self {
        Self {
            credentials: MemberId::from_credential,
            check_lifetimes: true,
        }
    }
}

/// A Conclave group: an [`MlsGroup`] whose every operation keeps memory and storage in step.
///
/// The group does not own a provider: every call takes one, so the same group works over
/// openmls's in-memory storage or over a SQLite transaction.
#[derive(Debug)]
pub struct Group {
    mls: MlsGroup,
    credentials: CredentialMapper,
    /// When the kept keys of past epochs expire ([`PAST_EPOCH_LIFETIME`] after this device
    /// left them); `None` while none are kept.
    past_epochs_expire_at: Option<SystemTime>,
    /// Who added this device (see [`Group::invited_by`]).
    invited_by: Option<MemberId>,
    /// The digest of the pending own commit's bytes (see [`Group::sent_commit`]).
    sent_commit: Option<CommitDigest>,
}

impl Group {
    /// Creates a group with this device as its only member.
    pub fn create(
        provider: &impl OpenMlsProvider,
        identity: &Identity,
        config: &GroupConfig,
        name: &str,
    ) -> Result<Self, Error> {
        identity.check_supports(config.ciphersuite)?;
        let name = group_name::validate(name)?;
        let policy = crate::Policy::new(&identity.member().user);
        let keys = crate::JoinKeys::new(provider.rand())?;
        let extensions = group_name::initial_extensions(&name, &policy, &keys)?;
        let group_id = GroupId::random(provider.rand())?;
        let mls = MlsGroup::builder()
            .with_group_id(group_id.to_openmls())
            .ciphersuite(config.ciphersuite.to_openmls())
            .with_wire_format_policy(config.handshake_framing.policy())
            .padding_size(config.padding_block)
            .max_past_epochs(config.max_past_epochs)
            .sender_ratchet_configuration(config.sender_ratchet())
            .use_ratchet_tree_extension(config.ratchet_tree_in_welcome)
            .number_of_resumption_psks(config.resumption_psks_kept)
            .with_capabilities(GroupConfig::capabilities())
            .with_group_context_extensions(extensions)
            .build(provider, identity.signer(), identity.credential_with_key())
            .map_err(|e| Error::Library(Cause::msg(e.to_string())))?;
        Ok(Self::wrap(mls, MemberId::from_credential))
    }

    fn wrap(mls: MlsGroup, credentials: CredentialMapper) -> Self {
        Self {
            mls,
            credentials,
            past_epochs_expire_at: None,
            invited_by: None,
            sent_commit: None,
        }
    }

    /// Replaces how credentials map to members (see [`CredentialMapper`]).
    pub fn set_credential_mapper(&mut self, mapper: CredentialMapper) {
        self.credentials = mapper;
    }

    /// Joins a group from a Welcome.
    ///
    /// `ratchet_tree` is the tree sent beside the Welcome ([`Invitation::ratchet_tree`]); pass
    /// `None` when the Welcome carries the tree in its `ratchet_tree` extension, as some other
    /// implementations do.
    pub fn join(
        provider: &impl OpenMlsProvider,
        config: &GroupConfig,
        welcome: &[u8],
        ratchet_tree: Option<&[u8]>,
    ) -> Result<Self, Error> {
        Self::join_with(
            provider,
            config,
            welcome,
            ratchet_tree,
            JoinOptions::default(),
        )
    }

    /// [`Group::join`] with explicit [`JoinOptions`].
    pub fn join_with(
        provider: &impl OpenMlsProvider,
        config: &GroupConfig,
        welcome: &[u8],
        ratchet_tree: Option<&[u8]>,
        options: JoinOptions,
    ) -> Result<Self, Error> {
        Self::join_checked(provider, config, welcome, ratchet_tree, options, &AcceptAll)
    }

    /// [`Group::join_with`], joining only if `leaves` accepts every member's leaf in the
    /// group's tree. A refused Welcome changes nothing (its key package stays).
    pub fn join_checked(
        provider: &impl OpenMlsProvider,
        config: &GroupConfig,
        welcome: &[u8],
        ratchet_tree: Option<&[u8]>,
        options: JoinOptions,
        leaves: &impl LeafCheck,
    ) -> Result<Self, Error> {
        // Both hold one entry per member (a secret for each joiner, a node for each
        // member), so at thousands of members decoding them is worth both cores.
        let (message, tree) = rayon::join(
            || MlsMessageIn::tls_deserialize_exact(welcome),
            || ratchet_tree.map(RatchetTreeIn::tls_deserialize_exact),
        );
        let message = message.map_err(|e| Error::Malformed(Cause::of(e)))?;
        let welcome = match message.extract() {
            MlsMessageBodyIn::Welcome(welcome) => welcome,
            other => {
                return Err(Error::UnexpectedMessage {
                    expected: "welcome",
                    found: crate::body_name(&other),
                });
            }
        };
        CipherSuite::from_openmls(welcome.ciphersuite())?;
        let tree = tree
            .transpose()
            .map_err(|e| Error::Malformed(Cause::msg(format!("ratchet tree: {e}"))))?;
        // A refused Welcome changes nothing: openmls deletes the key package it is addressed
        // to only in `into_group`, after every check (Conclave's openmls patch 16).
        let join_config = config.join_config();
        let mut builder = StagedWelcome::build_from_welcome(provider, &join_config, welcome)
            .map_err(map_welcome_error)?;
        if let Some(tree) = tree {
            builder = builder.with_ratchet_tree(tree);
        }
        if !options.check_lifetimes {
            builder = builder.skip_lifetime_validation();
        }
        let staged = builder.build().map_err(map_welcome_error)?;
        // Who added us is who signed the GroupInfo inside the Welcome (checked against that
        // member's leaf key while staging), not what the delivery service says.
        let sender = staged
            .welcome_sender()
            .map_err(|e| Error::Library(Cause::of(e)))?;
        let invited_by = (options.credentials)(sender.credential())?;
        // Every member must map to a member id (events name members by it) and pass the
        // caller's check of its key.
        let members = staged
            .members()
            .map(|m| Ok(((options.credentials)(&m.credential)?, m.signature_key)))
            .collect::<Result<Vec<_>, Error>>()?;
        crate::leaf_check::check_leaves(
            leaves,
            &invited_by,
            members.iter().map(|(m, k)| (m, k.as_slice())),
        )?;
        let mls = staged.into_group(provider).map_err(map_welcome_error)?;
        let mut group = Self::wrap(mls, options.credentials);
        group.invited_by = Some(invited_by);
        Ok(group)
    }

    /// The member whose commit added this device, as the Welcome's signed GroupInfo shows;
    /// `None` for a group this device created, or loaded from storage.
    pub fn invited_by(&self) -> Option<&MemberId> {
        self.invited_by.as_ref()
    }

    /// Loads a group from the provider's storage.
    pub fn load(provider: &impl OpenMlsProvider, id: &GroupId) -> Result<Self, Error> {
        let mls = MlsGroup::load(provider.storage(), &id.to_openmls())
            .map_err(|e| Error::Storage(Cause::msg(e.to_string())))?
            .ok_or_else(|| Error::NotFound(format!("group {id}")))?;
        let mut group = Self::wrap(mls, MemberId::from_credential);
        // Whatever past epochs storage kept are counted from now (see PAST_EPOCH_LIFETIME).
        group.start_past_epochs_lifetime();
        Ok(group)
    }

    /// Deletes the group's state from storage.
    pub fn delete(mut self, provider: &impl OpenMlsProvider) -> Result<(), Error> {
        self.mls
            .delete(provider.storage())
            .map_err(|e| Error::Storage(Cause::msg(e.to_string())))
    }

    /// The group id.
    pub fn id(&self) -> GroupId {
        GroupId::from_openmls(self.mls.group_id())
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.mls.epoch().as_u64()
    }

    /// The group's name (from its group-context extension).
    pub fn name(&self) -> String {
        group_name::read(self.mls.extensions())
    }

    /// The ciphersuite.
    pub fn ciphersuite(&self) -> Result<CipherSuite, Error> {
        CipherSuite::from_openmls(self.mls.ciphersuite())
    }

    /// The epoch authenticator (RFC 9420 section 8.7): equal on all members in the same epoch
    /// exactly when they agree on the group's state. Members can compare it to detect a fork.
    pub fn epoch_authenticator(&self) -> Vec<u8> {
        self.mls.epoch_authenticator().as_slice().to_vec()
    }

    /// Whether this device is still a member.
    pub fn is_active(&self) -> bool {
        self.mls.is_active()
    }

    /// Whether an own commit waits for the delivery service's verdict.
    pub fn has_pending_commit(&self) -> bool {
        self.mls.pending_commit().is_some()
    }

    /// The digest of the pending own commit, while one is pending.
    ///
    /// An own commit's echo cannot be decrypted by its sender (its keys are gone once used),
    /// and the sender-data that names this device's leaf is encrypted under a key every
    /// member holds: another member could make any message look like this device's. So the
    /// echo merges the pending commit only if its bytes are the bytes that were sent.
    /// Storage must keep this digest with the pending commit, in the same transaction, and
    /// hand it back after [`Group::load`] through [`Group::restore_sent_commit`]; a group
    /// loaded without it refuses its pending commit's echo.
    pub fn sent_commit(&self) -> Option<CommitDigest> {
        self.sent_commit.filter(|_| self.has_pending_commit())
    }

    /// Gives a loaded group back the digest [`Group::sent_commit`] returned before it was
    /// stored.
    pub fn restore_sent_commit(&mut self, digest: CommitDigest) {
        self.sent_commit = Some(digest);
    }

    /// The group's policy: who is an admin, and what needs one. `None` for a group made
    /// before policies, where everyone may do everything.
    pub fn policy(&self) -> Result<Option<crate::Policy>, Error> {
        crate::policy::read(self.mls.extensions())
    }

    /// Whether `user` may take `action` here under the current policy (a group without one
    /// permits everything). What every other member checks of a commit; a client asks it
    /// before making one, to refuse the user's action with a reason.
    pub fn permits(&self, user: &UserName, action: crate::Action) -> Result<bool, Error> {
        Ok(self
            .policy()?
            .is_none_or(|policy| policy.permits(user, action)))
    }

    /// This device's leaf index.
    pub fn own_leaf_index(&self) -> u32 {
        self.mls.own_leaf_index().u32()
    }

    /// The members, in leaf order.
    pub fn members(&self) -> Result<Vec<MemberInfo>, Error> {
        self.mls
            .members()
            .map(|m| {
                let id = (self.credentials)(&m.credential)?;
                Ok(MemberInfo {
                    id,
                    leaf_index: m.index.u32(),
                    signature_key: m.signature_key,
                })
            })
            .collect()
    }

    /// Each member's id and leaf, for the operations that look members up.
    fn member_leaves(&self) -> Result<Vec<(MemberId, LeafNodeIndex)>, Error> {
        self.mls
            .members()
            .map(|m| Ok(((self.credentials)(&m.credential)?, m.index)))
            .collect()
    }

    /// The TLS-encoded ratchet tree of the current epoch.
    pub fn export_ratchet_tree(&self) -> Result<Vec<u8>, Error> {
        encode(&self.mls.export_ratchet_tree())
    }

    /// How many leaves the ratchet tree has room for, blank ones included (a tree only grows
    /// or shrinks by halves, so this says how much of it a removal left blank).
    pub fn tree_width(&self) -> usize {
        self.mls.public_group().treesync().leaves().len()
    }

    /// The proposals received and stored in this epoch, waiting for a commit, with who sent
    /// each (authenticated by MLS: the sender's leaf signed it).
    pub fn pending_proposals(&self) -> Result<Vec<PendingProposal>, Error> {
        self.mls
            .pending_proposals()
            .map(|p| self.pending(p))
            .collect()
    }

    /// Drops the kept keys of past epochs once their [`PAST_EPOCH_LIFETIME`] is over (see
    /// there); before that, and when none are kept, it does nothing. [`Group::encrypt`] and
    /// [`Group::process`] call it; call it from a timer to also clear idle groups.
    pub fn expire_past_epochs(&mut self, provider: &impl OpenMlsProvider) -> Result<(), Error> {
        match self.past_epochs_expire_at {
            Some(at) if at <= SystemTime::now() => self.forget_past_epochs(provider),
            _ => Ok(()),
        }
    }

    /// When the kept keys of past epochs expire, if any are kept: what a timer calling
    /// [`Group::expire_past_epochs`] waits for.
    pub fn past_epochs_expire_at(&self) -> Option<SystemTime> {
        self.past_epochs_expire_at
    }

    /// Drops the kept keys of all past epochs now: messages still on their way from before
    /// the last commit become undecryptable ([`Error::StaleEpoch`]).
    pub fn forget_past_epochs(&mut self, provider: &impl OpenMlsProvider) -> Result<(), Error> {
        self.mls
            .delete_past_epoch_secrets(provider, PastEpochDeletion::delete_all())
            .map_err(|e| Error::Storage(Cause::msg(e.to_string())))?;
        self.past_epochs_expire_at = None;
        Ok(())
    }

    /// Starts the lifetime of the past epochs' keys (after a merge, or on load), if any are
    /// kept.
    fn start_past_epochs_lifetime(&mut self) {
        let keeps_some = !matches!(
            self.mls.past_epoch_deletion_policy(),
            PastEpochDeletionPolicy::MaxEpochs(0)
        );
        self.past_epochs_expire_at = keeps_some.then(|| SystemTime::now() + PAST_EPOCH_LIFETIME);
    }

    /// A stored proposal, with who sent it.
    fn pending(&self, queued: &QueuedProposal) -> Result<PendingProposal, Error> {
        let by = match queued.sender() {
            openmls::prelude::Sender::Member(leaf) => Some(self.member_at(*leaf)?),
            _ => None,
        };
        Ok(PendingProposal {
            by,
            proposal: self.summarize(queued.proposal())?,
        })
    }

    fn own_member(&self) -> Result<MemberId, Error> {
        (self.credentials)(self.mls.credential().map_err(map_state_error)?)
    }

    fn member_at(&self, leaf: LeafNodeIndex) -> Result<MemberId, Error> {
        let member = self
            .mls
            .member_at(leaf)
            .ok_or_else(|| Error::UnknownMember(format!("leaf {}", leaf.u32())))?;
        (self.credentials)(&member.credential)
    }

    fn summarize(&self, proposal: &openmls::prelude::Proposal) -> Result<ProposalSummary, Error> {
        use openmls::prelude::Proposal;
        Ok(match proposal {
            Proposal::Add(add) => ProposalSummary::Add((self.credentials)(
                add.key_package().leaf_node().credential(),
            )?),
            Proposal::Remove(remove) => ProposalSummary::Remove(self.member_at(remove.removed())?),
            Proposal::Update(_) => ProposalSummary::Update,
            Proposal::GroupContextExtensions(_) => ProposalSummary::GroupContextExtensions,
            _ => ProposalSummary::Other,
        })
    }

    fn check_operational(&self) -> Result<(), Error> {
        if !self.mls.is_active() {
            return Err(Error::NotAMember);
        }
        if self.mls.pending_commit().is_some() {
            return Err(Error::CommitPending);
        }
        Ok(())
    }

    /// Throws away the in-memory state and reads it back from storage: after a failed merge,
    /// memory may be ahead of what was stored.
    fn reload(&mut self, provider: &impl OpenMlsProvider) -> Result<(), Error> {
        let credentials = self.credentials;
        *self = Self::load(provider, &self.id())?;
        self.credentials = credentials;
        Ok(())
    }
}

pub(crate) fn encode(value: &impl tls_codec::Serialize) -> Result<Vec<u8>, Error> {
    value
        .tls_serialize_detached()
        .map_err(|e| Error::Library(Cause::of(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DeviceId, GroupEvent, UserName};
    use openmls_rust_crypto::OpenMlsRustCrypto;
    use std::time::Duration;

    struct Device {
        provider: OpenMlsRustCrypto,
        identity: Identity,
    }

    fn device(user: &str) -> Device {
        let provider = OpenMlsRustCrypto::default();
        let member = MemberId::new(UserName::new(user).unwrap(), DeviceId::new("d1").unwrap());
        let identity = Identity::create(&provider, member, CipherSuite::default()).unwrap();
        Device { provider, identity }
    }

    /// Alice and Bob in one group that keeps a past epoch; Bob has a message from epoch 1
    /// that reaches Alice after her commit moved the group to epoch 2.
    fn late_message_across_a_commit() -> (Device, Group, Vec<u8>) {
        let config = GroupConfig {
            max_past_epochs: 1,
            ..GroupConfig::default()
        };
        let (alice, bob) = (device("alice"), device("bob"));
        let mut alice_group =
            Group::create(&alice.provider, &alice.identity, &config, "g").unwrap();
        assert_eq!(alice_group.past_epochs_expire_at, None);
        let key_package = bob
            .identity
            .key_packages(&bob.provider, &config, 1)
            .unwrap();
        let bundle = alice_group
            .add_members(
                &alice.provider,
                &alice.identity,
                &[key_package[0].bytes.clone()],
            )
            .unwrap();
        alice_group.merge_pending_commit(&alice.provider).unwrap();
        let invitation = bundle.invitation.unwrap();
        let mut bob_group = Group::join(
            &bob.provider,
            &config,
            &invitation.welcome,
            Some(&invitation.ratchet_tree),
        )
        .unwrap();
        assert_eq!(bob_group.past_epochs_expire_at, None);
        let late = bob_group
            .encrypt(&bob.provider, &bob.identity, b"late")
            .unwrap();
        alice_group
            .self_update(&alice.provider, &alice.identity)
            .unwrap();
        alice_group.merge_pending_commit(&alice.provider).unwrap();
        (alice, alice_group, late)
    }

    #[test]
    fn kept_keys_decrypt_a_late_message_within_their_lifetime() {
        let (alice, mut group, late) = late_message_across_a_commit();
        let expires = group
            .past_epochs_expire_at
            .expect("a merge starts the lifetime");
        assert!(expires > SystemTime::now() + PAST_EPOCH_LIFETIME / 2);
        group.expire_past_epochs(&alice.provider).unwrap();
        let events = group.process(&alice.provider, &late).unwrap();
        assert!(
            matches!(&events[..], [GroupEvent::Message { plaintext, .. }] if plaintext == b"late")
        );
    }

    #[test]
    fn kept_keys_are_dropped_by_the_first_use_after_their_lifetime() {
        let (alice, mut group, late) = late_message_across_a_commit();
        group.past_epochs_expire_at = Some(SystemTime::now() - Duration::from_secs(1));
        let result = group.process(&alice.provider, &late);
        assert!(
            matches!(
                result,
                Err(Error::StaleEpoch {
                    message_epoch: 1,
                    group_epoch: 2
                })
            ),
            "{result:?}"
        );
        assert_eq!(group.past_epochs_expire_at, None);
        // Dropped in storage too, not only in memory.
        let mut reloaded = Group::load(&alice.provider, &group.id()).unwrap();
        assert!(matches!(
            reloaded.process(&alice.provider, &late),
            Err(Error::StaleEpoch { .. })
        ));
    }

    #[test]
    fn a_loaded_group_counts_the_lifetime_from_the_load() {
        let (alice, group, late) = late_message_across_a_commit();
        let before = SystemTime::now();
        let mut loaded = Group::load(&alice.provider, &group.id()).unwrap();
        assert!(loaded.past_epochs_expire_at.unwrap() >= before + PAST_EPOCH_LIFETIME);
        assert!(loaded.process(&alice.provider, &late).is_ok());
    }

    #[test]
    fn groups_that_keep_no_past_epochs_have_nothing_to_expire() {
        let (alice, mut group, late) = late_message_across_a_commit();
        group.forget_past_epochs(&alice.provider).unwrap();
        assert!(matches!(
            group.process(&alice.provider, &late),
            Err(Error::StaleEpoch { .. })
        ));
        let config = GroupConfig::default();
        assert_eq!(config.max_past_epochs, 0);
        let mut lone = Group::create(&alice.provider, &alice.identity, &config, "g").unwrap();
        lone.self_update(&alice.provider, &alice.identity).unwrap();
        lone.merge_pending_commit(&alice.provider).unwrap();
        assert_eq!(lone.past_epochs_expire_at, None);
        let loaded = Group::load(&alice.provider, &lone.id()).unwrap();
        assert_eq!(loaded.past_epochs_expire_at, None);
    }
}
