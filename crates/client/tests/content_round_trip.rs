//! Any message content survives its encoding: what a member sends is what the others read,
//! whatever its text, id or time.

use conclave_client::content::{Body, Content, MessageUid};
use proptest::prelude::*;

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        any::<String>().prop_map(Body::Text),
        // What this version reads as a kind it does not know ("text" is the one it knows).
        any::<String>()
            .prop_filter("a known kind", |kind| kind != "text")
            .prop_map(|kind| Body::Unsupported { kind }),
    ]
}

proptest! {
    #[test]
    fn content_round_trips(id in any::<[u8; 16]>(), sent_at in any::<i64>(), body in body()) {
        let content = Content { id: MessageUid(id), sent_at, body };
        prop_assert_eq!(Content::decode(&content.encode()).unwrap(), content);
    }
}
