//! Test clients: each has its own in-memory provider (its own storage) and identity, as
//! separate devices do.

#![allow(dead_code)]

use conclave_protocol::{
    CommitBundle, DeviceId, Group, GroupConfig, GroupEvent, Identity, MemberId, MemoryProvider,
    UserName,
};

pub struct Client {
    pub provider: MemoryProvider,
    pub identity: Identity,
    pub config: GroupConfig,
    pub group: Option<Group>,
}

pub fn member(user: &str, device: &str) -> MemberId {
    MemberId::new(UserName::new(user).unwrap(), DeviceId::new(device).unwrap())
}

impl Client {
    pub fn new(user: &str) -> Self {
        Self::with_config(user, "d1", GroupConfig::default())
    }

    pub fn with_config(user: &str, device: &str, config: GroupConfig) -> Self {
        let provider = MemoryProvider::default();
        let identity =
            Identity::create(&provider, member(user, device), config.ciphersuite).unwrap();
        Self {
            provider,
            identity,
            config,
            group: None,
        }
    }

    pub fn id(&self) -> MemberId {
        self.identity.member().clone()
    }

    pub fn key_package(&self) -> Vec<u8> {
        self.identity
            .key_packages(&self.provider, &self.config, 1)
            .unwrap()
            .remove(0)
            .bytes
    }

    /// The group with the provider and identity its calls take.
    pub fn parts(&mut self) -> (&mut Group, &MemoryProvider, &Identity) {
        (
            self.group.as_mut().expect("client has a group"),
            &self.provider,
            &self.identity,
        )
    }

    pub fn group(&mut self) -> &mut Group {
        self.group.as_mut().expect("client has a group")
    }

    pub fn create(&mut self, name: &str) {
        self.group =
            Some(Group::create(&self.provider, &self.identity, &self.config, name).unwrap());
    }

    pub fn join(&mut self, bundle: &CommitBundle) {
        let invitation = bundle.invitation.as_ref().unwrap();
        self.group = Some(
            Group::join(
                &self.provider,
                &self.config,
                &invitation.welcome,
                Some(&invitation.ratchet_tree),
            )
            .unwrap(),
        );
    }

    pub fn process(&mut self, bytes: &[u8]) -> Vec<GroupEvent> {
        let provider = &self.provider;
        self.group
            .as_mut()
            .unwrap()
            .process(provider, bytes)
            .unwrap()
    }

    pub fn try_process(
        &mut self,
        bytes: &[u8],
    ) -> Result<Vec<GroupEvent>, conclave_protocol::Error> {
        let provider = &self.provider;
        self.group.as_mut().unwrap().process(provider, bytes)
    }

    pub fn merge(&mut self) -> Vec<GroupEvent> {
        let provider = &self.provider;
        self.group
            .as_mut()
            .unwrap()
            .merge_pending_commit(provider)
            .unwrap()
    }

    pub fn encrypt(&mut self, text: &[u8]) -> Vec<u8> {
        let (provider, identity) = (&self.provider, &self.identity);
        self.group
            .as_mut()
            .unwrap()
            .encrypt(provider, identity, text)
            .unwrap()
    }

    pub fn add(&mut self, key_packages: &[Vec<u8>]) -> CommitBundle {
        let (provider, identity) = (&self.provider, &self.identity);
        self.group
            .as_mut()
            .unwrap()
            .add_members(provider, identity, key_packages)
            .unwrap()
    }

    pub fn self_update(&mut self) -> CommitBundle {
        let (provider, identity) = (&self.provider, &self.identity);
        self.group
            .as_mut()
            .unwrap()
            .self_update(provider, identity)
            .unwrap()
    }

    pub fn rename(&mut self, name: &str) -> CommitBundle {
        let (provider, identity) = (&self.provider, &self.identity);
        self.group
            .as_mut()
            .unwrap()
            .rename(provider, identity, name)
            .unwrap()
    }

    pub fn epoch_authenticator(&self) -> Vec<u8> {
        self.group.as_ref().unwrap().epoch_authenticator()
    }

    pub fn epoch(&self) -> u64 {
        self.group.as_ref().unwrap().epoch()
    }

    /// Expects `ciphertext` to decrypt to `text` from `sender`.
    pub fn expect_message(&mut self, ciphertext: &[u8], sender: &MemberId, text: &[u8]) {
        let events = self.process(ciphertext);
        assert_eq!(events.len(), 1, "{events:?}");
        match &events[0] {
            GroupEvent::Message {
                sender: s,
                plaintext,
                ..
            } => {
                assert_eq!(s, sender);
                assert_eq!(plaintext, text);
            }
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

/// Every listed client has the same epoch and epoch authenticator.
pub fn assert_in_step(clients: &[&Client]) {
    let first = clients[0];
    for c in &clients[1..] {
        assert_eq!(c.epoch(), first.epoch(), "{} vs {}", c.id(), first.id());
        assert_eq!(
            c.epoch_authenticator(),
            first.epoch_authenticator(),
            "{} vs {}",
            c.id(),
            first.id()
        );
    }
}
