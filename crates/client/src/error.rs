//! The error type of the client.

use conclave_delivery_api::ErrorCode;
use thiserror::Error;

/// What can go wrong in a client operation. An operation that fails changes nothing that
/// was not already safe to keep (a message stays queued, a half-made commit is dropped).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The profile directory has no profile yet (`Client::create` makes one).
    #[error("no profile in {0}; create one first")]
    NoProfile(String),
    /// `Client::create` found a profile already there.
    #[error("a profile already exists in {0}")]
    ProfileExists(String),
    /// The delivery service cannot be reached (network down, server stopped). Queued messages
    /// are retried later.
    #[error("the server at {server} is unreachable: {reason}")]
    Offline {
        /// The server's address.
        server: String,
        /// What failed.
        reason: String,
    },
    /// The delivery service refused a request.
    #[error("the server refused: {message} ({code:?})")]
    Server {
        /// Its error code.
        code: ErrorCode,
        /// Its explanation.
        message: String,
    },
    /// The server's answer was not what the API specifies.
    #[error("unexpected answer from the server: {0}")]
    BadResponse(String),
    /// The user name is registered by someone else.
    #[error("the user name {0:?} is taken on this server")]
    NameTaken(String),
    /// No user of that name on the server.
    #[error("no user {0:?} on the server")]
    UnknownUser(String),
    /// The server handed out a key package for `user` that is not what was asked for (it
    /// names another device, or has another key than the device this profile knows): nobody
    /// was added.
    #[error("refused a key package for {user}: {reason}")]
    UntrustedKeyPackage {
        /// The user being added.
        user: String,
        /// What was wrong with it.
        reason: String,
    },
    /// None of the user's devices has a key package on the server.
    #[error("{0:?} has no device that can be added right now")]
    NoKeyPackages(String),
    /// None of the user's devices publishes key packages in the conversation's ciphersuite:
    /// their key signs with another scheme, or their app does not support the suite.
    #[error(
        "{user:?} has no device that can join a conversation in {suite}: their devices do not \
         support this ciphersuite"
    )]
    SuiteUnsupported {
        /// The user.
        user: String,
        /// The conversation's suite.
        suite: conclave_protocol::CipherSuite,
    },
    /// No conversation matches.
    #[error("no conversation {0:?}")]
    NoSuchConversation(String),
    /// Several conversations have that name; use the id.
    #[error("{0:?} names several conversations; use its id")]
    AmbiguousConversation(String),
    /// This device is no longer a member of the conversation.
    #[error("you are no longer a member of this conversation")]
    NotAMember,
    /// The conversation is an invitation from someone this profile had never talked to:
    /// accept it ([`crate::Client::accept`]) before writing to it, or decline it.
    #[error("accept the invitation first (or decline it)")]
    NotAccepted,
    /// An attachment that cannot be trusted or read: altered at the server, not found, or
    /// described in a way this client does not accept. Nothing of it was shown or written.
    #[error("the attachment was refused: {0}")]
    AttachmentRefused(String),
    /// No message has this id in the conversation.
    #[error("no message {0} in this conversation")]
    NoSuchMessage(i64),
    /// Only a message's author may edit or delete it.
    #[error("only its author can change that message")]
    NotAuthor,
    /// The conversation's policy does not let this user do that (say, remove someone
    /// without being an admin).
    #[error("refused: {0}")]
    NotPermitted(String),
    /// The user is already in the conversation.
    #[error("{0} is already a member")]
    AlreadyMember(String),
    /// The user is not in the conversation.
    #[error("{0} is not a member")]
    NotInConversation(String),
    /// Other members kept committing first; the operation was given up after this many
    /// attempts. Nothing of it was applied.
    #[error("gave up after {0} attempts: other members kept changing the group first")]
    Contention(u32),
    /// This device was revoked by its user (from another of the user's devices): the server
    /// refuses it, and its conversations' keys were deleted. The profile's history stays
    /// readable; nothing more can be sent or received with it.
    #[error("this device was revoked by its user; link it again to use it")]
    Revoked,
    /// The text given as a link code is not one.
    #[error("not a link code: {0}")]
    InvalidLinkCode(String),
    /// Linking a device failed: the other side did not answer in time, the code was used,
    /// expired, or is for another server or user.
    #[error("linking failed: {0}")]
    LinkFailed(String),
    /// The profile is a device waiting to be linked: run the link again to finish it.
    #[error("the profile in {0} is waiting to be linked; run `link` again to resume")]
    LinkPending(String),
    /// Input the caller gave is not acceptable (empty message, bad name, ...).
    #[error("{0}")]
    InvalidInput(String),
    /// This device cannot get back into a conversation by itself.
    #[error("cannot rejoin: {0}")]
    CannotRejoin(String),
    /// This device's key of the conversation is out of date (its state was saved before the
    /// key changed): it asked the other members for the current one, and rejoins by itself
    /// once one of them answers.
    #[error(
        "cannot rejoin yet: this device's key of the conversation is out of date (restored from \
         an older backup, say); it asked the other members for the current one, and rejoins by \
         itself once one of them is online"
    )]
    RejoinAsked,
    /// The MLS layer refused.
    #[error(transparent)]
    Protocol(#[from] conclave_protocol::Error),
    /// The profile store failed.
    #[error(transparent)]
    Storage(#[from] conclave_storage::StoreError),
    /// The OS keyring that keeps the profile's key failed, or holds no key for it.
    #[error(transparent)]
    Keyring(#[from] crate::KeyringError),
}

impl ClientError {
    /// Whether the failure is the network's: retrying later may succeed.
    pub fn is_offline(&self) -> bool {
        matches!(self, ClientError::Offline { .. })
    }
}

/// Shorthand.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
