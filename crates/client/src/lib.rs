//! # conclave-client
//!
//! Conclave's messenger engine: [`conclave_protocol`] (MLS), [`conclave_storage`] (one
//! SQLite file per profile) and the delivery service (`conclave-ds`), behind one async
//! [`Client`]. The desktop app and the `conclave-cli` command are thin layers over it.
//!
//! ```no_run
//! use conclave_client::{Client, ClientEvent};
//! use conclave_protocol::UserName;
//!
//! # async fn demo() -> Result<(), conclave_client::ClientError> {
//! // Once per device: a profile, registered at the server, with key packages published.
//! let dir = std::path::Path::new("/tmp/alice");
//! let alice = Client::create(dir, "alice", "http://127.0.0.1:7300").await?;
//!
//! // A conversation with every device of bob and carol, in one MLS commit.
//! let users = [UserName::new("bob")?, UserName::new("carol")?];
//! let chat = alice.create_conversation("Lunch", &users).await?;
//! alice.send_text(chat, "noon?").await?;
//!
//! // Push, retries, key-package top-up and key rotation run in the background.
//! let _background = alice.start();
//! let mut events = alice.subscribe();
//! while let Ok(event) = events.recv().await {
//!     if let ClientEvent::MessageReceived { message, .. } = event {
//!         println!("{}: {}", message.message.sender, message.message.body);
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! ## How it behaves
//! - **Sending**: a message is stored as pending and queued in the same transaction, then
//!   sent; it becomes sent when the server accepts it. Offline, it stays queued and is
//!   retried with backoff. Each attempt encrypts anew; receivers recognise a resend by the
//!   message id (see [`content`]), so a message is shown exactly once.
//! - **Receiving**: each queue item is applied, with its plaintext and the sync cursor, in
//!   one storage transaction, then acknowledged. Push (WebSocket) only wakes the client;
//!   the fetch after the cursor is the one path by which items arrive.
//! - **Group changes** (create, invite, remove, rename, key rotation) catch up first, commit,
//!   and send the commit to every member including this device. When another member's
//!   commit wins the epoch (`409 stale_epoch`), the client applies the winner and redoes
//!   the operation, up to [`ClientConfig::max_commit_attempts`] times. An accepted commit
//!   is merged by its echo, where the server queued it: messages the server took before it
//!   are read in the old epoch first. The server accepts a message only in the group's
//!   current epoch, so no member keeps a past epoch's keys: they are deleted at the commit
//!   (forward secrecy). If the process dies in between, the next sync meets the echo; a
//!   commit whose echo never comes (the server did not take it) is dropped once the queue
//!   is drained without it.
//! - **Leaving** is a proposal (MLS forbids committing one's own removal): the member with
//!   the lowest leaf among those staying commits it; any member's next commit includes it.
//!   That is the only proposal committed on a member's behalf: any other proposal from a
//!   member (to add or remove someone, ...) is dropped on receipt and recorded in the
//!   history under its author's name, so no commit applies it in the name of a member who
//!   never committed it. Changes are made by commits, which name their author.
//! - **Invitations** name who added this device from the Welcome's signed GroupInfo, not
//!   from what the server says. One from a user this profile has never met in any group is
//!   a request ([`ClientEvent::InvitationRequest`], [`Conversation::request`]): its messages
//!   are read, but nothing is sent to the group (message, commit, key rotation, committing
//!   others' leaves) until [`Client::accept`]; [`Client::decline`] leaves. A key package the server hands out is used only if it is
//!   the one asked for: it names the user and device claimed and, for a device seen before,
//!   carries the key it had ([`ClientError::UntrustedKeyPackage`] otherwise).
//! - **Trust**: every leaf a commit or Welcome brings in must carry the key the server's
//!   directory holds for its device (looked up once per item for all the users it names,
//!   then cached); otherwise the commit is refused (a history line names who made it, and
//!   the server is told, which undoes it once most members refused it) or the invitation
//!   is. Every member's key is recorded on first sight; a different key for a known
//!   device raises [`ClientEvent::KeyChanged`]. Safety numbers come from
//!   [`conclave_protocol::safety`]; [`Client::verify`] marks a user's keys verified.
//! - **Key packages**: the server keeps [`ClientConfig::key_package_stock`] one-time packages
//!   and one last-resort package of each device. The last-resort one is replaced every
//!   [`ClientConfig::last_resort_rotation`] (7 days); the private keys of a replaced
//!   last-resort package, and of a one-time package past its lifetime (90 days), are deleted
//!   after [`ClientConfig::key_package_grace`] (30 days: the server's default retention, so
//!   a queued Welcome still opens).
//! - **Several devices** ([`link`]): a new device shows a code
//!   ([`link::PendingLink`]); a device of the user approves it ([`Client::approve_link`]),
//!   which adds it to every conversation and sends it the history, encrypted with a key
//!   derived from the code's secret. [`Client::devices`] lists the user's devices and
//!   [`Client::revoke_device`] revokes one; a revoked device learns it
//!   ([`ClientEvent::DeviceRevoked`], [`ClientError::Revoked`]) and deletes its groups.
//! - **Key rotation**: each device commits a self-update in each of its groups every
//!   [`ClientConfig::rotation_interval`] (default 24 h): post-compromise security without
//!   user action.
//!
//! ## What the server can and cannot do
//! The server is not trusted with content or identity; point by point (the server's side is
//! in `crates/delivery/API.md`, "What the server can and cannot do to a group"):
//! - It **cannot** read messages, names or membership changes (all MLS ciphertext), speak
//!   as a member (every message is signed by its sender's leaf), choose who an invitation
//!   is from (the Welcome's signed GroupInfo decides), slip another device's key package in
//!   for a device this profile knows, or make this device merge a commit it did not send
//!   (an own commit merges only at the echo of its exact bytes).
//! - Each commit's envelope declares the members it removes and the devices its Welcome
//!   adds, so an honest server keeps every group's roster: non-members and removed devices
//!   cannot post to it.
//! - It **can** withhold, delay or drop messages, see metadata (devices, groups, sizes,
//!   times), hand out a key package it made for a device this profile has never seen (shown
//!   as a new device, checkable by safety number), and split a group by showing members
//!   different commits, which their differing epoch authenticators reveal.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod attachment;
mod background;
mod client;
mod config;
pub mod display;
mod ds;
mod engine;
mod error;
mod events;
mod file_transfer;
pub mod invite;
pub mod link;
mod messaging;
mod os_keyring;
mod profile;

pub use background::Background;
pub use client::Client;
pub use conclave_delivery_api::JoinRequest;
pub use config::ClientConfig;
pub use engine::{Annotations, LinkJoin, Member, OwnDevice, Quote, SecurityInfo};
pub use error::{ClientError, Result};
pub use events::{ClientEvent, ConnectionState};
pub use file_transfer::AttachmentInfo;
pub use invite::InviteLink;
pub use os_keyring::{KeyringError, ProfileKeyring};
pub use profile::PROFILE_FILE;

pub use conclave_content as content;
pub use conclave_protocol::{Action, CipherSuite, Error as ProtocolError, Policy, Role, UserName};
pub use conclave_storage::{
    Conversation, ConversationId, ConversationSummary, KnownDevice, MessageId, MessageKind,
    MessageState, MessageVersion, NewMessage, ProfileFile, ProfileKey, ProfileSecret, StoreError,
    StoredMessage,
};

/// For Conclave's own benchmarks; not a stable API.
#[doc(hidden)]
pub mod bench_support {
    /// Seals and opens `size` bytes as an attachment is, timed: (seal, open).
    pub fn seal_and_open(size: usize) -> (std::time::Duration, std::time::Duration) {
        crate::attachment::seal_and_open(size)
    }
}
