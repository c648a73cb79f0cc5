//! Names that identify users, devices and groups.
//!
//! A member's MLS `BasicCredential` identity is the UTF-8 string `"{user}/{device}"`.
//! User names cannot contain `/`, so the split is unambiguous, and the encoding stays
//! readable in any MLS tool that prints credentials.

use std::fmt;

use openmls::prelude::{BasicCredential, Credential, CredentialType};
use serde::{Deserialize, Serialize};

use crate::{Cause, Error};

/// Longest user name or device id, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// A user's name: 1 to 64 characters of `a-z`, `0-9`, `.`, `_`, `-`, starting with a letter or
/// digit. Lower case only, so that "Alice" and "alice" can never be two different people.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserName(String);

impl UserName {
    /// Validates `name`.
    pub fn new(name: impl Into<String>) -> Result<Self, Error> {
        let name = name.into();
        let valid = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name.as_bytes()[0].is_ascii_alphanumeric()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if valid {
            Ok(Self(name))
        } else {
            Err(Error::InvalidName { name })
        }
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A device's id, unique per user: 1 to 64 characters of `A-Z`, `a-z`, `0-9`, `_`, `-`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DeviceId(String);

impl DeviceId {
    /// Validates `id`.
    pub fn new(id: impl Into<String>) -> Result<Self, Error> {
        let id = id.into();
        let valid = !id.is_empty()
            && id.len() <= MAX_NAME_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if valid {
            Ok(Self(id))
        } else {
            Err(Error::InvalidName { name: id })
        }
    }

    /// A fresh random device id (16 lower-case hex characters) from `rand`.
    pub fn random(rand: &impl openmls_traits::random::OpenMlsRand) -> Result<Self, Error> {
        let bytes: [u8; 8] = rand
            .random_array()
            .map_err(|e| Error::Crypto(Cause::msg(format!("{e:?}"))))?;
        Ok(Self(hex(&bytes)))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_newtype_impls {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl TryFrom<String> for $t {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                Self::new(s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
        impl std::str::FromStr for $t {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Self::new(s)
            }
        }
    };
}
string_newtype_impls!(UserName);
string_newtype_impls!(DeviceId);

/// One device of one user: what a group member is in Conclave.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MemberId {
    /// The user this device belongs to.
    pub user: UserName,
    /// The device.
    pub device: DeviceId,
}

impl MemberId {
    /// Builds a member id from its parts.
    pub fn new(user: UserName, device: DeviceId) -> Self {
        Self { user, device }
    }

    /// The bytes of the `BasicCredential` identity: `"{user}/{device}"`.
    pub fn credential_identity(&self) -> Vec<u8> {
        format!("{}/{}", self.user, self.device).into_bytes()
    }

    /// The MLS credential for this member.
    pub fn to_credential(&self) -> Credential {
        BasicCredential::new(self.credential_identity()).into()
    }

    /// Reads a member id back from an MLS credential.
    ///
    /// Fails with [`Error::ForeignCredential`] for anything that is not a basic credential of
    /// the `"{user}/{device}"` form.
    pub fn from_credential(credential: &Credential) -> Result<Self, Error> {
        let foreign = || Error::ForeignCredential {
            identity: hex(credential.serialized_content()),
        };
        if credential.credential_type() != CredentialType::Basic {
            return Err(foreign());
        }
        let basic = BasicCredential::try_from(credential.clone()).map_err(|_| foreign())?;
        let text = std::str::from_utf8(basic.identity()).map_err(|_| foreign())?;
        let (user, device) = text.split_once('/').ok_or_else(foreign)?;
        Ok(Self {
            user: UserName::new(user).map_err(|_| foreign())?,
            device: DeviceId::new(device).map_err(|_| foreign())?,
        })
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.user, self.device)
    }
}

/// An MLS group id. Conclave makes them 16 random bytes; ids from other implementations of any
/// length are accepted.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GroupId(Vec<u8>);

impl GroupId {
    /// Wraps raw id bytes.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// A fresh random 16-byte id.
    pub fn random(rand: &impl openmls_traits::random::OpenMlsRand) -> Result<Self, Error> {
        let bytes: [u8; 16] = rand
            .random_array()
            .map_err(|e| Error::Crypto(Cause::msg(format!("{e:?}"))))?;
        Ok(Self(bytes.to_vec()))
    }

    /// The raw id bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Lower-case hex, for logs, file names and URLs.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// Parses the output of [`GroupId::to_hex`].
    pub fn from_hex(text: &str) -> Result<Self, Error> {
        unhex(text)
            .map(Self)
            .ok_or_else(|| Error::Malformed(Cause::msg(format!("group id is not hex: {text:?}"))))
    }

    pub(crate) fn to_openmls(&self) -> openmls::group::GroupId {
        openmls::group::GroupId::from_slice(&self.0)
    }

    pub(crate) fn from_openmls(id: &openmls::group::GroupId) -> Self {
        Self(id.as_slice().to_vec())
    }
}

impl fmt::Debug for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GroupId({})", self.to_hex())
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_validated() {
        assert!(UserName::new("alice").is_ok());
        assert!(UserName::new("bob.smith-2_x").is_ok());
        for bad in ["", "Alice", "a/b", ".alice", "a b", &"x".repeat(65)] {
            assert!(
                matches!(UserName::new(bad), Err(Error::InvalidName { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn device_ids_are_validated() {
        assert!(DeviceId::new("Laptop_1-a").is_ok());
        for bad in ["", "a/b", "a.b", "é"] {
            assert!(DeviceId::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn member_id_round_trips_through_credential() {
        let id = MemberId::new(
            UserName::new("alice").unwrap(),
            DeviceId::new("d1").unwrap(),
        );
        assert_eq!(id.credential_identity(), b"alice/d1");
        assert_eq!(MemberId::from_credential(&id.to_credential()).unwrap(), id);
        let foreign: Credential = BasicCredential::new(b"\xffnot-utf8".to_vec()).into();
        assert!(matches!(
            MemberId::from_credential(&foreign),
            Err(Error::ForeignCredential { .. })
        ));
        let no_device: Credential = BasicCredential::new(b"alice".to_vec()).into();
        assert!(MemberId::from_credential(&no_device).is_err());
    }

    #[test]
    fn group_id_hex_round_trips() {
        let id = GroupId::from_bytes(vec![0, 1, 0xab, 0xff]);
        assert_eq!(id.to_hex(), "0001abff");
        assert_eq!(GroupId::from_hex("0001abff").unwrap(), id);
        assert!(GroupId::from_hex("0g").is_err());
        assert!(GroupId::from_hex("abc").is_err());
        assert!(GroupId::from_hex("éé").is_err());
    }
}
