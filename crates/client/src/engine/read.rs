//! What the UI reads, and the local marks it sets (read up to, verified). Each call is one
//! short transaction under the store lock alone: none waits for an operation in flight.

use std::collections::HashSet;
use std::sync::Arc;

use conclave_protocol::{
    CipherSuite, Fingerprint, Identity, MemberId, MemberInfo, Policy, SafetyNumber, UserName,
};
use conclave_storage::{
    Conversation, ConversationId, ConversationSummary, KnownDevice, MessageId, StoreError,
    StoredMessage,
};

use super::SharedStore;
use crate::{ClientError, Result};

/// A member as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Who.
    pub id: MemberId,
    /// Its signature key in the group.
    pub signature_key: Vec<u8>,
    /// Whether the user verified this device's key.
    pub verified: bool,
    /// Whether it is this device.
    pub is_me: bool,
    /// Whether its user is an admin of the conversation (in one made before roles,
    /// everyone counts as one).
    pub admin: bool,
    /// This device's fingerprint, for the safety number.
    mine: Fingerprint,
}

impl Member {
    /// A member seen by the device whose fingerprint is `mine`; not verified, not this
    /// device, not an admin until set.
    pub fn new(id: MemberId, signature_key: Vec<u8>, mine: Fingerprint) -> Self {
        Self {
            id,
            signature_key,
            verified: false,
            is_me: false,
            admin: false,
            mine,
        }
    }

    /// Its key fingerprint (30 digits). Derived when asked (1,024 hashes): a conversation
    /// of thousands lists its members without deriving thousands of them.
    pub fn fingerprint(&self) -> String {
        Fingerprint::of(&self.id, &self.signature_key).digits()
    }

    /// The safety number between this device and it (60 digits), derived when asked.
    pub fn safety_number(&self) -> String {
        let theirs = Fingerprint::of(&self.id, &self.signature_key);
        SafetyNumber::between(self.mine, theirs).digits()
    }
}

/// A conversation's security state, for a security panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityInfo {
    /// The MLS ciphersuite.
    pub suite: conclave_protocol::CipherSuite,
    /// Its name as shown: the RFC 9420 name (or the draft's, marked "(draft)").
    pub ciphersuite: String,
    /// The current epoch (one per commit).
    pub epoch: u64,
    /// The epoch authenticator (hex): equal on every member's screen iff they agree on the
    /// group's state.
    pub epoch_authenticator: String,
    /// When this device last rotated its keys here (ms; 0: at join).
    pub last_rotation: i64,
    /// How many devices are members.
    pub members: usize,
}

/// Reads of one profile.
#[derive(Clone)]
pub struct Reader {
    pub(super) store: SharedStore,
    identity: Arc<Identity>,
}

impl Reader {
    pub(crate) fn new(store: SharedStore, identity: Arc<Identity>) -> Self {
        Self { store, identity }
    }

    /// Every conversation, most recently active first, with unread counts.
    pub(crate) fn conversations(&self) -> Result<Vec<ConversationSummary>> {
        Ok(self.store.lock().transaction()?.conversations()?)
    }

    /// One conversation.
    pub(crate) fn conversation(&self, id: ConversationId) -> Result<Conversation> {
        let mut store = self.store.lock();
        let tx = store.transaction()?;
        tx.conversation(id).map_err(|e| match e {
            StoreError::NoSuchConversation(_) => ClientError::NoSuchConversation(id.0.to_string()),
            e => e.into(),
        })
    }

    /// Finds a conversation by its id (digits) or its exact name.
    pub(crate) fn find_conversation(&self, key: &str) -> Result<ConversationId> {
        let all = self.store.lock().transaction()?.conversation_list()?;
        if let Ok(id) = key.parse::<i64>()
            && let Some(c) = all.iter().find(|c| c.id.0 == id)
        {
            return Ok(c.id);
        }
        let matching: Vec<ConversationId> =
            all.iter().filter(|c| c.name == key).map(|c| c.id).collect();
        match matching.as_slice() {
            [one] => Ok(*one),
            [] => Err(ClientError::NoSuchConversation(key.to_owned())),
            _ => Err(ClientError::AmbiguousConversation(key.to_owned())),
        }
    }

    /// A page of history, newest first.
    pub(crate) fn history(
        &self,
        conversation: ConversationId,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<StoredMessage>> {
        let mut store = self.store.lock();
        let tx = store.transaction()?;
        tx.conversation(conversation)?;
        Ok(tx.history(conversation, before, limit)?)
    }

    /// Messages by position, oldest first.
    pub(crate) fn history_at(
        &self,
        conversation: ConversationId,
        offset: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>> {
        Ok(self
            .store
            .lock()
            .transaction()?
            .history_at(conversation, offset, limit)?)
    }

    /// How many messages a conversation holds.
    pub(crate) fn message_count(&self, conversation: ConversationId) -> Result<u64> {
        Ok(self
            .store
            .lock()
            .transaction()?
            .message_count(conversation)?)
    }

    /// Full-text search over all decrypted history, newest first.
    pub(crate) fn search(&self, text: &str, limit: usize) -> Result<Vec<StoredMessage>> {
        Ok(self.store.lock().transaction()?.search(text, limit)?)
    }

    /// One message.
    pub(crate) fn message(&self, id: MessageId) -> Result<Option<StoredMessage>> {
        Ok(self.store.lock().transaction()?.message(id)?)
    }

    /// The members of a conversation with fingerprints, safety numbers and verified marks.
    pub(crate) fn members(&self, conversation: ConversationId) -> Result<Vec<Member>> {
        let mine = self.identity.fingerprint();
        let me = self.identity.member();
        let mut store = self.store.lock();
        let mut tx = store.transaction()?;
        let c = tx.conversation(conversation)?;
        if c.left_at.is_some() {
            return Ok(Vec::new());
        }
        let group = &tx.group(&c.group_id)?.group;
        let infos: Vec<MemberInfo> = group.members()?;
        let policy = group.policy()?;
        let verified: HashSet<(MemberId, Vec<u8>)> = tx
            .devices(None)?
            .into_iter()
            .filter(|d| d.verified)
            .map(|d| (d.member, d.signature_key))
            .collect();
        Ok(infos
            .into_iter()
            .map(|m| Member {
                verified: verified.contains(&(m.id.clone(), m.signature_key.clone())),
                is_me: m.id == *me,
                admin: policy.as_ref().is_none_or(|p| p.is_admin(&m.id.user)),
                ..Member::new(m.id, m.signature_key, mine)
            })
            .collect())
    }

    /// A conversation's policy: who is an admin, and what needs one (`None` for a
    /// conversation made before roles).
    pub(crate) fn policy(&self, conversation: ConversationId) -> Result<Option<Policy>> {
        let mut store = self.store.lock();
        let mut tx = store.transaction()?;
        let c = tx.conversation(conversation)?;
        if c.left_at.is_some() {
            return Err(ClientError::NotAMember);
        }
        Ok(tx.group(&c.group_id)?.group.policy()?)
    }

    /// The conversation's open invite link, if any (every member can read it from the
    /// group's join keys: see [`conclave_protocol::join_keys`]), and whether joining by it
    /// needs an admin's approval.
    pub(crate) fn invite_link(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<(crate::InviteLink, bool)>> {
        let mut store = self.store.lock();
        let mut tx = store.transaction()?;
        let c = tx.conversation(conversation)?;
        if c.left_at.is_some() {
            return Err(ClientError::NotAMember);
        }
        let keys = tx.group(&c.group_id)?.group.join_keys()?;
        Ok(keys.and_then(|k| k.link).map(|link| {
            (
                crate::InviteLink::new(c.group_id.clone(), link.secret),
                link.approval,
            )
        }))
    }

    /// The ciphersuite of a conversation's group.
    pub(crate) fn suite(&self, conversation: ConversationId) -> Result<CipherSuite> {
        let mut store = self.store.lock();
        let mut tx = store.transaction()?;
        let c = tx.conversation(conversation)?;
        Ok(tx.group(&c.group_id)?.group.ciphersuite()?)
    }

    /// A conversation's security state.
    pub(crate) fn security(&self, conversation: ConversationId) -> Result<SecurityInfo> {
        let mut store = self.store.lock();
        let mut tx = store.transaction()?;
        let c = tx.conversation(conversation)?;
        if c.left_at.is_some() {
            return Err(ClientError::NotAMember);
        }
        let g = tx.group(&c.group_id)?;
        let suite = g.group.ciphersuite()?;
        Ok(SecurityInfo {
            suite,
            ciphersuite: suite.to_string(),
            epoch: g.group.epoch(),
            epoch_authenticator: hex::encode(g.group.epoch_authenticator()),
            last_rotation: c.last_rotation,
            members: g.group.members()?.len(),
        })
    }

    /// Every device this profile has seen, with its fingerprint and verified mark.
    pub(crate) fn known_devices(&self) -> Result<Vec<KnownDevice>> {
        Ok(self.store.lock().transaction()?.devices(None)?)
    }

    /// The safety numbers between this device and each known device of `user`.
    pub(crate) fn safety_numbers(&self, user: &UserName) -> Result<Vec<(KnownDevice, String)>> {
        let mine = self.identity.fingerprint();
        let devices = self.store.lock().transaction()?.devices(Some(user))?;
        if devices.is_empty() {
            return Err(ClientError::UnknownUser(user.to_string()));
        }
        Ok(devices
            .into_iter()
            .map(|d| {
                let theirs = Fingerprint::of(&d.member, &d.signature_key);
                let number = SafetyNumber::between(mine, theirs).digits();
                (d, number)
            })
            .collect())
    }

    /// Marks every current key of `user` verified (after comparing safety numbers).
    pub(crate) fn verify(&self, user: &UserName) -> Result<usize> {
        let mut store = self.store.lock();
        let tx = store.transaction()?;
        let devices = tx.devices(Some(user))?;
        if devices.is_empty() {
            return Err(ClientError::UnknownUser(user.to_string()));
        }
        for d in &devices {
            tx.set_verified(&d.member, true)?;
        }
        tx.commit()?;
        Ok(devices.len())
    }
}
