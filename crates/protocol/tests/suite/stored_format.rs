//! Group state stored by openmls as published still loads.
//!
//! The workspace's openmls stores ratchet-tree nodes as their TLS encoding and only the filled
//! slots of the secret tree (CONCLAVE PATCHES 8 and 9 in vendor/openmls/CONCLAVE-PATCHES.md);
//! openmls 0.9.2 as published stores them field by field and slot by slot. Here openmls as published (`openmls_upstream`) creates a group and adds a member,
//! then conclave-protocol loads the creator's group from the same storage, commits in it,
//! reloads it (now in the new format), and the member, still on openmls as published, follows
//! every step. Both storage codecs are covered: JSON (`OpenMlsRustCrypto`) and MessagePack
//! ([`MemoryProvider`]).

use conclave_protocol::{
    CipherSuite, DeviceId, Group, GroupEvent, GroupId, Identity, MemberId, MemoryProvider, UserName,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use openmls_traits::{OpenMlsProvider, types::SignatureScheme};
use openmls_upstream::prelude::{
    BasicCredential, CredentialWithKey, KeyPackage, MlsGroup, MlsGroupCreateConfig,
    MlsGroupJoinConfig, MlsMessageBodyIn, MlsMessageIn, ProcessedMessageContent, StagedWelcome,
};
use tls_codec::{Deserialize as _, Serialize as _};

/// A device whose identity conclave-protocol created, with the same key pair handed to
/// openmls as published.
struct Device {
    identity: Identity,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
}

fn device<P: OpenMlsProvider>(provider: &P, user: &str) -> Device {
    let member = MemberId::new(UserName::new(user).unwrap(), DeviceId::new("d").unwrap());
    let identity = Identity::create(provider, member.clone(), CipherSuite::default()).unwrap();
    let signer = SignatureKeyPair::read(
        provider.storage(),
        identity.signature_public_key(),
        SignatureScheme::ED25519,
    )
    .unwrap();
    let credential = CredentialWithKey {
        credential: BasicCredential::new(member.to_string().into_bytes()).into(),
        signature_key: signer.public().into(),
    };
    Device {
        identity,
        signer,
        credential,
    }
}

/// A member on openmls as published, with its own storage.
struct Upstream<P> {
    group: MlsGroup,
    provider: P,
    device: Device,
}

impl<P: OpenMlsProvider> Upstream<P> {
    /// Processes `bytes` (a commit or an application message), merging a commit.
    fn process(&mut self, bytes: &[u8]) {
        let protocol = MlsMessageIn::tls_deserialize_exact(bytes)
            .unwrap()
            .try_into_protocol_message()
            .unwrap();
        let processed = self
            .group
            .process_message(&self.provider, protocol)
            .unwrap();
        if let ProcessedMessageContent::StagedCommitMessage(staged) = processed.into_content() {
            self.group
                .merge_staged_commit(&self.provider, *staged)
                .unwrap();
        }
    }

    /// Sends `text` to `group`, which must read it.
    fn send_to(&mut self, group: &mut Group, provider: &P, text: &[u8]) {
        let message = self
            .group
            .create_message(&self.provider, &self.device.signer, text)
            .unwrap()
            .tls_serialize_detached()
            .unwrap();
        let events = group.process(provider, &message).unwrap();
        assert!(
            matches!(&events[..], [GroupEvent::Message { plaintext, .. }] if plaintext == text),
            "{events:?}"
        );
    }

    /// `group` commits a self-update; this member follows it into the same epoch.
    fn follow_commit_of(&mut self, group: &mut Group, provider: &P, identity: &Identity) {
        let commit = group.self_update(provider, identity).unwrap();
        group.merge_pending_commit(provider).unwrap();
        self.process(&commit.commit);
        assert_eq!(
            self.group.epoch_authenticator().as_slice(),
            group.epoch_authenticator()
        );
    }
}

fn old_format_loads_and_is_carried_forward<P: OpenMlsProvider + Default>() {
    let (alice_p, bob_p) = (P::default(), P::default());
    let (alice, bob) = (device(&alice_p, "alice"), device(&bob_p, "bob"));

    // openmls as published: create, add Bob, Bob joins. The tree is stored field by field.
    let mut upstream_alice = MlsGroup::new(
        &alice_p,
        &alice.signer,
        &MlsGroupCreateConfig::default(),
        alice.credential.clone(),
    )
    .unwrap();
    let bob_kp = KeyPackage::builder()
        .build(
            upstream_alice.ciphersuite(),
            &bob_p,
            &bob.signer,
            bob.credential.clone(),
        )
        .unwrap();
    let (_, welcome, _) = upstream_alice
        .add_members(&alice_p, &alice.signer, &[bob_kp.key_package().clone()])
        .unwrap();
    upstream_alice.merge_pending_commit(&alice_p).unwrap();
    let welcome =
        match MlsMessageIn::tls_deserialize_exact(welcome.tls_serialize_detached().unwrap())
            .unwrap()
            .extract()
        {
            MlsMessageBodyIn::Welcome(w) => w,
            other => panic!("expected a Welcome, got {other:?}"),
        };
    let tree = upstream_alice.export_ratchet_tree();
    let upstream_bob = StagedWelcome::new_from_welcome(
        &bob_p,
        &MlsGroupJoinConfig::default(),
        welcome,
        Some(tree.into()),
    )
    .unwrap()
    .into_group(&bob_p)
    .unwrap();
    let mut bob = Upstream {
        group: upstream_bob,
        provider: bob_p,
        device: bob,
    };
    let group_id = GroupId::from_bytes(upstream_alice.group_id().as_slice());
    let authenticator = upstream_alice.epoch_authenticator().as_slice().to_vec();
    drop(upstream_alice);

    // conclave-protocol loads the group openmls as published stored.
    let mut group = Group::load(&alice_p, &group_id).unwrap();
    assert_eq!(group.epoch(), 1);
    assert_eq!(group.epoch_authenticator(), authenticator);
    assert_eq!(group.members().unwrap().len(), 2);
    // Its message secrets were stored by openmls as published too.
    bob.send_to(&mut group, &alice_p, b"hello");

    // A commit by the loaded group; the upstream member follows it.
    bob.follow_commit_of(&mut group, &alice_p, &alice.identity);
    assert_eq!(group.epoch(), 2);

    // Reloaded from the state conclave-protocol wrote, it keeps working with the member.
    drop(group);
    let mut group = Group::load(&alice_p, &group_id).unwrap();
    assert_eq!(group.epoch(), 2);
    assert_eq!(
        bob.group.epoch_authenticator().as_slice(),
        group.epoch_authenticator()
    );
    bob.follow_commit_of(&mut group, &alice_p, &alice.identity);
    bob.send_to(&mut group, &alice_p, b"still here");
}

#[test]
fn a_group_stored_by_openmls_as_published_loads_from_json() {
    old_format_loads_and_is_carried_forward::<OpenMlsRustCrypto>();
}

#[test]
fn a_group_stored_by_openmls_as_published_loads_from_messagepack() {
    old_format_loads_and_is_carried_forward::<MemoryProvider>();
}
