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
