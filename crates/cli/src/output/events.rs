//! What `sync` and `watch` report as it happens.

use conclave_client::display::digit_groups;
use conclave_client::{ClientEvent, ConversationId};
use serde::Serialize;

use super::{MessageRow, Report, state_name};

/// One event of `listen`.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Message {
        conversation: i64,
        message: Box<MessageRow>,
    },
    MessageState {
        conversation: i64,
        message: i64,
        state: &'static str,
    },
    MessageChanged {
        conversation: i64,
        message: i64,
    },
    MessagesRemoved {
        conversation: i64,
        messages: Vec<i64>,
    },
    Receipts {
        conversation: i64,
    },
    Typing {
        conversation: i64,
        user: String,
    },
    MembersChanged {
        conversation: i64,
    },
    Renamed {
        conversation: i64,
        name: String,
    },
    Joined {
        conversation: i64,
    },
    Request {
        conversation: i64,
        from: String,
    },
    JoinRequest {
        conversation: i64,
        user: String,
    },
    Left {
        conversation: i64,
        by: String,
    },
    KeyChanged {
        member: String,
        previous_fingerprint: String,
        fingerprint: String,
    },
    NewDevice {
        member: String,
        fingerprint: String,
    },
    Connection {
        state: String,
    },
    Revoked,
    Error {
        message: String,
    },
}

impl Event {
    /// The event as printed; `None` for events the command does not show.
    pub fn of(event: &ClientEvent) -> Option<Event> {
        let id = |c: &ConversationId| c.0;
        Some(match event {
            ClientEvent::MessageReceived {
                conversation,
                message,
            } => Event::Message {
                conversation: id(conversation),
                message: Box::new(MessageRow::new(message, None)),
            },
            ClientEvent::MessageChanged {
                conversation,
                message,
            } => Event::MessageChanged {
                conversation: id(conversation),
                message: message.0,
            },
            ClientEvent::MessagesRemoved {
                conversation,
                messages,
            } => Event::MessagesRemoved {
                conversation: id(conversation),
                messages: messages.iter().map(|m| m.0).collect(),
            },
            ClientEvent::Receipts { conversation } => Event::Receipts {
                conversation: id(conversation),
            },
            ClientEvent::Typing { conversation, user } => Event::Typing {
                conversation: id(conversation),
                user: user.to_string(),
            },
            ClientEvent::MessageStateChanged {
                conversation,
                message,
                state,
            } => Event::MessageState {
                conversation: id(conversation),
                message: message.0,
                state: state_name(*state),
            },
            ClientEvent::MembersChanged { conversation } => Event::MembersChanged {
                conversation: id(conversation),
            },
            ClientEvent::ConversationRenamed { conversation, name } => Event::Renamed {
                conversation: id(conversation),
                name: name.clone(),
            },
            ClientEvent::ConversationJoined { conversation } => Event::Joined {
                conversation: id(conversation),
            },
            ClientEvent::InvitationRequest { conversation, from } => Event::Request {
                conversation: id(conversation),
                from: from.to_string(),
            },
            ClientEvent::JoinRequested { conversation, user } => Event::JoinRequest {
                conversation: id(conversation),
                user: user.clone(),
            },
            ClientEvent::ConversationLeft { conversation, by } => Event::Left {
                conversation: id(conversation),
                by: by.to_string(),
            },
            ClientEvent::KeyChanged {
                member,
                previous_fingerprint,
                fingerprint,
            } => Event::KeyChanged {
                member: member.to_string(),
                previous_fingerprint: previous_fingerprint.clone(),
                fingerprint: fingerprint.clone(),
            },
            ClientEvent::NewDevice {
                member,
                fingerprint,
            } => Event::NewDevice {
                member: member.to_string(),
                fingerprint: fingerprint.clone(),
            },
            ClientEvent::Connection(state) => Event::Connection {
                state: format!("{state:?}").to_lowercase(),
            },
            ClientEvent::Error { message } => Event::Error {
                message: message.clone(),
            },
            ClientEvent::RejoinNeeded {
                conversation,
                reason,
                asked: false,
            } => Event::Error {
                message: format!(
                    "conversation {} needs `rejoin` (or an invitation back): {reason}",
                    conversation.0
                ),
            },
            ClientEvent::RejoinNeeded {
                conversation,
                asked: true,
                ..
            } => Event::Error {
                message: format!(
                    "conversation {}: this device asked the other members for the \
                     conversation's current key, and rejoins by itself once one answers",
                    conversation.0
                ),
            },
            ClientEvent::DeviceRevoked => Event::Revoked,
            _ => return None,
        })
    }
}

impl Report for Event {
    fn text(&self) -> String {
        match self {
            Event::Message {
                conversation,
                message,
            } => format!("[{conversation}] {}", message.line()),
            Event::MessageState {
                conversation,
                message,
                state,
            } => format!("[{conversation}] message {message} {state}"),
            Event::MessageChanged {
                conversation,
                message,
            } => format!("[{conversation}] message {message} changed"),
            Event::MessagesRemoved {
                conversation,
                messages,
            } => format!("[{conversation}] {} message(s) disappeared", messages.len()),
            Event::Receipts { conversation } => format!("[{conversation}] receipts"),
            Event::Typing { conversation, user } => format!("[{conversation}] {user} is typing…"),
            Event::MembersChanged { conversation } => {
                format!("[{conversation}] members changed")
            }
            Event::Renamed { conversation, name } => format!("[{conversation}] renamed to {name}"),
            Event::Joined { conversation } => format!("[{conversation}] joined"),
            Event::Request { conversation, from } => format!(
                "[{conversation}] {from}, whom you had not talked to, added you: accept or decline"
            ),
            Event::JoinRequest { conversation, user } => {
                format!("[{conversation}] {user} asks to join: approve-join or decline-join")
            }
            Event::Left { conversation, by } => {
                format!("[{conversation}] you are no longer a member (by {by})")
            }
            Event::KeyChanged {
                member,
                previous_fingerprint,
                fingerprint,
            } => format!(
                "WARNING: the key of {member} changed\n  was {}\n  now {}\n  compare safety \
                 numbers before trusting it",
                digit_groups(previous_fingerprint),
                digit_groups(fingerprint)
            ),
            Event::NewDevice {
                member,
                fingerprint,
            } => format!(
                "{} has a new device: {member}, fingerprint {}\n  compare safety numbers \
                 (verify) before trusting it",
                member.split('/').next().unwrap_or(member),
                digit_groups(fingerprint)
            ),
            Event::Connection { state } => format!("connection: {state}"),
            Event::Revoked => "THIS DEVICE WAS REVOKED by your other device: it can no longer \
                               send or receive"
                .to_owned(),
            Event::Error { message } => format!("error: {message}"),
        }
    }
}
