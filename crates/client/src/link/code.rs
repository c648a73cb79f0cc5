//! The link code a new device shows and an existing device of the user takes in: who the
//! new device is (its device id and signature key), the one-time secret the transfer is
//! encrypted with, the server, and when the code expires.
//!
//! # Format (version 1)
//!
//! `conclave-link:` and the unpadded base64url of:
//!
//! ```text
//! u8 version (1) | secret[32] | u64be expires_at (unix s) | u16be ciphersuite
//! | u8 len | signature key | u8 len | device id | u16be len | server URL | checksum[4]
//! ```
//!
//! The checksum (the first four bytes of SHA-256 over everything before it) catches a code
//! mistyped or cut short before anything is sent.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use conclave_protocol::{DeviceId, Fingerprint};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{ClientError, Result};

const PREFIX: &str = "conclave-link:";
const VERSION: u8 = 1;
const CHECKSUM: usize = 4;

/// A decoded link code.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkCode {
    pub(crate) secret: Zeroizing<[u8; 32]>,
    pub(crate) expires_at: u64,
    pub(crate) ciphersuite: u16,
    pub(crate) signature_key: Vec<u8>,
    pub(crate) device: DeviceId,
    pub(crate) server: String,
}

impl std::fmt::Debug for LinkCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkCode")
            .field("device", &self.device)
            .field("server", &self.server)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl LinkCode {
    /// Reads a code as printed or scanned (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |why: &str| ClientError::InvalidLinkCode(why.to_owned());
        let text: String = text.split_whitespace().collect();
        let body = text
            .strip_prefix(PREFIX)
            .ok_or_else(|| bad("it does not start with \"conclave-link:\""))?;
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(body)
                .map_err(|_| bad("it is not base64url"))?,
        );
        if bytes.len() < CHECKSUM + 1 {
            return Err(bad("it is too short"));
        }
        let (payload, checksum) = bytes.split_at(bytes.len() - CHECKSUM);
        if Sha256::digest(payload)[..CHECKSUM] != *checksum {
            return Err(bad(
                "it is mistyped or cut short (its checksum does not match)",
            ));
        }
        let mut r = Reader(payload);
        if r.u8()? != VERSION {
            return Err(bad("it is of a version this client does not know"));
        }
        let mut secret = Zeroizing::new([0u8; 32]);
        secret.copy_from_slice(r.take(32)?);
        let expires_at = u64::from_be_bytes(r.take(8)?.try_into().map_err(|_| r.short())?);
        let ciphersuite = u16::from_be_bytes(r.take(2)?.try_into().map_err(|_| r.short())?);
        let key_len = usize::from(r.u8()?);
        let signature_key = r.take(key_len)?.to_vec();
        let device_len = usize::from(r.u8()?);
        let device = std::str::from_utf8(r.take(device_len)?)
            .ok()
            .and_then(|d| DeviceId::new(d).ok())
            .ok_or_else(|| bad("its device id is not valid"))?;
        let server_len = usize::from(u16::from_be_bytes(
            r.take(2)?.try_into().map_err(|_| r.short())?,
        ));
        let server = std::str::from_utf8(r.take(server_len)?)
            .map_err(|_| bad("its server address is not text"))?
            .to_owned();
        if !r.0.is_empty() {
            return Err(bad("it has bytes after its end"));
        }
        Ok(Self {
            secret,
            expires_at,
            ciphersuite,
            signature_key,
            device,
            server,
        })
    }

    /// The code as text: what the new device shows.
    pub fn to_text(&self) -> String {
        let mut out = Zeroizing::new(Vec::with_capacity(128));
        out.push(VERSION);
        out.extend_from_slice(&self.secret[..]);
        out.extend_from_slice(&self.expires_at.to_be_bytes());
        out.extend_from_slice(&self.ciphersuite.to_be_bytes());
        // Lengths were checked when the code was made: keys and ids are short, and the
        // server's address was checked against the URL rules.
        out.push(self.signature_key.len() as u8);
        out.extend_from_slice(&self.signature_key);
        out.push(self.device.as_str().len() as u8);
        out.extend_from_slice(self.device.as_str().as_bytes());
        out.extend_from_slice(&(self.server.len() as u16).to_be_bytes());
        out.extend_from_slice(self.server.as_bytes());
        let checksum = Sha256::digest(&out[..]);
        out.extend_from_slice(&checksum[..CHECKSUM]);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&out[..]))
    }

    /// The new device's fingerprint, as both devices show it before the link is confirmed:
    /// its device id and signature key (its user is not known to it yet). Six groups of
    /// five digits.
    pub fn fingerprint(&self) -> String {
        Fingerprint::of_raw(
            format!("link:{}", self.device.as_str()).as_bytes(),
            &self.signature_key,
        )
        .to_string()
    }

    /// The new device's id.
    pub fn device(&self) -> &str {
        self.device.as_str()
    }

    /// The server the new device is at.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// When the code stops being accepted (unix seconds).
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// Checks that a code can be made from these parts (what [`LinkCode::to_text`] needs).
    pub(crate) fn check(&self) -> Result<()> {
        if self.signature_key.len() > usize::from(u8::MAX) || self.server.len() > 2048 {
            return Err(ClientError::InvalidInput(
                "the key or the server address is too long for a link code".into(),
            ));
        }
        Ok(())
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn short(&self) -> ClientError {
        ClientError::InvalidLinkCode("it is cut short".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(self.short());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> LinkCode {
        LinkCode {
            secret: Zeroizing::new([7; 32]),
            expires_at: 1_800_000_000,
            ciphersuite: 1,
            signature_key: vec![9; 32],
            device: DeviceId::new("laptop").unwrap(),
            server: "https://chat.example.org:7300".into(),
        }
    }

    #[test]
    fn a_code_reads_back_as_written_whitespace_aside() {
        let text = code().to_text();
        assert!(text.starts_with(PREFIX));
        assert_eq!(LinkCode::parse(&text).unwrap(), code());
        let spaced = format!("  {}\n {} ", &text[..40], &text[40..]);
        assert_eq!(LinkCode::parse(&spaced).unwrap(), code());
    }

    #[test]
    fn a_mistyped_or_cut_code_is_refused_before_anything_is_sent() {
        let text = code().to_text();
        let mut typo = text.clone().into_bytes();
        let i = PREFIX.len() + 10;
        typo[i] = if typo[i] == b'A' { b'B' } else { b'A' };
        let typo = String::from_utf8(typo).unwrap();
        for bad in [
            typo.as_str(),
            &text[..text.len() - 3],
            "conclave-link:",
            "hello",
            "conclave-link:!!!!",
        ] {
            assert!(
                matches!(LinkCode::parse(bad), Err(ClientError::InvalidLinkCode(_))),
                "{bad}"
            );
        }
    }

    proptest::proptest! {
        /// Whatever is pasted, reading it is an answer, never a panic.
        #[test]
        fn any_text_reads_as_a_code_or_an_error(text in "\\PC{0,300}") {
            let _ = LinkCode::parse(&text);
            let _ = LinkCode::parse(&format!("{PREFIX}{text}"));
        }

        /// Any bytes after the prefix, with a checksum that matches (so that the fields are
        /// read), too.
        #[test]
        fn any_bytes_read_as_a_code_or_an_error(mut bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = LinkCode::parse(&format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes)));
            let checksum = Sha256::digest(&bytes);
            bytes.extend_from_slice(&checksum[..CHECKSUM]);
            let _ = LinkCode::parse(&format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes)));
        }

        /// Every code reads back as written.
        #[test]
        fn codes_round_trip(
            secret in proptest::prelude::any::<[u8; 32]>(),
            expires_at in proptest::prelude::any::<u64>(),
            ciphersuite in proptest::prelude::any::<u16>(),
            signature_key in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..=255),
            device in "[A-Za-z0-9_-]{1,64}",
            server in "https://[a-z0-9.-]{1,60}(:[0-9]{1,5})?",
        ) {
            let code = LinkCode {
                secret: Zeroizing::new(secret),
                expires_at,
                ciphersuite,
                signature_key,
                device: DeviceId::new(device).unwrap(),
                server,
            };
            code.check().unwrap();
            proptest::prop_assert_eq!(LinkCode::parse(&code.to_text()).unwrap(), code);
        }
    }

    #[test]
    fn the_fingerprint_depends_on_the_key_and_the_device() {
        let mut other = code();
        other.signature_key[0] ^= 1;
        assert_ne!(code().fingerprint(), other.fingerprint());
        let mut other = code();
        other.device = DeviceId::new("desktop").unwrap();
        assert_ne!(code().fingerprint(), other.fingerprint());
        assert_eq!(code().fingerprint().len(), 35);
    }
}
