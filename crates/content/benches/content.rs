//! Encoding and decoding each kind of message content (a MIMI container, CBOR), with its
//! message id: what every send and every receive pays on top of MLS.
//!
//! `cargo bench -p conclave-content --bench content` (figures in docs/PERFORMANCE.md).

use std::hint::black_box;

use conclave_content::message::{Body, Message};
use conclave_content::mimi::ExternalPart;
use conclave_content::{MessageId, read, write};
use criterion::{Criterion, criterion_group, criterion_main};

fn kinds() -> Vec<(&'static str, Body)> {
    let to = MessageId([1; 32]);
    vec![
        (
            "text 100 B",
            Body::Text {
                text: "x".repeat(100),
                reply_to: None,
            },
        ),
        (
            "text 1 KiB",
            Body::Text {
                text: "x".repeat(1024),
                reply_to: None,
            },
        ),
        (
            "reply",
            Body::Text {
                text: "agreed".into(),
                reply_to: Some(to),
            },
        ),
        (
            "reaction",
            Body::Reaction {
                to,
                emoji: "👍".into(),
            },
        ),
        (
            "edit",
            Body::Edit {
                target: to,
                text: "x".repeat(100),
            },
        ),
        ("delete", Body::Delete { target: to }),
        (
            "read receipt",
            Body::Status {
                read: vec![to],
                delivered: Vec::new(),
            },
        ),
        ("timer", Body::Timer { seconds: 3600 }),
        ("typing", Body::Typing),
        (
            "attachment",
            Body::Attachment {
                reply_to: None,
                file: Box::new(ExternalPart {
                    content_type: "image/png".into(),
                    url: format!("https://conclave.example/v1/blobs/{}", "ab".repeat(16)),
                    expires: 0,
                    size: 1 << 20,
                    enc_alg: 1,
                    key: vec![1; 16],
                    nonce: vec![2; 12],
                    aad: Vec::new(),
                    hash_alg: 1,
                    content_hash: vec![3; 32],
                    description: String::new(),
                    filename: "photo.png".into(),
                }),
            },
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let group_id = [7u8; 32];
    let mut encode = c.benchmark_group("content encode (with id)");
    for (name, body) in kinds() {
        let message = Message {
            sent_at: Some(1_765_000_000_000),
            expires: None,
            body,
        };
        encode.bench_function(name, |b| {
            b.iter(|| write(black_box(&message), "alice", &group_id))
        });
    }
    encode.finish();
    let mut decode = c.benchmark_group("content decode (with id)");
    for (name, body) in kinds() {
        let message = Message {
            sent_at: Some(1_765_000_000_000),
            expires: None,
            body,
        };
        let (_, bytes) = write(&message, "alice", &group_id);
        decode.bench_function(name, |b| {
            b.iter(|| read(black_box(&bytes), "alice", &group_id).unwrap())
        });
    }
    decode.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
