//! What a client tells its user interface.

use conclave_protocol::{MemberId, UserName};
use conclave_storage::{ConversationId, MessageId, MessageState, StoredMessage};

/// One thing a UI may want to show. Subscribe with [`crate::Client::subscribe`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A message was stored: one that arrived, one this device just wrote (pending), or a
    /// membership or name change recorded in the history.
    MessageReceived {
        /// Its conversation.
        conversation: ConversationId,
        /// The stored message.
        message: StoredMessage,
    },
    /// A stored message changed: edited, deleted, or its reactions.
    MessageChanged {
        /// Its conversation.
        conversation: ConversationId,
        /// The message.
        message: MessageId,
    },
    /// Messages disappeared (their time was up): they are gone from the store.
    MessagesRemoved {
        /// Their conversation.
        conversation: ConversationId,
        /// The messages.
        messages: Vec<MessageId>,
    },
    /// A read or delivery receipt arrived: who has read or received what changed.
    Receipts {
        /// The conversation.
        conversation: ConversationId,
    },
    /// Someone is typing (shown for a few seconds; never stored).
    Typing {
        /// The conversation.
        conversation: ConversationId,
        /// Who.
        user: UserName,
    },
    /// A message of ours changed state (pending to sent, or to failed).
    MessageStateChanged {
        /// Its conversation.
        conversation: ConversationId,
        /// The message.
        message: MessageId,
        /// Its new state.
        state: MessageState,
    },
    /// Members joined or left a conversation.
    MembersChanged {
        /// The conversation.
        conversation: ConversationId,
    },
    /// The conversation was renamed.
    ConversationRenamed {
        /// The conversation.
        conversation: ConversationId,
        /// Its new name.
        name: String,
    },
    /// This device joined a conversation (created it, or was invited).
    ConversationJoined {
        /// The conversation.
        conversation: ConversationId,
    },
    /// Someone this profile had never talked to added this device to a conversation: it
    /// waits for the user to accept it ([`crate::Client::accept`]) or decline it
    /// ([`crate::Client::decline`]); nothing is sent to it until then.
    InvitationRequest {
        /// The conversation.
        conversation: ConversationId,
        /// Who added this device (the Welcome's signer).
        from: MemberId,
    },
    /// This device is no longer a member (removed, or its leave was committed). The history
    /// stays.
    ConversationLeft {
        /// The conversation.
        conversation: ConversationId,
        /// Who committed the removal.
        by: MemberId,
    },
    /// A device that was known with one key now shows another. The UI must make this
    /// impossible to miss: it is what an attacker in the middle looks like.
    KeyChanged {
        /// The device.
        member: MemberId,
        /// Its previous fingerprint.
        previous_fingerprint: String,
        /// Its new fingerprint.
        fingerprint: String,
    },
    /// A device not seen before joined a conversation for a user who has other devices this
    /// profile knows: the user has a new device (or someone speaks for them with one). Worth
    /// comparing its safety number.
    NewDevice {
        /// The device.
        member: MemberId,
        /// Its fingerprint.
        fingerprint: String,
    },
    /// This device was revoked by its user from another device: the server refuses it, its
    /// conversations' keys are deleted, and it can only show the history it has. The UI
    /// must say so plainly.
    DeviceRevoked,
    /// The connection to the server changed.
    Connection(ConnectionState),
    /// This device cannot go on in a conversation and could not rejoin it by itself (see
    /// [`crate::Client::rejoin`], which the user may try again, or ask to be invited back).
    RejoinNeeded {
        /// Which conversation.
        conversation: ConversationId,
        /// Why the rejoin failed, for people.
        reason: String,
        /// The device's key of the conversation is out of date and it asked the other
        /// members for the current one ([`crate::ClientError::RejoinAsked`]): it rejoins by
        /// itself once one of them answers, and there is nothing for the user to do.
        asked: bool,
    },
    /// Someone asked to join a conversation by its link, which needs approval, and this
    /// user may approve it ([`crate::Client::approve_join`], [`crate::Client::decline_join`]).
    JoinRequested {
        /// Which conversation.
        conversation: ConversationId,
        /// Who asked (as the server names the device that asked).
        user: String,
    },
    /// This device is back in a conversation it could not go on in (by itself, or by
    /// [`crate::Client::rejoin`]).
    Rejoined {
        /// Which conversation.
        conversation: ConversationId,
    },
    /// Something went wrong in the background (an undecryptable message, a failed retry).
    Error {
        /// What happened, for people.
        message: String,
    },
}

/// The push connection's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnectionState {
    /// Connected; new messages arrive as they are sent.
    Online,
    /// Trying to (re)connect.
    Connecting,
    /// Not connected; retrying with backoff.
    Offline,
}
