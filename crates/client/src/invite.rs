//! Invite links and the sealed GroupInfo behind them.
//!
//! A link is `conclave://join/` followed by the group id (lowercase hex), `/`, and the
//! link's 256-bit secret (unpadded base64url). The secret never reaches the server; from it
//! come two keys (HKDF-SHA256, each with its own label):
//! - the **token** the joiner presents: the server keeps its SHA-256 and lets a device
//!   holding it read the group's GroupInfo (or ask an admin in) and send an external commit;
//! - the **link key**, which opens the GroupInfo's key.
//!
//! Members seal the group's GroupInfo after each of their commits: the GroupInfo under a
//! fresh content key (XChaCha20-Poly1305, the group id and epoch as associated data), and
//! that key under the key derived from the group's rejoin key (for its own devices) and,
//! while a link is open, under the link key. The server stores the three ciphertexts and
//! hands out one of the two key wraps depending on who asks. Sealing the content once keeps
//! a large group's GroupInfo (its tree holds every member) from being stored twice.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use conclave_delivery_api::{GroupInfoUpload, SealedGroupInfo};
use conclave_protocol::{GroupId, JoinKeys, join_keys::Secret};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::ClientError;

/// Now, in unix seconds (a link's expiry is one).
pub fn now_secs() -> u64 {
    conclave_delivery_api::auth::now_secs()
}

/// What a link starts with.
pub const LINK_PREFIX: &str = "conclave://join/";

/// A parsed invite link.
#[derive(Clone, PartialEq, Eq)]
pub struct InviteLink {
    /// The group it opens.
    pub group: GroupId,
    /// Its secret.
    secret: Zeroizing<Secret>,
}

impl std::fmt::Debug for InviteLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InviteLink")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

impl InviteLink {
    /// The link of `group` with `secret`.
    pub(crate) fn new(group: GroupId, secret: Secret) -> Self {
        Self {
            group,
            secret: Zeroizing::new(secret),
        }
    }

    /// Reads a link as [`InviteLink::to_text`] writes it (surrounding spaces aside).
    pub fn parse(text: &str) -> Result<Self, ClientError> {
        let bad = |why: &str| ClientError::InvalidInput(format!("not an invite link: {why}"));
        let rest = text
            .trim()
            .strip_prefix(LINK_PREFIX)
            .ok_or_else(|| bad("it does not start with conclave://join/"))?;
        let (group, secret) = rest
            .split_once('/')
            .ok_or_else(|| bad("it has no secret"))?;
        if group.is_empty()
            || !group.len().is_multiple_of(2)
            || group.len() > 510
            || !group
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(bad("its group id is not lowercase hex"));
        }
        let group = hex::decode(group).map_err(|_| bad("its group id is not hex"))?;
        let secret = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(secret)
                .map_err(|_| bad("its secret is not base64url"))?,
        );
        let secret: Secret = secret
            .as_slice()
            .try_into()
            .map_err(|_| bad("its secret is not 32 bytes"))?;
        Ok(Self::new(GroupId::from_bytes(group), secret))
    }

    /// The link as text, to share.
    pub fn to_text(&self) -> String {
        format!(
            "{LINK_PREFIX}{}/{}",
            hex::encode(self.group.as_bytes()),
            URL_SAFE_NO_PAD.encode(&self.secret[..])
        )
    }

    /// The token the server checks (see the module docs): it lets its holder read the
    /// sealed GroupInfo and send an external commit, and reveals neither the secret nor the
    /// GroupInfo.
    pub fn token(&self) -> Secret {
        *derive(&self.secret, b"conclave invite link token v1")
    }

    /// The key that opens the GroupInfo's key.
    fn key(&self) -> Zeroizing<Secret> {
        derive(&self.secret, b"conclave invite link key v1")
    }

    /// Opens the GroupInfo the server handed this link's holder.
    pub(crate) fn open(&self, sealed: &SealedGroupInfo) -> Result<Vec<u8>, ClientError> {
        open(sealed, &self.key(), &self.group)
    }
}

fn derive(secret: &Secret, label: &[u8]) -> Zeroizing<Secret> {
    let mut out = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(None, secret)
        .expand(label, &mut out[..])
        .expect("32 bytes is a valid HKDF-SHA256 length");
    out
}

fn rejoin_key(keys: &JoinKeys) -> Zeroizing<Secret> {
    derive(&keys.rejoin, b"conclave rejoin key v1")
}

fn aad(group: &GroupId, epoch: u64, what: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(group.as_bytes().len() + 40);
    aad.extend_from_slice(b"conclave group info v1/");
    aad.extend_from_slice(what);
    aad.extend_from_slice(&epoch.to_be_bytes());
    aad.extend_from_slice(group.as_bytes());
    aad
}

/// `nonce || ciphertext` of `plaintext` under `key`.
fn seal(key: &Secret, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let nonce: [u8; 24] = rand::random();
    let cipher = XChaCha20Poly1305::new(key.into());
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("XChaCha20-Poly1305 seals any length this holds");
    [nonce.as_slice(), &sealed].concat()
}

fn unseal(key: &Secret, sealed: &[u8], aad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < 24 {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(24);
    XChaCha20Poly1305::new(key.into())
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

/// Seals a GroupInfo of `epoch` for the group's devices and, while a link is open, for the
/// link's holders.
pub(crate) fn seal_group_info(
    group: &GroupId,
    epoch: u64,
    info: &[u8],
    keys: &JoinKeys,
) -> GroupInfoUpload {
    let content_key = Zeroizing::new(rand::random::<Secret>());
    let wrap = |key: &Secret| seal(key, &content_key[..], &aad(group, epoch, b"key"));
    let link_key = keys
        .link
        .as_ref()
        .map(|link| wrap(&InviteLink::new(group.clone(), link.secret).key()));
    GroupInfoUpload {
        epoch,
        info: seal(&content_key, info, &aad(group, epoch, b"info")).into(),
        rejoin_key: wrap(&rejoin_key(keys)).into(),
        link_key: link_key.map(Into::into),
    }
}

/// Opens a GroupInfo sealed for this group's devices, with the join keys this device had.
pub(crate) fn open_for_member(
    sealed: &SealedGroupInfo,
    keys: &JoinKeys,
    group: &GroupId,
) -> Result<Vec<u8>, ClientError> {
    open(sealed, &rejoin_key(keys), group)
}

fn open(sealed: &SealedGroupInfo, key: &Secret, group: &GroupId) -> Result<Vec<u8>, ClientError> {
    let refused = || {
        ClientError::BadResponse(
            "the group's info at the server cannot be opened with this device's key (the key \
             changed since, or the server altered it)"
                .into(),
        )
    };
    let content_key =
        unseal(key, &sealed.key.0, &aad(group, sealed.epoch, b"key")).ok_or_else(refused)?;
    let content_key: Secret = content_key.as_slice().try_into().map_err(|_| refused())?;
    let info = unseal(
        &content_key,
        &sealed.info.0,
        &aad(group, sealed.epoch, b"info"),
    )
    .ok_or_else(refused)?;
    Ok(info.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use conclave_protocol::InviteLink as LinkKeys;

    fn keys(link: bool) -> JoinKeys {
        JoinKeys {
            rejoin: [1; 32],
            link: link.then_some(LinkKeys {
                secret: [2; 32],
                approval: false,
            }),
        }
    }

    #[test]
    fn a_link_round_trips_as_text_and_junk_is_refused() {
        let link = InviteLink::new(GroupId::from_bytes(vec![0xab, 0x01]), [7; 32]);
        let text = link.to_text();
        assert!(text.starts_with("conclave://join/ab01/"));
        assert_eq!(InviteLink::parse(&format!("  {text}\n")).unwrap(), link);
        for bad in [
            "",
            "conclave://join/",
            "conclave://join/ab01",
            "conclave://join/AB01/BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc",
            "conclave://join/ab0/BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc",
            "conclave://join/ab01/Bwc",
            "conclave://join/ab01/!!",
            "https://join/ab01/BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc",
        ] {
            assert!(InviteLink::parse(bad).is_err(), "{bad}");
        }
        assert!(!format!("{link:?}").contains("7, 7"));
    }

    #[test]
    fn the_group_info_opens_for_members_and_link_holders_only() {
        let group = GroupId::from_bytes(vec![5; 16]);
        let sealed_for =
            |upload: &GroupInfoUpload, key: &conclave_delivery_api::Bytes| SealedGroupInfo {
                epoch: upload.epoch,
                group_epoch: upload.epoch,
                info: upload.info.clone(),
                key: key.clone(),
            };
        let upload = seal_group_info(&group, 3, b"group info", &keys(true));
        let member = sealed_for(&upload, &upload.rejoin_key);
        assert_eq!(
            open_for_member(&member, &keys(true), &group).unwrap(),
            b"group info"
        );
        let link = InviteLink::new(group.clone(), [2; 32]);
        let holder = sealed_for(&upload, upload.link_key.as_ref().unwrap());
        assert_eq!(link.open(&holder).unwrap(), b"group info");
        // Another key, another group, another epoch, a flipped byte: nothing opens.
        let other = JoinKeys {
            rejoin: [9; 32],
            link: None,
        };
        assert!(open_for_member(&member, &other, &group).is_err());
        assert!(open_for_member(&member, &keys(true), &GroupId::from_bytes(vec![6; 16])).is_err());
        let mut replayed = member.clone();
        replayed.epoch = 4;
        assert!(open_for_member(&replayed, &keys(true), &group).is_err());
        let mut flipped = member.clone();
        flipped.info.0[30] ^= 1;
        assert!(open_for_member(&flipped, &keys(true), &group).is_err());
        assert!(
            InviteLink::new(group.clone(), [3; 32])
                .open(&holder)
                .is_err()
        );
        // No link open: no wrap for link holders.
        assert!(
            seal_group_info(&group, 3, b"x", &keys(false))
                .link_key
                .is_none()
        );
        assert_ne!(link.token(), *link.key());
    }
}
