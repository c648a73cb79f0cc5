//! Opening a profile, and transactions over it.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use conclave_protocol::Crypto;
use conclave_protocol::{CommitDigest, Group, GroupId, Identity, IdentityRecord};
use fs4::fs_std::FileExt;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};

use crate::StoreError;
use crate::at_rest::{self, FileKind, ProfileKey, ProfileSecret};
use crate::codec::MLS_CODEC_NAME;
use crate::provider::Provider;

refinery::embed_migrations!("migrations");

/// How often [`Store::sync`] truncates the write-ahead log (see there).
pub(crate) const WAL_TRUNCATE_INTERVAL: Duration = Duration::from_secs(60);

/// Refinery history table of our own migrations (openmls_sqlite_storage keeps its own).
const HISTORY_TABLE: &str = "conclave_migrations";
/// SQLite `application_id` of a Conclave profile ("CNCL").
const APPLICATION_ID: i64 = 0x434E_434C;
/// How long a statement waits for a lock held by another connection before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The newest schema version this build knows: the highest migration number.
pub fn schema_version() -> i64 {
    migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0)
}

/// One profile: one SQLite file holding the MLS state and the messenger's data.
///
/// Open it with [`Store::open`]; change it only through [`Store::transaction`].
pub struct Store {
    connection: Connection,
    crypto: Crypto,
    /// Groups loaded from this file. A transaction that does not commit evicts the groups it
    /// touched, so the next use reloads them from what is really stored.
    groups: HashMap<GroupId, Group>,
    /// For the cached groups, the [`Group::sent_commit`] digests as the file holds them, so
    /// that a commit writes only those that changed.
    sent_commits: HashMap<GroupId, CommitDigest>,
    /// When [`Store::sync`] last truncated the write-ahead log.
    last_truncate: std::time::Instant,
    /// For an encrypted file: its key and salt, to check the secret a change is asked with.
    key: Option<(ProfileKey, [u8; 16])>,
    path: PathBuf,
    _lock: File,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the profile at `path`, creating or migrating it.
    ///
    /// - A second open of the same profile, from this or another process, fails with
    ///   [`StoreError::ProfileInUse`] (an exclusive lock on `PATH.lock`, released by the
    ///   operating system even when the process is killed).
    /// - An existing file is checked before anything is written to it: that it is a SQLite
    ///   database with Conclave's `application_id`, that `PRAGMA quick_check` passes
    ///   ([`StoreError::Corrupt`]), and that its schema is not newer than this build's
    ///   ([`StoreError::NewerSchema`]).
    /// - Journal: WAL, so a commit appends its pages to one log instead of writing a rollback
    ///   journal and the database, and a crash at any instant leaves the last committed
    ///   transaction. `synchronous = NORMAL`: a commit is durable against a
    ///   process crash as soon as it returns (it is in the WAL, in the OS's cache); against
    ///   power loss it becomes durable at the next WAL sync. The client calls
    ///   [`Store::sync`] before telling the server it may delete what was received, so
    ///   nothing the server dropped can be lost; the ~0.1 ms per transaction this saves (an
    ///   fsync each) is what keeps message processing fast.
    /// - `foreign_keys = ON`, `secure_delete = ON` (deleted plaintext is overwritten, not left
    ///   in free pages), a 5 s busy timeout.
    /// - `locking_mode = EXCLUSIVE`: the profile has one connection (the lock above), so it
    ///   takes SQLite's file locks once and keeps them, and the WAL's index lives in this
    ///   process's memory rather than a shared `-shm` file; a transaction no longer locks
    ///   and unlocks byte ranges of that file (about 6 us of the ~10 us it cost to begin and
    ///   end one here). Other SQLite connections to the file get "database is locked" while
    ///   the store is open.
    /// - `temp_store = MEMORY`: statement journals and temporary tables (large migrations
    ///   spill them) stay in memory, so pages of messages and keys are never written to an
    ///   unlinked file in the system's temporary directory.
    /// - Once migrated, the profile is synced ([`Store::sync`]): what the write-ahead log holds
    ///   (the last session's transactions, a migration's pages) moves into the database file
    ///   and is durable against power loss from then on, and the next transaction starts the
    ///   log over from its beginning, writing over blocks the file already has rather than
    ///   growing it (a fresh profile's first join at N = 10 took 2-3 % less time for it).
    ///
    /// The file is plain SQLite: see [`Store::open_encrypted`] for a profile encrypted at
    /// rest. An encrypted file is refused ([`StoreError::Encrypted`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path.as_ref(), None)
    }

    /// Opens the profile at `path` encrypted at rest with `secret` (SQLCipher: see
    /// [`crate::at_rest`]), creating or migrating it as [`Store::open`] does.
    ///
    /// - A new profile is created encrypted.
    /// - A plain profile (one [`Store::open`] made) is encrypted in place first, atomically:
    ///   a crash leaves either the plain file or the encrypted one, whole.
    /// - The wrong secret gives [`StoreError::WrongKey`] and writes nothing.
    pub fn open_encrypted(
        path: impl AsRef<Path>,
        secret: &ProfileSecret,
    ) -> Result<Self, StoreError> {
        Self::open_with(path.as_ref(), Some(secret))
    }

    fn open_with(path: &Path, secret: Option<&ProfileSecret>) -> Result<Self, StoreError> {
        let path = path.to_path_buf();
        let lock = lock_profile(&path)?;
        owner_only(&path)?;
        at_rest::remove_leftovers(&path)?;
        let mut kind = at_rest::file_kind(&path)?;
        if let (Some(secret), FileKind::Plain) = (secret, &kind) {
            at_rest::reencrypt(&path, None, secret, |plain| check_existing(plain, &path))?;
            kind = at_rest::file_kind(&path)?;
        }
        let existed = !matches!(kind, FileKind::New);
        let salt = match (secret, kind) {
            (None, FileKind::Encrypted { .. }) => {
                return Err(StoreError::Encrypted { path: path.clone() });
            }
            (None, _) => None,
            (Some(_), FileKind::Encrypted { salt }) => Some(salt),
            (Some(_), _) => Some(at_rest::new_salt()),
        };
        // Derived once (a passphrase's Argon2id is the slow part of an open).
        let key = match (secret, salt) {
            (Some(secret), Some(salt)) => Some((secret.key(&salt)?, salt)),
            _ => None,
        };
        let mut connection = connect(&path, key.as_ref(), existed)?;
        migrate(&mut connection, &path)?;
        let mut store = Self {
            connection,
            crypto: Crypto::default(),
            groups: HashMap::new(),
            sent_commits: HashMap::new(),
            last_truncate: std::time::Instant::now(),
            key,
            path,
            _lock: lock,
        };
        store.sync()?;
        Ok(store)
    }

    /// Encrypts the closed profile at `path` with `new` in place of `old` (a passphrase
    /// change), atomically as [`Store::open_encrypted`] encrypts a plain one: a crash leaves
    /// it under one secret or the other, whole. A plain profile (`old` is then not needed) is
    /// encrypted with `new`. `old` wrong: [`StoreError::WrongKey`]; missing for an encrypted
    /// profile: [`StoreError::Encrypted`]; nothing written either way.
    pub fn change_secret(
        path: impl AsRef<Path>,
        old: Option<&ProfileSecret>,
        new: &ProfileSecret,
    ) -> Result<(), StoreError> {
        let path = path.as_ref();
        let _lock = lock_profile(path)?;
        at_rest::remove_leftovers(path)?;
        match (at_rest::file_kind(path)?, old) {
            (FileKind::New, _) => Err(StoreError::NoProfile),
            (FileKind::Plain, _) => {
                at_rest::reencrypt(path, None, new, |c| check_existing(c, path))
            }
            (FileKind::Encrypted { .. }, None) => Err(StoreError::Encrypted {
                path: path.to_path_buf(),
            }),
            (FileKind::Encrypted { salt }, Some(old)) => {
                at_rest::reencrypt(path, Some((old, &salt)), new, |c| check_existing(c, path))
            }
        }
    }

    /// Changes the secret of this open profile: `old` must be the one it is encrypted with
    /// (for a plain profile, which is encrypted with `new`, it is not needed). The same
    /// atomic rewrite as [`Store::change_secret`], done while open: the file is copied under
    /// `new` beside itself and made durable, then the connection closes, the copy takes the
    /// file's place, and a connection to it opens. A crash leaves the profile under one
    /// secret or the other, whole. `old` wrong: [`StoreError::WrongKey`]; missing for an
    /// encrypted profile: [`StoreError::Encrypted`]; nothing written either way.
    pub fn change_secret_open(
        &mut self,
        old: Option<&ProfileSecret>,
        new: &ProfileSecret,
    ) -> Result<(), StoreError> {
        if let Some((key, salt)) = &self.key {
            let Some(old) = old else {
                return Err(StoreError::Encrypted {
                    path: self.path.clone(),
                });
            };
            if old.key(salt)?.as_bytes() != key.as_bytes() {
                return Err(StoreError::WrongKey {
                    path: self.path.clone(),
                });
            }
        }
        let (salt, key) = at_rest::export(&self.connection, &self.path, new)?;
        // The copy is whole and durable: the old file's connection goes (a placeholder
        // stands in for the moment), the copy takes its place, a connection to it comes.
        let closing = std::mem::replace(&mut self.connection, Connection::open_in_memory()?);
        if let Err((connection, e)) = closing.close() {
            self.connection = connection;
            at_rest::remove_leftovers(&self.path)?;
            return Err(e.into());
        }
        at_rest::replace(&self.path)?;
        let key = (key, salt);
        self.connection = connect(&self.path, Some(&key), true)?;
        self.key = Some(key);
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE`). It commits only through
    /// [`Tx::commit`]; dropping it rolls back, and groups it touched are reloaded next time.
    pub fn transaction(&mut self) -> Result<Tx<'_>, StoreError> {
        let tx = Transaction::new_unchecked(&self.connection, TransactionBehavior::Immediate)?;
        Ok(Tx {
            tx: Some(tx),
            crypto: &self.crypto,
            groups: &mut self.groups,
            sent_commits: &mut self.sent_commits,
            touched: HashSet::new(),
        })
    }

    /// Drops the past epochs' keys whose lifetime ([`PAST_EPOCH_LIFETIME`]) is over at `now`
    /// from the groups this store has in memory, in one transaction if any are due; returns
    /// how many groups it cleared. Messages do this for their own group; calling this from a
    /// timer (with the current time) clears idle groups too, so their old keys do not wait on
    /// disk for the next message. Groups not in memory were not used since the store opened;
    /// they clear theirs when next used.
    ///
    /// [`PAST_EPOCH_LIFETIME`]: conclave_protocol::PAST_EPOCH_LIFETIME
    pub fn expire_past_epochs(&mut self, now: SystemTime) -> Result<usize, StoreError> {
        let due: Vec<GroupId> = self
            .groups
            .iter()
            .filter(|(_, g)| g.past_epochs_expire_at().is_some_and(|at| at <= now))
            .map(|(id, _)| id.clone())
            .collect();
        if due.is_empty() {
            return Ok(0);
        }
        let mut tx = self.transaction()?;
        for id in &due {
            let g = tx.group(id)?;
            g.group.forget_past_epochs(&g.provider)?;
        }
        tx.commit()?;
        Ok(due.len())
    }

    /// Makes every committed transaction durable against power loss (a WAL checkpoint, which
    /// syncs the WAL first). Call it before acknowledging to a server.
    ///
    /// The log keeps its size between checkpoints (the next transactions overwrite it from
    /// the start, which is faster than growing a new one), so the pages of deleted keys and
    /// messages could linger in it; at most a minute after it last did, and when the
    /// store closes, the checkpoint truncates the log to nothing instead.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        let truncate = self.last_truncate.elapsed() >= WAL_TRUNCATE_INTERVAL;
        let mode = if truncate { "TRUNCATE" } else { "FULL" };
        self.connection
            .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))?;
        if truncate {
            self.last_truncate = std::time::Instant::now();
        }
        Ok(())
    }

    /// Loads this device's identity, if the profile has one.
    pub fn identity(&mut self) -> Result<Option<Identity>, StoreError> {
        let tx = self.transaction()?;
        let record = tx.identity_record()?;
        record
            .map(|r| Identity::load(&tx.provider(), &r).map_err(StoreError::from))
            .transpose()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // What the log still holds is in the database: nothing of it need stay on disk. If
        // this fails, the log stays as it was, and the next open checkpoints it.
        let _ = self
            .connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
}

fn lock_profile(path: &Path) -> Result<File, StoreError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let lock = options
        .open(&lock_path)
        .map_err(|e| StoreError::CannotOpen {
            path: PathBuf::from(&lock_path),
            reason: e.to_string(),
        })?;
    match FileExt::try_lock_exclusive(&lock) {
        Ok(true) => Ok(lock),
        Ok(false) => Err(StoreError::ProfileInUse {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(StoreError::CannotOpen {
            path: PathBuf::from(&lock_path),
            reason: e.to_string(),
        }),
    }
}

/// Makes the database file readable and writable by its owner only (0600 on Unix), creating
/// it so if it does not exist: SQLite gives its `-wal` and `-shm` files the database's mode,
/// so they are created 0600 too, never readable by another local user for a moment.
pub(crate) fn owner_only(path: &Path) -> Result<(), StoreError> {
    let cannot = |e: std::io::Error| StoreError::CannotOpen {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        options.open(path).map_err(cannot)?;
        // A profile made before this rule: tightened now.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(cannot)?;
    }
    #[cfg(not(unix))]
    options.open(path).map_err(cannot)?;
    Ok(())
}

fn corrupt(path: &Path, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Read-only checks of an existing file, before anything is written to it.
fn check_existing(connection: &Connection, path: &Path) -> Result<(), StoreError> {
    let app_id: i64 = connection
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| corrupt(path, e))?;
    if app_id != APPLICATION_ID {
        return Err(corrupt(path, format!("application_id is {app_id:#x}")));
    }
    let check: String = connection
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| corrupt(path, e))?;
    if check != "ok" {
        return Err(corrupt(path, check));
    }
    if table_exists(connection, HISTORY_TABLE).map_err(|e| corrupt(path, e))? {
        let found: Option<i64> = connection
            .query_row(
                &format!("SELECT MAX(version) FROM {HISTORY_TABLE}"),
                [],
                |r| r.get(0),
            )
            .map_err(|e| corrupt(path, e))?;
        let found = found.unwrap_or(0);
        if found > schema_version() {
            return Err(StoreError::NewerSchema {
                path: path.to_path_buf(),
                found,
                supported: schema_version(),
            });
        }
    }
    if table_exists(connection, "conclave_meta").map_err(|e| corrupt(path, e))? {
        let codec: Option<String> = connection
            .query_row(
                "SELECT value FROM conclave_meta WHERE key = 'mls_codec'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| corrupt(path, e))?;
        if let Some(codec) = codec.filter(|c| c != MLS_CODEC_NAME) {
            return Err(StoreError::InvalidData(format!(
                "MLS state is in codec {codec:?}, which this build cannot read"
            )));
        }
    }
    Ok(())
}

fn table_exists(connection: &Connection, name: &str) -> rusqlite::Result<bool> {
    connection.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [name],
        |r| r.get(0),
    )
}

/// How many prepared statements a profile's connection keeps.
const STATEMENT_CACHE_CAPACITY: usize = 128;

/// A connection to the profile at `path`, keyed (`key`: the file key and salt) and
/// configured; an `existed` file is checked first (the key, then the file).
fn connect(
    path: &Path,
    key: Option<&(ProfileKey, [u8; 16])>,
    existed: bool,
) -> Result<Connection, StoreError> {
    let open = || {
        Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::CannotOpen {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    };
    let connection = match key {
        Some((key, salt)) if existed => {
            at_rest::open_existing(path, &ProfileSecret::Key(key.clone()), salt, open)?
        }
        Some((key, salt)) => {
            let connection = open()?;
            let format = at_rest::PageFormat::ALL[0];
            at_rest::set_key(&connection, &ProfileSecret::Key(key.clone()), salt, format)?;
            connection
        }
        None => open()?,
    };
    connection.busy_timeout(BUSY_TIMEOUT)?;
    // Before anything reads the file: the WAL index is kept in memory only if the mode is
    // exclusive when the WAL is first opened.
    connection.query_row("PRAGMA locking_mode = EXCLUSIVE", [], |_| Ok(()))?;
    if existed {
        check_existing(&connection, path)?;
    }
    configure(&connection, path)?;
    Ok(connection)
}

fn configure(connection: &Connection, path: &Path) -> Result<(), StoreError> {
    let mode: String = connection
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|e| corrupt(path, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::CannotOpen {
            path: path.to_path_buf(),
            reason: format!("cannot use WAL journal (got {mode})"),
        });
    }
    // openmls_sqlite_storage's statements (patched to be cached) and the messenger's, with
    // room to spare: an evicted statement is compiled again on its next use.
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    connection.execute_batch(
        "PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA secure_delete = ON;
         PRAGMA temp_store = MEMORY;",
    )?;
    Ok(())
}

fn migrate(connection: &mut Connection, path: &Path) -> Result<(), StoreError> {
    openmls_sqlite_storage::SqliteStorageProvider::<crate::codec::MlsCodec, &mut Connection>::new(
        connection,
    )
    .run_migrations()
    .map_err(|e| StoreError::Migration(format!("openmls storage: {e}")))?;
    // Foreign keys off while migrating: rebuilding a table (V4) must not cascade its drop to
    // the rows that refer to it (SQLite's documented rebuild procedure), and the pragma has
    // no effect inside the migrations' transactions. Checked before they are switched on again.
    connection.execute_batch("PRAGMA foreign_keys = OFF;")?;
    let mut runner = migrations::runner();
    runner.set_migration_table_name(HISTORY_TABLE);
    let migrated = runner
        .run(connection)
        .map_err(|e| StoreError::Migration(e.to_string()));
    connection.execute_batch("PRAGMA foreign_keys = ON;")?;
    // Checked only after a migration ran: it reads every row that has a foreign key.
    if !migrated?.applied_migrations().is_empty() {
        let dangling: Option<String> = connection
            .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
            .optional()?;
        if let Some(table) = dangling {
            return Err(StoreError::Migration(format!(
                "{}: rows of {table} refer to rows that do not exist",
                path.display()
            )));
        }
    }
    connection
        .execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS conclave_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT OR IGNORE INTO conclave_meta (key, value) VALUES ('mls_codec', '{MLS_CODEC_NAME}');
             PRAGMA application_id = {APPLICATION_ID};"
        ))
        .map_err(|e| StoreError::Migration(format!("{}: {e}", path.display())))?;
    Ok(())
}

/// A write transaction: MLS state and messenger tables change together or not at all.
///
/// Groups are reached only through [`Tx::group`] (or added with [`Tx::insert_group`]), which
/// borrow the transaction: a group cannot be used once its transaction is gone. If the
/// transaction is dropped without [`Tx::commit`] (or the commit fails), it rolls back and every
/// group it touched is evicted from the store's cache, so the next transaction reloads it from
/// the file instead of using memory that ran ahead of what was stored.
pub struct Tx<'s> {
    tx: Option<Transaction<'s>>,
    crypto: &'s Crypto,
    groups: &'s mut HashMap<GroupId, Group>,
    sent_commits: &'s mut HashMap<GroupId, CommitDigest>,
    touched: HashSet<GroupId>,
}

/// A group borrowed from a transaction, with the provider its calls take.
pub struct GroupRef<'t> {
    /// The group, loaded from this transaction's view of the file (or the cache).
    pub group: &'t mut Group,
    /// The provider over this transaction.
    pub provider: Provider<'t>,
}

impl<'s> Tx<'s> {
    pub(crate) fn connection(&self) -> &Connection {
        self.tx
            .as_ref()
            .expect("transaction is open until commit or drop")
    }

    /// The openmls provider over this transaction.
    pub fn provider(&self) -> Provider<'_> {
        Provider::new(self.crypto, self.connection())
    }

    /// The group `id`, from the cache or loaded from the file.
    pub fn group(&mut self, id: &GroupId) -> Result<GroupRef<'_>, StoreError> {
        let connection: &Connection = self.tx.as_ref().expect("open transaction");
        let provider = Provider::new(self.crypto, connection);
        self.touched.insert(id.clone());
        let group = match self.groups.entry(id.clone()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let mut group = Group::load(&provider, id)?;
                let stored = read_sent_commit(connection, id)?;
                if let Some(digest) = stored {
                    group.restore_sent_commit(digest);
                    self.sent_commits.insert(id.clone(), digest);
                } else {
                    self.sent_commits.remove(id);
                }
                e.insert(group)
            }
        };
        Ok(GroupRef { group, provider })
    }

    /// Adds a group made in this transaction (by `Group::create` or `Group::join` with
    /// [`Tx::provider`]) to the store. Its state is already written; this caches it.
    pub fn insert_group(&mut self, group: Group) {
        let id = group.id();
        self.touched.insert(id.clone());
        self.groups.insert(id, group);
    }

    /// Deletes a group's MLS state.
    pub fn delete_group(&mut self, id: &GroupId) -> Result<(), StoreError> {
        self.touched.insert(id.clone());
        let provider = Provider::new(self.crypto, self.tx.as_ref().expect("open transaction"));
        let group = match self.groups.remove(id) {
            Some(group) => group,
            None => Group::load(&provider, id)?,
        };
        group.delete(&provider)?;
        self.connection()
            .prepare_cached("DELETE FROM sent_commits WHERE group_id = ?1")?
            .execute([id.as_bytes()])?;
        self.sent_commits.remove(id);
        Ok(())
    }

    /// Writes the [`Group::sent_commit`] digests that changed in the touched groups.
    fn store_sent_commits(&self) -> Result<Vec<(GroupId, Option<CommitDigest>)>, StoreError> {
        let mut changed = Vec::new();
        for id in &self.touched {
            let Some(group) = self.groups.get(id) else {
                continue; // deleted
            };
            let now = group.sent_commit();
            if now == self.sent_commits.get(id).copied() {
                continue;
            }
            match now {
                Some(digest) => self
                    .connection()
                    .prepare_cached(
                        "INSERT INTO sent_commits (group_id, digest) VALUES (?1, ?2)
                         ON CONFLICT (group_id) DO UPDATE SET digest = excluded.digest",
                    )?
                    .execute(rusqlite::params![id.as_bytes(), &digest[..]])?,
                None => self
                    .connection()
                    .prepare_cached("DELETE FROM sent_commits WHERE group_id = ?1")?
                    .execute([id.as_bytes()])?,
            };
            changed.push((id.clone(), now));
        }
        Ok(changed)
    }

    /// Commits. On failure the transaction is rolled back and touched groups are evicted.
    pub fn commit(mut self) -> Result<(), StoreError> {
        // On failure `self` drops with the transaction still in it: rolled back, evicted.
        self.index_for_search()?;
        let sent_commits = self.store_sent_commits()?;
        let tx = self.tx.take().expect("commit once");
        match tx.commit() {
            Ok(()) => {
                self.touched.clear();
                for (id, digest) in sent_commits {
                    match digest {
                        Some(digest) => self.sent_commits.insert(id, digest),
                        None => self.sent_commits.remove(&id),
                    };
                }
                Ok(())
            }
            Err(e) => Err(e.into()), // Drop evicts.
        }
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        // Not committed (or the commit failed): memory may be ahead of the file.
        for id in self.touched.drain() {
            self.groups.remove(&id);
        }
        // Dropping the rusqlite transaction rolls it back.
        self.tx.take();
    }
}

fn read_sent_commit(
    connection: &Connection,
    id: &GroupId,
) -> Result<Option<CommitDigest>, StoreError> {
    let bytes: Option<Vec<u8>> = connection
        .prepare_cached("SELECT digest FROM sent_commits WHERE group_id = ?1")?
        .query_row([id.as_bytes()], |r| r.get(0))
        .optional()?;
    bytes
        .map(|b| {
            CommitDigest::try_from(b.as_slice()).map_err(|_| {
                StoreError::InvalidData("a sent commit's digest is not 32 bytes".into())
            })
        })
        .transpose()
}

/// Loads the identity record stored in the profile.
impl Tx<'_> {
    /// This device's identity record, if the profile has one.
    pub fn identity_record(&self) -> Result<Option<IdentityRecord>, StoreError> {
        let json: Option<String> = self
            .connection()
            .query_row("SELECT identity FROM profile WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| StoreError::InvalidData(e.to_string())))
            .transpose()
    }
}

#[cfg(test)]
mod tests;
