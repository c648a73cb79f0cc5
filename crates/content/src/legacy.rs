//! Conclave's content format before MIMI (MessagePack with named fields `v`, `id`, `kind`,
//! `body`, `sent_at`), read so that messages sent by older versions still show. Nothing
//! writes it any more.

use serde::Deserialize;

use crate::message::{Body, Message};
use crate::{ContentError, MessageId};

#[derive(Deserialize)]
struct Encoded {
    #[serde(with = "serde_bytes_16")]
    id: [u8; 16],
    kind: String,
    #[serde(default)]
    body: String,
    sent_at: i64,
}

/// Reads an old-format message: its id ([`MessageId::legacy`]) and meaning.
pub(crate) fn decode(bytes: &[u8]) -> Result<(MessageId, Message), ContentError> {
    let encoded: Encoded =
        rmp_serde::from_slice(bytes).map_err(|e| ContentError::Legacy(e.to_string()))?;
    let body = match encoded.kind.as_str() {
        "text" => Body::Text {
            text: encoded.body,
            reply_to: None,
        },
        other => Body::Unsupported {
            what: other.to_owned(),
        },
    };
    Ok((
        MessageId::legacy(encoded.id),
        Message {
            sent_at: Some(encoded.sent_at),
            expires: None,
            body,
        },
    ))
}

mod serde_bytes_16 {
    use serde::{Deserializer, de::Error};

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
