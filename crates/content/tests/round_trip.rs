//! Every kind Conclave writes reads back as itself with the same id; bytes that are not a
//! message are an error, never a panic; the earlier format still reads.

use conclave_content::message::{Body, Message};
use conclave_content::mimi::{Expiration, ExternalPart};
use conclave_content::{ContentError, MessageId, read, write};
use proptest::prelude::*;

fn any_id() -> impl Strategy<Value = MessageId> {
    any::<[u8; 32]>().prop_map(MessageId)
}

fn any_body() -> impl Strategy<Value = Body> {
    prop_oneof![
        (any::<String>(), proptest::option::of(any_id()))
            .prop_map(|(text, reply_to)| Body::Text { text, reply_to }),
        (any_id(), "[a-z\u{1F600}-\u{1F64F}]{1,8}")
            .prop_map(|(to, emoji)| Body::Reaction { to, emoji }),
        (any_id(), proptest::option::of(any_id()))
            .prop_map(|(reaction, to)| Body::Unreact { reaction, to }),
        (any_id(), any::<String>()).prop_map(|(target, text)| Body::Edit { target, text }),
        any_id().prop_map(|target| Body::Delete { target }),
        (
            proptest::collection::vec(any_id(), 0..4),
            proptest::collection::vec(any_id(), 0..4)
        )
            .prop_map(|(read, delivered)| Body::Status { read, delivered }),
        any::<u32>().prop_map(|seconds| Body::Timer { seconds }),
        Just(Body::Typing),
        (any::<String>(), any::<u64>(), any::<[u8; 16]>()).prop_map(|(filename, size, key)| {
            Body::Attachment {
                reply_to: None,
                file: Box::new(ExternalPart {
                    content_type: "image/png".into(),
                    url: "https://127.0.0.1/v1/blobs/x".into(),
                    expires: 0,
                    size,
                    enc_alg: 1,
                    key: key.to_vec(),
                    nonce: vec![0; 12],
                    aad: Vec::new(),
                    hash_alg: 1,
                    content_hash: vec![7; 32],
                    description: String::new(),
                    filename,
                }),
            }
        }),
    ]
}

proptest! {
    #[test]
    fn every_kind_round_trips(
        body in any_body(),
        sent_at in proptest::option::of(any::<i64>()),
        expires in proptest::option::of((any::<bool>(), any::<u32>())),
        sender in "[a-z]{1,12}",
        group in proptest::collection::vec(any::<u8>(), 1..40),
    ) {
        let message = Message {
            sent_at,
            expires: expires.map(|(relative, time)| Expiration { relative, time }),
            body,
        };
        let (id, bytes) = write(&message, &sender, &group);
        let (read_id, read_back) = read(&bytes, &sender, &group).unwrap();
        prop_assert_eq!(read_id, id);
        prop_assert_eq!(read_back, message);
        // The id binds the sender and the room.
        prop_assert_ne!(read(&bytes, &format!("{sender}x"), &group).unwrap().0, id);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = read(&bytes, "alice", b"group");
        let mut mimi = bytes.clone();
        mimi.insert(0, 0x87);
        let _ = read(&mimi, "alice", b"group");
    }
}

#[test]
fn two_sends_of_the_same_text_have_different_ids() {
    let message = Message {
        sent_at: Some(1),
        expires: None,
        body: Body::Text {
            text: "hi".into(),
            reply_to: None,
        },
    };
    assert_ne!(write(&message, "a", b"g").0, write(&message, "a", b"g").0);
}

#[test]
fn the_earlier_messagepack_format_still_reads() {
    // What conclave-client 0.1 wrote: {v: 1, id: 16 bytes, kind, body, sent_at}.
    #[derive(serde::Serialize)]
    struct Old<'a> {
        v: u32,
        #[serde(with = "serde_bytes_compat")]
        id: [u8; 16],
        kind: &'a str,
        body: &'a str,
        sent_at: i64,
    }
    mod serde_bytes_compat {
        pub fn serialize<S: serde::Serializer>(b: &[u8; 16], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(b)
        }
    }
    let bytes = rmp_serde::to_vec_named(&Old {
        v: 1,
        id: [5; 16],
        kind: "text",
        body: "from before",
        sent_at: 42,
    })
    .unwrap();
    let (id, message) = read(&bytes, "alice", b"g").unwrap();
    assert_eq!(id, MessageId::legacy([5; 16]));
    assert_eq!(message.sent_at, Some(42));
    assert_eq!(
        message.body,
        Body::Text {
            text: "from before".into(),
            reply_to: None
        }
    );
}

#[test]
fn malformed_known_kinds_and_schema_breaks_are_typed_errors() {
    // The baseline each case below breaks in one place: an empty part.
    let baseline = hex::decode(format!("8750{}f640f6f6a083016000", "00".repeat(16))).unwrap();
    assert!(read(&baseline, "a", b"g").is_ok());
    for (hex, why) in [
        // array(7) but the salt is 15 bytes
        (
            "874f000000000000000000000000000000f640f6f6a083016000",
            "salt",
        ),
        // a multipart cut short
        (
            "875000000000000000000000000000000000f640f6f6a08301600302",
            "truncated",
        ),
        // trailing byte after a valid container
        (
            "875000000000000000000000000000000000f640f6f6a083016000ff",
            "trailing",
        ),
        // duplicate extension key
        (
            "875000000000000000000000000000000000f640f6f6a2010101028301600000",
            "duplicate",
        ),
    ] {
        let bytes = hex::decode(hex).unwrap();
        assert!(read(&bytes, "a", b"g").is_err(), "{why}");
    }
    // Parts nested five deep.
    let leaf = "83016000";
    let mut part = leaf.to_owned();
    for _ in 0..4 {
        part = format!("8501600300 82{part}{leaf}").replace(' ', "");
    }
    let deep = format!("875000000000000000000000000000000000f640f6f6a0{part}");
    assert!(matches!(
        conclave_content::MimiContent::decode(&hex::decode(&deep).unwrap()),
        Err(ContentError::Schema("parts nest more than 4 deep"))
    ));
    assert!(matches!(
        read(
            &vec![0x87; conclave_content::MAX_CONTENT_BYTES + 1],
            "a",
            b"g"
        ),
        Err(ContentError::TooLarge)
    ));
}
