//! # conclave-storage
//!
//! One SQLite file per profile holds everything a Conclave device knows: its MLS state
//! (through [`openmls_sqlite_storage`]) and the messenger's own data (conversations, messages
//! with full-text search, the outbox, trust records, sync cursors). Every change happens in a
//! [`Tx`], so that "process an incoming message, store its plaintext, advance the cursor" or
//! "make a commit, queue it for sending" commit atomically or not at all; a crash at any
//! instant leaves the last committed state.
//!
//! ```
//! use conclave_protocol::{DeviceId, Group, GroupConfig, Identity, MemberId, UserName};
//! use conclave_storage::Store;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let mut store = Store::open(dir.path().join("profile.sqlite"))?;
//!
//! // Create the identity and a group in one transaction.
//! let config = GroupConfig::default();
//! let mut tx = store.transaction()?;
//! let me = MemberId::new(UserName::new("alice")?, DeviceId::new("laptop")?);
//! let identity = Identity::create(&tx.provider(), me, config.ciphersuite)?;
//! tx.set_profile(&identity.record(), "http://127.0.0.1:7300", 0)?;
//! let group = Group::create(&tx.provider(), &identity, &config, "Notes")?;
//! let group_id = group.id();
//! tx.create_conversation(&group_id, &group.name(), 0)?;
//! tx.insert_group(group);
//! tx.commit()?;
//!
//! // Later transactions borrow the group; dropping one without commit rolls it all back.
//! let mut tx = store.transaction()?;
//! let g = tx.group(&group_id)?;
//! let ciphertext = g.group.encrypt(&g.provider, &identity, b"note to self")?;
//! # let _ = ciphertext;
//! tx.commit()?;
//! # Ok(())
//! # }
//! ```
//!
//! See [`Store::open`] for the journal, durability and locking choices, and [`codec`] for how
//! MLS state is encoded and how a change of codec would migrate.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod at_rest;
pub mod codec;
mod error;
mod messenger;
mod provider;
mod store;

pub use at_rest::{ProfileFile, ProfileKey, ProfileSecret};
pub use error::StoreError;
pub use messenger::{
    Conversation, ConversationId, ConversationSummary, DeviceTrust, KnownDevice, MessageId,
    MessageKind, MessageState, MessageVersion, NewMessage, OutboxEntry, OutboxId, OutboxKind,
    Reaction, Receipt, StoredMessage, Undelivered,
};
pub use provider::{MlsStorage, Provider};
pub use store::{GroupRef, Store, Tx, schema_version};
