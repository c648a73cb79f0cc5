//! The examples of draft-ietf-mimi-content-08 (section 4; the CBOR files in the draft's
//! repository, `examples/`), decoded, given their meaning, and their message ids derived
//! as the draft's examples state them.

use conclave_content::message::{Body, Message};
use conclave_content::message_id::MessageId;
use conclave_content::mimi::MimiContent;

const ROOM: &str = "mimi://example.com/r/engineering_team";

struct Example {
    name: &'static str,
    sender: &'static str,
    cbor: &'static str,
    id: &'static str,
}

const EXAMPLES: &[Example] = &[
    Example {
        name: "original",
        sender: "mimi://example.com/u/alice-smith",
        cbor: "87505eed9406c2545547ab6f09f20a18b003f640f6f6a20178206d696d693a2f2f6578616d706c652e636f6d2f752f616c6963652d736d6974680278256d696d693a2f2f6578616d706c652e636f6d2f722f656e67696e656572696e675f7465616d85016001781e746578742f6d61726b646f776e3b76617269616e743d47464d2d4d494d49583948692065766572796f6e652c207765206a75737420736869707065642072656c6561736520322e302e205f5f476f6f642020776f726b5f5f21",
        id: "017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4",
    },
    Example {
        name: "reply",
        sender: "mimi://example.com/u/bob-jones",
        cbor: "875011a458c73b8dd2cf404db4b378b8fe4df640f65820017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4a201781e6d696d693a2f2f6578616d706c652e636f6d2f752f626f622d6a6f6e65730278256d696d693a2f2f6578616d706c652e636f6d2f722f656e67696e656572696e675f7465616d85016001781e746578742f6d61726b646f776e3b76617269616e743d47464d2d4d494d4958215269676874206f6e21205f436f6e67726174756c6174696f6e735f2027616c6c21",
        id: "015354973c2b65ca937bf1e035ae53a5ab80e947afa43d46920d4202e5cc0b27",
    },
    Example {
        name: "reaction",
        sender: "mimi://example.com/u/cathy-washington",
        cbor: "8750d37bc0e6a8b4f04e9e6382375f587bf6f640f65820017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4a20178256d696d693a2f2f6578616d706c652e636f6d2f752f63617468792d77617368696e67746f6e0278256d696d693a2f2f6578616d706c652e636f6d2f722f656e67696e656572696e675f7465616d850260017818746578742f706c61696e3b636861727365743d7574662d3843e29da4",
        id: "0158c4288911e50a8f6be3f47746b6682f10fd91bc8c05557aa589a3157aff68",
    },
    Example {
        name: "unlike",
        sender: "mimi://example.com/u/cathy-washington",
        cbor: "8750c5ba86dc9fd272e58ca52ec805b7919958200158c4288911e50a8f6be3f47746b6682f10fd91bc8c05557aa589a3157aff6840f65820017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4a20178256d696d693a2f2f6578616d706c652e636f6d2f752f63617468792d77617368696e67746f6e0278256d696d693a2f2f6578616d706c652e636f6d2f722f656e67696e656572696e675f7465616d83026000",
        id: "013aadbb8f313253c8930f4e93c6ca54b2ed06d258185bdcec3870534c8a4ec4",
    },
    Example {
        name: "edit",
        sender: "mimi://example.com/u/bob-jones",
        cbor: "8750b8c2e6d8800ecf45df39be6c45f4c0425820015354973c2b65ca937bf1e035ae53a5ab80e947afa43d46920d4202e5cc0b2740f65820017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4a201781e6d696d693a2f2f6578616d706c652e636f6d2f752f626f622d6a6f6e65730278256d696d693a2f2f6578616d706c652e636f6d2f722f656e67696e656572696e675f7465616d85016001781e746578742f6d61726b646f776e3b76617269616e743d47464d2d4d494d4958225269676874206f6e21205f436f6e67726174756c6174696f6e735f207927616c6c21",
        id: "014028c0deddbdea56bec26172f6ede953d11024cb82b8192b5e2aea62d7fb47",
    },
    Example {
        name: "delete",
        sender: "mimi://example.com/u/bob-jones",
        cbor: "87500a590d73b2c7761c39168be5ebf7f2e65820015354973c2b65ca937bf1e035ae53a5ab80e947afa43d46920d4202e5cc0b2740f65820017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4a201781e6d696d693a2f2f6578616d706c652e636f6d2f752f626f622d6a6f6e65730278256d696d693a2f2f6578616d706c652e636f6d2f722f656e67696e656572696e675f7465616d83016000",
        id: "011d9efc78d04d4dcf4d82b07d5199bbef37011c1f0c7e004b6111c6dda504b4",
    },
    Example {
        name: "expiring",
        sender: "mimi://example.com/u/alice-smith",
        cbor: "875033be993eb39f418f9295afc2ae160d2df64082f41a62036674f6a20178206d696d693a2f2f6578616d706c652e636f6d2f752f616c6963652d736d6974680278256d696d693a2f2f6578616d706c652e636f6d2f722f656e67696e656572696e675f7465616d85016001781e746578742f6d61726b646f776e3b76617269616e743d47464d2d4d494d4958505f5f2a56504e20474f494e4720444f574e2a5f5f2049276d207265626f6f74696e67207468652056504e20696e2074656e206d696e7574657320756e6c65737320616e796f6e65206f626a656374732e",
        id: "01e59db8173939facc2c8a4a0f0ae8d0c7a11a81239626630c9464a8d6717a03",
    },
    Example {
        name: "attachment",
        sender: "mimi://example.com/u/bob-jones",
        cbor: "875018fac6371e4e53f1aeaf8a013155c166f640f6f6a201781e6d696d693a2f2f6578616d706c652e636f6d2f752f626f622d6a6f6e65730278256d696d693a2f2f6578616d706c652e636f6d2f722f656e67696e656572696e675f7465616d8f0662656e0269766964656f2f6d7034782b68747470733a2f2f6578616d706c652e636f6d2f73746f726167652f386b7342346253727252452e6d7034001a2a36ced1015021399320958a6f4c745dde670d95e0d84cc86cf2c33f21527d1dd76f5b400158209ab17a8cf0890baaae7ee016c7312fcc080ba46498389458ee44f0276e783163781c3220686f757273206f66206b6579207369676e696e6720766964656f6b62696766696c652e6d7034",
        id: "0176180c7d19a925021fe446d241134d05c38e0d999cdc0f39c391d2377ed9d1",
    },
];

fn example(name: &str) -> (MimiContent, Message, MessageId) {
    let e = EXAMPLES.iter().find(|e| e.name == name).unwrap();
    let bytes = hex::decode(e.cbor).unwrap();
    let container = MimiContent::decode(&bytes).unwrap();
    assert_eq!(
        container.encode(),
        bytes,
        "{name} re-encodes to the same bytes"
    );
    let message = Message::from_mimi(&container).unwrap();
    let id = MessageId::of_uris(e.sender, ROOM, &bytes, &container.salt);
    (container, message, id)
}

fn id(name: &str) -> MessageId {
    let e = EXAMPLES.iter().find(|e| e.name == name).unwrap();
    MessageId(hex::decode(e.id).unwrap().try_into().unwrap())
}

#[test]
fn every_example_decodes_and_derives_the_drafts_message_id() {
    for e in EXAMPLES {
        let (_, _, derived) = example(e.name);
        assert_eq!(derived, id(e.name), "{}", e.name);
    }
}

#[test]
fn examples_mean_what_the_draft_says() {
    let original = id("original");
    let (_, m, _) = example("original");
    assert!(
        matches!(m.body, Body::Text { ref text, reply_to: None } if text.starts_with("Hi everyone"))
    );
    let (_, m, _) = example("reply");
    assert!(matches!(m.body, Body::Text { reply_to: Some(to), .. } if to == original));
    let (_, m, _) = example("reaction");
    assert_eq!(
        m.body,
        Body::Reaction {
            to: original,
            emoji: "\u{2764}".into()
        }
    );
    let (_, m, _) = example("unlike");
    assert_eq!(
        m.body,
        Body::Unreact {
            reaction: id("reaction"),
            to: Some(original)
        }
    );
    let (_, m, _) = example("edit");
    assert!(
        matches!(m.body, Body::Edit { target, ref text } if target == id("reply") && text.contains("y'all"))
    );
    let (_, m, _) = example("delete");
    assert_eq!(
        m.body,
        Body::Delete {
            target: id("reply")
        }
    );
    let (_, m, _) = example("expiring");
    let expires = m.expires.unwrap();
    assert!(!expires.relative);
    assert_eq!(expires.time, 1_644_390_004);
    let (_, m, _) = example("attachment");
    let Body::Attachment {
        file,
        reply_to: None,
    } = m.body
    else {
        panic!("{:?}", m.body)
    };
    assert_eq!(
        (file.filename.as_str(), file.size, file.enc_alg),
        ("bigfile.mp4", 708_234_961, 1)
    );
}
