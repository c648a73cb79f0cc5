//! Vectors of Conclave's message content (draft-ietf-mimi-content-08 containers, with
//! Conclave's meaning of each): `conclave-mimi-content.json`.
//!
//! Each case gives the sender's user name, the MLS group id, the container's bytes, the
//! message id the draft's computation gives for them (with the sender and room URIs
//! Conclave derives: `mimi://conclave/u/USER`, `mimi://conclave/r/GROUP-HEX`), and what the
//! message means as JSON. A checker decodes the bytes, derives the id, compares the meaning,
//! and writes the meaning back under the container's salt, which must give the same bytes:
//! the encoding is deterministic.

use conclave_content::message::{Body, Message};
use conclave_content::mimi::{ExternalPart, MimiContent};
use conclave_content::{Expiration, MessageId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::FileReport;

/// One case.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ContentVector {
    /// What it shows.
    pub description: String,
    /// The sender's user name.
    pub sender_user: String,
    /// The MLS group id.
    #[serde(with = "hex::serde")]
    pub group_id: Vec<u8>,
    /// The container's CBOR bytes.
    #[serde(with = "hex::serde")]
    pub encoded: Vec<u8>,
    /// The message id.
    #[serde(with = "hex::serde")]
    pub message_id: Vec<u8>,
    /// What it means.
    pub meaning: Value,
}

/// A message's meaning as the vectors spell it.
pub fn meaning(message: &Message) -> Value {
    let id = |m: &MessageId| hex::encode(m.0);
    let body = match &message.body {
        Body::Text { text, reply_to } => {
            json!({"kind": "text", "text": text, "reply_to": reply_to.as_ref().map(id)})
        }
        Body::Reaction { to, emoji } => json!({"kind": "reaction", "to": id(to), "emoji": emoji}),
        Body::Unreact { reaction, to } => {
            json!({"kind": "unreact", "reaction": id(reaction), "to": to.as_ref().map(id)})
        }
        Body::Edit { target, text } => json!({"kind": "edit", "target": id(target), "text": text}),
        Body::Delete { target } => json!({"kind": "delete", "target": id(target)}),
        Body::Status { read, delivered } => json!({
            "kind": "status",
            "read": read.iter().map(id).collect::<Vec<_>>(),
            "delivered": delivered.iter().map(id).collect::<Vec<_>>(),
        }),
        Body::Timer { seconds } => json!({"kind": "timer", "seconds": seconds}),
        Body::Typing => json!({"kind": "typing"}),
        Body::Attachment { reply_to, file } => json!({
            "kind": "attachment",
            "reply_to": reply_to.as_ref().map(id),
            "content_type": file.content_type,
            "url": file.url,
            "size": file.size,
            "enc_alg": file.enc_alg,
            "key": hex::encode(&file.key),
            "nonce": hex::encode(&file.nonce),
            "hash_alg": file.hash_alg,
            "content_hash": hex::encode(&file.content_hash),
            "filename": file.filename,
        }),
        Body::Unsupported { what } => json!({"kind": "unsupported", "what": what}),
    };
    json!({
        "sent_at": message.sent_at,
        "expires": message.expires.map(|e| json!({"relative": e.relative, "time": e.time})),
        "body": body,
    })
}

/// Checks every case of a content vector file.
pub fn check(path: &std::path::Path, report: &mut FileReport) -> Result<(), String> {
    let vectors: Vec<ContentVector> = crate::read(path)?;
    for (i, v) in vectors.iter().enumerate() {
        report.cases += 1;
        match run(v) {
            Ok(()) => report.passed += 1,
            Err(e) => report
                .failures
                .push(format!("case {i} ({}): {e}", v.description)),
        }
    }
    Ok(())
}

/// Checks one case.
pub fn run(v: &ContentVector) -> Result<(), String> {
    let (id, message) = conclave_content::read(&v.encoded, &v.sender_user, &v.group_id)
        .map_err(|e| e.to_string())?;
    if id.0.as_slice() != v.message_id.as_slice() {
        return Err(format!(
            "message id {} expected",
            hex::encode(&v.message_id)
        ));
    }
    if meaning(&message) != v.meaning {
        return Err(format!(
            "means {}, expected {}",
            meaning(&message),
            v.meaning
        ));
    }
    let salt = MimiContent::decode(&v.encoded)
        .map_err(|e| e.to_string())?
        .salt;
    if message.to_mimi_salted(salt).encode() != v.encoded {
        return Err("the meaning, written again, gives other bytes".into());
    }
    Ok(())
}

/// Conclave's content vectors: every kind, under fixed salts.
pub fn vectors() -> Vec<ContentVector> {
    let group_id = b"conclave-content-vectors".to_vec();
    let original = MessageId([0x01; 32]);
    let reaction = MessageId([0x02; 32]);
    let file = ExternalPart {
        content_type: "image/png".into(),
        url: format!("https://conclave.example/v1/blobs/{}", "5a".repeat(16)),
        expires: 0,
        size: 1234,
        enc_alg: 1,
        key: vec![0x11; 16],
        nonce: vec![0x22; 12],
        aad: Vec::new(),
        hash_alg: 1,
        content_hash: vec![0x33; 32],
        description: String::new(),
        filename: "photo.png".into(),
    };
    let cases: Vec<(&str, Option<Expiration>, Body)> = vec![
        (
            "text",
            None,
            Body::Text {
                text: "Hello, **world**".into(),
                reply_to: None,
            },
        ),
        (
            "reply",
            None,
            Body::Text {
                text: "Agreed".into(),
                reply_to: Some(original),
            },
        ),
        (
            "reaction",
            None,
            Body::Reaction {
                to: original,
                emoji: "\u{2764}\u{fe0f}".into(),
            },
        ),
        (
            "reaction removed",
            None,
            Body::Unreact {
                reaction,
                to: Some(original),
            },
        ),
        (
            "edit",
            None,
            Body::Edit {
                target: original,
                text: "Hello, world!".into(),
            },
        ),
        ("delete", None, Body::Delete { target: original }),
        (
            "read receipt",
            None,
            Body::Status {
                read: vec![original],
                delivered: Vec::new(),
            },
        ),
        (
            "disappearing timer: one day",
            None,
            Body::Timer { seconds: 86_400 },
        ),
        ("typing", None, Body::Typing),
        (
            "attachment",
            None,
            Body::Attachment {
                reply_to: None,
                file: Box::new(file),
            },
        ),
        (
            "disappearing text",
            Some(Expiration {
                relative: false,
                time: 1_800_000_000,
            }),
            Body::Text {
                text: "gone soon".into(),
                reply_to: None,
            },
        ),
        (
            "delivery receipt",
            None,
            Body::Status {
                read: Vec::new(),
                delivered: vec![original],
            },
        ),
    ];
    cases
        .into_iter()
        .enumerate()
        .map(|(i, (description, expires, body))| {
            let message = Message {
                sent_at: Some(1_765_000_000_000 + i as i64),
                expires,
                body,
            };
            let container = message.to_mimi_salted([i as u8 + 0x40; 16]);
            let encoded = container.encode();
            let id = MessageId::of("alice", &group_id, &encoded, &container.salt);
            ContentVector {
                description: description.into(),
                sender_user: "alice".into(),
                group_id: group_id.clone(),
                message_id: id.0.to_vec(),
                meaning: meaning(&message),
                encoded,
            }
        })
        .collect()
}
