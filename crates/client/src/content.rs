//! What goes inside an MLS application message: Conclave's versioned content format.
//!
//! Each application message carries one [`Content`], encoded as MessagePack with named
//! fields (self-describing, so newer clients can add fields that older ones ignore):
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `v` | integer | format version, 1 |
//! | `id` | 16 bytes | the sender's random message id: a message delivered twice is shown once |
//! | `kind` | string | `"text"`; later kinds (edits, reactions, files) add names |
//! | `body` | string | for `text`, the text |
//! | `sent_at` | integer | the sender's clock, ms since the Unix epoch |
//!
//! A kind this version does not know decodes as [`Body::Unsupported`]: it is stored and
//! shown as "unsupported", never dropped and never a crash. A version above 1 is read the
//! same way as long as `id` is there: a newer format keeps the message identifiable.

use serde::{Deserialize, Serialize};

/// The current format version.
pub const VERSION: u32 = 1;

/// A message id, chosen at random by the sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessageUid(pub [u8; 16]);

impl MessageUid {
    /// A fresh random id.
    pub fn random() -> Self {
        Self(rand::random())
    }
}

/// One application message's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Content {
    /// Its id.
    pub id: MessageUid,
    /// When the sender sent it (ms since the Unix epoch, the sender's clock).
    pub sent_at: i64,
    /// What it says.
    pub body: Body,
}

/// The kinds of content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Plain text.
    Text(String),
    /// A kind this version does not understand.
    Unsupported {
        /// Its kind name.
        kind: String,
    },
}

#[derive(Serialize, Deserialize)]
struct Encoded {
    v: u32,
    #[serde(with = "serde_bytes_16")]
    id: [u8; 16],
    kind: String,
    #[serde(default)]
    body: String,
    sent_at: i64,
}

mod serde_bytes_16 {
    use serde::{Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(bytes: &[u8; 16], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 16], D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = [u8; 16];
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("16 bytes")
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<[u8; 16], E> {
                v.try_into()
                    .map_err(|_| E::custom("message id must be 16 bytes"))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<[u8; 16], A::Error> {
                let mut out = [0u8; 16];
                for byte in &mut out {
                    *byte = seq
                        .next_element()?
                        .ok_or_else(|| A::Error::custom("message id must be 16 bytes"))?;
                }
                if seq.next_element::<u8>()?.is_some() {
                    return Err(A::Error::custom("message id must be 16 bytes"));
                }
                Ok(out)
            }
        }
        d.deserialize_bytes(Visitor)
    }
}

/// Content that could not be decoded at all (not MessagePack, no id).
#[derive(Debug, thiserror::Error)]
#[error("undecodable message content: {0}")]
pub struct ContentError(String);

impl Content {
    /// A text message with a fresh id, sent now.
    pub fn text(text: impl Into<String>, sent_at: i64) -> Self {
        Self {
            id: MessageUid::random(),
            sent_at,
            body: Body::Text(text.into()),
        }
    }

    /// The bytes to encrypt.
    pub fn encode(&self) -> Vec<u8> {
        let (kind, body) = match &self.body {
            Body::Text(text) => ("text".to_owned(), text.clone()),
            Body::Unsupported { kind } => (kind.clone(), String::new()),
        };
        rmp_serde::to_vec_named(&Encoded {
            v: VERSION,
            id: self.id.0,
            kind,
            body,
            sent_at: self.sent_at,
        })
        .expect("encoding a struct of plain fields cannot fail")
    }

    /// Reads decrypted bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ContentError> {
        let encoded: Encoded =
            rmp_serde::from_slice(bytes).map_err(|e| ContentError(e.to_string()))?;
        let body = match encoded.kind.as_str() {
            "text" => Body::Text(encoded.body),
            _ => Body::Unsupported { kind: encoded.kind },
        };
        Ok(Self {
            id: MessageUid(encoded.id),
            sent_at: encoded.sent_at,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        let content = Content::text("héllo", 1_700_000_000_000);
        assert_eq!(Content::decode(&content.encode()).unwrap(), content);
    }

    #[test]
    fn unknown_kind_and_newer_version_are_kept_as_unsupported() {
        #[derive(Serialize)]
        struct Future {
            v: u32,
            #[serde(with = "serde_bytes_16")]
            id: [u8; 16],
            kind: String,
            sent_at: i64,
            emoji: String,
        }
        let bytes = rmp_serde::to_vec_named(&Future {
            v: 7,
            id: [9; 16],
            kind: "reaction".into(),
            sent_at: 5,
            emoji: "+1".into(),
        })
        .unwrap();
        let content = Content::decode(&bytes).unwrap();
        assert_eq!(content.id, MessageUid([9; 16]));
        assert_eq!(
            content.body,
            Body::Unsupported {
                kind: "reaction".into()
            }
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [
            &b""[..],
            b"\xff\x00",
            b"plain text",
            &[0x81, 0xa1, b'v', 0x01],
        ] {
            assert!(Content::decode(bytes).is_err());
        }
    }
}
