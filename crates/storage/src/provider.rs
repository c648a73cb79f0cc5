//! The `OpenMlsProvider` a transaction hands out.

use conclave_protocol::Crypto;
use openmls_sqlite_storage::{Connection, SqliteStorageProvider};
use openmls_traits::OpenMlsProvider;

use crate::codec::MlsCodec;

/// MLS storage over one SQLite connection (inside a transaction: see [`crate::Tx`]).
pub type MlsStorage<'c> = SqliteStorageProvider<MlsCodec, &'c Connection>;

/// openmls's provider for one transaction: conclave-protocol's `Crypto` for crypto and
/// randomness, and the transaction's connection for storage. Everything openmls writes through
/// it commits or rolls back with the transaction.
pub struct Provider<'c> {
    crypto: &'c Crypto,
    storage: MlsStorage<'c>,
}

impl<'c> Provider<'c> {
    /// A provider over `connection`, a profile's (a transaction's, as [`crate::Tx::provider`]
    /// hands out; or a tool's own, such as the fuzz target that loads rows it changed).
    pub fn new(crypto: &'c Crypto, connection: &'c Connection) -> Self {
        Self {
            crypto,
            storage: SqliteStorageProvider::new(connection),
        }
    }
}

impl<'c> OpenMlsProvider for Provider<'c> {
    type CryptoProvider = Crypto;
    type RandProvider = Crypto;
    type StorageProvider = MlsStorage<'c>;

    fn storage(&self) -> &Self::StorageProvider {
        &self.storage
    }

    fn crypto(&self) -> &Self::CryptoProvider {
        self.crypto
    }

    fn rand(&self) -> &Self::RandProvider {
        self.crypto
    }
}
