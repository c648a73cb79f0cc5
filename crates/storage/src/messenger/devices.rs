//! Devices seen in groups and their keys: trust on first use, and verified marks.

use conclave_protocol::{Fingerprint, MemberId, UserName};
use rusqlite::{OptionalExtension, params};

use super::member;
use crate::{StoreError, Tx};

/// A device seen in some group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownDevice {
    /// Who it is.
    pub member: MemberId,
    /// Its current signature key.
    pub signature_key: Vec<u8>,
    /// When its current key was first seen (ms).
    pub first_seen: i64,
    /// Whether the user verified this key.
    pub verified: bool,
}

/// What recording a device's key found (trust on first use).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceTrust {
    /// Never seen before: its key is now trusted.
    New,
    /// Seen with this same key.
    Known {
        /// Whether the user verified it.
        verified: bool,
    },
    /// Seen before with another key. The new key is recorded, unverified; the user must be
    /// told.
    KeyChanged {
        /// The key it had.
        previous_key: Vec<u8>,
    },
}

impl KnownDevice {
    /// Its safety-number fingerprint, derived from its name and key (1,024 hashes: derive
    /// it for what is shown, not for every device at once).
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.member, &self.signature_key)
    }
}

impl Tx<'_> {
    /// Takes in a device record brought from another device of the user: recorded if this
    /// profile has not seen the device (or has seen it with the same key, when only the
    /// verified mark is taken in). A device this profile knows with another key keeps what
    /// this profile saw: a key change is decided by what this device observes.
    pub fn import_device(&self, device: &KnownDevice) -> Result<(), StoreError> {
        self.connection().execute(
            "INSERT INTO devices (user_name, device_id, signature_key, first_seen, verified)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (user_name, device_id) DO UPDATE SET
                 verified = MAX(verified, excluded.verified),
                 first_seen = MIN(first_seen, excluded.first_seen)
             WHERE signature_key = excluded.signature_key",
            params![
                device.member.user.as_str(),
                device.member.device.as_str(),
                device.signature_key,
                device.first_seen,
                device.verified
            ],
        )?;
        Ok(())
    }

    /// Records that `member` was seen with `signature_key` (trust on first use).
    pub fn observe_device(
        &self,
        member: &MemberId,
        signature_key: &[u8],
        now: i64,
    ) -> Result<DeviceTrust, StoreError> {
        let known: Option<(Vec<u8>, bool)> = self
            .connection()
            .query_row(
                "SELECT signature_key, verified FROM devices
                 WHERE user_name = ?1 AND device_id = ?2",
                params![member.user.as_str(), member.device.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match known {
            Some((key, verified)) if key == signature_key => Ok(DeviceTrust::Known { verified }),
            Some((previous_key, _)) => {
                self.connection().execute(
                    "UPDATE devices SET signature_key = ?3, first_seen = ?4, verified = 0
                     WHERE user_name = ?1 AND device_id = ?2",
                    params![
                        member.user.as_str(),
                        member.device.as_str(),
                        signature_key,
                        now
                    ],
                )?;
                Ok(DeviceTrust::KeyChanged { previous_key })
            }
            None => {
                self.connection().execute(
                    "INSERT INTO devices (user_name, device_id, signature_key, first_seen)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![
                        member.user.as_str(),
                        member.device.as_str(),
                        signature_key,
                        now
                    ],
                )?;
                Ok(DeviceTrust::New)
            }
        }
    }

    /// Marks a device's current key verified (or not).
    pub fn set_verified(&self, member: &MemberId, verified: bool) -> Result<(), StoreError> {
        let changed = self.connection().execute(
            "UPDATE devices SET verified = ?3 WHERE user_name = ?1 AND device_id = ?2",
            params![member.user.as_str(), member.device.as_str(), verified],
        )?;
        if changed == 0 {
            return Err(StoreError::InvalidData(format!("unknown device {member}")));
        }
        Ok(())
    }

    /// Devices seen, of one user or of all.
    pub fn devices(&self, user: Option<&UserName>) -> Result<Vec<KnownDevice>, StoreError> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT user_name, device_id, signature_key, first_seen, verified
             FROM devices WHERE ?1 IS NULL OR user_name = ?1 ORDER BY user_name, device_id",
        )?;
        let rows = stmt.query_map([user.map(|u| u.as_str())], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
            ))
        })?;
        rows.map(|row| {
            let (user, device, signature_key, first_seen, verified) = row?;
            Ok(KnownDevice {
                member: member(&user, &device)?,
                signature_key,
                first_seen,
                verified,
            })
        })
        .collect()
    }
}
