//! The keys that let a device in by external commit, carried inside MLS as a group-context
//! extension: the *rejoin key*, with which members seal the group's latest GroupInfo for a
//! member that lost its state, and the open *invite link*, if any.
//!
//! An external commit needs the group's GroupInfo (its tree, context and external public
//! key). Members keep it at the delivery service sealed, so the server learns nothing from
//! it (see `conclave-client`'s `invite` module): under the rejoin key for the group's own
//! devices, and under the link's secret for whoever holds the link. Both keys live here, in
//! the encrypted group context, so every member can seal the GroupInfo after its commits.
//!
//! - The rejoin key changes with every commit that removes someone (the committer picks a
//!   new one), so a removed member cannot read later GroupInfos. A member restored from a
//!   backup older than a removal therefore asks the other members for the current key
//!   ([`crate::rejoin_ask`]).
//! - The link is set and cleared by those the policy lets manage links
//!   ([`crate::Action::Links`]); anyone may change the rejoin key. While a link without
//!   approval is open, members accept an external commit that brings in a new member;
//!   with approval, joins go through an admin's ordinary add. Without a link only a
//!   *rejoin* is accepted: an external commit that replaces the joiner's own old leaf
//!   (same user, same device).
//!
//! A group made before join keys has none: it can be joined by invitation only.

use openmls::prelude::{Extension, Extensions, GroupContext, UnknownExtension};
use openmls_traits::random::OpenMlsRand;

use crate::{Cause, Error};

/// Private-use extension type (RFC 9420, section 17.3) of the join keys.
pub const JOIN_KEYS_EXTENSION_TYPE: u16 = 0xF0C3;

/// The encoding's version byte.
const VERSION: u8 = 1;

/// A 32-byte secret.
pub type Secret = [u8; 32];

/// The join keys of a group.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinKeys {
    /// Seals the GroupInfo for the group's own devices (see the module docs).
    pub rejoin: Secret,
    /// The open invite link, if any.
    pub link: Option<InviteLink>,
}

/// An open invite link, as the members know it.
#[derive(Clone, PartialEq, Eq)]
pub struct InviteLink {
    /// The link's secret: it seals the GroupInfo for link holders, and the server's token is
    /// derived from it.
    pub secret: Secret,
    /// Whether a join needs an admin's approval (then it is an ordinary add by the admin,
    /// and members refuse external joins).
    pub approval: bool,
}

impl std::fmt::Debug for JoinKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinKeys")
            .field("rejoin", &"<secret>")
            .field("link", &self.link)
            .finish()
    }
}

impl std::fmt::Debug for InviteLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InviteLink")
            .field("secret", &"<secret>")
            .field("approval", &self.approval)
            .finish()
    }
}

impl JoinKeys {
    /// New keys with no link.
    pub fn new(rand: &impl OpenMlsRand) -> Result<Self, Error> {
        Ok(Self {
            rejoin: secret(rand)?,
            link: None,
        })
    }

    /// These keys with a fresh rejoin key (after a removal).
    pub fn rotated(&self, rand: &impl OpenMlsRand) -> Result<Self, Error> {
        Ok(Self {
            rejoin: secret(rand)?,
            link: self.link.clone(),
        })
    }

    /// The extension's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(67);
        out.push(VERSION);
        out.extend_from_slice(&self.rejoin);
        match &self.link {
            None => out.push(0),
            Some(link) => {
                out.push(1);
                out.extend_from_slice(&link.secret);
                out.push(u8::from(link.approval));
            }
        }
        out
    }

    /// Reads the extension's bytes, refusing anything [`JoinKeys::encode`] would not write.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let invalid = |why: &'static str| Error::InvalidPolicy(Cause::msg(why));
        let flag = |byte: u8| match byte {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(invalid("join keys: a flag is 0 or 1")),
        };
        let (version, rest) = bytes.split_first().ok_or(invalid("join keys: empty"))?;
        if *version != VERSION || rest.len() < 33 {
            return Err(invalid("join keys: unknown version or too short"));
        }
        let (rejoin, rest) = rest.split_at(32);
        let rejoin: Secret = rejoin.try_into().expect("32 bytes");
        let link = match (flag(rest[0])?, &rest[1..]) {
            (false, []) => None,
            (true, [link @ .., approval]) if link.len() == 32 => Some(InviteLink {
                secret: link.try_into().expect("32 bytes"),
                approval: flag(*approval)?,
            }),
            _ => return Err(invalid("join keys: wrong length")),
        };
        Ok(Self { rejoin, link })
    }
}

fn secret(rand: &impl OpenMlsRand) -> Result<Secret, Error> {
    rand.random_array()
        .map_err(|e| Error::Library(Cause::msg(format!("randomness: {e:?}"))))
}

/// The join keys in group-context extensions: `None` for a group made before them. Keys that
/// cannot be read are an error.
pub(crate) fn read(extensions: &Extensions<GroupContext>) -> Result<Option<JoinKeys>, Error> {
    extensions
        .unknown(JOIN_KEYS_EXTENSION_TYPE)
        .map(|ext| JoinKeys::decode(&ext.0))
        .transpose()
}

/// `extensions` with `keys` set, keeping every other extension.
pub(crate) fn with_keys(
    extensions: &Extensions<GroupContext>,
    keys: &JoinKeys,
) -> Result<Extensions<GroupContext>, Error> {
    let mut extensions = extensions.clone();
    extensions
        .add_or_replace(Extension::Unknown(
            JOIN_KEYS_EXTENSION_TYPE,
            UnknownExtension(keys.encode()),
        ))
        .map_err(|e| Error::Library(Cause::of(e)))?;
    Ok(extensions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openmls_rust_crypto::OpenMlsRustCrypto;
    use openmls_traits::OpenMlsProvider as _;

    #[test]
    fn keys_round_trip_and_anything_else_is_refused() {
        let provider = OpenMlsRustCrypto::default();
        let mut keys = JoinKeys::new(provider.rand()).unwrap();
        assert_eq!(JoinKeys::decode(&keys.encode()).unwrap(), keys);
        keys.link = Some(InviteLink {
            secret: [7; 32],
            approval: true,
        });
        let bytes = keys.encode();
        assert_eq!(JoinKeys::decode(&bytes).unwrap(), keys);
        let rotated = keys.rotated(provider.rand()).unwrap();
        assert_ne!(rotated.rejoin, keys.rejoin);
        assert_eq!(rotated.link, keys.link);
        for i in 0..bytes.len() {
            let _ = JoinKeys::decode(&bytes[..i]);
            for value in [0u8, 1, 2, 0xff] {
                let mut mutated = bytes.clone();
                mutated[i] = value;
                if let Ok(decoded) = JoinKeys::decode(&mutated) {
                    assert_eq!(decoded.encode(), mutated);
                }
            }
        }
        for bad in [
            &bytes[..bytes.len() - 1],
            &[bytes.as_slice(), &[0]].concat()[..],
        ] {
            assert!(JoinKeys::decode(bad).is_err());
        }
        assert!(!format!("{keys:?}").contains("7, 7"));
    }
}
