//! The seed corpus: inputs each target starts from, made by the targets' own worlds (real
//! messages, key packages, bodies and rows), written by `conclave-fuzz-seeds DIR` into
//! `DIR/<target>/`. The committed corpus (`fuzz/corpus`) is its output.

use conclave_content::message::{Body, Message};
use conclave_content::{Expiration, MessageId};
use conclave_protocol::GroupConfig;

use crate::world::Device;

/// The bytes an `arbitrary` enum reads as its first variant, and as its second of two.
const FIRST: [u8; 4] = [0, 0, 0, 0];
const SECOND: [u8; 4] = [0xff, 0xff, 0xff, 0xff];

/// An `edit::Input::Raw` of `bytes`.
pub fn raw(bytes: &[u8]) -> Vec<u8> {
    [&[0][..], bytes].concat()
}

/// An `edit::Input::Edited` of template `template`, unedited.
pub fn template(template: u8) -> Vec<u8> {
    vec![1, template]
}

/// Every target's seeds: (target, name, bytes).
pub fn all() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut seeds = Vec::new();
    for t in 0..6 {
        seeds.push(("mls_process", format!("template-{t}"), template(t)));
    }
    seeds.push(("mls_process", "empty".into(), raw(b"")));
    let device = Device::new("alice");
    let key_package = device.key_package(&GroupConfig::default());
    seeds.push(("mls_process", "key-package".into(), raw(&key_package)));
    seeds.push(("key_package", "template".into(), template(0)));
    seeds.push(("key_package", "raw".into(), raw(&key_package)));
    // mls_join: `Edited` with no edits, with and without the tree.
    seeds.push((
        "mls_join",
        "welcome-and-tree".into(),
        [&SECOND[..], &[0, 0]].concat(),
    ));
    seeds.push((
        "mls_join",
        "welcome-alone".into(),
        [&SECOND[..], &[0, 0, 1]].concat(),
    ));
    for (name, json) in [
        ("queue-page", &b"\x00{\"items\":[{\"seq\":3,\"sender\":{\"user\":\"a\",\"device\":\"d\"},\"kind\":\"welcome\",\"group_id\":\"Zw==\",\"epoch\":1,\"message\":\"AAE=\",\"ratchet_tree\":\"AA==\"}],\"more\":true}"[..]),
        ("push-frame", b"\x01{\"seq\":12}"),
        ("error", b"\x02{\"error\":\"queue_full\",\"message\":\"m\",\"current_epoch\":4,\"recipients\":[{\"user\":\"b\",\"device\":\"d\"}]}"),
        ("claim", b"\x03{\"user\":\"bob\",\"key_packages\":[{\"device\":\"d\",\"key_package\":\"AAE=\",\"last_resort\":false}]}"),
        ("devices", b"\x04{\"user\":\"bob\",\"devices\":[{\"device\":\"d\",\"signature_key\":\"AAE=\",\"ciphersuite\":1}]}"),
        ("stock", b"\x06{\"one_time\":3,\"last_resort\":1}"),
    ] {
        seeds.push(("server_response", name.into(), json.to_vec()));
    }
    let target = MessageId([1; 32]);
    for (name, body) in [
        (
            "text",
            Body::Text {
                text: "hello".into(),
                reply_to: None,
            },
        ),
        (
            "reply",
            Body::Text {
                text: "yes".into(),
                reply_to: Some(target),
            },
        ),
        (
            "reaction",
            Body::Reaction {
                to: target,
                emoji: "\u{1f44d}".into(),
            },
        ),
        (
            "unreact",
            Body::Unreact {
                reaction: MessageId([2; 32]),
                to: Some(target),
            },
        ),
        (
            "edit",
            Body::Edit {
                target,
                text: "fixed".into(),
            },
        ),
        ("delete", Body::Delete { target }),
        (
            "read",
            Body::Status {
                read: vec![target],
                delivered: Vec::new(),
            },
        ),
        (
            "delivered",
            Body::Status {
                read: Vec::new(),
                delivered: vec![target],
            },
        ),
        ("timer", Body::Timer { seconds: 3600 }),
        ("typing", Body::Typing),
    ] {
        let message = Message {
            sent_at: Some(1_700_000_000_000),
            expires: (name == "text").then_some(Expiration {
                relative: false,
                time: 1_700_000_600,
            }),
            body,
        };
        seeds.push((
            "content",
            name.into(),
            message.to_mimi_salted([7; 16]).encode(),
        ));
    }
    for row in 0..12u16 {
        // `stored_rows::Input { row, value: Edited(no edits) }`.
        seeds.push((
            "stored_rows",
            format!("row-{row}"),
            [&row.to_le_bytes()[..], &SECOND[..]].concat(),
        ));
    }
    for route in 0..crate::server_request::ROUTE_COUNT {
        // A POST or GET of each route, signed, its body a template unedited.
        for post in [0u8, 1] {
            seeds.push((
                "server_request",
                format!("route-{route}-{post}"),
                // post, Path::Route { index, query: None }, BodyInput::Edited { template,
                // no edits }, Signing::Valid, no extra headers.
                [
                    &[post][..],
                    &FIRST,
                    &[route, 0],
                    &SECOND,
                    &[route % crate::server_request::TEMPLATES, 0],
                    &FIRST,
                ]
                .concat(),
            ));
        }
    }
    seeds
}
