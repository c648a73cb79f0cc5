//! The profile key's home in the operating system's keyring: the Secret Service on Linux
//! and the BSDs (GNOME Keyring, KWallet, KeePassXC), the Keychain on macOS, the Credential
//! Manager on Windows (the `keyring` crate).
//!
//! A profile kept this way is encrypted at rest with a random 256-bit key (no passphrase to
//! type), stored in the keyring under the service `conclave` and a random name that the
//! file beside the profile, `profile.sqlite.keyring`, holds: so the profile can move to
//! another directory and still open, while a copy on another computer needs a passphrase.
//! The keyring itself is encrypted with the user's login password and unlocked by logging
//! in: a thief of the powered-off laptop needs that password, another user of the computer
//! cannot reach it, but a program running as the same user in the same session can ask for
//! the key (as it could read the window or the keyboard). That is the exposure of every
//! desktop messenger that opens without a passphrase; a passphrase
//! ([`conclave_storage::ProfileSecret::Passphrase`]) is the choice that avoids it.

use std::path::{Path, PathBuf};

use conclave_storage::{ProfileFile, ProfileKey, ProfileSecret};
use thiserror::Error;

/// The service name every profile key is stored under.
const SERVICE: &str = "conclave";

/// What went wrong with the keyring. Keeps the keyring's own error.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum KeyringError {
    /// There is no keyring to talk to (no Secret Service on the session bus, say).
    #[error("no keyring is available: {0}")]
    Unavailable(#[source] keyring::Error),
    /// The keyring refused or failed (locked and not unlocked, a D-Bus error).
    #[error("the keyring failed: {0}")]
    Failed(#[source] keyring::Error),
    /// The keyring holds no key for this profile: it was made with a passphrase, or copied
    /// from another computer.
    #[error("the keyring holds no key for {0}: give its passphrase")]
    NoKey(PathBuf),
    /// The entry's name beside the profile, or what the keyring holds under it, is not of
    /// ours.
    #[error("{0} does not name a profile key in the keyring")]
    Damaged(PathBuf),
    /// The file naming the entry could not be read or written.
    #[error("{0}: {1}")]
    NameFile(PathBuf, #[source] std::io::Error),
}

/// The keyring entry of one profile file.
pub struct ProfileKeyring {
    entry: keyring::Entry,
    /// The file that names the entry, beside the profile.
    name_file: PathBuf,
}

impl ProfileKeyring {
    /// The entry of the profile file at `path`, if the file beside it names one.
    pub fn for_profile(path: &Path) -> Result<Option<Self>, KeyringError> {
        let name_file = name_file(path);
        let name = match std::fs::read_to_string(&name_file) {
            Ok(name) => name,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(KeyringError::NameFile(name_file, e)),
        };
        let name = name.trim();
        if !valid_name(name) {
            return Err(KeyringError::Damaged(name_file));
        }
        Ok(Some(Self::named(name, name_file)?))
    }

    /// A new entry for the profile file at `path`, under a fresh random name written beside
    /// it (in place of any earlier one; owner-only, durable before it is used).
    fn create(path: &Path) -> Result<Self, KeyringError> {
        let name = format!("profile-{}", hex::encode(rand::random::<[u8; 16]>()));
        let name_file = name_file(path);
        write_private(&name_file, name.as_bytes())
            .map_err(|e| KeyringError::NameFile(name_file.clone(), e))?;
        Self::named(&name, name_file)
    }

    fn named(name: &str, name_file: PathBuf) -> Result<Self, KeyringError> {
        let entry = keyring::Entry::new(SERVICE, name).map_err(failed)?;
        Ok(Self { entry, name_file })
    }

    /// Whether a keyring answers. Asks it once for an entry that does not exist.
    pub fn available() -> bool {
        match keyring::Entry::new(SERVICE, "availability probe") {
            Ok(entry) => matches!(entry.get_secret(), Ok(_) | Err(keyring::Error::NoEntry)),
            Err(_) => false,
        }
    }

    /// The profile's key, if the keyring holds one.
    pub fn key(&self) -> Result<Option<ProfileKey>, KeyringError> {
        match self.entry.get_secret() {
            Ok(secret) => {
                let secret = zeroize::Zeroizing::new(secret);
                let bytes: [u8; 32] = secret
                    .as_slice()
                    .try_into()
                    .map_err(|_| KeyringError::Damaged(self.name_file.clone()))?;
                Ok(Some(ProfileKey::from_bytes(bytes)))
            }
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(failed(e)),
        }
    }

    /// Keeps `key` as the profile's key, in place of any it had.
    pub fn keep(&self, key: &ProfileKey) -> Result<(), KeyringError> {
        self.entry.set_secret(key.as_bytes()).map_err(failed)
    }

    /// Removes the profile's key from the keyring (nothing to do if it holds none), and the
    /// file that names it.
    pub fn forget(&self) -> Result<(), KeyringError> {
        match self.entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => {}
            Err(e) => return Err(failed(e)),
        }
        match std::fs::remove_file(&self.name_file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(KeyringError::NameFile(self.name_file.clone(), e)),
        }
    }

    /// The secret the profile file at `path`, which is `file`, opens with, its key in the
    /// keyring, making the key if it is to be made: for a new profile a fresh one under a
    /// fresh name, kept before the file is written; for a plain profile, to be encrypted in
    /// place, the key already there (what an encryption interrupted by a crash kept) or a
    /// fresh one; for an encrypted profile, the key there or [`KeyringError::NoKey`].
    pub fn secret_for(path: &Path, file: ProfileFile) -> Result<ProfileSecret, KeyringError> {
        let existing = match file {
            ProfileFile::Absent => None,
            ProfileFile::Plain | ProfileFile::Encrypted => match Self::for_profile(path)? {
                Some(keyring) => keyring.key()?,
                None => None,
            },
        };
        let key = match (existing, file) {
            (Some(key), _) => key,
            (None, ProfileFile::Encrypted) => return Err(KeyringError::NoKey(path.to_path_buf())),
            (None, ProfileFile::Absent | ProfileFile::Plain) => {
                let key = ProfileKey::random();
                Self::create(path)?.keep(&key)?;
                key
            }
        };
        Ok(ProfileSecret::Key(key))
    }
}

/// The file beside the profile at `path` that names its keyring entry.
pub(crate) fn name_file(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".keyring");
    PathBuf::from(name)
}

/// `profile-` and 32 lowercase hex digits, as [`ProfileKeyring::create`] writes.
fn valid_name(name: &str) -> bool {
    name.strip_prefix("profile-").is_some_and(|hex| {
        hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Writes `bytes` to `path` through a file beside it made owner-only at creation, renamed
/// into place and made durable.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&partial)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&partial, path)?;
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn failed(e: keyring::Error) -> KeyringError {
    match e {
        keyring::Error::NoDefaultStore | keyring::Error::NoStorageAccess(_) => {
            KeyringError::Unavailable(e)
        }
        e => KeyringError::Failed(e),
    }
}
