//! The two one-way channels of a link, through the server's link chunks: to the new device
//! (the approval, then the history) and back to the approving device (ready to be added).
//! Each has a link id and a key derived from the code's secret (HKDF-SHA256), so the server
//! holds ciphertext under ids it cannot connect to the code. Each chunk is sealed with
//! XChaCha20-Poly1305 under a random nonce, its channel and index bound as associated data:
//! the server can neither read nor reorder nor move chunks between channels, and a code
//! used twice never reuses a nonce.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::archive::Part;
use crate::{ClientError, Result};

const NONCE_LEN: usize = 24;

/// Which way a chunk goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// From the approving device to the new one.
    ToNew,
    /// From the new device to the approving one.
    ToApprover,
}

impl Direction {
    fn label(self) -> &'static str {
        match self {
            Direction::ToNew => "to-new",
            Direction::ToApprover => "to-approver",
        }
    }
}

/// What the approving device sends, chunk by chunk.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToNew {
    /// Chunk 0: the link is approved; the new device is `user`'s, approved by `by`.
    Hello {
        /// The user the new device belongs to.
        user: String,
        /// The approving device.
        by: String,
        /// Conversations it will be added to: it needs a key package for each.
        conversations: u32,
    },
    /// Chunk 1: the new device is in every conversation; the history follows.
    Added {
        /// Conversations it was added to.
        conversations: u32,
    },
    /// Chunks 2..: the history.
    Part(Part),
    /// The last chunk: nothing follows.
    End,
}

/// What the new device sends back.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToApprover {
    /// Chunk 0: registered, with key packages published: it can be added.
    Ready,
}

/// A link's channels.
pub(crate) struct Channel {
    secret: Zeroizing<[u8; 32]>,
}

impl Channel {
    pub(crate) fn new(secret: &Zeroizing<[u8; 32]>) -> Self {
        Self {
            secret: secret.clone(),
        }
    }

    fn derive(&self, what: &str, direction: Direction) -> Zeroizing<[u8; 32]> {
        let hkdf = Hkdf::<Sha256>::new(Some(b"conclave-link-v1"), &self.secret[..]);
        let mut out = Zeroizing::new([0u8; 32]);
        let info = format!("{what} {}", direction.label());
        // 32 bytes is far below HKDF-SHA256's limit: expanding cannot fail.
        hkdf.expand(info.as_bytes(), &mut out[..])
            .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 length"));
        out
    }

    /// The server's id of the channel `direction`.
    pub(crate) fn link_id(&self, direction: Direction) -> Vec<u8> {
        self.derive("link id", direction).to_vec()
    }

    fn aad(&self, direction: Direction, index: u32) -> Vec<u8> {
        let mut aad = self.link_id(direction);
        aad.extend_from_slice(&index.to_be_bytes());
        aad
    }

    /// Seals chunk `index` of `direction`.
    pub(crate) fn seal(
        &self,
        direction: Direction,
        index: u32,
        message: &impl Serialize,
    ) -> Result<Vec<u8>> {
        let plaintext = Zeroizing::new(
            rmp_serde::to_vec(message)
                .map_err(|e| ClientError::InvalidInput(format!("cannot encode: {e}")))?,
        );
        let key = self.derive("key", direction);
        let cipher = XChaCha20Poly1305::new_from_slice(&key[..])
            .map_err(|_| ClientError::InvalidInput("bad link key length".into()))?;
        let nonce: [u8; NONCE_LEN] = rand::random();
        let aad = self.aad(direction, index);
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| ClientError::InvalidInput("cannot seal a link chunk".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens chunk `index` of `direction`: refused unless it was sealed with this link's
    /// key for this very place.
    pub(crate) fn open<T: serde::de::DeserializeOwned>(
        &self,
        direction: Direction,
        index: u32,
        chunk: &[u8],
    ) -> Result<T> {
        let refused = || {
            ClientError::LinkFailed(format!(
                "chunk {index} of the link does not open with this code's key (not sealed \
                 for it, or changed on the way)"
            ))
        };
        if chunk.len() < NONCE_LEN {
            return Err(refused());
        }
        let (nonce, sealed) = chunk.split_at(NONCE_LEN);
        let key = self.derive("key", direction);
        let cipher = XChaCha20Poly1305::new_from_slice(&key[..]).map_err(|_| refused())?;
        let aad = self.aad(direction, index);
        let plaintext = Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: sealed,
                        aad: &aad,
                    },
                )
                .map_err(|_| refused())?,
        );
        rmp_serde::from_slice(&plaintext).map_err(|e| {
            ClientError::LinkFailed(format!("chunk {index} of the link is malformed: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(byte: u8) -> Channel {
        Channel::new(&Zeroizing::new([byte; 32]))
    }

    #[test]
    fn a_chunk_opens_only_with_its_key_direction_and_index() {
        let c = channel(1);
        let sealed = c
            .seal(Direction::ToApprover, 0, &ToApprover::Ready)
            .unwrap();
        assert!(matches!(
            c.open::<ToApprover>(Direction::ToApprover, 0, &sealed),
            Ok(ToApprover::Ready)
        ));
        for refused in [
            c.open::<ToApprover>(Direction::ToApprover, 1, &sealed),
            c.open::<ToApprover>(Direction::ToNew, 0, &sealed),
            channel(2).open::<ToApprover>(Direction::ToApprover, 0, &sealed),
        ] {
            assert!(matches!(refused, Err(ClientError::LinkFailed(_))));
        }
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(
            c.open::<ToApprover>(Direction::ToApprover, 0, &flipped)
                .is_err()
        );
        assert!(
            c.open::<ToApprover>(Direction::ToApprover, 0, &[1, 2])
                .is_err()
        );
    }

    #[test]
    fn the_two_directions_have_their_own_ids_and_sealing_twice_differs() {
        let c = channel(1);
        assert_ne!(
            c.link_id(Direction::ToNew),
            c.link_id(Direction::ToApprover)
        );
        assert_ne!(
            c.link_id(Direction::ToNew),
            channel(2).link_id(Direction::ToNew)
        );
        let a = c.seal(Direction::ToNew, 0, &ToNew::End).unwrap();
        let b = c.seal(Direction::ToNew, 0, &ToNew::End).unwrap();
        assert_ne!(a, b, "a fresh nonce each time");
    }
}
