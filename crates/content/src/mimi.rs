//! The MIMI content container (draft-ietf-mimi-content-08, section 3 and appendix B) as
//! CBOR: every field of the draft, nothing of Conclave's meaning.
//!
//! Encoding is the draft's deterministic CBOR (shortest integers and lengths, definite
//! lengths; ciborium writes nothing else). Decoding accepts exactly the draft's schema and
//! its limits (parts nested at most 4 deep, extension values at most 4 deep, no duplicate
//! extension keys, nothing after the container) and refuses anything else with a
//! [`ContentError`]: the bytes come from another member, who may be hostile.

use ciborium::Value;

use crate::{ContentError, MessageId};

/// How deep parts and extension values may nest (draft section 5.3).
const MAX_DEPTH: usize = 4;

/// The container: one message's behaviour fields and its body.
#[derive(Clone, Debug, PartialEq)]
pub struct MimiContent {
    /// 16 random bytes, part of the message id's input.
    pub salt: [u8; 16],
    /// The message this one replaces (edit, delete, reaction removal).
    pub replaces: Option<MessageId>,
    /// A grouping of messages; empty for none.
    pub topic_id: Vec<u8>,
    /// When receivers should delete the message.
    pub expires: Option<Expiration>,
    /// The message this one answers (reply, reaction).
    pub in_reply_to: Option<MessageId>,
    /// Extension fields in the order they were given.
    pub extensions: Vec<(ExtensionKey, Value)>,
    /// The body.
    pub part: NestedPart,
}

/// An extension's map key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtensionKey {
    /// Registered (positive) or private (negative) number.
    Int(i64),
    /// Private name, 1 to 255 bytes.
    Text(String),
}

/// `expires`: absolute (seconds since the Unix epoch) or relative (seconds after reading).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiration {
    /// Whether `time` counts from when the receiver reads the message.
    pub relative: bool,
    /// Seconds.
    pub time: u32,
}

/// A body part and how to present it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NestedPart {
    /// How to present it ([`disposition`] names the registered values).
    pub disposition: u8,
    /// Its language tag, or empty.
    pub language: String,
    /// What it holds.
    pub body: PartBody,
}

/// The registered dispositions (draft section 7.3.2).
pub mod disposition {
    /// Unspecified.
    pub const UNSPECIFIED: u8 = 0;
    /// To be shown.
    pub const RENDER: u8 = 1;
    /// A reaction to `inReplyTo`.
    pub const REACTION: u8 = 2;
    /// An attachment.
    pub const ATTACHMENT: u8 = 6;
}

/// A part's content, by cardinality.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartBody {
    /// No content (a delete, a reaction's removal).
    Null,
    /// Inline content of one media type.
    Single {
        /// Its media type.
        content_type: String,
        /// Its bytes.
        content: Vec<u8>,
    },
    /// Content stored elsewhere, usually encrypted.
    External(Box<ExternalPart>),
    /// Several parts.
    Multi {
        /// 0 choose one, 1 single unit, 2 process all.
        semantics: u8,
        /// At least two parts.
        parts: Vec<NestedPart>,
    },
}

/// Content at a URL (draft section 3.5), with what is needed to decrypt and check it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalPart {
    /// Its media type.
    pub content_type: String,
    /// Where to fetch it.
    pub url: String,
    /// When the URL stops working (seconds since the epoch), 0 for never.
    pub expires: u32,
    /// Its size in bytes (0: not given).
    pub size: u64,
    /// IANA AEAD algorithm number, 0 for none.
    pub enc_alg: u16,
    /// AEAD key.
    pub key: Vec<u8>,
    /// AEAD nonce.
    pub nonce: Vec<u8>,
    /// AEAD additional data.
    pub aad: Vec<u8>,
    /// IANA named-information hash algorithm of `content_hash`.
    pub hash_alg: u8,
    /// Hash of what is at the URL.
    pub content_hash: Vec<u8>,
    /// A description, or empty.
    pub description: String,
    /// A suggested file name, or empty.
    pub filename: String,
}

impl MimiContent {
    /// The CBOR bytes.
    pub fn encode(&self) -> Vec<u8> {
        let value = Value::Array(vec![
            Value::Bytes(self.salt.to_vec()),
            id_or_null(self.replaces),
            Value::Bytes(self.topic_id.clone()),
            match self.expires {
                None => Value::Null,
                Some(e) => Value::Array(vec![Value::Bool(e.relative), e.time.into()]),
            },
            id_or_null(self.in_reply_to),
            Value::Map(
                self.extensions
                    .iter()
                    .map(|(k, v)| {
                        let key = match k {
                            ExtensionKey::Int(n) => Value::from(*n),
                            ExtensionKey::Text(t) => Value::Text(t.clone()),
                        };
                        (key, v.clone())
                    })
                    .collect(),
            ),
            part_value(&self.part),
        ]);
        let mut out = Vec::new();
        ciborium::into_writer(&value, &mut out).expect("writing to a Vec cannot fail");
        out
    }

    /// Reads a container; anything outside the draft's schema is an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, ContentError> {
        let mut reader = bytes;
        let value: Value =
            ciborium::from_reader(&mut reader).map_err(|e| ContentError::Cbor(e.to_string()))?;
        if !reader.is_empty() {
            return Err(ContentError::Schema("bytes after the container"));
        }
        let [salt, replaces, topic, expires, reply, extensions, part] =
            fixed::<7>(value, "the container must be an array of 7")?;
        Ok(Self {
            salt: bytes_of(salt, "salt")?
                .try_into()
                .map_err(|_| ContentError::Schema("the salt must be 16 bytes"))?,
            replaces: optional_id(replaces)?,
            topic_id: bytes_of(topic, "topicId")?,
            expires: match expires {
                Value::Null => None,
                other => {
                    let [relative, time] = fixed::<2>(other, "expires must be [relative, time]")?;
                    Some(Expiration {
                        relative: relative
                            .as_bool()
                            .ok_or(ContentError::Schema("expires.relative must be a bool"))?,
                        time: uint(time, "expires.time")?,
                    })
                }
            },
            in_reply_to: optional_id(reply)?,
            extensions: decode_extensions(extensions)?,
            part: decode_part(part, 1)?,
        })
    }
}

impl ExternalPart {
    /// The part on its own (an attachment part, CBOR), for storing beside a message.
    pub fn encode(&self) -> Vec<u8> {
        let part = NestedPart {
            disposition: disposition::ATTACHMENT,
            language: String::new(),
            body: PartBody::External(Box::new(self.clone())),
        };
        let mut out = Vec::new();
        ciborium::into_writer(&part_value(&part), &mut out).expect("writing to a Vec cannot fail");
        out
    }

    /// Reads what [`ExternalPart::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Self, ContentError> {
        let value: Value =
            ciborium::from_reader(bytes).map_err(|e| ContentError::Cbor(e.to_string()))?;
        match decode_part(value, 1)?.body {
            PartBody::External(part) => Ok(*part),
            _ => Err(ContentError::Schema("not an external part")),
        }
    }
}

fn id_or_null(id: Option<MessageId>) -> Value {
    id.map_or(Value::Null, |id| Value::Bytes(id.0.to_vec()))
}

fn part_value(part: &NestedPart) -> Value {
    let mut fields = vec![
        Value::from(part.disposition),
        Value::Text(part.language.clone()),
    ];
    match &part.body {
        PartBody::Null => fields.push(Value::from(0u8)),
        PartBody::Single {
            content_type,
            content,
        } => fields.extend([
            Value::from(1u8),
            Value::Text(content_type.clone()),
            Value::Bytes(content.clone()),
        ]),
        PartBody::External(e) => fields.extend([
            Value::from(2u8),
            Value::Text(e.content_type.clone()),
            Value::Text(e.url.clone()),
            Value::from(e.expires),
            Value::from(e.size),
            Value::from(e.enc_alg),
            Value::Bytes(e.key.clone()),
            Value::Bytes(e.nonce.clone()),
            Value::Bytes(e.aad.clone()),
            Value::from(e.hash_alg),
            Value::Bytes(e.content_hash.clone()),
            Value::Text(e.description.clone()),
            Value::Text(e.filename.clone()),
        ]),
        PartBody::Multi { semantics, parts } => fields.extend([
            Value::from(3u8),
            Value::from(*semantics),
            Value::Array(parts.iter().map(part_value).collect()),
        ]),
    }
    Value::Array(fields)
}

fn fixed<const N: usize>(value: Value, what: &'static str) -> Result<[Value; N], ContentError> {
    match value {
        Value::Array(items) => items.try_into().map_err(|_| ContentError::Schema(what)),
        _ => Err(ContentError::Schema(what)),
    }
}

fn bytes_of(value: Value, what: &'static str) -> Result<Vec<u8>, ContentError> {
    match value {
        Value::Bytes(b) => Ok(b),
        _ => Err(ContentError::Field(what, "a byte string")),
    }
}

fn text_of(value: Value, what: &'static str) -> Result<String, ContentError> {
    match value {
        Value::Text(t) => Ok(t),
        _ => Err(ContentError::Field(what, "a text string")),
    }
}

fn uint<T: TryFrom<u64>>(value: Value, what: &'static str) -> Result<T, ContentError> {
    value
        .as_integer()
        .and_then(|i| u64::try_from(i).ok())
        .and_then(|n| T::try_from(n).ok())
        .ok_or(ContentError::Field(what, "an unsigned integer in range"))
}

fn optional_id(value: Value) -> Result<Option<MessageId>, ContentError> {
    match value {
        Value::Null => Ok(None),
        Value::Bytes(b) => b
            .try_into()
            .map(|id| Some(MessageId(id)))
            .map_err(|_| ContentError::Schema("a message id must be 32 bytes")),
        _ => Err(ContentError::Field("a message id", "null or bytes")),
    }
}

fn decode_extensions(value: Value) -> Result<Vec<(ExtensionKey, Value)>, ContentError> {
    let Value::Map(entries) = value else {
        return Err(ContentError::Field("extensions", "a map"));
    };
    let mut out: Vec<(ExtensionKey, Value)> = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let key = match key {
            Value::Integer(i) => ExtensionKey::Int(
                i64::try_from(i)
                    .ok()
                    .filter(|n| n.unsigned_abs() < 1 << 53)
                    .ok_or(ContentError::Schema("an extension key is out of range"))?,
            ),
            Value::Text(t) if (1..=255).contains(&t.len()) => ExtensionKey::Text(t),
            _ => {
                return Err(ContentError::Schema(
                    "an extension key must be an int or name",
                ));
            }
        };
        if out.iter().any(|(k, _)| *k == key) {
            return Err(ContentError::Schema("an extension key occurs twice"));
        }
        if depth(&value) > MAX_DEPTH - 1 {
            return Err(ContentError::Schema("an extension nests too deep"));
        }
        out.push((key, value));
    }
    Ok(out)
}

/// Levels of arrays, maps and tags in a value (the extensions map itself is level 1).
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| depth(k).max(depth(v)))
                .max()
                .unwrap_or(0)
        }
        Value::Tag(_, inner) => 1 + depth(inner),
        _ => 0,
    }
}

fn decode_part(value: Value, level: usize) -> Result<NestedPart, ContentError> {
    if level > MAX_DEPTH {
        return Err(ContentError::Schema("parts nest more than 4 deep"));
    }
    let Value::Array(fields) = value else {
        return Err(ContentError::Field("a part", "an array"));
    };
    let mut fields = fields.into_iter();
    let mut next = |what: &'static str| fields.next().ok_or(ContentError::Field(what, "present"));
    let disposition = uint(next("disposition")?, "disposition")?;
    let language = text_of(next("language")?, "language")?;
    let body = match uint::<u8>(next("cardinality")?, "cardinality")? {
        0 => PartBody::Null,
        1 => PartBody::Single {
            content_type: text_of(next("contentType")?, "contentType")?,
            content: bytes_of(next("content")?, "content")?,
        },
        2 => PartBody::External(Box::new(ExternalPart {
            content_type: text_of(next("contentType")?, "contentType")?,
            url: text_of(next("url")?, "url")?,
            expires: uint(next("expires")?, "expires")?,
            size: uint(next("size")?, "size")?,
            enc_alg: uint(next("encAlg")?, "encAlg")?,
            key: bytes_of(next("key")?, "key")?,
            nonce: bytes_of(next("nonce")?, "nonce")?,
            aad: bytes_of(next("aad")?, "aad")?,
            hash_alg: uint(next("hashAlg")?, "hashAlg")?,
            content_hash: bytes_of(next("contentHash")?, "contentHash")?,
            description: text_of(next("description")?, "description")?,
            filename: text_of(next("filename")?, "filename")?,
        })),
        3 => {
            let semantics = uint::<u8>(next("partSemantics")?, "partSemantics")?;
            if semantics > 2 {
                return Err(ContentError::Schema("unknown part semantics"));
            }
            let Value::Array(parts) = next("parts")? else {
                return Err(ContentError::Field("parts", "an array"));
            };
            if parts.len() < 2 {
                return Err(ContentError::Schema("a multipart has at least 2 parts"));
            }
            PartBody::Multi {
                semantics,
                parts: parts
                    .into_iter()
                    .map(|p| decode_part(p, level + 1))
                    .collect::<Result<_, _>>()?,
            }
        }
        _ => return Err(ContentError::Schema("unknown cardinality")),
    };
    if fields.next().is_some() {
        return Err(ContentError::Schema("a part has extra fields"));
    }
    Ok(NestedPart {
        disposition,
        language,
        body,
    })
}
