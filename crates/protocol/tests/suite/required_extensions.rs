//! A group-context change that newly requires an extension some member does not support is
//! refused; one that keeps the required extensions as they are goes through.
//!
//! The workspace's openmls checks every member's support only for the extension types a
//! change newly requires (CONCLAVE PATCH 32 in vendor/openmls/CONCLAVE-PATCHES.md): the
//! others were checked when each member joined. Were that narrowing wrong (no check at all,
//! or the wrong set of types), the first change here would go through. openmls runs the same
//! check on a received commit as on one it builds.

use conclave_protocol::{GroupConfig, MemoryProvider};
use openmls::prelude::{
    BasicCredential, Capabilities, CredentialWithKey, Extension, ExtensionType, Extensions,
    GroupContext, KeyPackage, MlsGroup, MlsGroupJoinConfig, MlsMessageBodyIn, MlsMessageIn,
    MlsMessageOut, ProcessedMessageContent, RequiredCapabilitiesExtension, StagedWelcome,
};
use openmls_basic_credential::SignatureKeyPair;
use tls_codec::{Deserialize as _, Serialize as _};

/// An extension type every member supports, required from the start.
const SUPPORTED_BY_ALL: u16 = 0xff0b;
/// An extension type only Alice supports.
const ONLY_ALICE_SUPPORTS: u16 = 0xff0a;

struct Device {
    provider: MemoryProvider,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
    capabilities: Capabilities,
}

fn device(name: &str, extensions: &[u16]) -> Device {
    let suite = GroupConfig::default().ciphersuite.to_openmls();
    let signer = SignatureKeyPair::new(suite.signature_algorithm()).unwrap();
    let credential = CredentialWithKey {
        credential: BasicCredential::new(name.as_bytes().to_vec()).into(),
        signature_key: signer.to_public_vec().into(),
    };
    let capabilities = Capabilities::builder()
        .extensions(
            extensions
                .iter()
                .map(|t| ExtensionType::Unknown(*t))
                .collect(),
        )
        .build();
    Device {
        provider: MemoryProvider::default(),
        signer,
        credential,
        capabilities,
    }
}

/// Group-context extensions that require `types`.
fn requiring(types: &[u16]) -> Extensions<GroupContext> {
    let types: Vec<ExtensionType> = types.iter().map(|t| ExtensionType::Unknown(*t)).collect();
    let mut extensions = Extensions::empty();
    extensions
        .add(Extension::RequiredCapabilities(
            RequiredCapabilitiesExtension::new(&types, &[], &[]),
        ))
        .unwrap();
    extensions
}

fn received(message: MlsMessageOut) -> MlsMessageIn {
    MlsMessageIn::tls_deserialize_exact(message.tls_serialize_detached().unwrap()).unwrap()
}

#[test]
fn a_change_that_newly_requires_an_unsupported_extension_is_refused() {
    let suite = GroupConfig::default().ciphersuite.to_openmls();
    let alice = device("alice", &[SUPPORTED_BY_ALL, ONLY_ALICE_SUPPORTS]);
    let bob = device("bob", &[SUPPORTED_BY_ALL]);
    let mut alices_group = MlsGroup::builder()
        .ciphersuite(suite)
        .with_capabilities(alice.capabilities.clone())
        .with_group_context_extensions(requiring(&[SUPPORTED_BY_ALL]))
        .use_ratchet_tree_extension(true)
        .build(&alice.provider, &alice.signer, alice.credential.clone())
        .unwrap();
    let bobs_package = KeyPackage::builder()
        .leaf_node_capabilities(bob.capabilities.clone())
        .build(suite, &bob.provider, &bob.signer, bob.credential.clone())
        .unwrap();
    let (_, welcome, _) = alices_group
        .add_members(
            &alice.provider,
            &alice.signer,
            &[bobs_package.key_package().clone()],
        )
        .unwrap();
    alices_group.merge_pending_commit(&alice.provider).unwrap();
    let MlsMessageBodyIn::Welcome(welcome) = received(welcome).extract() else {
        panic!("a Welcome");
    };
    let mut bobs_group = StagedWelcome::new_from_welcome(
        &bob.provider,
        &MlsGroupJoinConfig::default(),
        welcome,
        None,
    )
    .unwrap()
    .into_group(&bob.provider)
    .unwrap();

    // Requiring what Bob does not support: refused, and nothing changes.
    let epoch = alices_group.epoch();
    let refused = alices_group
        .update_group_context_extensions(
            &alice.provider,
            requiring(&[SUPPORTED_BY_ALL, ONLY_ALICE_SUPPORTS]),
            &alice.signer,
        )
        .expect_err("Bob does not support the newly required extension");
    assert!(
        format!("{refused:?}").contains("RequiredExtensionNotSupportedByAllMembers"),
        "unexpected error: {refused:?}"
    );
    assert_eq!(alices_group.epoch(), epoch);
    assert!(alices_group.pending_commit().is_none());

    // Keeping the required extensions as they are: goes through, and Bob follows.
    let (commit, _, _) = alices_group
        .update_group_context_extensions(
            &alice.provider,
            requiring(&[SUPPORTED_BY_ALL]),
            &alice.signer,
        )
        .unwrap();
    alices_group.merge_pending_commit(&alice.provider).unwrap();
    let commit = received(commit).try_into_protocol_message().unwrap();
    let ProcessedMessageContent::StagedCommitMessage(staged) = bobs_group
        .process_message(&bob.provider, commit)
        .unwrap()
        .into_content()
    else {
        panic!("a commit");
    };
    bobs_group
        .merge_staged_commit(&bob.provider, *staged)
        .unwrap();
    assert_eq!(bobs_group.epoch(), alices_group.epoch());
    assert_eq!(
        bobs_group.epoch_authenticator().as_slice(),
        alices_group.epoch_authenticator().as_slice()
    );
}
