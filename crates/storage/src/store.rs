//! Opening a profile, and transactions over it.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use conclave_protocol::Crypto;
use conclave_protocol::{Group, GroupId, Identity, IdentityRecord};
use fs4::fs_std::FileExt;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};

use crate::StoreError;
use crate::codec::MLS_CODEC_NAME;
use crate::provider::Provider;

refinery::embed_migrations!("migrations");

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
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let lock = lock_profile(&path)?;
        let existed = std::fs::metadata(&path)
            .map(|m| m.len() > 0)
            .unwrap_or(false);
        let mut connection = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::CannotOpen {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        // Before anything reads the file: the WAL index is kept in memory only if the mode is
        // exclusive when the WAL is first opened.
        connection.query_row("PRAGMA locking_mode = EXCLUSIVE", [], |_| Ok(()))?;
        if existed {
            check_existing(&connection, &path)?;
        }
        configure(&connection, &path)?;
        migrate(&mut connection, &path)?;
        let mut store = Self {
            connection,
            crypto: Crypto::default(),
            groups: HashMap::new(),
            path,
            _lock: lock,
        };
        store.sync()?;
        Ok(store)
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
    pub fn sync(&mut self) -> Result<(), StoreError> {
        self.connection
            .query_row("PRAGMA wal_checkpoint(FULL)", [], |_| Ok(()))?;
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

fn lock_profile(path: &Path) -> Result<File, StoreError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
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
            std::collections::hash_map::Entry::Vacant(e) => e.insert(Group::load(&provider, id)?),
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
        Ok(())
    }

    /// Commits. On failure the transaction is rolled back and touched groups are evicted.
    pub fn commit(mut self) -> Result<(), StoreError> {
        // On failure `self` drops with the transaction still in it: rolled back, evicted.
        self.index_for_search()?;
        let tx = self.tx.take().expect("commit once");
        match tx.commit() {
            Ok(()) => {
                self.touched.clear();
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
mod tests {
    use super::*;

    /// A profile file as schema `version` of ours left it (openmls_sqlite_storage's tables
    /// included), to be opened by the current [`Store`].
    fn profile_at_version(path: &Path, version: i32) -> Connection {
        let mut conn = Connection::open(path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
        openmls_sqlite_storage::SqliteStorageProvider::<crate::codec::MlsCodec, _>::new(&mut conn)
            .run_migrations()
            .unwrap();
        let mut runner = migrations::runner().set_target(refinery::Target::Version(version));
        runner.set_migration_table_name(HISTORY_TABLE);
        runner.run(&mut conn).unwrap();
        conn.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID};"))
            .unwrap();
        conn
    }

    /// A profile at V4, whose MLS state sits in openmls_sqlite_storage's own
    /// `openmls_group_data` (with its `IN` check), keeps its groups through V5's rebuild of
    /// that table, and they carry on.
    #[test]
    fn v4_profiles_keep_their_groups_through_v5() {
        use conclave_protocol::{DeviceId, GroupConfig, MemberId, UserName};

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.sqlite");
        let config = GroupConfig::default();
        let crypto = Crypto::default();
        let (identity, id, epoch, authenticator) = {
            let conn = profile_at_version(&path, 4);
            let schema: String = conn
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE name = 'openmls_group_data'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(schema.contains("IN ("), "{schema}");
            let provider = Provider::new(&crypto, &conn);
            let member = MemberId::new(UserName::new("a").unwrap(), DeviceId::new("d").unwrap());
            let identity = Identity::create(&provider, member, config.ciphersuite).unwrap();
            let mut group = Group::create(&provider, &identity, &config, "before V5").unwrap();
            group.self_update(&provider, &identity).unwrap();
            group.merge_pending_commit(&provider).unwrap();
            (
                identity,
                group.id(),
                group.epoch(),
                group.epoch_authenticator(),
            )
        };

        let mut store = Store::open(&path).unwrap();
        let schema: String = store
            .connection
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'openmls_group_data'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!schema.contains("CHECK"), "{schema}");
        let mut tx = store.transaction().unwrap();
        let g = tx.group(&id).unwrap();
        assert_eq!(g.group.name(), "before V5");
        assert_eq!(g.group.epoch(), epoch);
        assert_eq!(g.group.epoch_authenticator(), authenticator);
        g.group.self_update(&g.provider, &identity).unwrap();
        g.group.merge_pending_commit(&g.provider).unwrap();
        tx.commit().unwrap();
        drop(store);
        let mut store = Store::open(&path).unwrap();
        let mut tx = store.transaction().unwrap();
        assert_eq!(tx.group(&id).unwrap().group.epoch(), epoch + 1);
    }

    /// A group's stored tree keeps its size from epoch to epoch (openmls patch 12: its tree
    /// hash is one byte string, not one MessagePack integer of one or two bytes per byte), so
    /// that SQLite writes a commit's changed pages over the old row instead of freeing and
    /// rewriting the whole tree.
    #[test]
    fn a_stored_tree_keeps_its_size_across_epochs() {
        use conclave_protocol::{DeviceId, GroupConfig, MemberId, UserName};

        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path().join("p.sqlite")).unwrap();
        let config = GroupConfig::default();
        let tx = store.transaction().unwrap();
        let member = MemberId::new(UserName::new("a").unwrap(), DeviceId::new("d").unwrap());
        let identity = Identity::create(&tx.provider(), member, config.ciphersuite).unwrap();
        let mut group = Group::create(&tx.provider(), &identity, &config, "sizes").unwrap();
        let mut sizes = Vec::new();
        for _ in 0..8 {
            group.self_update(&tx.provider(), &identity).unwrap();
            group.merge_pending_commit(&tx.provider()).unwrap();
            let size: i64 = tx
                .connection()
                .query_row(
                    "SELECT length(group_data) FROM openmls_group_data WHERE data_type = 'tree'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            sizes.push(size);
        }
        assert!(sizes.iter().all(|&s| s == sizes[0]), "{sizes:?}");
    }

    /// Profiles at V5 (openmls_sqlite_storage's tables as rowid tables) keep their key
    /// packages, keys and groups through V6's rebuild of those tables as WITHOUT ROWID: a
    /// member joins with a key package stored before the upgrade, and both members carry on.
    #[test]
    fn v5_profiles_keep_key_packages_and_groups_through_v6() {
        use conclave_protocol::{DeviceId, GroupConfig, MemberId, UserName};

        let dir = tempfile::tempdir().unwrap();
        let (path_a, path_b) = (dir.path().join("a.sqlite"), dir.path().join("b.sqlite"));
        let config = GroupConfig::default();
        let crypto = Crypto::default();
        let member =
            |name: &str| MemberId::new(UserName::new(name).unwrap(), DeviceId::new("d").unwrap());
        let (alice, bob, id, key_package) = {
            let conn_a = profile_at_version(&path_a, 5);
            let conn_b = profile_at_version(&path_b, 5);
            let (pa, pb) = (
                Provider::new(&crypto, &conn_a),
                Provider::new(&crypto, &conn_b),
            );
            let alice = Identity::create(&pa, member("alice"), config.ciphersuite).unwrap();
            let bob = Identity::create(&pb, member("bob"), config.ciphersuite).unwrap();
            let key_package = bob.key_packages(&pb, &config, 1).unwrap().remove(0).bytes;
            let mut group = Group::create(&pa, &alice, &config, "before V6").unwrap();
            group.self_update(&pa, &alice).unwrap();
            group.merge_pending_commit(&pa).unwrap();
            (alice, bob, group.id(), key_package)
        };

        let mut a = Store::open(&path_a).unwrap();
        let mut b = Store::open(&path_b).unwrap();
        for store in [&a, &b] {
            for table in [
                "openmls_group_data",
                "openmls_encryption_keys",
                "openmls_epoch_keys_pairs",
                "openmls_key_packages",
                "openmls_psks",
                "openmls_signature_keys",
            ] {
                let schema: String = store
                    .connection
                    .query_row(
                        "SELECT sql FROM sqlite_master WHERE name = ?1",
                        [table],
                        |r| r.get(0),
                    )
                    .unwrap();
                assert!(schema.ends_with("WITHOUT ROWID"), "{schema}");
            }
        }
        let mut tx = a.transaction().unwrap();
        let g = tx.group(&id).unwrap();
        assert_eq!(g.group.name(), "before V6");
        let invitation = g
            .group
            .add_members(&g.provider, &alice, &[key_package])
            .unwrap()
            .invitation
            .unwrap();
        g.group.merge_pending_commit(&g.provider).unwrap();
        tx.commit().unwrap();
        let mut tx = b.transaction().unwrap();
        let joined = Group::join(
            &tx.provider(),
            &config,
            &invitation.welcome,
            Some(&invitation.ratchet_tree),
        )
        .unwrap();
        tx.insert_group(joined);
        tx.commit().unwrap();

        let mut tx = a.transaction().unwrap();
        let g = tx.group(&id).unwrap();
        let update = g.group.self_update(&g.provider, &alice).unwrap().commit;
        g.group.merge_pending_commit(&g.provider).unwrap();
        let (epoch, authenticator) = (g.group.epoch(), g.group.epoch_authenticator());
        tx.commit().unwrap();
        let mut tx = b.transaction().unwrap();
        let g = tx.group(&id).unwrap();
        g.group.process(&g.provider, &update).unwrap();
        let sealed = g.group.encrypt(&g.provider, &bob, b"after V6").unwrap();
        assert_eq!(g.group.epoch(), epoch);
        assert_eq!(g.group.epoch_authenticator(), authenticator);
        tx.commit().unwrap();
        let mut tx = a.transaction().unwrap();
        let g = tx.group(&id).unwrap();
        let events = g.group.process(&g.provider, &sealed).unwrap();
        assert!(
            matches!(&events[..], [conclave_protocol::GroupEvent::Message { plaintext, .. }]
                if plaintext == b"after V6"),
            "{events:?}"
        );
    }

    /// A profile written by schema V3 (the per-row search trigger, `IN` checks) keeps its
    /// messages, their search entries and the outbox rows that refer to them through the V4
    /// rebuild of `messages`, and carries on.
    #[test]
    fn v3_profiles_keep_messages_search_and_outbox_through_v4() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.sqlite");
        {
            let conn = profile_at_version(&path, 3);
            conn.execute_batch(
                "PRAGMA foreign_keys = ON;
                 INSERT INTO conversations (id, group_id, name, created_at) VALUES (1, x'01', 'c', 0);
                 INSERT INTO messages (id, conversation_id, uid, sender_user, sender_device,
                                       sent_at, body, state, outgoing)
                 VALUES (10, 1, x'0a', 'me', 'd', 1, 'before the upgrade', 'pending', 1),
                        (11, 1, x'0b', 'them', 'd', 2, 'an answer', 'received', 0);
                 INSERT INTO outbox (conversation_id, message_id, kind, payload, created_at)
                 VALUES (1, 10, 'application', x'00', 0);",
            )
            .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        let tx = store.transaction().unwrap();
        assert_eq!(tx.outbox(10).unwrap().len(), 1, "the outbox row survived");
        assert_eq!(tx.search("upgrade", 10).unwrap()[0].id.0, 10);
        let c = crate::ConversationId(1);
        assert_eq!(tx.history(c, None, 10).unwrap().len(), 2);
        let new = crate::NewMessage {
            conversation: c,
            uid: vec![0x0c],
            sender: conclave_protocol::MemberId::new(
                conclave_protocol::UserName::new("them").unwrap(),
                conclave_protocol::DeviceId::new("d").unwrap(),
            ),
            sent_at: 3,
            received_at: Some(3),
            body: "after the upgrade".into(),
            state: crate::MessageState::Received,
            server_seq: None,
            outgoing: false,
            kind: crate::MessageKind::Text,
        };
        tx.insert_message(&new).unwrap().unwrap();
        tx.commit().unwrap();
        let tx = store.transaction().unwrap();
        assert_eq!(tx.search("upgrade", 10).unwrap().len(), 2);
        let refused = tx.connection().execute(
            "INSERT INTO messages (conversation_id, uid, sender_user, sender_device, sent_at,
                                   body, state, outgoing, kind)
             VALUES (1, x'0e', 'x', 'd', 0, 'b', 'bogus', 0, 'text')",
            [],
        );
        assert!(refused.is_err(), "the state check still holds");
        drop(tx);
        drop(store);
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)",
            [],
        )
        .expect("the full-text index matches the messages");
    }
}
