//! [`MemoryProvider`]: openmls's in-memory provider with a binary codec.

use openmls_memory_storage::MemoryStorage;
use openmls_traits::OpenMlsProvider;

use crate::Crypto;

/// An `OpenMlsProvider` that keeps everything in memory: for tests, benches and clients that
/// keep no state across runs. Persistent clients use `conclave-storage`.
///
/// It is `openmls_rust_crypto::OpenMlsRustCrypto` with two differences. Its storage
/// (`vendor/openmls_memory_storage`) encodes values in MessagePack rather than JSON: openmls
/// rewrites the whole ratchet tree after every commit and the message secrets after every
/// message, and in JSON that alone was half of processing a commit at 1,000 members
/// (docs/PERFORMANCE.md). Its crypto is [`Crypto`], which checks Ed25519 signatures faster
/// and by one rule alone and in batches (it accepts what `verify_strict` accepts, and
/// also signatures a signer built with small-order parts: see [`Crypto`]'s module).
/// `OpenMlsRustCrypto` works with every API of this crate too.
#[derive(Debug, Default)]
pub struct MemoryProvider {
    crypto: Crypto,
    storage: MemoryStorage,
}

impl OpenMlsProvider for MemoryProvider {
    type CryptoProvider = Crypto;
    type RandProvider = Crypto;
    type StorageProvider = MemoryStorage;

    fn storage(&self) -> &Self::StorageProvider {
        &self.storage
    }

    fn crypto(&self) -> &Self::CryptoProvider {
        &self.crypto
    }

    fn rand(&self) -> &Self::RandProvider {
        &self.crypto
    }
}
