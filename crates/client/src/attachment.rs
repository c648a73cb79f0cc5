//! Attachment files, sealed on the sender's device: a fresh AES-128-GCM key and nonce per
//! file (the AEAD the MIMI content draft requires), the file cut into pieces that each fit
//! one server chunk and are sealed on their own, so that files of any size stream through a
//! bounded buffer both ways.
//!
//! Piece `i` is sealed under the file's nonce with its last four bytes XORed with `i`
//! (big-endian), and the external part's `aad`. A file of one piece is therefore exactly the
//! draft's single-AEAD external content. The SHA-256 of all the ciphertext, in order, is the
//! part's `contentHash`; it travels inside the MLS message, so a receiver checks what the
//! server handed back against the sender's word before anything of it is shown or written
//! out: a piece altered, dropped, reordered or swapped for another file's fails.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Nonce};
use conclave_content::ExternalPart;
use sha2::{Digest, Sha256};

use crate::ClientError;

/// The largest piece of ciphertext (the server's chunk limit).
pub(crate) const MAX_PIECE: usize = 1 << 20;
/// AEAD tag bytes per piece.
const TAG: usize = 16;
/// Plaintext bytes per piece.
pub(crate) const PLAIN_PIECE: usize = MAX_PIECE - TAG;
/// IANA AEAD registry: AEAD_AES_128_GCM.
pub(crate) const AES_128_GCM: u16 = 1;
/// IANA named-information hash registry: sha-256.
pub(crate) const SHA_256: u8 = 1;

/// How many pieces a file of `size` bytes is cut into (an empty file is one empty piece).
pub(crate) fn pieces(size: u64) -> u64 {
    size.div_ceil(PLAIN_PIECE as u64).max(1)
}

/// Bytes of ciphertext for a file of `size` bytes.
pub(crate) fn sealed_size(size: u64) -> u64 {
    size + pieces(size) * TAG as u64
}

/// The key, nonce and running hash of one file being sealed or opened.
pub(crate) struct FileCipher {
    cipher: Aes128Gcm,
    nonce: [u8; 12],
    aad: Vec<u8>,
    hash: Sha256,
}

impl FileCipher {
    /// A fresh key and nonce, for a file to send.
    pub(crate) fn fresh() -> (Self, [u8; 16]) {
        let key: [u8; 16] = rand::random();
        let cipher = Self {
            cipher: Aes128Gcm::new(&key.into()),
            nonce: rand::random(),
            aad: Vec::new(),
            hash: Sha256::new(),
        };
        (cipher, key)
    }

    /// The cipher an external part names; anything but Conclave's suite is refused.
    pub(crate) fn for_part(part: &ExternalPart) -> Result<Self, ClientError> {
        let refuse = |why: &str| ClientError::AttachmentRefused(why.to_owned());
        if part.enc_alg != AES_128_GCM {
            return Err(refuse("it is not encrypted with AES-128-GCM"));
        }
        if part.hash_alg != SHA_256 || part.content_hash.len() != 32 {
            return Err(refuse("it has no SHA-256 hash"));
        }
        let key: [u8; 16] = part
            .key
            .as_slice()
            .try_into()
            .map_err(|_| refuse("its key is not 16 bytes"))?;
        let nonce: [u8; 12] = part
            .nonce
            .as_slice()
            .try_into()
            .map_err(|_| refuse("its nonce is not 12 bytes"))?;
        Ok(Self {
            cipher: Aes128Gcm::new(&key.into()),
            nonce,
            aad: part.aad.clone(),
            hash: Sha256::new(),
        })
    }

    /// The file's nonce.
    pub(crate) fn nonce(&self) -> [u8; 12] {
        self.nonce
    }

    fn piece_nonce(&self, index: u64) -> [u8; 12] {
        let mut nonce = self.nonce;
        for (n, i) in nonce[8..].iter_mut().zip((index as u32).to_be_bytes()) {
            *n ^= i;
        }
        nonce
    }

    /// Seals piece `index`, adding its ciphertext to the hash.
    pub(crate) fn seal(&mut self, index: u64, plaintext: &[u8]) -> Vec<u8> {
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&self.piece_nonce(index)),
                Payload {
                    msg: plaintext,
                    aad: &self.aad,
                },
            )
            .expect("AES-GCM seals any piece under 64 GiB");
        self.hash.update(&sealed);
        sealed
    }

    /// Opens piece `index`, adding its ciphertext to the hash.
    pub(crate) fn open(&mut self, index: u64, sealed: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.hash.update(sealed);
        self.cipher
            .decrypt(
                Nonce::from_slice(&self.piece_nonce(index)),
                Payload {
                    msg: sealed,
                    aad: &self.aad,
                },
            )
            .map_err(|_| ClientError::AttachmentRefused(format!("piece {index} does not decrypt")))
    }

    /// The SHA-256 of every piece of ciphertext so far.
    pub(crate) fn hash(self) -> [u8; 32] {
        self.hash.finalize().into()
    }
}

/// A media type from a file name's extension: what the app knows how to preview, and a
/// generic type for everything else.
pub(crate) fn content_type(file_name: &str) -> &'static str {
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// The blob id an attachment's URL ends with, if it is one of Conclave's: receivers fetch
/// it from their own server, never from a URL another member chose.
pub(crate) fn blob_of(url: &str) -> Result<String, ClientError> {
    let id = url.rsplit('/').next().unwrap_or_default();
    if id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(id.to_owned())
    } else {
        Err(ClientError::AttachmentRefused(
            "it is not stored at a Conclave server".into(),
        ))
    }
}

/// Sealing and opening `size` bytes in pieces, timed (for the attachments benchmark: what
/// the client adds to the network's time).
pub(crate) fn seal_and_open(size: usize) -> (std::time::Duration, std::time::Duration) {
    let plain = vec![0x5au8; size];
    let (mut sealer, key) = FileCipher::fresh();
    let started = std::time::Instant::now();
    let sealed: Vec<Vec<u8>> = plain
        .chunks(PLAIN_PIECE)
        .enumerate()
        .map(|(i, piece)| sealer.seal(i as u64, piece))
        .collect();
    let nonce = sealer.nonce();
    let hash = sealer.hash();
    let seal = started.elapsed();
    let part = ExternalPart {
        content_type: String::new(),
        url: String::new(),
        expires: 0,
        size: size as u64,
        enc_alg: AES_128_GCM,
        key: key.to_vec(),
        nonce: nonce.to_vec(),
        aad: Vec::new(),
        hash_alg: SHA_256,
        content_hash: hash.to_vec(),
        description: String::new(),
        filename: String::new(),
    };
    let started = std::time::Instant::now();
    let mut opener = FileCipher::for_part(&part).expect("a part made here");
    for (i, piece) in sealed.iter().enumerate() {
        opener.open(i as u64, piece).expect("sealed here");
    }
    assert_eq!(opener.hash(), hash);
    (seal, started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_round_trip_and_bind_their_position() {
        let (mut sender, key) = FileCipher::fresh();
        let a = sender.seal(0, b"first");
        let b = sender.seal(1, b"second");
        let part = ExternalPart {
            content_type: "text/plain".into(),
            url: format!("http://127.0.0.1/v1/blobs/{}", "ab".repeat(16)),
            expires: 0,
            size: 11,
            enc_alg: AES_128_GCM,
            key: key.to_vec(),
            nonce: sender.nonce().to_vec(),
            aad: Vec::new(),
            hash_alg: SHA_256,
            content_hash: sender.hash().to_vec(),
            description: String::new(),
            filename: "x.txt".into(),
        };
        let mut receiver = FileCipher::for_part(&part).unwrap();
        assert_eq!(receiver.open(0, &a).unwrap(), b"first");
        assert_eq!(receiver.open(1, &b).unwrap(), b"second");
        assert_eq!(receiver.hash().to_vec(), part.content_hash);
        // Swapped pieces do not open.
        let mut receiver = FileCipher::for_part(&part).unwrap();
        assert!(receiver.open(0, &b).is_err());
        assert_eq!(blob_of(&part.url).unwrap(), "ab".repeat(16));
        assert!(blob_of("https://evil.example/x").is_err());
        assert_eq!(
            (
                pieces(0),
                pieces(PLAIN_PIECE as u64),
                pieces(PLAIN_PIECE as u64 + 1)
            ),
            (1, 1, 2)
        );
    }
}
