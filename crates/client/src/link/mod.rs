//! Linking a device to a user who has one already: the code the new device shows
//! ([`LinkCode`]), the encrypted channel between the two devices through the server
//! (`channel`), the history the new device is given (`archive`), and the new device's side
//! of it ([`PendingLink`]). The approving device's side is the engine's (`engine/devices.rs`).
//!
//! The steps, each resumable:
//! 1. The new device makes a signature key and a device id, and shows the code: its id and
//!    key, a fresh 256-bit secret, the server, and an expiry.
//! 2. An existing device of the user takes the code in, shows the new device's fingerprint
//!    for the user to compare, grants the new device at the server and tells it, over the
//!    channel, whose device it is.
//! 3. The new device registers itself (the server checks the grant and the new key's
//!    signature), publishes key packages and says it is ready.
//! 4. The approving device adds it to every conversation (a commit each) and sends the
//!    history; the new device joins from the Welcomes, then stores the history part by
//!    part, each part with its place in one transaction.

mod archive;
mod channel;
mod code;
mod new_device;

pub use code::LinkCode;
pub(crate) use new_device::PENDING;
pub use new_device::PendingLink;

pub(crate) use archive::{Exporter, Part};
pub(crate) use channel::{Channel, Direction, ToApprover, ToNew};

/// How a link is getting on, for a progress display.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkProgress {
    /// The new device waits for an existing device to approve its code.
    WaitingForApproval,
    /// The approving device waits for the new device to register.
    WaitingForNewDevice,
    /// The new device was approved, as a device of `user`.
    Approved {
        /// Whose device it is.
        user: String,
    },
    /// The approving device added the new one to `done` of `total` conversations.
    Adding {
        /// Conversations done.
        done: u32,
        /// Conversations in all.
        total: u32,
    },
    /// The new device joined its conversations: it is usable from here on.
    Joined {
        /// Conversations joined.
        conversations: u32,
    },
    /// History: `done` of `total` messages sent (approving device) or stored (new device).
    History {
        /// Messages so far.
        done: u64,
        /// Messages in all.
        total: u64,
    },
    /// All done.
    Done,
}

/// What the approving device did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkReport {
    /// The new device's id.
    pub device: String,
    /// Conversations it was added to.
    pub conversations: u32,
    /// Messages of history sent to it.
    pub messages: u64,
    /// Bytes of history sent (ciphertext, as the server stored it).
    pub bytes: u64,
}

/// How often a waiting side looks for the other's next chunk.
pub(crate) const POLL: std::time::Duration = std::time::Duration::from_millis(250);
