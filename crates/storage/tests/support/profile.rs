//! A profile with known contents, for the at-rest tests.

use conclave_protocol::{DeviceId, Group, GroupConfig, Identity, MemberId, UserName};
use conclave_storage::{ConversationId, MessageKind, MessageState, NewMessage, Store};

pub const USER: &str = "zanzibar";
pub const TEXTS: [&str; 3] = [
    "meet me by the old lighthouse",
    "the parcel is under the third stair",
    "quartz-heron-7731",
];

/// A profile holding `USER`'s identity, a conversation named "Harbour" and `TEXTS` plus
/// `filler` more messages.
pub fn fill(store: &mut Store, filler: u32) -> ConversationId {
    let config = GroupConfig::default();
    let mut tx = store.transaction().unwrap();
    let me = MemberId::new(
        UserName::new(USER).unwrap(),
        DeviceId::new("laptop").unwrap(),
    );
    let identity = Identity::create(&tx.provider(), me.clone(), config.ciphersuite).unwrap();
    tx.set_profile(&identity.record(), "https://chat.example.org", 0)
        .unwrap();
    let group = Group::create(&tx.provider(), &identity, &config, "Harbour").unwrap();
    let conversation = tx.create_conversation(&group.id(), "Harbour", 0).unwrap();
    tx.insert_group(group);
    let bodies = TEXTS
        .iter()
        .map(|t| t.to_string())
        .chain((0..filler).map(|n| format!("filler message number {n}")));
    for (n, body) in bodies.enumerate() {
        tx.insert_message(&NewMessage {
            conversation,
            uid: (n as u64).to_be_bytes().to_vec(),
            sender: me.clone(),
            sent_at: n as i64,
            received_at: Some(n as i64),
            body,
            state: MessageState::Received,
            server_seq: None,
            outgoing: false,
            kind: MessageKind::Text,
            reply_to: None,
            expires_at: None,
            attachment: None,
        })
        .unwrap();
    }
    tx.commit().unwrap();
    conversation
}

pub fn message_count(store: &mut Store, conversation: ConversationId) -> usize {
    let tx = store.transaction().unwrap();
    tx.history(conversation, None, usize::MAX / 2)
        .unwrap()
        .len()
}
