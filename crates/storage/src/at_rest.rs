//! How a profile is encrypted at rest: SQLCipher over the whole file (every page of the
//! database and of its write-ahead log: MLS state, keys, history and its search index alike,
//! since openmls's tables share the connection), with a 256-bit key given raw or derived from
//! a passphrase with Argon2id; and the one-time, crash-atomic encryption of a plain profile.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use zeroize::Zeroizing;

use crate::StoreError;

/// Argon2id's cost for a passphrase: 64 MiB, 3 passes, one lane (RFC 9106's second
/// recommended setting, with the lanes this single-threaded implementation runs anyway).
/// About a quarter of a second here per open. A change of these needs a re-key.
const ARGON2_MEMORY_KIB: u32 = 64 * 1024;
const ARGON2_PASSES: u32 = 3;
const ARGON2_LANES: u32 = 1;

/// The first 16 bytes of a plain SQLite file; an encrypted one starts with its random salt.
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// A 256-bit profile key (from the OS keyring, say). Wiped from memory when dropped; never
/// printed.
#[derive(Clone)]
pub struct ProfileKey(Zeroizing<[u8; 32]>);

impl ProfileKey {
    /// A new random key.
    pub fn random() -> Self {
        Self(Zeroizing::new(rand::random()))
    }

    /// The key with these bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The key's bytes, to store it (in the OS keyring).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for ProfileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProfileKey(..)")
    }
}

/// What unlocks an encrypted profile. Never printed (its `Debug` says only which kind).
#[derive(Clone)]
pub enum ProfileSecret {
    /// A raw key.
    Key(ProfileKey),
    /// A passphrase, stretched with Argon2id and the file's own random salt.
    Passphrase(Zeroizing<String>),
}

impl std::fmt::Debug for ProfileSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Key(_) => "ProfileSecret::Key(..)",
            Self::Passphrase(_) => "ProfileSecret::Passphrase(..)",
        })
    }
}

impl ProfileSecret {
    /// A passphrase secret.
    pub fn passphrase(passphrase: &str) -> Self {
        Self::Passphrase(Zeroizing::new(passphrase.to_owned()))
    }

    /// The file key this secret gives with the file's salt (a passphrase costs one
    /// Argon2id run, about a quarter of a second).
    pub(crate) fn key(&self, salt: &[u8; 16]) -> Result<ProfileKey, StoreError> {
        match self {
            Self::Key(key) => Ok(key.clone()),
            Self::Passphrase(passphrase) => Ok(ProfileKey(stretch(passphrase.as_bytes(), salt)?)),
        }
    }

    /// SQLCipher's raw-key form, `x'KEY SALT'`: the key used as is (no SQLCipher KDF), with
    /// the salt the file keeps in its first 16 bytes.
    fn pragma_value(&self, salt: &[u8; 16]) -> Result<Zeroizing<String>, StoreError> {
        let key = self.key(salt)?;
        let mut value = Zeroizing::new(String::with_capacity(100));
        value.push_str("\"x'");
        for byte in key.as_bytes().iter().chain(salt) {
            value.push_str(&format!("{byte:02x}"));
        }
        value.push_str("'\"");
        Ok(value)
    }
}

fn stretch(passphrase: &[u8], salt: &[u8; 16]) -> Result<Zeroizing<[u8; 32]>, StoreError> {
    let params = argon2::Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, Some(32))
        .map_err(|e| StoreError::InvalidData(format!("Argon2 parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase, salt, key.as_mut())
        .map_err(|e| StoreError::InvalidData(format!("Argon2: {e}")))?;
    Ok(key)
}

/// What a profile file is, as far as can be told without a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileFile {
    /// There is none (or it is empty): a new profile.
    Absent,
    /// Plain SQLite ([`crate::Store::open`]; [`crate::Store::open_encrypted`] encrypts it).
    Plain,
    /// Encrypted (or not a database at all: only a key can tell).
    Encrypted,
}

/// What the profile file at `path` is. Reads its first 16 bytes; changes nothing.
pub fn inspect(path: &Path) -> Result<ProfileFile, StoreError> {
    Ok(match file_kind(path)? {
        FileKind::New => ProfileFile::Absent,
        FileKind::Plain => ProfileFile::Plain,
        FileKind::Encrypted { .. } => ProfileFile::Encrypted,
    })
}

/// What the first bytes of a profile file say it is.
pub(crate) enum FileKind {
    /// Empty or absent: a new profile.
    New,
    /// A plain SQLite database.
    Plain,
    /// Anything else: an encrypted database (its salt first), or garbage the key will not
    /// open.
    Encrypted {
        /// Its first 16 bytes.
        salt: [u8; 16],
    },
}

pub(crate) fn file_kind(path: &Path) -> Result<FileKind, StoreError> {
    let mut header = [0u8; 16];
    let read = match std::fs::File::open(path) {
        Ok(mut file) => read_up_to(&mut file, &mut header).map_err(|e| cannot_open(path, e))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(cannot_open(path, e)),
    };
    Ok(match read {
        0 => FileKind::New,
        16 if &header == PLAIN_HEADER => FileKind::Plain,
        _ => FileKind::Encrypted { salt: header },
    })
}

fn read_up_to(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// How an encrypted file's pages are authenticated: SQLCipher's HMAC per page, over
/// SHA-256 for files made from 2026-12-07 on, over SHA-512 (SQLCipher 4's default) for those
/// made before. Both are HMACs with 256-bit keys, far beyond what forging a page would need;
/// SHA-256 is the one this hardware computes (SHA extensions), and took the overhead of a
/// message's two transactions from 1.28x to 1.19x of plain SQLite (docs/PERFORMANCE.md).
/// The file does not say which it uses: opening tries each, newest first (a wrong one fails
/// on the first page's HMAC, which costs microseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PageFormat {
    /// HMAC-SHA256: what new files are made with.
    HmacSha256,
    /// HMAC-SHA512: SQLCipher 4's default, what the first encrypted profiles have.
    HmacSha512,
}

impl PageFormat {
    /// Newest first: the first is what new files are made with.
    pub(crate) const ALL: [PageFormat; 2] = [PageFormat::HmacSha256, PageFormat::HmacSha512];

    fn hmac_algorithm(self) -> &'static str {
        match self {
            PageFormat::HmacSha256 => "HMAC_SHA256",
            PageFormat::HmacSha512 => "HMAC_SHA512",
        }
    }
}

/// Sets the key and page format of a connection just opened, before it reads anything: for
/// an existing encrypted file with its own salt, for a new file with a fresh random one.
pub(crate) fn set_key(
    connection: &Connection,
    secret: &ProfileSecret,
    salt: &[u8; 16],
    format: PageFormat,
) -> Result<(), StoreError> {
    // A wrong key is reported as [`StoreError::WrongKey`]; SQLCipher's own log of it would
    // only be noise on the user's terminal.
    connection.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    let value = secret.pragma_value(salt)?;
    connection.execute_batch(&Zeroizing::new(format!("PRAGMA key = {};", value.as_str())))?;
    connection.execute_batch(&format!(
        "PRAGMA cipher_hmac_algorithm = {};",
        format.hmac_algorithm()
    ))?;
    Ok(())
}

/// Opens the existing encrypted file at `path` with `secret`: a connection keyed in the
/// page format the file has, checked by reading its schema. A key that opens it in no
/// format: [`StoreError::WrongKey`].
pub(crate) fn open_existing(
    path: &Path,
    secret: &ProfileSecret,
    salt: &[u8; 16],
    open: impl Fn() -> Result<Connection, StoreError>,
) -> Result<Connection, StoreError> {
    // Stretched once for all the formats tried.
    let key = ProfileSecret::Key(secret.key(salt)?);
    for format in PageFormat::ALL {
        let connection = open()?;
        set_key(&connection, &key, salt, format)?;
        match check_key(&connection, path) {
            Ok(()) => return Ok(connection),
            Err(StoreError::WrongKey { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::WrongKey {
        path: path.to_path_buf(),
    })
}

/// Whether the key set on `connection` opens the file: reading the schema is the first read
/// of a page, whose HMAC a wrong key (or page format) fails.
fn check_key(connection: &Connection, path: &Path) -> Result<(), StoreError> {
    match connection.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(())) {
        Ok(()) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            Err(StoreError::WrongKey {
                path: path.to_path_buf(),
            })
        }
        Err(e) => Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

/// A fresh salt for a new encrypted file.
pub(crate) fn new_salt() -> [u8; 16] {
    rand::random()
}

/// The file an encryption in progress writes, beside the profile.
fn encrypting_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".encrypting");
    PathBuf::from(name)
}

/// Writes the profile at `path` again, encrypted with `to`, in place and atomically: the
/// copy is written beside it ([`export`]) and renamed over it ([`replace`]). `from` is the
/// file's current secret and salt, `None` for a plain file. A crash at any point leaves
/// either the old file, whole, or the new one; a half-written copy is deleted by the next
/// open. `check` vets the source before anything is written. The caller holds the profile's
/// lock.
pub(crate) fn reencrypt(
    path: &Path,
    from: Option<(&ProfileSecret, &[u8; 16])>,
    to: &ProfileSecret,
    check: impl FnOnce(&Connection) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    {
        let open = || Connection::open(path).map_err(|e| cannot_open(path, e));
        let source = match from {
            Some((secret, salt)) => open_existing(path, secret, salt, open)?,
            None => open()?,
        };
        check(&source)?;
        export(&source, path, to)?;
    }
    replace(path)
}

/// Writes the database `source` has open (the profile at `path`) into a copy beside it,
/// encrypted with `to` under a fresh salt (SQLCipher's `sqlcipher_export`), and makes the
/// copy durable. Returns the salt and the key `to` gives with it. The profile itself is not
/// touched.
///
/// The old file's blocks are freed, not overwritten, once the copy replaces it: on an SSD
/// they can remain readable to someone with the raw device until reused (full-disk
/// encryption is what covers that).
pub(crate) fn export(
    source: &Connection,
    path: &Path,
    to: &ProfileSecret,
) -> Result<([u8; 16], ProfileKey), StoreError> {
    let target = encrypting_path(path);
    remove_with_sidecars(&target)?;
    // Everything into the main file, so that the copy is complete and the log empty.
    source.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    crate::store::owner_only(&target)?;
    let salt = new_salt();
    let file_key = ProfileSecret::Key(to.key(&salt)?);
    let key = file_key.pragma_value(&salt)?;
    source.execute(
        &Zeroizing::new(format!(
            "ATTACH DATABASE ?1 AS encrypted KEY {};",
            key.as_str()
        )),
        [target.to_string_lossy()],
    )?;
    source.execute_batch(&format!(
        "PRAGMA encrypted.cipher_hmac_algorithm = {};",
        PageFormat::ALL[0].hmac_algorithm()
    ))?;
    source.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
    // Header fields sqlcipher_export does not carry.
    let (app_id, user_version): (i64, i64) = source.query_row(
        "SELECT (SELECT application_id FROM pragma_application_id), \
                (SELECT user_version FROM pragma_user_version)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    source.execute_batch(&format!(
        "PRAGMA encrypted.application_id = {app_id};
         PRAGMA encrypted.user_version = {user_version};
         DETACH DATABASE encrypted;"
    ))?;
    std::fs::File::open(&target)
        .and_then(|f| f.sync_all())
        .map_err(|e| cannot_open(&target, e))?;
    let ProfileSecret::Key(file_key) = file_key else {
        unreachable!("made as a key above")
    };
    Ok((salt, file_key))
}

/// Puts the copy [`export`] wrote in the place of the profile at `path`, which no
/// connection may have open, durably.
pub(crate) fn replace(path: &Path) -> Result<(), StoreError> {
    // The old log was checkpointed and closed; one left over must not be replayed into the
    // new file (nor stay on disk).
    remove_sidecars(path)?;
    std::fs::rename(encrypting_path(path), path).map_err(|e| cannot_open(path, e))?;
    sync_dir(path);
    Ok(())
}

/// Deletes what an interrupted [`reencrypt`] left beside the profile.
pub(crate) fn remove_leftovers(path: &Path) -> Result<(), StoreError> {
    remove_with_sidecars(&encrypting_path(path))
}

fn remove_with_sidecars(path: &Path) -> Result<(), StoreError> {
    remove_if_present(path)?;
    remove_sidecars(path)
}

fn remove_sidecars(path: &Path) -> Result<(), StoreError> {
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        remove_if_present(Path::new(&name))?;
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(cannot_open(path, e)),
    }
}

/// Makes a rename in `path`'s directory durable (on Unix; elsewhere the rename is).
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
}

fn cannot_open(path: &Path, e: impl ToString) -> StoreError {
    StoreError::CannotOpen {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}
