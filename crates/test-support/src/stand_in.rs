//! Stand-ins for MLS messages: what the delivery service sees of a real message (its
//! cleartext framing), with no group behind it, for tests and load generators that exercise
//! the server alone. A real client's messages are real MLS (`conclave-protocol`).

use conclave_delivery_api::MessageKind;

/// MLS's variable-length size prefix (RFC 9420 section 2.1.2).
fn varint(out: &mut Vec<u8>, len: usize) {
    match len {
        0..64 => out.push(len as u8),
        64..16384 => out.extend_from_slice(&(0x4000 | len as u16).to_be_bytes()),
        _ => out.extend_from_slice(&(0x8000_0000 | len as u32).to_be_bytes()),
    }
}

fn opaque(out: &mut Vec<u8>, bytes: &[u8]) {
    varint(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// An `MLSMessage` the server reads like any other (a `PrivateMessage` with this group,
/// epoch and content type), whose ciphertext is `payload`.
pub fn message(group: &[u8], epoch: u64, kind: MessageKind, payload: &[u8]) -> Vec<u8> {
    let content_type = match kind {
        MessageKind::Application => 1,
        MessageKind::Proposal => 2,
        MessageKind::Commit => 3,
        MessageKind::Welcome => panic!("a Welcome is made by `welcome`"),
        MessageKind::RejoinAsk | MessageKind::RejoinKey | MessageKind::JoinRequest => {
            panic!("asks, answers and join requests are not MLS messages")
        }
    };
    let mut out = vec![0, 1, 0, 2]; // mls10, mls_private_message
    opaque(&mut out, group);
    out.extend_from_slice(&epoch.to_be_bytes());
    out.push(content_type);
    opaque(&mut out, b""); // authenticated data
    opaque(&mut out, &[0; 28]); // encrypted sender data
    opaque(&mut out, payload);
    out
}

/// A Welcome `MLSMessage` whose encrypted GroupInfo is `payload`.
pub fn welcome(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 1, 0, 3, 0, 1]; // mls10, mls_welcome, ciphersuite 1
    opaque(&mut out, b""); // no group secrets
    opaque(&mut out, payload);
    out
}

/// The payload of a message made by [`message`] (or of a Welcome made by [`welcome`]).
pub fn payload(message: &[u8]) -> Vec<u8> {
    let mut at = 4;
    let skip_opaque = |at: &mut usize| {
        let first = message[*at];
        let (len, width) = match first >> 6 {
            0 => (usize::from(first), 1),
            1 => (
                usize::from(u16::from_be_bytes([first & 0x3f, message[*at + 1]])),
                2,
            ),
            _ => (
                u32::from_be_bytes([
                    first & 0x3f,
                    message[*at + 1],
                    message[*at + 2],
                    message[*at + 3],
                ]) as usize,
                4,
            ),
        };
        *at += width;
        let start = *at;
        *at += len;
        start..*at
    };
    if message[3] == 3 {
        at += 2;
        skip_opaque(&mut at);
        return message[skip_opaque(&mut at)].to_vec();
    }
    skip_opaque(&mut at);
    at += 9;
    skip_opaque(&mut at);
    skip_opaque(&mut at);
    message[skip_opaque(&mut at)].to_vec()
}
