//! The MLS world the group targets run in: real identities and groups, made in memory the
//! way clients make them.

use conclave_protocol::{
    DeviceId, Group, GroupConfig, HandshakeFraming, Identity, MemberId, MemoryProvider, UserName,
};

/// A device: its provider (keys and group state) and identity.
pub struct Device {
    pub provider: MemoryProvider,
    pub identity: Identity,
}

impl Device {
    pub fn new(user: &str) -> Self {
        let provider = MemoryProvider::default();
        let identity =
            Identity::create(&provider, member(user), GroupConfig::default().ciphersuite)
                .expect("an identity");
        Self { provider, identity }
    }

    pub fn key_package(&self, config: &GroupConfig) -> Vec<u8> {
        self.identity
            .key_packages(&self.provider, config, 1)
            .expect("a key package")
            .remove(0)
            .bytes
    }
}

pub fn member(user: &str) -> MemberId {
    MemberId::new(
        UserName::new(user).expect("a user name"),
        DeviceId::new("d").expect("a device id"),
    )
}

/// The configuration of a group with the given handshake framing.
pub fn config(framing: HandshakeFraming) -> GroupConfig {
    GroupConfig {
        handshake_framing: framing,
        ..GroupConfig::default()
    }
}

/// `creator` makes a group with `members` in it; returns the creator's group, and the
/// Welcome and ratchet tree that let the members join.
pub fn group(
    creator: &Device,
    config: &GroupConfig,
    members: &[&Device],
) -> (Group, Vec<u8>, Vec<u8>) {
    let mut group =
        Group::create(&creator.provider, &creator.identity, config, "fuzz").expect("a group");
    let packages: Vec<Vec<u8>> = members.iter().map(|d| d.key_package(config)).collect();
    let bundle = group
        .add_members(&creator.provider, &creator.identity, &packages)
        .expect("members added");
    group
        .merge_pending_commit(&creator.provider)
        .expect("merged");
    let invitation = bundle.invitation.expect("an invitation");
    (group, invitation.welcome, invitation.ratchet_tree)
}
