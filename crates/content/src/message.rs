//! What a Conclave message means, and how each kind is written as a MIMI container.
//!
//! | kind | `replaces` | `inReplyTo` | part |
//! |---|---|---|---|
//! | text, reply | null | null / the message answered | render, `text/markdown;variant=GFM-MIMI` |
//! | reaction | null | the message reacted to | reaction, `text/plain;charset=utf-8`, the emoji |
//! | reaction removed | the reaction | the message reacted to | reaction, null part |
//! | edit | the message edited | (the original's) | render, the new text |
//! | delete | the message deleted | (the original's) | render, null part |
//! | receipts | null | null | `application/mimi-message-status`: `[[id, 2], [id, 1]]` (read, delivered) |
//! | disappearing timer | null | null | `application/vnd.conclave.disappearing+cbor`: seconds |
//! | typing | null | null | `application/vnd.conclave.typing`, empty |
//! | attachment | null | null / the message answered | attachment, external part |
//!
//! The sender's clock rides in the private extension key `-1` (milliseconds since the Unix
//! epoch); MIMI leaves the time to the hub, which Conclave's server does not vouch for.
//! What no row describes decodes as [`Body::Unsupported`], which is shown, never dropped.

use ciborium::Value;

use crate::mimi::{
    Expiration, ExtensionKey, ExternalPart, MimiContent, NestedPart, PartBody, disposition,
};
use crate::{ContentError, MessageId};

/// The media type of text Conclave sends (the draft's required Markdown variant).
pub const TEXT_TYPE: &str = "text/markdown;variant=GFM-MIMI";
/// The media type of a reaction's emoji.
pub const REACTION_TYPE: &str = "text/plain;charset=utf-8";
/// draft-mahy-mimi-message-status.
pub const STATUS_TYPE: &str = "application/mimi-message-status";
/// A conversation's disappearing-message timer (no draft defines one).
pub const TIMER_TYPE: &str = "application/vnd.conclave.disappearing+cbor";
/// "Typing…" (no draft defines one).
pub const TYPING_TYPE: &str = "application/vnd.conclave.typing";
/// The private extension key of the sender's clock.
const SENT_AT_KEY: i64 = -1;
/// The message-status value "delivered".
const DELIVERED: u8 = 1;
/// The message-status value "read".
const READ: u8 = 2;
/// At most this many entries of a status report are read.
const MAX_STATUS_ENTRIES: usize = 256;
/// A reaction longer than this is not one emoji.
pub const MAX_REACTION_BYTES: usize = 64;

/// One message's meaning.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// The sender's clock when sent (ms), if given.
    pub sent_at: Option<i64>,
    /// When receivers delete it.
    pub expires: Option<Expiration>,
    /// What it says or does.
    pub body: Body,
}

/// The kinds of message.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// Text, possibly answering another message.
    Text {
        /// The text (GFM-MIMI Markdown).
        text: String,
        /// The message it answers.
        reply_to: Option<MessageId>,
    },
    /// An emoji reaction.
    Reaction {
        /// The message reacted to.
        to: MessageId,
        /// The emoji.
        emoji: String,
    },
    /// Withdraws one of the sender's reactions.
    Unreact {
        /// The reaction message.
        reaction: MessageId,
        /// The message it was on, if given.
        to: Option<MessageId>,
    },
    /// New text for one of the sender's messages.
    Edit {
        /// The message edited.
        target: MessageId,
        /// Its new text.
        text: String,
    },
    /// Removes one of the sender's messages.
    Delete {
        /// The message deleted.
        target: MessageId,
    },
    /// A status report (draft-mahy-mimi-message-status): the sender has read some messages
    /// and received others (each, and so everything before it).
    Status {
        /// The messages reported read.
        read: Vec<MessageId>,
        /// The messages reported delivered.
        delivered: Vec<MessageId>,
    },
    /// Sets the conversation's disappearing-message timer; 0 turns it off.
    Timer {
        /// Seconds a message lives.
        seconds: u32,
    },
    /// The sender is typing.
    Typing,
    /// A file stored elsewhere, encrypted.
    Attachment {
        /// The message it answers.
        reply_to: Option<MessageId>,
        /// Where it is and how to read it.
        file: Box<ExternalPart>,
    },
    /// Something this version does not understand.
    Unsupported {
        /// What it was, for the reader.
        what: String,
    },
}

impl Message {
    /// Written as a container under a fresh random salt.
    pub fn to_mimi(&self) -> MimiContent {
        self.to_mimi_salted(rand::random())
    }

    /// Written as a container under `salt` (test vectors fix it).
    pub fn to_mimi_salted(&self, salt: [u8; 16]) -> MimiContent {
        let render = |content_type: &str, content: Vec<u8>| NestedPart {
            disposition: disposition::RENDER,
            language: String::new(),
            body: PartBody::Single {
                content_type: content_type.to_owned(),
                content,
            },
        };
        let null = |disposition| NestedPart {
            disposition,
            language: String::new(),
            body: PartBody::Null,
        };
        let control = |content_type: &str, content: Vec<u8>| NestedPart {
            disposition: disposition::UNSPECIFIED,
            ..render(content_type, content)
        };
        let (replaces, in_reply_to, part) = match &self.body {
            Body::Text { text, reply_to } => {
                (None, *reply_to, render(TEXT_TYPE, text.as_bytes().to_vec()))
            }
            Body::Reaction { to, emoji } => (
                None,
                Some(*to),
                NestedPart {
                    disposition: disposition::REACTION,
                    ..render(REACTION_TYPE, emoji.as_bytes().to_vec())
                },
            ),
            Body::Unreact { reaction, to } => (Some(*reaction), *to, null(disposition::REACTION)),
            Body::Edit { target, text } => (
                Some(*target),
                None,
                render(TEXT_TYPE, text.as_bytes().to_vec()),
            ),
            Body::Delete { target } => (Some(*target), None, null(disposition::RENDER)),
            Body::Status { read, delivered } => {
                let entry = |id: &MessageId, status: u8| {
                    Value::Array(vec![Value::Bytes(id.0.to_vec()), status.into()])
                };
                let report = Value::Array(
                    read.iter()
                        .map(|id| entry(id, READ))
                        .chain(delivered.iter().map(|id| entry(id, DELIVERED)))
                        .collect(),
                );
                (None, None, control(STATUS_TYPE, cbor(&report)))
            }
            Body::Timer { seconds } => (
                None,
                None,
                control(TIMER_TYPE, cbor(&Value::from(*seconds))),
            ),
            Body::Typing => (None, None, control(TYPING_TYPE, Vec::new())),
            Body::Attachment { reply_to, file } => (
                None,
                *reply_to,
                NestedPart {
                    disposition: disposition::ATTACHMENT,
                    language: String::new(),
                    body: PartBody::External(file.clone()),
                },
            ),
            // Never sent; written back as the media type it was read as.
            Body::Unsupported { what } => (None, None, control(what, Vec::new())),
        };
        MimiContent {
            salt,
            replaces,
            topic_id: Vec::new(),
            expires: self.expires,
            in_reply_to,
            extensions: self
                .sent_at
                .map(|t| (ExtensionKey::Int(SENT_AT_KEY), Value::from(t)))
                .into_iter()
                .collect(),
            part,
        }
    }

    /// What a container means. Only an ill-formed known kind is an error (a reaction
    /// without its target, a timer that is not a number); anything else unknown is
    /// [`Body::Unsupported`].
    pub fn from_mimi(content: &MimiContent) -> Result<Self, ContentError> {
        let sent_at = content
            .extensions
            .iter()
            .find(|(k, _)| *k == ExtensionKey::Int(SENT_AT_KEY))
            .map(|(_, v)| {
                v.as_integer()
                    .and_then(|i| i64::try_from(i).ok())
                    .ok_or(ContentError::Field("sentAt", "an integer"))
            })
            .transpose()?;
        Ok(Self {
            sent_at,
            expires: content.expires,
            body: body_of(content)?,
        })
    }
}

fn body_of(content: &MimiContent) -> Result<Body, ContentError> {
    let part = chosen_part(&content.part);
    let unsupported = |what: &str| Body::Unsupported {
        what: what.to_owned(),
    };
    let body = match (&part.body, content.replaces) {
        (PartBody::Null, Some(replaced)) if part.disposition == disposition::REACTION => {
            Body::Unreact {
                reaction: replaced,
                to: content.in_reply_to,
            }
        }
        (PartBody::Null, Some(target)) => Body::Delete { target },
        (PartBody::Single { content_type, .. }, Some(target)) if is_text(content_type) => {
            Body::Edit {
                target,
                text: utf8(part, "edited text")?,
            }
        }
        (PartBody::Single { content_type, .. }, None) if is_text(content_type) => {
            if part.disposition == disposition::REACTION {
                let emoji = utf8(part, "reaction")?;
                if emoji.is_empty() || emoji.len() > MAX_REACTION_BYTES {
                    return Err(ContentError::Schema("a reaction must be one short emoji"));
                }
                Body::Reaction {
                    to: content
                        .in_reply_to
                        .ok_or(ContentError::Schema("a reaction needs inReplyTo"))?,
                    emoji,
                }
            } else {
                Body::Text {
                    text: utf8(part, "text")?,
                    reply_to: content.in_reply_to,
                }
            }
        }
        (
            PartBody::Single {
                content_type,
                content: bytes,
            },
            None,
        ) => match media_type(content_type).as_str() {
            STATUS_TYPE => status_report(bytes)?,
            TIMER_TYPE => Body::Timer {
                seconds: decode_cbor(bytes)?
                    .as_integer()
                    .and_then(|i| u32::try_from(i).ok())
                    .ok_or(ContentError::Field("timer", "seconds as a u32"))?,
            },
            TYPING_TYPE => Body::Typing,
            other => unsupported(other),
        },
        (PartBody::External(file), None) => Body::Attachment {
            reply_to: content.in_reply_to,
            file: file.clone(),
        },
        (PartBody::Multi { .. }, _) => unsupported("a multipart message"),
        (PartBody::Null, None) => unsupported("an empty message"),
        (_, Some(_)) => unsupported("a replacement of an unsupported kind"),
    };
    Ok(body)
}

/// For "choose one" alternatives, the first text alternative (or the first part).
fn chosen_part(part: &NestedPart) -> &NestedPart {
    match &part.body {
        PartBody::Multi {
            semantics: 0,
            parts,
        } => parts
            .iter()
            .find(|p| matches!(&p.body, PartBody::Single { content_type, .. } if is_text(content_type)))
            .unwrap_or(part),
        _ => part,
    }
}

/// The media type without its parameters, lower case.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn is_text(content_type: &str) -> bool {
    matches!(
        media_type(content_type).as_str(),
        "text/markdown" | "text/plain"
    )
}

fn utf8(part: &NestedPart, what: &'static str) -> Result<String, ContentError> {
    match &part.body {
        PartBody::Single { content, .. } => {
            String::from_utf8(content.clone()).map_err(|_| ContentError::Field(what, "UTF-8"))
        }
        _ => Err(ContentError::Field(what, "a single part")),
    }
}

fn cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("writing to a Vec cannot fail");
    out
}

fn decode_cbor(bytes: &[u8]) -> Result<Value, ContentError> {
    let mut reader = bytes;
    let value: Value =
        ciborium::from_reader(&mut reader).map_err(|e| ContentError::Cbor(e.to_string()))?;
    if !reader.is_empty() {
        return Err(ContentError::Schema("bytes after a part's content"));
    }
    Ok(value)
}

/// The messages a status report says are read or delivered; other statuses (unread,
/// expired, hidden, ...) say nothing Conclave shows.
fn status_report(bytes: &[u8]) -> Result<Body, ContentError> {
    let Value::Array(entries) = decode_cbor(bytes)? else {
        return Err(ContentError::Field("a status report", "an array"));
    };
    let (mut read, mut delivered) = (Vec::new(), Vec::new());
    for entry in entries.into_iter().take(MAX_STATUS_ENTRIES) {
        let Value::Array(pair) = entry else {
            return Err(ContentError::Field("a status entry", "an array"));
        };
        let [Value::Bytes(id), status] = <[Value; 2]>::try_from(pair)
            .map_err(|_| ContentError::Schema("a status entry is [id, status]"))?
        else {
            return Err(ContentError::Field("a status entry's id", "bytes"));
        };
        let id = MessageId(
            id.try_into()
                .map_err(|_| ContentError::Schema("a message id must be 32 bytes"))?,
        );
        match status.as_integer().and_then(|s| u8::try_from(s).ok()) {
            Some(READ) => read.push(id),
            Some(DELIVERED) => delivered.push(id),
            _ => {}
        }
    }
    Ok(Body::Status { read, delivered })
}
