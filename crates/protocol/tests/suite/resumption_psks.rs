//! A group keeps as many past epochs' resumption PSKs as its configuration says.
//!
//! A resumption PSK is derived from an epoch's secrets; keeping it keeps a way into that
//! epoch's key schedule. openmls 0.9.2 kept 32 for a group's creator (and for a member that
//! joined by external commit), whatever the configuration said (CONCLAVE PATCH 10 in
//! vendor/openmls/CONCLAVE-PATCHES.md). Here the stored PSK store's capacity is read back
//! from each member's storage: the creator's, a joiner's, and with a non-default setting.

use crate::common;

use common::Client;
use conclave_protocol::GroupConfig;
use openmls::prelude::GroupId;
use openmls_traits::{
    OpenMlsProvider,
    storage::{CURRENT_VERSION, Entity, StorageProvider, traits},
};
use serde::{Deserialize, Serialize};

/// The part of openmls's stored resumption-PSK store this test reads (other fields ignored).
#[derive(Serialize, Deserialize)]
struct StoredPskStore {
    max_number_of_secrets: usize,
}

impl Entity<CURRENT_VERSION> for StoredPskStore {}
impl traits::ResumptionPskStore<CURRENT_VERSION> for StoredPskStore {}

fn stored_capacity(client: &mut Client) -> usize {
    let id = GroupId::from_slice(client.group().id().as_bytes());
    client
        .provider
        .storage()
        .resumption_psk_store::<GroupId, StoredPskStore>(&id)
        .unwrap()
        .expect("a stored resumption PSK store")
        .max_number_of_secrets
}

fn creator_and_joiner(config: GroupConfig) -> (Client, Client) {
    let mut alice = Client::with_config("alice", "d1", config.clone());
    let mut bob = Client::with_config("bob", "d1", config);
    alice.create("psk");
    let bundle = alice.add(&[bob.key_package()]);
    alice.merge();
    bob.join(&bundle);
    let update = alice.self_update();
    alice.merge();
    bob.process(&update.commit);
    (alice, bob)
}

#[test]
fn by_default_no_resumption_psk_is_kept_by_creator_or_joiner() {
    let (mut alice, mut bob) = creator_and_joiner(GroupConfig::default());
    assert_eq!(GroupConfig::default().resumption_psks_kept, 0);
    assert_eq!(stored_capacity(&mut alice), 0);
    assert_eq!(stored_capacity(&mut bob), 0);
}

#[test]
fn a_configured_number_of_resumption_psks_is_kept_by_creator_and_joiner() {
    let config = GroupConfig {
        resumption_psks_kept: 3,
        ..GroupConfig::default()
    };
    let (mut alice, mut bob) = creator_and_joiner(config);
    assert_eq!(stored_capacity(&mut alice), 3);
    assert_eq!(stored_capacity(&mut bob), 3);
}
