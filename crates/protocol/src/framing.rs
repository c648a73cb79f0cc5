//! What anyone can read of an MLS message without its group's keys: the cleartext framing
//! that the delivery service checks each envelope against.

use openmls::prelude::{ContentType, MlsMessageBodyIn, MlsMessageIn};
use tls_codec::Deserialize as _;

use crate::{Cause, Error};

/// What a group message carries, as its framing says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentKind {
    /// An application message.
    Application,
    /// A proposal.
    Proposal,
    /// A commit.
    Commit,
}

/// The cleartext of a group message's framing (a `PublicMessage` or a `PrivateMessage`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupFraming {
    /// The group it names.
    pub group_id: Vec<u8>,
    /// The epoch it was made in.
    pub epoch: u64,
    /// Its content type.
    pub content: ContentKind,
    /// Whether a member sent it (a `PrivateMessage` always is; a `PublicMessage` says).
    pub from_member: bool,
}

/// An `MLSMessage` by its cleartext framing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Framing {
    /// A group message.
    Group(GroupFraming),
    /// A Welcome (whose group and epoch are encrypted to the joiners).
    Welcome,
    /// A GroupInfo or a KeyPackage.
    Other(&'static str),
}

/// Reads an `MLSMessage`'s cleartext framing. Decoding checks the whole message's
/// structure, not only its header: bytes that are not exactly one `MLSMessage` are
/// [`Error::Malformed`].
pub fn read_framing(bytes: &[u8]) -> Result<Framing, Error> {
    let message =
        MlsMessageIn::tls_deserialize_exact(bytes).map_err(|e| Error::Malformed(Cause::of(e)))?;
    let body = message.extract();
    let protocol = match body {
        MlsMessageBodyIn::PublicMessage(m) => openmls::prelude::ProtocolMessage::from(m),
        MlsMessageBodyIn::PrivateMessage(m) => openmls::prelude::ProtocolMessage::from(m),
        MlsMessageBodyIn::Welcome(_) => return Ok(Framing::Welcome),
        other => return Ok(Framing::Other(crate::body_name(&other))),
    };
    let content = match protocol.content_type() {
        ContentType::Application => ContentKind::Application,
        ContentType::Proposal => ContentKind::Proposal,
        ContentType::Commit => ContentKind::Commit,
    };
    Ok(Framing::Group(GroupFraming {
        group_id: protocol.group_id().as_slice().to_vec(),
        epoch: protocol.epoch().as_u64(),
        content,
        from_member: !protocol.is_external(),
    }))
}
