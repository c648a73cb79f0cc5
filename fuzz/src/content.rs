//! A message's content, as decrypted: another member chose these bytes. Reading never
//! panics; a container that decodes encodes to bytes that decode to the same container;
//! what it means, written again, means the same.

use conclave_content::message::{Body, Message};
use conclave_content::mimi::MimiContent;

/// The target.
pub fn run(data: &[u8]) {
    let _ = conclave_content::read(data, "alice", b"group");
    let Ok(container) = MimiContent::decode(data) else {
        return;
    };
    let encoded = container.encode();
    let again = MimiContent::decode(&encoded).expect("an encoded container decodes");
    assert_eq!(
        again.encode(),
        encoded,
        "a container changed through a round trip"
    );
    if let Ok(message) = Message::from_mimi(&container)
        && !matches!(message.body, Body::Unsupported { .. })
    {
        let rewritten = Message::from_mimi(&message.to_mimi_salted(container.salt))
            .expect("a message Conclave writes reads back");
        assert_eq!(
            rewritten, message,
            "a message changed meaning through a round trip"
        );
    }
}
