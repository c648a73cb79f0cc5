//! The runners of the IETF's MLS test vectors (<https://github.com/mlswg/mls-implementations>)
//! whose checks reach openmls's internals, for an application built on openmls to run the
//! vectors against the code it ships. Each takes one case of its vector file, as the file's
//! JSON deserializes, and says whether openmls agrees with it.

/// `tree-math.json`: the array tree's index arithmetic (root, left, right, parent and
/// sibling of every node) for one tree size.
pub use crate::binary_tree::array_representation::kat_treemath::{
    run_test_vector as check_tree_math, TmTestVectorError, TreeMathTestVector,
};

/// `psk_secret.json`: the PSK secret of the external PSKs `(psk_id, psk, psk_nonce)`, in
/// order, derived as a group derives it, against `expected`.
pub fn check_psk_secret(
    provider: &impl openmls_traits::OpenMlsProvider,
    ciphersuite: openmls_traits::types::Ciphersuite,
    psks: &[(Vec<u8>, Vec<u8>, Vec<u8>)],
    expected: &[u8],
) -> Result<(), String> {
    use crate::schedule::psk::{
        load_psks, store::ResumptionPskStore, ExternalPsk, PreSharedKeyId, Psk, PskSecret,
    };
    let mut ids = Vec::with_capacity(psks.len());
    for (psk_id, psk, nonce) in psks {
        let id = PreSharedKeyId::new_with_nonce(
            Psk::External(ExternalPsk::new(psk_id.clone())),
            nonce.clone(),
        );
        id.store(provider, psk)
            .map_err(|e| format!("storing the PSK: {e:?}"))?;
        ids.push(id);
    }
    let resumption_psks = ResumptionPskStore::new(1024);
    let loaded = load_psks(provider.storage(), &resumption_psks, &ids)
        .map_err(|e| format!("loading the PSKs: {e:?}"))?;
    let secret = PskSecret::new(provider.crypto(), ciphersuite, loaded)
        .map_err(|e| format!("deriving the PSK secret: {e:?}"))?;
    if secret.secret().as_slice() == expected {
        Ok(())
    } else {
        Err("the PSK secret differs".into())
    }
}

/// `secret-tree.json`, sender data: the AEAD key and nonce that `sender_data_secret` gives
/// for a message whose ciphertext is `ciphertext`.
pub fn sender_data_key_and_nonce(
    provider: &impl openmls_traits::OpenMlsProvider,
    ciphersuite: openmls_traits::types::Ciphersuite,
    sender_data_secret: &[u8],
    ciphertext: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), String> {
    use crate::schedule::SenderDataSecret;
    let secret = SenderDataSecret::from_slice(sender_data_secret);
    let key = secret
        .derive_aead_key(provider.crypto(), ciphersuite, ciphertext)
        .map_err(|e| format!("sender data key: {e:?}"))?;
    let nonce = secret
        .derive_aead_nonce(ciphersuite, provider.crypto(), ciphertext)
        .map_err(|e| format!("sender data nonce: {e:?}"))?;
    Ok((key.as_slice().to_vec(), nonce.as_slice().to_vec()))
}

/// A leaf's keys for one generation: the application and the handshake `(key, nonce)`.
pub type LeafKeys = [(Vec<u8>, Vec<u8>); 2];

/// `secret-tree.json`, leaves: the keys of `leaf` at `generation`, in a secret tree of
/// `leaves` leaves grown from `encryption_secret`, as a sender ratchets to them.
pub fn leaf_keys(
    provider: &impl openmls_traits::OpenMlsProvider,
    ciphersuite: openmls_traits::types::Ciphersuite,
    encryption_secret: &[u8],
    leaves: u32,
    leaf: u32,
    generation: u32,
) -> Result<LeafKeys, String> {
    use crate::binary_tree::{array_representation::TreeSize, LeafNodeIndex};
    use crate::schedule::EncryptionSecret;
    use crate::tree::secret_tree::{SecretTree, SecretType};
    if leaf >= leaves {
        return Err(format!("leaf {leaf} outside a tree of {leaves}"));
    }
    let mut tree = SecretTree::new(
        EncryptionSecret::from_slice(encryption_secret),
        TreeSize::new(leaves),
        LeafNodeIndex::new(leaf),
    );
    let index = LeafNodeIndex::new(leaf);
    loop {
        let (handshake_generation, handshake) = tree
            .secret_for_encryption(
                ciphersuite,
                provider.crypto(),
                index,
                SecretType::HandshakeSecret,
            )
            .map_err(|e| format!("handshake ratchet: {e:?}"))?;
        let (_, application) = tree
            .secret_for_encryption(
                ciphersuite,
                provider.crypto(),
                index,
                SecretType::ApplicationSecret,
            )
            .map_err(|e| format!("application ratchet: {e:?}"))?;
        if handshake_generation == generation {
            return Ok([
                (
                    application.0.as_slice().to_vec(),
                    application.1.as_slice().to_vec(),
                ),
                (
                    handshake.0.as_slice().to_vec(),
                    handshake.1.as_slice().to_vec(),
                ),
            ]);
        }
        if handshake_generation > generation {
            return Err(format!("generation {generation} passed"));
        }
    }
}
