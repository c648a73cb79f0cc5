//! This user's own devices: linking one, approving, listing and revoking.

use conclave_client::display::{digit_groups, timestamp};
use serde::Serialize;

use super::{Report, lines};

/// `link`, first: the code to enter on an existing device.
#[derive(Serialize)]
pub struct LinkCodeShown {
    pub code: String,
    pub device: String,
    pub fingerprint: String,
    /// Unix seconds.
    pub expires_at: u64,
}

impl Report for LinkCodeShown {
    fn text(&self) -> String {
        // The code first, alone on its line: what scripts read.
        format!(
            "{}\nenter this code on one of your devices (conclave-cli approve CODE, or the \
             app's \"Link a device\")\ndevice {}, fingerprint {}",
            self.code, self.device, self.fingerprint
        )
    }
}

/// `link`, once done.
#[derive(Serialize)]
pub struct Linked {
    pub user: String,
    pub device: String,
    pub server: String,
    pub fingerprint: String,
    pub conversations: usize,
    pub messages: u64,
}

impl Report for Linked {
    fn text(&self) -> String {
        format!(
            "linked {}/{} on {}: {} conversations, {} messages of history\nfingerprint: {}",
            self.user,
            self.device,
            self.server,
            self.conversations,
            self.messages,
            digit_groups(&self.fingerprint)
        )
    }
}

/// `approve`.
#[derive(Serialize)]
pub struct Approved {
    pub device: String,
    pub fingerprint: String,
    pub conversations: u32,
    pub messages: u64,
}

impl Report for Approved {
    fn text(&self) -> String {
        format!(
            "linked device {} (fingerprint {}): added to {} conversations, {} messages of \
             history sent",
            self.device, self.fingerprint, self.conversations, self.messages
        )
    }
}

/// `devices`.
#[derive(Serialize)]
pub struct OwnDevices {
    pub devices: Vec<OwnDeviceRow>,
}

#[derive(Serialize)]
pub struct OwnDeviceRow {
    pub device: String,
    pub fingerprint: String,
    /// Unix seconds.
    pub added_at: u64,
    /// Unix seconds.
    pub last_seen: Option<u64>,
    pub this_device: bool,
}

impl From<&conclave_client::OwnDevice> for OwnDeviceRow {
    fn from(d: &conclave_client::OwnDevice) -> Self {
        Self {
            device: d.device.clone(),
            fingerprint: d.fingerprint.clone(),
            added_at: d.added_at,
            last_seen: d.last_seen,
            this_device: d.this_device,
        }
    }
}

impl Report for OwnDevices {
    fn text(&self) -> String {
        lines(&self.devices, |d| {
            let seconds = |s: u64| timestamp(s as i64 * 1000);
            format!(
                "{}{}  added {}  last seen {}\n  fingerprint {}",
                d.device,
                if d.this_device { " (this device)" } else { "" },
                seconds(d.added_at),
                d.last_seen.map_or_else(|| "never".to_owned(), seconds),
                digit_groups(&d.fingerprint)
            )
        })
    }
}

/// `revoke`.
#[derive(Serialize)]
pub struct Revoked {
    pub device: String,
    /// Conversations it was removed from.
    pub conversations: u32,
}

impl Report for Revoked {
    fn text(&self) -> String {
        format!(
            "revoked {}: the server refuses it, and it was removed from {} conversations",
            self.device, self.conversations
        )
    }
}
