//! A message's content, as decrypted: another member chose these bytes. Decoding never
//! panics, and what decodes encodes back to the same content.

use conclave_client::content::Content;

/// The target.
pub fn run(data: &[u8]) {
    if let Ok(content) = Content::decode(data) {
        let again = Content::decode(&content.encode()).expect("encoded content decodes");
        assert_eq!(again, content, "content changed through a round trip");
    }
}
