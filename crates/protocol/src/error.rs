//! The one error type of this crate.

use std::fmt;
use std::sync::Arc;

use thiserror::Error;

/// What an [`Error`](enum@Error) came from, kept as its `source()`: the underlying library's error where
/// there is one (openmls, tls_codec, the storage provider), or the reason in words where the
/// error is ours or the library's error type cannot be kept (a storage provider's error is
/// only `Display`). It displays as that error does. Two causes compare equal when they read
/// the same, so [`Error`](enum@Error) stays comparable.
#[derive(Clone)]
pub struct Cause(Arc<dyn std::error::Error + Send + Sync>);

/// A reason in words, as an error.
#[derive(Debug)]
struct Reason(String);

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Reason {}

impl Cause {
    /// Keeps `error` itself.
    pub fn of(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(error))
    }

    /// A reason in words.
    pub fn msg(reason: impl Into<String>) -> Self {
        Self(Arc::new(Reason(reason.into())))
    }

    /// The error kept, to downcast to its type.
    pub fn error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self.0.as_ref()
    }
}

impl From<&str> for Cause {
    fn from(reason: &str) -> Self {
        Self::msg(reason)
    }
}

impl From<String> for Cause {
    fn from(reason: String) -> Self {
        Self::msg(reason)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for Cause {}

/// Everything that can go wrong in `conclave-protocol`.
///
/// Every failing operation leaves the group exactly as it was, in memory and in storage,
/// unless a variant says otherwise.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a well-formed MLS structure (garbage, truncated, trailing bytes).
    #[error("malformed message: {0}")]
    Malformed(#[source] Cause),
    /// A well-formed MLS message of the wrong kind for this call (say, a Welcome passed where
    /// a group message is expected).
    #[error("unexpected message: expected {expected}, got {found}")]
    UnexpectedMessage {
        /// What the call takes.
        expected: &'static str,
        /// What the bytes were.
        found: &'static str,
    },
    /// The message belongs to another group.
    #[error("message is for another group")]
    WrongGroup,
    /// A handshake message for an epoch this group has left behind, or an application message
    /// older than the kept past epochs.
    #[error("message is for epoch {message_epoch}, the group is at epoch {group_epoch}")]
    StaleEpoch {
        /// The message's epoch.
        message_epoch: u64,
        /// The group's epoch.
        group_epoch: u64,
    },
    /// A message for an epoch this member has not reached: a commit is missing before it.
    #[error("message is for future epoch {message_epoch}, the group is at epoch {group_epoch}")]
    FutureEpoch {
        /// The message's epoch.
        message_epoch: u64,
        /// The group's epoch.
        group_epoch: u64,
    },
    /// The sender is not (or no longer) a member of the group.
    #[error("sender is not a member of the group")]
    SenderNotMember,
    /// The message was processed before: its key has been used and deleted.
    #[error("message was already processed (replay)")]
    AlreadyProcessed,
    /// The message could not be decrypted or authenticated.
    #[error("message could not be decrypted or authenticated: {0}")]
    Undecryptable(#[source] Cause),
    /// The commit or proposal is invalid under RFC 9420's rules.
    #[error("invalid commit or proposal: {0}")]
    InvalidCommit(#[source] Cause),
    /// A key package failed validation (signature, lifetime, ciphersuite, capabilities).
    #[error("invalid key package: {0}")]
    InvalidKeyPackage(#[source] Cause),
    /// A Welcome could not be used to join.
    #[error("invalid welcome: {0}")]
    InvalidWelcome(#[source] Cause),
    /// No key package of ours matches the Welcome: it was meant for someone else, or the key
    /// package was already used.
    #[error("no key package of this device matches the welcome")]
    WelcomeNotForUs,
    /// The ciphersuite is not one Conclave supports.
    #[error("unsupported ciphersuite 0x{code_point:04x}")]
    UnsupportedCiphersuite {
        /// Its IANA code point.
        code_point: u16,
    },
    /// A ciphersuite name that names no supported suite.
    #[error("unknown ciphersuite {name:?}: one of {known}")]
    UnknownCiphersuite {
        /// The name given.
        name: String,
        /// The names accepted.
        known: String,
    },
    /// The device's one signature key cannot sign in the suite: each suite fixes its
    /// signature scheme.
    #[error("{suite} signs with {needs:?}, and this device's key is {key:?}")]
    SuiteNeedsOtherKey {
        /// The suite asked for.
        suite: crate::CipherSuite,
        /// The scheme it signs with.
        needs: openmls_traits::types::SignatureScheme,
        /// The scheme of the device's key.
        key: openmls_traits::types::SignatureScheme,
    },
    /// A user name or device id breaks the naming rules.
    #[error("invalid name {name:?}")]
    InvalidName {
        /// The rejected name.
        name: String,
    },
    /// A group name is empty after trimming or longer than the limit.
    #[error("invalid group name")]
    InvalidGroupName,
    /// A credential that is not a Conclave `user/device` identity.
    #[error("credential is not a Conclave identity: {identity}")]
    ForeignCredential {
        /// The credential's identity bytes, hex.
        identity: String,
    },
    /// The named member or user is not in the group.
    #[error("no such member: {0}")]
    UnknownMember(String),
    /// A leaf a commit or Welcome brings in was refused by the caller's [`crate::LeafCheck`]
    /// (say, it names a device with a key that is not the device's).
    #[error("{}, brought in by {}, refused: {}", .0.member, .0.by, .0.reason)]
    LeafRefused(Box<LeafRefusal>),
    /// A commit breaks the group's policy (a member who is not an admin removing someone,
    /// say): refused, nothing changed.
    #[error("{}'s change was refused: only admins may {}{}", .0.by, .0.action, .0.detail)]
    PolicyRefused(Box<PolicyRefusal>),
    /// An external commit the members do not accept (see [`crate::join_keys`]), or that
    /// this device would not send for that reason: refused, nothing changed.
    #[error("{by}'s join was refused: {reason}")]
    JoinRefused {
        /// The joiner (authenticated by MLS: the leaf its commit brings in).
        by: Box<crate::MemberId>,
        /// Why.
        reason: String,
    },
    /// A GroupInfo that cannot be joined from: malformed, badly signed, or with an invalid
    /// tree.
    #[error("the group's info cannot be used to join: {0}")]
    InvalidGroupInfo(#[source] Cause),
    /// A member's ask for the rejoin key (see [`crate::rejoin_ask`]) that is not answered:
    /// malformed, for another group, naming no member, or not signed by the member's leaf.
    #[error("the ask for the rejoin key is refused: {0}")]
    InvalidRejoinAsk(#[source] Cause),
    /// The group's policy extension (in a commit, or the group's own) cannot be read.
    #[error("the group's policy cannot be read: {0}")]
    InvalidPolicy(#[source] Cause),
    /// The caller's [`crate::LeafCheck`] cannot yet tell whether these leaves may join: it
    /// must learn more (the directory's keys of their users) and process the message again.
    /// Nothing changed.
    #[error("leaves not yet checked: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    LeavesUnknown(Vec<crate::MemberId>),
    /// A member being added is in the group already.
    #[error("already a member: {0}")]
    AlreadyMember(String),
    /// This device is no longer a member (it was removed, or it left).
    #[error("this device is no longer a member of the group")]
    NotAMember,
    /// An own commit is waiting for the delivery service's verdict; merge or discard it first.
    #[error("an own commit is pending")]
    CommitPending,
    /// There is no own commit to merge or discard.
    #[error("no own commit is pending")]
    NoPendingCommit,
    /// An operation that needs at least one item got none.
    #[error("nothing to do: {0}")]
    EmptyInput(&'static str),
    /// The group or identity was not found in storage.
    #[error("not found in storage: {0}")]
    NotFound(String),
    /// The storage provider failed. The caller's transaction must roll back.
    #[error("storage error: {0}")]
    Storage(#[source] Cause),
    /// The crypto provider failed.
    #[error("crypto error: {0}")]
    Crypto(#[source] Cause),
    /// openmls reported an internal error (a bug there, not bad input).
    #[error("internal MLS library error: {0}")]
    Library(#[source] Cause),
}

/// What [`Error::LeafRefused`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafRefusal {
    /// Who the leaf claims to be.
    pub member: crate::MemberId,
    /// The member whose commit or Welcome brought it in (authenticated by MLS).
    pub by: crate::MemberId,
    /// Why it was refused.
    pub reason: String,
}

/// What [`Error::PolicyRefused`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRefusal {
    /// The member whose commit it was (authenticated by MLS).
    pub by: crate::MemberId,
    /// What it did that only admins may.
    pub action: crate::policy::Action,
    /// Whom it concerned, as words after the action (" (bob)"), or nothing.
    pub detail: String,
}
