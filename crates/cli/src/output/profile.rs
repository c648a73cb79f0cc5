//! The profile: `init`, `whoami`, the device list, `sync` and the passphrase.

use conclave_client::KnownDevice;
use conclave_client::display::digit_groups;
use serde::Serialize;

use super::{Report, lines};

/// `init` and `whoami`.
#[derive(Serialize)]
pub struct Profile {
    pub user: String,
    pub device: String,
    pub server: String,
    pub fingerprint: String,
    /// The ciphersuites it can create and join conversations in (short names).
    pub suites: Vec<String>,
    /// The profile directory, when it was just created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

impl Report for Profile {
    fn text(&self) -> String {
        let me = format!("{}/{}", self.user, self.device);
        let fingerprint = digit_groups(&self.fingerprint);
        let suites = self.suites.join(", ");
        match &self.profile {
            Some(dir) => format!(
                "created {me} on {}\nprofile: {dir}\nfingerprint: {fingerprint}\n\
                 ciphersuites: {suites}",
                self.server
            ),
            None => format!(
                "{me} on {}\nfingerprint: {fingerprint}\nciphersuites: {suites}",
                self.server
            ),
        }
    }
}

/// `users`.
#[derive(Serialize)]
pub struct Devices {
    pub devices: Vec<DeviceRow>,
}

#[derive(Serialize)]
pub struct DeviceRow {
    pub user: String,
    pub device: String,
    pub fingerprint: String,
    pub verified: bool,
}

impl From<&KnownDevice> for DeviceRow {
    fn from(d: &KnownDevice) -> Self {
        Self {
            user: d.member.user.to_string(),
            device: d.member.device.to_string(),
            fingerprint: d.fingerprint().digits(),
            verified: d.verified,
        }
    }
}

impl Report for Devices {
    fn text(&self) -> String {
        lines(&self.devices, |d| {
            format!(
                "{}/{}  {}{}",
                d.user,
                d.device,
                digit_groups(&d.fingerprint),
                if d.verified { "  verified" } else { "" }
            )
        })
    }
}

/// `sync`.
#[derive(Serialize)]
pub struct Synced {
    pub applied: usize,
}

impl Report for Synced {
    fn text(&self) -> String {
        format!("{} item(s) applied", self.applied)
    }
}

/// `passphrase`.
#[derive(Serialize)]
pub struct PassphraseSet {
    pub profile: String,
}

impl Report for PassphraseSet {
    fn text(&self) -> String {
        format!("{} is encrypted with the new passphrase", self.profile)
    }
}
