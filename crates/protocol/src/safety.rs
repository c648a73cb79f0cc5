//! Safety numbers: fingerprints people compare out of band to rule out a man in the middle.
//!
//! # Format (version 1)
//!
//! A member's **fingerprint** covers its credential identity and its signature public key:
//!
//! ```text
//! h_0     = SHA-512("conclave-safety-number-v1" || u32be(len(id)) || id || u32be(len(key)) || key)
//! h_{i+1} = SHA-512(h_i || key)          for i < 1024
//! ```
//!
//! The first 30 bytes of `h_1024` are read as six 5-byte big-endian numbers, each taken modulo
//! 100000 and written as 5 decimal digits: 30 digits. The iterations make a collision search
//! ~1024x costlier, as in Signal's scheme.
//!
//! The **safety number** of a pair of members is their two fingerprints' digits, the smaller
//! first, so both sides see the same 60 digits. It is shown as twelve groups of five.

use std::fmt;

use sha2::{Digest, Sha512};

use crate::MemberId;

const ITERATIONS: usize = 1024;
const DOMAIN: &[u8] = b"conclave-safety-number-v1";

/// One member's 30-digit fingerprint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u32; 6]);

impl Fingerprint {
    /// The fingerprint of `member` with signature key `signature_key`.
    pub fn of(member: &MemberId, signature_key: &[u8]) -> Self {
        Self::of_raw(&member.credential_identity(), signature_key)
    }

    /// The fingerprint of any credential identity bytes and signature key.
    pub fn of_raw(identity: &[u8], signature_key: &[u8]) -> Self {
        let mut hasher = Sha512::new();
        hasher.update(DOMAIN);
        for part in [identity, signature_key] {
            hasher.update((part.len() as u32).to_be_bytes());
            hasher.update(part);
        }
        let mut digest = hasher.finalize();
        for _ in 0..ITERATIONS {
            digest = Sha512::new()
                .chain_update(digest)
                .chain_update(signature_key)
                .finalize();
        }
        let mut groups = [0u32; 6];
        for (group, chunk) in groups.iter_mut().zip(digest[..30].chunks_exact(5)) {
            let value = chunk.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            *group = (value % 100_000) as u32;
        }
        Self(groups)
    }

    /// The 30 digits without spaces.
    pub fn digits(&self) -> String {
        self.0.iter().map(|g| format!("{g:05}")).collect()
    }

    /// The fingerprint whose [`Fingerprint::digits`] are `digits`: one kept (a trust store
    /// keeps them) need not be derived again, 1,024 hashes each. `None` unless 30 digits.
    pub fn from_digits(digits: &str) -> Option<Self> {
        if digits.len() != 30 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut groups = [0u32; 6];
        for (group, chunk) in groups.iter_mut().zip(digits.as_bytes().chunks_exact(5)) {
            *group = std::str::from_utf8(chunk).ok()?.parse().ok()?;
        }
        Some(Self(groups))
    }
}

impl fmt::Display for Fingerprint {
    /// Six groups of five digits separated by spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups: Vec<String> = self.0.iter().map(|g| format!("{g:05}")).collect();
        f.write_str(&groups.join(" "))
    }
}

/// The 60-digit number two members compare; the same on both sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SafetyNumber([Fingerprint; 2]);

impl SafetyNumber {
    /// The safety number of two members' fingerprints, in either order.
    pub fn between(a: Fingerprint, b: Fingerprint) -> Self {
        if a <= b { Self([a, b]) } else { Self([b, a]) }
    }

    /// The 60 digits without spaces.
    pub fn digits(&self) -> String {
        self.0[0].digits() + &self.0[1].digits()
    }
}

impl fmt::Display for SafetyNumber {
    /// Twelve groups of five digits, separated by spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0[0], self.0[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_read_back_from_its_digits() {
        let member = MemberId::new(
            crate::UserName::new("alice").unwrap(),
            crate::DeviceId::new("d1").unwrap(),
        );
        let fingerprint = Fingerprint::of(&member, &[7; 32]);
        assert_eq!(
            Fingerprint::from_digits(&fingerprint.digits()),
            Some(fingerprint)
        );
        for bad in ["", "123", &"1".repeat(31), &format!("{}x", "1".repeat(29))] {
            assert_eq!(Fingerprint::from_digits(bad), None, "{bad:?}");
        }
    }
    use crate::{DeviceId, UserName};

    fn member(user: &str) -> MemberId {
        MemberId::new(UserName::new(user).unwrap(), DeviceId::new("d").unwrap())
    }

    #[test]
    fn fingerprint_is_stable_and_key_dependent() {
        let a = Fingerprint::of(&member("alice"), &[1; 32]);
        assert_eq!(a, Fingerprint::of(&member("alice"), &[1; 32]));
        assert_ne!(a, Fingerprint::of(&member("alice"), &[2; 32]));
        assert_ne!(a, Fingerprint::of(&member("bob"), &[1; 32]));
        assert_eq!(a.digits().len(), 30);
        assert!(a.digits().bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(a.to_string().split(' ').count(), 6);
    }

    #[test]
    fn fingerprint_format_is_frozen() {
        // Changing the format silently would make every verified contact look unverified;
        // this pins version 1.
        let fp = Fingerprint::of_raw(b"alice/d", &[7; 32]);
        assert_eq!(fp.digits(), KNOWN_DIGITS);
    }
    /// Computed independently from the format above (Python's hashlib).
    const KNOWN_DIGITS: &str = "119722886099638565075338536944";

    #[test]
    fn safety_number_is_symmetric() {
        let a = Fingerprint::of(&member("alice"), &[1; 32]);
        let b = Fingerprint::of(&member("bob"), &[2; 32]);
        assert_eq!(SafetyNumber::between(a, b), SafetyNumber::between(b, a));
        assert_eq!(SafetyNumber::between(a, b).digits().len(), 60);
        assert_eq!(
            SafetyNumber::between(a, b).to_string().split(' ').count(),
            12
        );
    }
}
