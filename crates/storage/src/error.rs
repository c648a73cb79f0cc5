//! The error type of this crate.

use std::path::PathBuf;

use thiserror::Error;

/// What can go wrong with a profile store.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another process (or another `Store` in this one) has the profile open.
    #[error("profile {path} is in use by another process")]
    ProfileInUse {
        /// The database file.
        path: PathBuf,
    },
    /// The file or its directory cannot be opened or created.
    #[error("cannot open {path}: {reason}")]
    CannotOpen {
        /// The file.
        path: PathBuf,
        /// What the operating system or SQLite said.
        reason: String,
    },
    /// The file is not a SQLite database, or it is damaged. Nothing was written to it.
    #[error("{path} is corrupt or not a Conclave profile: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the check found.
        reason: String,
    },
    /// The profile is encrypted and was opened without its secret
    /// ([`crate::Store::open_encrypted`] opens it). Nothing was written to it.
    #[error("{path} is encrypted (or not a profile): unlock it with its passphrase or key")]
    Encrypted {
        /// The file.
        path: PathBuf,
    },
    /// The passphrase or key does not open the encrypted profile (or the file is damaged
    /// beyond its first bytes). Nothing was written to it.
    #[error("wrong passphrase or key for {path} (or the file is damaged)")]
    WrongKey {
        /// The file.
        path: PathBuf,
    },
    /// The file was written by a newer Conclave, whose schema this version does not know.
    /// Nothing was written to it.
    #[error("{path} has schema version {found}; this build supports up to {supported}")]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A migration failed; the file is left at its previous version.
    #[error("migration failed: {0}")]
    Migration(String),
    /// The profile has no identity yet.
    #[error("the profile has no identity yet")]
    NoProfile,
    /// The named conversation does not exist.
    #[error("no such conversation: {0}")]
    NoSuchConversation(String),
    /// A stored value could not be decoded.
    #[error("stored data is invalid: {0}")]
    InvalidData(String),
    /// SQLite failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The MLS layer failed. The transaction must be rolled back (dropping it does that).
    #[error(transparent)]
    Protocol(#[from] conclave_protocol::Error),
}
