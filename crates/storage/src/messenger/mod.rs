//! The messenger's own tables: profile, devices, conversations, messages (with their edits,
//! reactions and receipts), outbox, cursors.
//!
//! Every method is on [`Tx`], so messenger data changes in the same transaction as the MLS
//! state it goes with.
//!
//! One file per table family; [`sql_text`] is the one place an enum is spelled as SQL text.

mod conversations;
mod devices;
mod edits;
mod key_packages;
mod messages;
mod outbox;
mod profile;
mod reactions;
mod receipts;
mod sql_text;

pub use conversations::{Conversation, ConversationSummary};
pub use devices::{DeviceTrust, KnownDevice};
pub use edits::MessageVersion;
pub use messages::{NewMessage, StoredMessage};
pub use outbox::OutboxEntry;
pub use reactions::Reaction;
pub use receipts::{Receipt, Undelivered};
pub use sql_text::{MessageKind, MessageState, OutboxKind};

use conclave_protocol::{DeviceId, MemberId, UserName};
use serde::{Deserialize, Serialize};

use crate::StoreError;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub i64);
    };
}
id_type!(
    /// A conversation's local id.
    ConversationId
);
id_type!(
    /// A message's local id; ids grow in the order messages were stored.
    MessageId
);
id_type!(
    /// An outbox entry's id; entries are sent in id order.
    OutboxId
);

fn member(user: &str, device: &str) -> Result<MemberId, StoreError> {
    Ok(MemberId::new(
        UserName::new(user).map_err(|e| StoreError::InvalidData(e.to_string()))?,
        DeviceId::new(device).map_err(|e| StoreError::InvalidData(e.to_string()))?,
    ))
}
