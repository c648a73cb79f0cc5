//! Client settings and their defaults.

use std::path::PathBuf;
use std::time::Duration;

use conclave_protocol::{CipherSuite, GroupConfig};
use conclave_storage::ProfileSecret;

/// How a client behaves. `ClientConfig::default()` is what the CLI and the app use.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// MLS group settings for groups this device creates or joins (and its key packages).
    /// The engine merges its own commits at their echo, so the default of keeping no past
    /// epoch's keys loses no message (see the crate docs). `group.ciphersuite` is read when
    /// a profile is created: its signature key is of that suite's scheme, and the device
    /// takes part in every suite of the scheme (each group keeps its own suite).
    pub group: GroupConfig,
    /// Whether the device takes part in draft ciphersuites (X-Wing, 0x004D): it publishes
    /// key packages for them and may create conversations in them. Default: on.
    pub draft_suites: bool,
    /// How many one-time key packages to keep on the server. Default 20; topped up when
    /// fewer than half are left.
    pub key_package_stock: u32,
    /// How often the last-resort key package is replaced by a new one. A last-resort
    /// package can be used by many Welcomes, so replacing it bounds how long one key pair
    /// keeps opening them. Default: 7 days.
    pub last_resort_rotation: Duration,
    /// How long a key package's private keys are kept after no inviter can use it any more
    /// (a one-time package past its lifetime, a last-resort one replaced), for Welcomes still
    /// queued at the server; then they are deleted. Default: 30 days, the delivery service's
    /// default retention.
    pub key_package_grace: Duration,
    /// How often this device rotates its leaf keys in each group (a self-update commit),
    /// for post-compromise security without user action. Default: 24 hours. `None` turns
    /// scheduled rotation off.
    pub rotation_interval: Option<Duration>,
    /// How long a member waits for the designated committer (the lowest leaf) to commit
    /// another member's request to leave before committing it itself: a leave must not
    /// hang on one member being offline. Default: 60 s (then the next sync commits it).
    pub leave_commit_delay: Duration,
    /// How many times an operation (invite, remove, rename, update) is redone on a newer
    /// epoch after another member's commit won. Default 10.
    pub max_commit_attempts: u32,
    /// First wait before resending after a network failure; doubles up to `max_backoff`.
    /// Default 500 ms.
    pub min_backoff: Duration,
    /// Longest wait between retries. Default 30 s.
    pub max_backoff: Duration,
    /// Timeout of one request to the server. Default 15 s.
    pub request_timeout: Duration,
    /// PEM files of CA certificates to trust for the server's TLS certificate, besides the
    /// public web roots: for a self-hosted server with a private CA. Default: none.
    pub ca_certs: Vec<PathBuf>,
    /// A PEM file with a TLS client certificate chain and its key, presented to a server on
    /// this machine that asks for one (the app's local server admits only its own user's
    /// clients this way). Never presented to another machine, where it would only serve to
    /// track the user. Default: none.
    pub local_client_cert: Option<PathBuf>,
    /// What the profile is encrypted at rest with (SQLCipher; see
    /// [`conclave_storage::at_rest`]): a passphrase (stretched with Argon2id) or a raw key.
    /// A plain profile opened with one is encrypted in place first. `None` keeps the profile
    /// plain SQLite. Default: none.
    pub profile_secret: Option<ProfileSecret>,
    /// Whether the profile's key lives in the OS keyring ([`crate::ProfileKeyring`]) when
    /// `profile_secret` gives none: a new profile, or a plain one, is encrypted with a
    /// random key kept there, and an encrypted one opens with the key found there.
    /// Default: off (the app turns it on where a keyring answers; the CLI on `--keyring`,
    /// and to open an encrypted profile given no passphrase).
    pub keyring: bool,
    /// Messages per part of the history sent to a linked device (each part is stored in one
    /// transaction there, and is what an interrupted import resumes after). Default 2,000.
    pub link_part_messages: usize,
}

impl ClientConfig {
    /// The suites a device of `identity` takes part in under these settings: those its key
    /// signs in, less the draft ones when [`ClientConfig::draft_suites`] is off.
    pub(crate) fn suites_of(&self, identity: &conclave_protocol::Identity) -> Vec<CipherSuite> {
        let mut suites = identity.suites();
        suites.retain(|s| self.draft_suites || !s.is_draft());
        suites
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            group: GroupConfig::default(),
            draft_suites: true,
            key_package_stock: 20,
            last_resort_rotation: Duration::from_secs(7 * 24 * 3600),
            key_package_grace: Duration::from_secs(30 * 24 * 3600),
            rotation_interval: Some(Duration::from_secs(24 * 3600)),
            leave_commit_delay: Duration::from_secs(60),
            max_commit_attempts: 10,
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            request_timeout: Duration::from_secs(15),
            ca_certs: Vec::new(),
            local_client_cert: None,
            profile_secret: None,
            keyring: false,
            link_part_messages: 2_000,
        }
    }
}
