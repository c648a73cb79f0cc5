//! openmls 0.9.2 as published (`openmls-upstream`, at its defaults), driven as the benches
//! drive Conclave: devices, a group created with everyone added in one commit, joins and
//! processing. Shared by `protocol.rs` and `large.rs`, which run it beside Conclave in one
//! binary.

// Each bench uses its own part of this.
#![allow(dead_code)]

use std::hint::black_box;

use conclave_protocol::GroupConfig;
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use openmls_upstream::prelude::{
    BasicCredential, CredentialWithKey, KeyPackage, KeyPackageIn, LeafNodeParameters, MlsGroup,
    MlsGroupCreateConfig, MlsGroupJoinConfig, MlsMessageBodyIn, MlsMessageIn, MlsMessageOut,
    ProcessedMessageContent, ProtocolVersion, StagedWelcome,
};
use tls_codec::{Deserialize as _, Serialize as _};

pub struct PlainDevice {
    pub provider: OpenMlsRustCrypto,
    pub signer: SignatureKeyPair,
    pub credential: CredentialWithKey,
}

pub fn plain_device(i: usize) -> PlainDevice {
    let provider = OpenMlsRustCrypto::default();
    let suite = GroupConfig::default().ciphersuite.to_openmls();
    let signer = SignatureKeyPair::new(suite.signature_algorithm()).unwrap();
    signer
        .store(openmls_upstream::prelude::OpenMlsProvider::storage(
            &provider,
        ))
        .unwrap();
    let credential = CredentialWithKey {
        credential: BasicCredential::new(format!("user{i}").into_bytes()).into(),
        signature_key: signer.to_public_vec().into(),
    };
    PlainDevice {
        provider,
        signer,
        credential,
    }
}

/// A fresh key package of `d`'s, as an encoded `MlsMessage`.
pub fn plain_key_package(d: &PlainDevice) -> Vec<u8> {
    let suite = GroupConfig::default().ciphersuite.to_openmls();
    let kp = KeyPackage::builder()
        .build(suite, &d.provider, &d.signer, d.credential.clone())
        .unwrap();
    MlsMessageOut::from(kp.key_package().clone())
        .tls_serialize_detached()
        .unwrap()
}

pub struct Plain {
    pub creator: PlainDevice,
    pub joiners: Vec<PlainDevice>,
    pub key_packages: Vec<Vec<u8>>,
}

impl Plain {
    pub fn new(n: usize) -> Self {
        let joiners: Vec<PlainDevice> = (1..=n).map(plain_device).collect();
        let key_packages = joiners.iter().map(plain_key_package).collect();
        Self {
            creator: plain_device(0),
            joiners,
            key_packages,
        }
    }

    /// Returns the group, the serialized Welcome and the serialized tree.
    pub fn create_and_add(&self) -> (MlsGroup, Vec<u8>, Vec<u8>) {
        let c = &self.creator;
        let kps: Vec<KeyPackage> = self
            .key_packages
            .iter()
            .map(|bytes| {
                match MlsMessageIn::tls_deserialize_exact(bytes)
                    .unwrap()
                    .extract()
                {
                    MlsMessageBodyIn::KeyPackage(kp) => KeyPackageIn::validate(
                        kp,
                        openmls_upstream::prelude::OpenMlsProvider::crypto(&c.provider),
                        ProtocolVersion::Mls10,
                    )
                    .unwrap(),
                    _ => unreachable!(),
                }
            })
            .collect();
        let config = MlsGroupCreateConfig::builder()
            .ciphersuite(GroupConfig::default().ciphersuite.to_openmls())
            .build();
        let mut group =
            MlsGroup::new(&c.provider, &c.signer, &config, c.credential.clone()).unwrap();
        let (commit, welcome, _) = group.add_members(&c.provider, &c.signer, &kps).unwrap();
        let _ = black_box(commit.tls_serialize_detached().unwrap());
        let welcome = welcome.tls_serialize_detached().unwrap();
        group.merge_pending_commit(&c.provider).unwrap();
        let tree = group
            .export_ratchet_tree()
            .tls_serialize_detached()
            .unwrap();
        (group, welcome, tree)
    }
}

pub fn plain_join(d: &PlainDevice, welcome: &[u8], tree: &[u8]) -> MlsGroup {
    let welcome = match MlsMessageIn::tls_deserialize_exact(welcome)
        .unwrap()
        .extract()
    {
        MlsMessageBodyIn::Welcome(w) => w,
        _ => unreachable!(),
    };
    let tree = openmls_upstream::prelude::RatchetTreeIn::tls_deserialize_exact(tree).unwrap();
    StagedWelcome::new_from_welcome(
        &d.provider,
        &MlsGroupJoinConfig::default(),
        welcome,
        Some(tree),
    )
    .unwrap()
    .into_group(&d.provider)
    .unwrap()
}

pub fn plain_process(group: &mut MlsGroup, d: &PlainDevice, bytes: &[u8]) {
    let msg = MlsMessageIn::tls_deserialize_exact(bytes)
        .unwrap()
        .try_into_protocol_message()
        .unwrap();
    match group
        .process_message(&d.provider, msg)
        .unwrap()
        .into_content()
    {
        ProcessedMessageContent::StagedCommitMessage(staged) => {
            group.merge_staged_commit(&d.provider, *staged).unwrap()
        }
        ProcessedMessageContent::ApplicationMessage(m) => {
            black_box(m.into_bytes());
        }
        _ => unreachable!(),
    }
}

/// A self-update by `d` in `group`, merged: the commit's bytes.
pub fn plain_self_update(group: &mut MlsGroup, d: &PlainDevice) -> Vec<u8> {
    let bundle = group
        .self_update(&d.provider, &d.signer, LeafNodeParameters::default())
        .unwrap();
    let commit = bundle.commit().tls_serialize_detached().unwrap();
    group.merge_pending_commit(&d.provider).unwrap();
    commit
}

/// An application message from `d` in `group`: its bytes.
pub fn plain_message(group: &mut MlsGroup, d: &PlainDevice, payload: &[u8]) -> Vec<u8> {
    group
        .create_message(&d.provider, &d.signer, payload)
        .unwrap()
        .tls_serialize_detached()
        .unwrap()
}
