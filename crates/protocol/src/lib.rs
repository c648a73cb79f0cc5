//! # conclave-protocol
//!
//! Conclave's MLS core (RFC 9420), over [openmls](https://docs.rs/openmls). It turns openmls's
//! plumbing into a small, typed API: a device's [`Identity`], key packages to publish, a
//! [`Group`] whose operations return bytes for the delivery service, and one entry point,
//! [`Group::process`], from incoming bytes to [`GroupEvent`]s.
//!
//! Everything is generic over openmls's `OpenMlsProvider`: it runs in memory on
//! [`MemoryProvider`] as below (or on `openmls_rust_crypto::OpenMlsRustCrypto`, which stores
//! the same state as JSON, more slowly), and on the SQLite storage of `conclave-storage`,
//! where each call is one transaction. Both of Conclave's providers use [`Crypto`]:
//! openmls_rust_crypto's primitives, with Ed25519 signatures checked faster.
//!
//! The openmls underneath is the workspace's `vendor/openmls`: release 0.9.2 with performance
//! patches that change no result (listed in its `CONCLAVE-PATCHES.md`; figures in
//! `docs/PERFORMANCE.md`). One of them stores tree nodes in their TLS encoding; state stored
//! by openmls as published still loads.
//!
//! ```
//! use conclave_protocol::{
//!     DeviceId, Group, GroupConfig, GroupEvent, Identity, MemberId, MemoryProvider, UserName,
//! };
//!
//! # fn main() -> Result<(), conclave_protocol::Error> {
//! let config = GroupConfig::default();
//! let member = |user: &str| MemberId::new(UserName::new(user).unwrap(), DeviceId::new("phone").unwrap());
//!
//! // Each device has its own provider (its own storage) and identity.
//! let (alice_p, bob_p) = (MemoryProvider::default(), MemoryProvider::default());
//! let alice = Identity::create(&alice_p, member("alice"), config.ciphersuite)?;
//! let bob = Identity::create(&bob_p, member("bob"), config.ciphersuite)?;
//!
//! // Bob publishes key packages; Alice fetches one and adds him.
//! let bob_kp = bob.key_packages(&bob_p, &config, 1)?.remove(0);
//! let mut alice_group = Group::create(&alice_p, &alice, &config, "Lunch")?;
//! let commit = alice_group.add_members(&alice_p, &alice, &[bob_kp.bytes])?;
//! // ... the delivery service accepts the commit, then:
//! alice_group.merge_pending_commit(&alice_p)?;
//!
//! let invitation = commit.invitation.expect("an add carries a Welcome");
//! let mut bob_group = Group::join(&bob_p, &config, &invitation.welcome, Some(&invitation.ratchet_tree))?;
//! assert_eq!(bob_group.name(), "Lunch");
//! assert_eq!(bob_group.epoch_authenticator(), alice_group.epoch_authenticator());
//!
//! let ciphertext = alice_group.encrypt(&alice_p, &alice, b"noon?")?;
//! let events = bob_group.process(&bob_p, &ciphertext)?;
//! assert!(matches!(&events[0], GroupEvent::Message { plaintext, .. } if plaintext == b"noon?"));
//! # Ok(())
//! # }
//! ```
//!
//! ## Choices, and why
//! - Handshake messages are encrypted by default ([`HandshakeFraming`]): the server sees a
//!   message's group, epoch and content type, which it needs to order commits, and nothing
//!   of who joined, left or renamed what.
//! - Own commits stay *pending* until the server accepts them (see [`group`]), so two members
//!   committing at once never fork the group.
//! - The ratchet tree travels beside the Welcome, not inside it (see
//!   [`GroupConfig::ratchet_tree_in_welcome`]).
//! - The group name is a group-context extension ([`GROUP_NAME_EXTENSION_TYPE`]): encrypted,
//!   and agreed on by commit.
//! - A member's credential is `"{user}/{device}"` ([`MemberId`]); safety numbers are
//!   specified in [`safety`].
//! - A replaced epoch's message keys are deleted at the commit (forward secrecy): the
//!   delivery service orders messages with commits, and own commits merge at their echo
//!   ([`Group`] says how). Groups configured to keep past epochs keep them for at most
//!   [`PAST_EPOCH_LIFETIME`] (five minutes).

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod config;
mod crypto;
mod error;
mod events;
mod framing;
pub mod group;
mod group_name;
mod identity;
mod ids;
pub mod join_keys;
mod key_package;
mod leaf_check;
pub mod policy;
mod provider;
pub mod rejoin_ask;
pub mod safety;
mod signing;

pub use config::{CipherSuite, GroupConfig, HandshakeFraming, PAST_EPOCH_LIFETIME};
pub use crypto::Crypto;
pub use error::{Cause, Error, LeafRefusal, PolicyRefusal};
pub use events::{GroupEvent, PendingProposal, ProposalSummary};
pub use framing::{ContentKind, Framing, GroupFraming, read_framing};
pub use group::{
    CommitBundle, CommitDigest, CredentialMapper, ExternalJoin, Group, Invitation, JoinOptions,
    MemberInfo,
};
pub use group_name::{GROUP_NAME_EXTENSION_TYPE, MAX_GROUP_NAME_LEN};
pub use identity::{Identity, IdentityRecord, KeyPackageInfo, inspect_key_package};
pub use ids::{DeviceId, GroupId, MAX_NAME_LEN, MemberId, UserName};
pub use join_keys::{InviteLink, JOIN_KEYS_EXTENSION_TYPE, JoinKeys};
pub use key_package::PublishedKeyPackage;
pub use leaf_check::{AcceptAll, LeafCheck, LeafVerdict};
pub use policy::{Action, POLICY_EXTENSION_TYPE, Policy, Role};
pub use provider::MemoryProvider;
pub use rejoin_ask::RejoinAsk;
pub use safety::{Fingerprint, SafetyNumber};

use openmls::prelude::MlsMessageBodyIn;

/// A short name of an `MLSMessage` body, for errors.
pub(crate) fn body_name(body: &MlsMessageBodyIn) -> &'static str {
    match body {
        MlsMessageBodyIn::PublicMessage(_) => "public message",
        MlsMessageBodyIn::PrivateMessage(_) => "private message",
        MlsMessageBodyIn::Welcome(_) => "welcome",
        MlsMessageBodyIn::GroupInfo(_) => "group info",
        MlsMessageBodyIn::KeyPackage(_) => "key package",
        #[allow(unreachable_patterns)]
        _ => "other message",
    }
}
