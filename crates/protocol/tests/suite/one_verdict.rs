//! A signature gets one verdict, whatever the group's size and the joiner's core count.
//!
//! A malicious creator signs its own leaf with a signature that has a small-order part
//! (valid under RFC 8032's equation with the cofactor, refused by the equation without it)
//! and everything else honestly, then adds honest members. Whether a joiner checks that leaf
//! alone or in a batch depends on how many leaves each core gets; every joiner must still
//! reach the same verdict.

use conclave_protocol::{
    DeviceId, Group, GroupConfig, Identity, MemberId, MemoryProvider, UserName,
};
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use openmls::prelude::{
    CredentialWithKey, MlsGroup, MlsMessageIn, OpenMlsProvider as _,
    PURE_CIPHERTEXT_WIRE_FORMAT_POLICY, ProtocolVersion,
};
use openmls_traits::signatures::{Signer, SignerError};
use openmls_traits::types::SignatureScheme;
use sha2::{Digest, Sha512};
use tls_codec::{Deserialize as _, Serialize as _};

/// An Ed25519 signer that gives its leaf nodes a signature with a small-order part in `R`,
/// and signs everything else honestly.
struct MixedOrderLeafSigner {
    secret: Scalar,
    public: [u8; 32],
}

impl MixedOrderLeafSigner {
    fn new() -> Self {
        let secret = Scalar::from_bytes_mod_order([0x5a; 32]);
        let public = EdwardsPoint::mul_base(&secret).compress().to_bytes();
        Self { secret, public }
    }
}

impl Signer for MixedOrderLeafSigner {
    fn sign(&self, payload: &[u8]) -> Result<Vec<u8>, SignerError> {
        // SignWithLabel's content starts with the label's length and "MLS 1.0 " + label.
        let leaf = payload
            .get(1..)
            .is_some_and(|rest| rest.starts_with(b"MLS 1.0 LeafNodeTBS"));
        let nonce = Scalar::from_hash(Sha512::new().chain_update(b"nonce").chain_update(payload));
        let mut r = EdwardsPoint::mul_base(&nonce);
        if leaf {
            r += EIGHT_TORSION[1];
        }
        let r = r.compress().to_bytes();
        let k = Scalar::from_hash(
            Sha512::new()
                .chain_update(r)
                .chain_update(self.public)
                .chain_update(payload),
        );
        let mut signature = r.to_vec();
        signature.extend_from_slice((nonce + k * self.secret).as_bytes());
        Ok(signature)
    }

    fn signature_scheme(&self) -> SignatureScheme {
        SignatureScheme::ED25519
    }
}

fn device(user: &str) -> MemberId {
    MemberId::new(UserName::new(user).unwrap(), DeviceId::new("d").unwrap())
}

/// Whether a joiner accepts a Welcome into the malicious creator's group of `size` members,
/// joining on `threads` threads.
fn joiner_accepts(size: usize, threads: usize) -> bool {
    let config = GroupConfig::default();
    let suite = config.ciphersuite.to_openmls();
    let evil_provider = MemoryProvider::default();
    let evil = MixedOrderLeafSigner::new();
    let credential = CredentialWithKey {
        credential: device("mallory").to_credential(),
        signature_key: evil.public.to_vec().into(),
    };
    let mut group = MlsGroup::builder()
        .ciphersuite(suite)
        .with_wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
        .with_capabilities(GroupConfig::capabilities())
        .use_ratchet_tree_extension(false)
        .build(&evil_provider, &evil, credential)
        .unwrap();

    // Honest members: the joiner first, then as many others as the size asks for.
    let joiner_provider = MemoryProvider::default();
    let joiner = Identity::create(&joiner_provider, device("joiner"), config.ciphersuite).unwrap();
    let others = MemoryProvider::default();
    let mut packages = joiner.key_packages(&joiner_provider, &config, 1).unwrap();
    for i in 0..size - 2 {
        let member = MemberId::new(
            UserName::new("other").unwrap(),
            DeviceId::new(format!("d{i}")).unwrap(),
        );
        let other = Identity::create(&others, member, config.ciphersuite).unwrap();
        packages.extend(other.key_packages(&others, &config, 1).unwrap());
    }
    let packages: Vec<_> = packages
        .iter()
        .map(|p| {
            let message = MlsMessageIn::tls_deserialize_exact(&p.bytes).unwrap();
            let openmls::prelude::MlsMessageBodyIn::KeyPackage(kp) = message.extract() else {
                panic!("a key package");
            };
            kp.validate(evil_provider.crypto(), ProtocolVersion::Mls10)
                .unwrap()
        })
        .collect();
    let (_, welcome, _) = group.add_members(&evil_provider, &evil, &packages).unwrap();
    group.merge_pending_commit(&evil_provider).unwrap();
    let welcome = welcome.tls_serialize_detached().unwrap();
    let tree = group
        .export_ratchet_tree()
        .tls_serialize_detached()
        .unwrap();

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| Group::join(&joiner_provider, &config, &welcome, Some(&tree)).is_ok())
}

#[test]
fn a_leaf_signature_with_a_small_order_part_gets_one_verdict() {
    let mut verdicts = Vec::new();
    for size in [3, 64, 5_000] {
        for threads in [1, 2] {
            verdicts.push((size, threads, joiner_accepts(size, threads)));
        }
    }
    let first = verdicts[0].2;
    assert!(
        verdicts.iter().all(|(_, _, accepted)| *accepted == first),
        "verdicts differ by size and thread count: {verdicts:?}"
    );
    // The rule accepts it (crypto/mod.rs: RFC 8032's equation with the cofactor).
    assert!(first, "{verdicts:?}");
}
