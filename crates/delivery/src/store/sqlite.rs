//! The SQLite store: one database file, one writer thread for every write (`writer.rs`), and
//! a small pool of reading connections beside it (WAL lets them run while it writes).

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Condvar, Mutex};

use conclave_delivery_api::{
    ClaimResponse, ClaimedKeyPackage, DeviceInfo, DeviceRef, KeyPackageStock, KeyPackageStocks,
    MessageKind, QueueItem, QueuePage,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::queue::{Outgoing, QueueRow, Quota, dequeue, enqueue};
use super::rules::{COMMITS_KEPT, PageFill, as_seconds, check_roster, chunk_is_new, kind_of, now};
use super::writer::{Jobs, Writer};
use super::{
    Delivered, Delivery, DeliveryStore, DeviceRecord, GroupInfoRecord, KeyPackageEntry, LinkRecord,
    Nonce, QueueQuota, StoreError,
};

#[allow(missing_docs)]
mod embedded {
    refinery::embed_migrations!("migrations");
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Internal(e.to_string())
    }
}

/// The SQLite store. See the module docs.
pub struct SqliteStore {
    jobs: Jobs,
    readers: Mutex<Readers>,
    reader_freed: Condvar,
    path: std::path::PathBuf,
    durability: Durability,
}

/// How a commit reaches the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous = FULL`: every group commit is fsynced before anyone is answered, so an
    /// accepted message survives a power loss. The default.
    #[default]
    Full,
    /// `synchronous = NORMAL`: an accepted message survives the server process crashing
    /// (SIGKILL), not the machine losing power. Group commits no longer wait for the disk's
    /// fsync, which on slow disks is most of a request's latency.
    Process,
}

fn open(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    owner_only(path)?;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA foreign_keys = ON;",
    )?;
    conn.execute_batch(match durability {
        Durability::Full => "PRAGMA synchronous = FULL;",
        Durability::Process => "PRAGMA synchronous = NORMAL;",
    })?;
    Ok(conn)
}

/// The database file, readable and writable by the server's user only (0600 on Unix; its
/// `-wal` and `-shm` get the same mode from SQLite), created so before SQLite opens it.
fn owner_only(path: &Path) -> Result<(), StoreError> {
    let failed = |e: std::io::Error| StoreError::Internal(format!("{}: {e}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600).open(path).map_err(failed)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(failed)
    }
    #[cfg(not(unix))]
    options.open(path).map(drop).map_err(failed)
}

impl SqliteStore {
    /// Opens (creating or migrating) the database at `path`.
    pub fn open(path: &Path, durability: Durability) -> Result<Self, StoreError> {
        let mut writer = open(path, durability)?;
        // Checkpoints run in the writer, between batches. Every delivery touches the tail of
        // ten different queues, so consecutive batches dirty the same pages again and again:
        // checkpointing every 20,000 log pages (80 MiB) instead of SQLite's 1,000 copies each
        // page into the database once per many rewrites, which kept the load generator's
        // deliveries per second from falling as queues grew (16,000/s after 40 s before, over
        // 20,000/s after; docs/PERFORMANCE.md). Savepoints' journals stay in memory.
        writer.execute_batch(
            "PRAGMA wal_autocheckpoint = 20000;
             PRAGMA temp_store = MEMORY;",
        )?;
        let mut runner = embedded::migrations::runner();
        runner.set_migration_table_name("conclave_ds_migrations");
        runner
            .run(&mut writer)
            .map_err(|e| StoreError::Internal(format!("migration: {e}")))?;
        Ok(Self {
            jobs: Jobs::start(writer)?,
            readers: Mutex::new(Readers::default()),
            reader_freed: Condvar::new(),
            path: path.to_path_buf(),
            durability,
        })
    }

    pub(super) fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Writer) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.jobs.write(f)
    }

    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let poisoned = |_| StoreError::Internal("reader lock poisoned".into());
        let conn = {
            let mut pool = self.readers.lock().map_err(poisoned)?;
            loop {
                if let Some(conn) = pool.idle.pop() {
                    break conn;
                }
                if pool.open < MAX_READERS {
                    pool.open += 1;
                    drop(pool);
                    match open(&self.path, self.durability) {
                        Ok(conn) => break conn,
                        Err(e) => {
                            let mut pool = self.readers.lock().map_err(poisoned)?;
                            pool.open -= 1;
                            self.reader_freed.notify_one();
                            return Err(e);
                        }
                    }
                }
                pool = self.reader_freed.wait(pool).map_err(poisoned)?;
            }
        };
        let result = f(&conn);
        if let Ok(mut pool) = self.readers.lock() {
            pool.idle.push(conn);
            self.reader_freed.notify_one();
        }
        result
    }
}

/// Reading connections at most: reads beyond wait for one. Each connection keeps a page
/// cache, and the blocking threads that run reads would otherwise each open their own.
const MAX_READERS: usize = 16;

/// The reading connections: idle ones, and how many are open in all.
#[derive(Default)]
struct Readers {
    idle: Vec<Connection>,
    open: usize,
}

pub(super) fn insert_nonce(
    conn: &Connection,
    device: i64,
    nonce: &Nonce,
) -> Result<(), StoreError> {
    match conn.execute(
        "INSERT INTO nonces (device_id, nonce, expires_at) VALUES (?1, ?2, ?3)",
        params![device, nonce.nonce, nonce.expires_at as i64],
    ) {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(StoreError::Replay)
        }
        Err(e) => Err(e.into()),
    }
}

fn insert_device(
    conn: &Connection,
    user_id: i64,
    user: &str,
    device: &str,
    key: &[u8],
    ciphersuite: u16,
) -> Result<DeviceRecord, StoreError> {
    match conn.execute(
        "INSERT INTO devices (user_id, name, signature_key, ciphersuite, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![user_id, device, key, ciphersuite, now() as i64],
    ) {
        Ok(_) => Ok(DeviceRecord {
            id: conn.last_insert_rowid(),
            user: user.to_owned(),
            device: device.to_owned(),
            signature_key: key.to_vec(),
            ciphersuite,
            revoked: false,
        }),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(StoreError::NameTaken(format!("{user}/{device}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// A device's key packages in each suite that are still within their lifetime.
fn stocks_of(conn: &Connection, device: i64) -> Result<KeyPackageStocks, StoreError> {
    let suites = conn
        .prepare_cached(
            "SELECT ciphersuite, SUM(last_resort = 0), SUM(last_resort = 1)
             FROM key_packages WHERE device_id = ?1 AND not_after >= ?2
             GROUP BY ciphersuite ORDER BY ciphersuite",
        )?
        .query_map(params![device, as_seconds(now())], |r| {
            Ok(KeyPackageStock {
                ciphersuite: r.get(0)?,
                available: r.get::<_, i64>(1)? as u32,
                has_last_resort: r.get::<_, i64>(2)? > 0,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(KeyPackageStocks { suites })
}

pub(super) fn device_ref(conn: &Connection, id: i64) -> Result<DeviceRef, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT u.name, d.name FROM devices d JOIN users u ON u.id = d.user_id WHERE d.id = ?1",
        )?
        .query_row([id], |r| {
            Ok(DeviceRef {
                user: r.get(0)?,
                device: r.get(1)?,
            })
        })?)
}

impl DeliveryStore for SqliteStore {
    fn all_devices(&self) -> Result<Vec<DeviceRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT d.id, u.name, d.name, d.signature_key, d.ciphersuite,
                        d.revoked_at IS NOT NULL
                 FROM devices d JOIN users u ON u.id = d.user_id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(DeviceRecord {
                    id: r.get(0)?,
                    user: r.get(1)?,
                    device: r.get(2)?,
                    signature_key: r.get(3)?,
                    ciphersuite: r.get(4)?,
                    revoked: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn devices_named(&self, names: &[(String, String)]) -> Result<Vec<DeviceRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT d.id, u.name, d.name, d.signature_key, d.ciphersuite,
                        d.revoked_at IS NOT NULL
                 FROM devices d JOIN users u ON u.id = d.user_id
                 WHERE u.name = ?1 AND d.name = ?2",
            )?;
            let mut found = Vec::new();
            for (user, device) in names {
                let record = stmt
                    .query_row(params![user, device], |r| {
                        Ok(DeviceRecord {
                            id: r.get(0)?,
                            user: r.get(1)?,
                            device: r.get(2)?,
                            signature_key: r.get(3)?,
                            ciphersuite: r.get(4)?,
                            revoked: r.get(5)?,
                        })
                    })
                    .optional()?;
                found.extend(record);
            }
            Ok(found)
        })
    }

    fn register(
        &self,
        user: &str,
        device: &str,
        key: &[u8],
        ciphersuite: u16,
        max_devices: u32,
        nonce: Nonce,
    ) -> Result<DeviceRecord, StoreError> {
        let (user, device, key) = (user.to_owned(), device.to_owned(), key.to_vec());
        self.write(move |w| {
            let conn = &w.conn;
            let inserted = conn.execute(
                "INSERT INTO users (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                params![user, now() as i64],
            )?;
            let user_id = if inserted == 1 {
                conn.last_insert_rowid()
            } else {
                // An existing user: only a device one of its devices granted, with that key.
                let granted: Option<i64> = conn
                    .query_row(
                        "DELETE FROM device_grants
                         WHERE user_id = (SELECT id FROM users WHERE name = ?1) AND name = ?2
                           AND signature_key = ?3 AND ciphersuite = ?4 AND expires_at >= ?5
                         RETURNING user_id",
                        params![user, device, key, ciphersuite, now() as i64],
                        |r| r.get(0),
                    )
                    .optional()?;
                let Some(user_id) = granted else {
                    return Err(StoreError::NameTaken(user));
                };
                if live_devices(conn, user_id)? >= i64::from(max_devices) {
                    return Err(StoreError::TooManyDevices { max: max_devices });
                }
                user_id
            };
            let record = insert_device(conn, user_id, &user, &device, &key, ciphersuite)?;
            insert_nonce(conn, record.id, &nonce)?;
            Ok(record)
        })
    }

    fn grant_device(
        &self,
        by: &DeviceRecord,
        grant: conclave_delivery_api::DeviceGrant,
        expires_at: u64,
        nonce: Nonce,
    ) -> Result<(), StoreError> {
        let by = by.clone();
        self.write(move |w| {
            let conn = &w.conn;
            insert_nonce(conn, by.id, &nonce)?;
            let user_id = user_of(conn, by.id)?;
            let taken: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM devices WHERE user_id = ?1 AND name = ?2)",
                params![user_id, grant.device],
                |r| r.get(0),
            )?;
            if taken {
                return Err(StoreError::NameTaken(format!(
                    "{}/{}",
                    by.user, grant.device
                )));
            }
            conn.execute(
                "INSERT OR REPLACE INTO device_grants
                     (user_id, name, signature_key, ciphersuite, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    user_id,
                    grant.device,
                    grant.signature_key.0,
                    grant.ciphersuite,
                    expires_at as i64
                ],
            )?;
            Ok(())
        })
    }

    fn revoke_device(
        &self,
        by: &DeviceRecord,
        device: &str,
        nonce: Nonce,
    ) -> Result<DeviceRecord, StoreError> {
        let (by, device) = (by.clone(), device.to_owned());
        self.write(move |w| {
            let conn = &w.conn;
            insert_nonce(conn, by.id, &nonce)?;
            let found: Option<(i64, Vec<u8>, u16)> = conn
                .query_row(
                    "SELECT d.id, d.signature_key, d.ciphersuite FROM devices d
                     WHERE d.user_id = (SELECT user_id FROM devices WHERE id = ?1)
                       AND d.name = ?2 AND d.revoked_at IS NULL",
                    params![by.id, device],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((id, signature_key, ciphersuite)) = found else {
                return Err(StoreError::NoSuchDevice(format!("{}/{device}", by.user)));
            };
            conn.execute(
                "UPDATE devices SET revoked_at = ?2 WHERE id = ?1",
                params![id, now() as i64],
            )?;
            conn.execute("DELETE FROM group_members WHERE device_id = ?1", [id])?;
            conn.execute("DELETE FROM key_packages WHERE device_id = ?1", [id])?;
            dequeue(conn, "device_id = ?1", [id])?;
            Ok(DeviceRecord {
                id,
                user: by.user,
                device,
                signature_key,
                ciphersuite,
                revoked: true,
            })
        })
    }

    fn put_link_chunk(
        &self,
        by: &DeviceRecord,
        link: Vec<u8>,
        index: u32,
        data: Vec<u8>,
        max_bytes: u64,
        nonce: Nonce,
    ) -> Result<(), StoreError> {
        let by = by.clone();
        self.write(move |w| {
            let conn = &w.conn;
            insert_nonce(conn, by.id, &nonce)?;
            let user_id = user_of(conn, by.id)?;
            let (owner, bytes): (Option<i64>, i64) = conn.query_row(
                "SELECT MIN(user_id), COALESCE(SUM(length(data)), 0) FROM link_chunks
                 WHERE link = ?1",
                [&link],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if owner.is_some_and(|owner| owner != user_id) {
                return Err(StoreError::LinkConflict(
                    "this link belongs to another user".into(),
                ));
            }
            let existing: Option<Vec<u8>> = conn
                .query_row(
                    "SELECT data FROM link_chunks WHERE link = ?1 AND idx = ?2",
                    params![link, index],
                    |r| r.get(0),
                )
                .optional()?;
            if !chunk_is_new(existing, &data, index, StoreError::LinkConflict)? {
                return Ok(());
            }
            if bytes as u64 + data.len() as u64 > max_bytes {
                return Err(StoreError::LinkFull { max: max_bytes });
            }
            conn.execute(
                "INSERT INTO link_chunks (link, idx, user_id, data, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![link, index, user_id, data, now() as i64],
            )?;
            Ok(())
        })
    }

    fn link_chunk(&self, link: &[u8], index: u32) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT c.data, u.name FROM link_chunks c JOIN users u ON u.id = c.user_id
                     WHERE c.link = ?1 AND c.idx = ?2",
                )?
                .query_row(params![link, index], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?)
        })
    }

    fn delete_link(
        &self,
        by: &DeviceRecord,
        link: Vec<u8>,
        nonce: Nonce,
    ) -> Result<(), StoreError> {
        let by = by.clone();
        self.write(move |w| {
            let conn = &w.conn;
            insert_nonce(conn, by.id, &nonce)?;
            let deleted = conn.execute(
                "DELETE FROM link_chunks WHERE link = ?1
                   AND user_id = (SELECT user_id FROM devices WHERE id = ?2)",
                params![link, by.id],
            )?;
            let left: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM link_chunks WHERE link = ?1)",
                [&link],
                |r| r.get(0),
            )?;
            if deleted == 0 && left {
                return Err(StoreError::LinkConflict(
                    "this link belongs to another user".into(),
                ));
            }
            Ok(())
        })
    }

    fn create_blob(
        &self,
        by: &DeviceRecord,
        id: Vec<u8>,
        size: u64,
        quota: u64,
        nonce: Nonce,
    ) -> Result<(), StoreError> {
        let by = by.clone();
        self.write(move |w| {
            let conn = &w.conn;
            insert_nonce(conn, by.id, &nonce)?;
            let user_id = user_of(conn, by.id)?;
            let held: i64 = conn.query_row(
                "SELECT COALESCE(SUM(size), 0) FROM blobs WHERE user_id = ?1",
                [user_id],
                |r| r.get(0),
            )?;
            if held as u64 + size > quota {
                return Err(StoreError::BlobQuota { max: quota });
            }
            conn.execute(
                "INSERT INTO blobs (id, user_id, size, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![id, user_id, size as i64, now() as i64],
            )?;
            Ok(())
        })
    }

    fn put_blob_chunk(
        &self,
        by: &DeviceRecord,
        id: Vec<u8>,
        index: u32,
        data: Vec<u8>,
        nonce: Nonce,
    ) -> Result<(), StoreError> {
        let by = by.clone();
        self.write(move |w| {
            let conn = &w.conn;
            insert_nonce(conn, by.id, &nonce)?;
            let user_id = user_of(conn, by.id)?;
            let blob: Option<(i64, i64)> = conn
                .query_row(
                    "SELECT user_id, size FROM blobs WHERE id = ?1",
                    [&id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((owner, size)) = blob else {
                return Err(StoreError::NoSuchBlob);
            };
            if owner != user_id {
                return Err(StoreError::BlobConflict(
                    "this blob belongs to another user".into(),
                ));
            }
            let existing: Option<Vec<u8>> = conn
                .query_row(
                    "SELECT data FROM blob_chunks WHERE blob_id = ?1 AND idx = ?2",
                    params![id, index],
                    |r| r.get(0),
                )
                .optional()?;
            if !chunk_is_new(existing, &data, index, StoreError::BlobConflict)? {
                return Ok(());
            }
            let written: i64 = conn.query_row(
                "SELECT COALESCE(SUM(length(data)), 0) FROM blob_chunks WHERE blob_id = ?1",
                [&id],
                |r| r.get(0),
            )?;
            if written as u64 + data.len() as u64 > size as u64 {
                return Err(StoreError::BlobConflict(format!(
                    "the blob was declared as {size} bytes"
                )));
            }
            conn.execute(
                "INSERT INTO blob_chunks (blob_id, idx, data) VALUES (?1, ?2, ?3)",
                params![id, index, data],
            )?;
            Ok(())
        })
    }

    fn blob_chunk(&self, id: &[u8], index: u32) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT data FROM blob_chunks WHERE blob_id = ?1 AND idx = ?2")?
                .query_row(params![id, index], |r| r.get(0))
                .optional()?)
        })
    }

    fn add_device(
        &self,
        by: &DeviceRecord,
        device: &str,
        key: &[u8],
        ciphersuite: u16,
        max_devices: u32,
        nonce: Nonce,
    ) -> Result<DeviceRecord, StoreError> {
        let (by, device, key) = (by.clone(), device.to_owned(), key.to_vec());
        self.write(move |w| {
            let conn = &w.conn;
            insert_nonce(conn, by.id, &nonce)?;
            let user_id = user_of(conn, by.id)?;
            if live_devices(conn, user_id)? >= i64::from(max_devices) {
                return Err(StoreError::TooManyDevices { max: max_devices });
            }
            insert_device(conn, user_id, &by.user, &device, &key, ciphersuite)
        })
    }

    fn user_devices(&self, user: &str) -> Result<Vec<DeviceInfo>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT d.name, d.signature_key, d.ciphersuite, d.created_at, d.last_seen,
                        d.revoked_at
                 FROM devices d JOIN users u ON u.id = d.user_id
                 WHERE u.name = ?1 ORDER BY d.id",
            )?;
            let devices: Vec<DeviceInfo> = stmt
                .query_map([user], |r| {
                    Ok(DeviceInfo {
                        device: r.get(0)?,
                        signature_key: r.get::<_, Vec<u8>>(1)?.into(),
                        ciphersuite: r.get(2)?,
                        added_at: r.get::<_, i64>(3)? as u64,
                        last_seen: r.get::<_, Option<i64>>(4)?.map(|t| t as u64),
                        revoked_at: r.get::<_, Option<i64>>(5)?.map(|t| t as u64),
                    })
                })?
                .collect::<Result<_, _>>()?;
            if devices.is_empty() {
                return Err(StoreError::NoSuchUser(user.to_owned()));
            }
            Ok(devices)
        })
    }

    fn publish_key_packages(
        &self,
        device: i64,
        ciphersuite: u16,
        key_packages: Vec<KeyPackageEntry>,
        last_resort: Option<KeyPackageEntry>,
        max: u32,
        nonce: Nonce,
    ) -> Result<KeyPackageStock, StoreError> {
        self.write(move |w| {
            let conn = &w.conn;
            insert_nonce(conn, device, &nonce)?;
            seen(conn, device)?;
            let stock = stocks_of(conn, device)?.of(ciphersuite);
            if stock.available as usize + key_packages.len() > max as usize {
                return Err(StoreError::TooManyKeyPackages { max });
            }
            let mut insert = conn.prepare_cached(
                "INSERT INTO key_packages (device_id, ciphersuite, data, last_resort, not_after)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for kp in &key_packages {
                let not_after = as_seconds(kp.not_after);
                insert.execute(params![device, ciphersuite, kp.data, 0, not_after])?;
            }
            if let Some(kp) = &last_resort {
                conn.execute(
                    "DELETE FROM key_packages
                     WHERE device_id = ?1 AND ciphersuite = ?2 AND last_resort = 1",
                    params![device, ciphersuite],
                )?;
                let not_after = as_seconds(kp.not_after);
                insert.execute(params![device, ciphersuite, kp.data, 1, not_after])?;
            }
            Ok(stocks_of(conn, device)?.of(ciphersuite))
        })
    }

    fn stock(&self, device: i64) -> Result<KeyPackageStocks, StoreError> {
        self.read(|conn| stocks_of(conn, device))
    }

    fn claim(
        &self,
        by: i64,
        user: &str,
        device: Option<&str>,
        ciphersuite: Option<u16>,
        one_time: bool,
        nonce: Nonce,
    ) -> Result<ClaimResponse, StoreError> {
        let (user, device) = (user.to_owned(), device.map(str::to_owned));
        self.write(move |w| {
            let conn = &w.conn;
            insert_nonce(conn, by, &nonce)?;
            let devices: Vec<(i64, String, u16)> = conn
                .prepare_cached(
                    "SELECT d.id, d.name, d.ciphersuite FROM devices d
                     JOIN users u ON u.id = d.user_id
                     WHERE u.name = ?1 AND d.revoked_at IS NULL AND (?2 IS NULL OR d.name = ?2)
                     ORDER BY d.id",
                )?
                .query_map(params![user, device], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<Result<_, _>>()?;
            if devices.is_empty() {
                return Err(StoreError::NoSuchUser(user));
            }
            let mut response = ClaimResponse {
                user,
                key_packages: Vec::new(),
                unavailable: Vec::new(),
            };
            for (id, name, registered) in devices {
                let suite = ciphersuite.unwrap_or(registered);
                // A one-time package first (deleted as it is handed out), else the last-resort
                // one (never deleted).
                let found: Option<(i64, Vec<u8>, bool)> = conn
                    .prepare_cached(
                        "SELECT id, data, last_resort FROM key_packages
                         WHERE device_id = ?1 AND ciphersuite = ?2 AND (?3 OR last_resort)
                           AND not_after >= ?4
                         ORDER BY last_resort, id LIMIT 1",
                    )?
                    .query_row(params![id, suite, one_time, as_seconds(now())], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .optional()?;
                match found {
                    Some((kp_id, data, last_resort)) => {
                        if !last_resort {
                            conn.execute("DELETE FROM key_packages WHERE id = ?1", [kp_id])?;
                        }
                        response.key_packages.push(ClaimedKeyPackage {
                            device: name,
                            key_package: data.into(),
                            last_resort,
                        });
                    }
                    None => response.unavailable.push(name),
                }
            }
            Ok(response)
        })
    }

    fn deliver(
        &self,
        sender: &DeviceRecord,
        delivery: Delivery,
        quota: QueueQuota,
        nonce: Nonce,
    ) -> Result<Delivered, StoreError> {
        let sender_id = sender.id;
        self.write(move |w| {
            let conn = &w.conn;
            insert_nonce(conn, sender_id, &nonce)?;
            let current: Option<i64> = conn
                .prepare_cached("SELECT epoch FROM groups WHERE group_id = ?1")?
                .query_row([&delivery.group_id], |r| r.get(0))
                .optional()?;
            let roster = match current {
                Some(_) => roster(conn, &delivery.group_id)?,
                // A group's first message must be a commit: it starts the group, with its
                // sender as the only member.
                None if delivery.kind == MessageKind::Commit => [sender_id].into(),
                None => HashSet::new(),
            };
            // Checked before anything else: a non-member learns nothing of the group, not
            // even its epoch. The one exception is a device joining by external commit with
            // the group's invite link (one that needs no approval).
            let joiner = match &delivery.link_token_hash {
                Some(hash)
                    if !roster.contains(&sender_id)
                        && current.is_some()
                        && delivery.external
                        && delivery.kind == MessageKind::Commit =>
                {
                    if super::groups::check_link(conn, &delivery.group_id, hash, now())? {
                        return Err(StoreError::LinkInvalid(
                            "this invite link needs an admin's approval: ask to join instead"
                                .into(),
                        ));
                    }
                    Some(sender_id)
                }
                _ => None,
            };
            if !roster.contains(&sender_id) && joiner.is_none() {
                return Err(StoreError::NotMember);
            }
            let mut epoch = current.map_or(delivery.epoch, |e| e as u64);
            // Application messages and proposals belong to the epoch they were made in:
            // accepting them only in the group's current epoch means every member meets them
            // in that epoch, right after the commit that started it, and never needs old
            // epochs' keys to read them. A sender behind gets `stale_epoch`, catches up and
            // sends again.
            if delivery.kind != MessageKind::Commit && current.is_some() && delivery.epoch != epoch
            {
                return Err(StoreError::StaleEpoch { current: epoch });
            }
            if delivery.kind == MessageKind::Commit && current.is_some() && delivery.epoch != epoch
            {
                // Exactly one commit per epoch is accepted (a group's first commit sets it).
                return Err(StoreError::StaleEpoch { current: epoch });
            }
            if let Some(stranger) = delivery.recipients.iter().find(|r| !roster.contains(r)) {
                return Err(StoreError::Roster(format!(
                    "recipient {} is not a member of this group",
                    device_name(conn, *stranger)?
                )));
            }
            if delivery.kind == MessageKind::Commit {
                check_roster(&roster, sender_id, &delivery)?;
                if joiner.is_some() && !delivery.removed.is_empty() {
                    return Err(StoreError::Roster(
                        "a device joining by link removes no one".into(),
                    ));
                }
                let creator = current.is_none().then_some(sender_id);
                change_roster(conn, &delivery, creator.or(joiner))?;
                remember_commit(conn, sender_id, &delivery, joiner)?;
                epoch = delivery.epoch + 1;
                conn.prepare_cached(
                    "INSERT INTO groups (group_id, epoch) VALUES (?1, ?2)
                     ON CONFLICT (group_id) DO UPDATE SET epoch = excluded.epoch",
                )?
                .execute(params![delivery.group_id, epoch as i64])?;
            }
            let mut pushed = Vec::with_capacity(delivery.recipients.len());
            let message = Outgoing {
                sender_id,
                kind: delivery.kind,
                group_id: &delivery.group_id,
                epoch: delivery.epoch,
                message: &delivery.message,
                ratchet_tree: None,
            };
            let mut full = Vec::new();
            let mut quota = Quota {
                limit: quota,
                exempt: &delivery.removed,
                full: &mut full,
            };
            enqueue(
                w,
                &delivery.recipients,
                &message,
                quota.reborrow(),
                &mut pushed,
            )?;
            if let Some((recipients, welcome, tree)) = &delivery.welcome {
                let welcome = Outgoing {
                    kind: MessageKind::Welcome,
                    epoch: delivery.epoch + 1,
                    message: welcome,
                    ratchet_tree: Some(tree),
                    ..message
                };
                enqueue(w, recipients, &welcome, quota.reborrow(), &mut pushed)?;
            }
            if !full.is_empty() {
                full.sort_unstable();
                full.dedup();
                let names = full
                    .iter()
                    .map(|&id| device_ref(&w.conn, id))
                    .collect::<Result<_, _>>()?;
                // The job's savepoint is rolled back: the group, the queues and their
                // counters stay as they were.
                return Err(StoreError::QueueFull(names));
            }
            Ok((epoch, pushed))
        })
    }

    fn reject_commit(
        &self,
        voter: i64,
        group_id: Vec<u8>,
        epoch: u64,
        nonce: Nonce,
    ) -> Result<conclave_delivery_api::RejectResponse, StoreError> {
        self.write(move |w| {
            let conn = &w.conn;
            insert_nonce(conn, voter, &nonce)?;
            let current: i64 = conn
                .prepare_cached("SELECT epoch FROM groups WHERE group_id = ?1")?
                .query_row([&group_id], |r| r.get(0))
                .optional()?
                .ok_or(StoreError::NotMember)?;
            let current = current as u64;
            // The roster before each commit since `epoch`, undone newest first.
            let mut members = roster(conn, &group_id)?;
            let mut commit_sender = None;
            let mut commits = conn.prepare_cached(
                "SELECT epoch, sender, added, removed FROM group_commits
                 WHERE group_id = ?1 AND epoch >= ?2 ORDER BY epoch DESC",
            )?;
            let rows = commits
                .query_map(params![group_id, epoch as i64], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            for (at, sender, added, removed) in &rows {
                for id in ids(added) {
                    members.remove(&id);
                }
                members.extend(ids(removed));
                if *at as u64 == epoch {
                    commit_sender = Some(*sender);
                }
            }
            if !members.contains(&voter) {
                return Err(StoreError::NotMember);
            }
            let Some(commit_sender) = commit_sender.filter(|_| epoch < current) else {
                return Err(StoreError::Roster(format!(
                    "no accepted commit of epoch {epoch} to refuse (the group is at {current})"
                )));
            };
            if voter == commit_sender {
                return Err(StoreError::Roster(
                    "a member cannot refuse its own commit".into(),
                ));
            }
            conn.prepare_cached(
                "INSERT OR IGNORE INTO commit_rejections (group_id, epoch, device_id)
                 VALUES (?1, ?2, ?3)",
            )?
            .execute(params![group_id, epoch as i64, voter])?;
            let voted: Vec<i64> = conn
                .prepare_cached(
                    "SELECT device_id FROM commit_rejections WHERE group_id = ?1 AND epoch = ?2",
                )?
                .query_map(params![group_id, epoch as i64], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let voters = members.len() as u32 - 1;
            let votes = voted.iter().filter(|v| members.contains(v)).count() as u32;
            if votes * 2 <= voters {
                return Ok(conclave_delivery_api::RejectResponse {
                    votes,
                    voters,
                    epoch: current,
                });
            }
            // Refused: back to `epoch`, with the roster the refused commit was made among.
            conn.prepare_cached("UPDATE groups SET epoch = ?2 WHERE group_id = ?1")?
                .execute(params![group_id, epoch as i64])?;
            conn.prepare_cached("DELETE FROM group_members WHERE group_id = ?1")?
                .execute([&group_id])?;
            let mut add = conn.prepare_cached(
                "INSERT INTO group_members (group_id, device_id) VALUES (?1, ?2)",
            )?;
            for device in &members {
                add.execute(params![group_id, device])?;
            }
            // A GroupInfo of a refused epoch is no way in.
            conn.prepare_cached("DELETE FROM group_infos WHERE group_id = ?1 AND epoch > ?2")?
                .execute(params![group_id, epoch as i64])?;
            for table in ["group_commits", "commit_rejections"] {
                conn.prepare_cached(&format!(
                    "DELETE FROM {table} WHERE group_id = ?1 AND epoch >= ?2"
                ))?
                .execute(params![group_id, epoch as i64])?;
            }
            Ok(conclave_delivery_api::RejectResponse {
                votes,
                voters,
                epoch,
            })
        })
    }

    fn fetch(
        &self,
        device: i64,
        after: u64,
        limit: u32,
        max_bytes: usize,
    ) -> Result<QueuePage, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT length(m.message) + COALESCE(length(m.ratchet_tree), 0),
                        q.seq, m.sender_device, m.kind, m.group_id, m.epoch, m.message,
                        m.ratchet_tree
                 FROM queue q JOIN messages m ON m.id = q.message_id
                 WHERE q.device_id = ?1 AND q.seq > ?2 ORDER BY q.seq LIMIT ?3",
            )?;
            let mut cursor = stmt.query(params![device, after as i64, i64::from(limit)])?;
            let mut rows = Vec::new();
            let mut page = PageFill::new(max_bytes);
            let mut more = false;
            // Rows are read one at a time, and an item's blobs only once it fits: a page never
            // holds more than `max_bytes` in memory (beyond its first item).
            while let Some(r) = cursor.next()? {
                if !page.admit(r.get(0)?) {
                    more = true;
                    break;
                }
                rows.push(QueueRow {
                    seq: r.get(1)?,
                    sender: r.get(2)?,
                    kind: r.get(3)?,
                    group_id: r.get(4)?,
                    epoch: r.get(5)?,
                    message: r.get(6)?,
                    ratchet_tree: r.get(7)?,
                });
            }
            drop(cursor);
            if !more && rows.len() == limit as usize {
                let last = rows.last().map_or(after as i64, |r| r.seq);
                more = conn
                    .prepare_cached(
                        "SELECT 1 FROM queue WHERE device_id = ?1 AND seq > ?2 LIMIT 1",
                    )?
                    .exists(params![device, last])?;
            }
            let mut senders = std::collections::HashMap::new();
            let mut items = Vec::with_capacity(rows.len().min(limit as usize));
            for row in rows.into_iter().take(limit as usize) {
                let sender = match senders.get(&row.sender) {
                    Some(s) => Clone::clone(s),
                    None => {
                        let s = device_ref(conn, row.sender)?;
                        senders.insert(row.sender, s.clone());
                        s
                    }
                };
                items.push(QueueItem {
                    seq: row.seq as u64,
                    sender,
                    kind: kind_of(&row.kind)?,
                    group_id: row.group_id.into(),
                    epoch: row.epoch as u64,
                    message: row.message.into(),
                    ratchet_tree: row.ratchet_tree.map(Into::into),
                });
            }
            Ok(QueuePage { items, more })
        })
    }

    fn page_bytes(
        &self,
        device: i64,
        after: u64,
        limit: u32,
        max_bytes: usize,
    ) -> Result<usize, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT length(m.message) + COALESCE(length(m.ratchet_tree), 0)
                 FROM queue q JOIN messages m ON m.id = q.message_id
                 WHERE q.device_id = ?1 AND q.seq > ?2 ORDER BY q.seq LIMIT ?3",
            )?;
            let mut sizes = stmt.query(params![device, after as i64, i64::from(limit)])?;
            let mut page = PageFill::new(max_bytes);
            while let Some(r) = sizes.next()? {
                if !page.admit(r.get(0)?) {
                    break;
                }
            }
            Ok(page.bytes)
        })
    }

    fn ack(&self, device: i64, up_to: u64, nonce: Nonce) -> Result<u64, StoreError> {
        self.write(move |w| {
            let conn = &w.conn;
            insert_nonce(conn, device, &nonce)?;
            seen(conn, device)?;
            dequeue(
                conn,
                "device_id = ?1 AND seq <= ?2",
                params![device, up_to as i64],
            )
        })
    }

    fn prune(&self, before: u64, links_before: u64, now: u64) -> Result<u64, StoreError> {
        self.write(move |w| {
            let conn = &w.conn;
            conn.execute("DELETE FROM nonces WHERE expires_at < ?1", [now as i64])?;
            conn.execute(
                "DELETE FROM device_grants WHERE expires_at < ?1",
                [now as i64],
            )?;
            conn.execute(
                "DELETE FROM link_chunks WHERE created_at < ?1",
                [links_before as i64],
            )?;
            conn.execute(
                "DELETE FROM blob_chunks WHERE blob_id IN
                     (SELECT id FROM blobs WHERE created_at < ?1)",
                [before as i64],
            )?;
            conn.execute("DELETE FROM blobs WHERE created_at < ?1", [before as i64])?;
            conn.execute(
                "DELETE FROM key_packages WHERE not_after < ?1",
                [now as i64],
            )?;
            conn.execute(
                "DELETE FROM group_links WHERE expires_at < ?1",
                [now as i64],
            )?;
            conn.execute(
                "DELETE FROM join_requests WHERE requested_at < ?1",
                [before as i64],
            )?;
            // An ask older than the retention has no queue item left to answer; its answers
            // go with it.
            conn.execute(
                "DELETE FROM rejoin_answers WHERE (group_id, device_id) IN
                     (SELECT group_id, device_id FROM rejoin_asks WHERE asked_at < ?1)",
                [before as i64],
            )?;
            conn.execute(
                "DELETE FROM rejoin_asks WHERE asked_at < ?1",
                [before as i64],
            )?;
            dequeue(
                conn,
                "message_id IN (SELECT id FROM messages WHERE created_at < ?1)",
                [before as i64],
            )
        })
    }

    fn queue_depth(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            Ok(conn.query_row("SELECT COUNT(*) FROM queue", [], |r| r.get::<_, i64>(0))? as u64)
        })
    }

    fn put_group_info(
        &self,
        by: i64,
        group_id: Vec<u8>,
        info: GroupInfoRecord,
        nonce: Nonce,
    ) -> Result<(), StoreError> {
        self.put_group_info_impl(by, group_id, info, nonce)
    }

    fn group_info(
        &self,
        by: i64,
        group_id: &[u8],
    ) -> Result<conclave_delivery_api::SealedGroupInfo, StoreError> {
        self.group_info_impl(by, group_id)
    }

    fn set_group_link(
        &self,
        by: i64,
        group_id: Vec<u8>,
        link: Option<LinkRecord>,
        nonce: Nonce,
    ) -> Result<(), StoreError> {
        self.set_group_link_impl(by, group_id, link, nonce)
    }

    fn join_by_link(
        &self,
        by: i64,
        group_id: Vec<u8>,
        token_hash: Vec<u8>,
        now: u64,
        nonce: Nonce,
    ) -> Result<(conclave_delivery_api::JoinAnswer, Vec<(i64, u64)>), StoreError> {
        self.join_by_link_impl(by, group_id, token_hash, now, nonce)
    }

    fn join_requests(
        &self,
        by: i64,
        group_id: &[u8],
    ) -> Result<Vec<conclave_delivery_api::JoinRequest>, StoreError> {
        self.join_requests_impl(by, group_id)
    }

    fn answer_join_requests(
        &self,
        by: i64,
        group_id: Vec<u8>,
        user: String,
        nonce: Nonce,
    ) -> Result<(), StoreError> {
        self.answer_join_requests_impl(by, group_id, user, nonce)
    }

    fn ask_rejoin(
        &self,
        by: i64,
        group_id: Vec<u8>,
        ask: Vec<u8>,
        quota: QueueQuota,
        nonce: Nonce,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        self.ask_rejoin_impl(by, group_id, ask, quota, nonce)
    }

    fn answer_rejoin(
        &self,
        by: i64,
        group_id: Vec<u8>,
        asker: i64,
        key: Vec<u8>,
        quota: QueueQuota,
        nonce: Nonce,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        self.answer_rejoin_impl(by, group_id, asker, key, quota, nonce)
    }
}

/// The user a device belongs to.
fn user_of(conn: &Connection, device: i64) -> Result<i64, StoreError> {
    Ok(
        conn.query_row("SELECT user_id FROM devices WHERE id = ?1", [device], |r| {
            r.get(0)
        })?,
    )
}

/// The devices of a user that are not revoked.
fn live_devices(conn: &Connection, user_id: i64) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM devices WHERE user_id = ?1 AND revoked_at IS NULL",
        [user_id],
        |r| r.get(0),
    )?)
}

/// Notes that a device showed signs of life (for its user's device list).
fn seen(conn: &Connection, device: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE devices SET last_seen = ?2 WHERE id = ?1")?
        .execute(params![device, now() as i64])?;
    Ok(())
}

/// The devices on a group's roster.
pub(super) fn roster(conn: &Connection, group_id: &[u8]) -> Result<HashSet<i64>, StoreError> {
    let mut statement =
        conn.prepare_cached("SELECT device_id FROM group_members WHERE group_id = ?1")?;
    let ids = statement
        .query_map([group_id], |r| r.get(0))?
        .collect::<Result<HashSet<i64>, _>>()?;
    Ok(ids)
}

/// Applies an accepted commit to the roster: its Welcome's recipients in, the removed out.
/// A group's first commit also puts its sender on the roster, as does a join by link.
fn change_roster(
    conn: &Connection,
    delivery: &Delivery,
    newcomer: Option<i64>,
) -> Result<(), StoreError> {
    if let Some(creator) = newcomer {
        conn.prepare_cached("INSERT INTO group_members (group_id, device_id) VALUES (?1, ?2)")?
            .execute(params![delivery.group_id, creator])?;
    }
    let mut remove =
        conn.prepare_cached("DELETE FROM group_members WHERE group_id = ?1 AND device_id = ?2")?;
    for device in &delivery.removed {
        remove.execute(params![delivery.group_id, device])?;
    }
    if let Some((joiners, _, _)) = &delivery.welcome {
        let mut add =
            conn.prepare_cached("INSERT INTO group_members (group_id, device_id) VALUES (?1, ?2)")?;
        for device in joiners {
            add.execute(params![delivery.group_id, device])?;
        }
    }
    Ok(())
}

/// Keeps an accepted commit's roster change, so that its refusal can undo it.
fn remember_commit(
    conn: &Connection,
    sender: i64,
    delivery: &Delivery,
    joiner: Option<i64>,
) -> Result<(), StoreError> {
    let list = |ids: &[i64]| {
        ids.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut added: Vec<i64> = delivery
        .welcome
        .as_ref()
        .map(|(joiners, _, _)| joiners.clone())
        .unwrap_or_default();
    added.extend(joiner);
    let added = list(&added);
    conn.prepare_cached(
        "INSERT OR REPLACE INTO group_commits (group_id, epoch, sender, added, removed)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        delivery.group_id,
        delivery.epoch as i64,
        sender,
        added,
        list(&delivery.removed)
    ])?;
    conn.prepare_cached("DELETE FROM group_commits WHERE group_id = ?1 AND epoch < ?2")?
        .execute(params![
            delivery.group_id,
            delivery.epoch as i64 - COMMITS_KEPT
        ])?;
    Ok(())
}

fn ids(list: &str) -> impl Iterator<Item = i64> + '_ {
    list.split(',').filter_map(|id| id.parse().ok())
}

/// A device's `user/device` name, for error messages.
fn device_name(conn: &Connection, id: i64) -> Result<String, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT users.name || '/' || devices.name FROM devices
             JOIN users ON users.id = devices.user_id WHERE devices.id = ?1",
        )?
        .query_row([id], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database written by the first schema (one copy of a message per queue row) keeps
    /// every queued item, with its sequence number, through the V2 migration.
    #[test]
    fn queued_items_survive_the_move_to_messages_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ds.sqlite");
        {
            let mut conn = Connection::open(&path).unwrap();
            let mut runner =
                embedded::migrations::runner().set_target(refinery::Target::Version(1));
            runner.set_migration_table_name("conclave_ds_migrations");
            runner.run(&mut conn).unwrap();
            conn.execute_batch(
                "INSERT INTO users (id, name, created_at) VALUES (1, 'alice', 0), (2, 'bob', 0);
                 INSERT INTO devices (id, user_id, name, signature_key, ciphersuite, last_seq,
                                      created_at)
                 VALUES (1, 1, 'd', x'01', 1, 0, 0), (2, 2, 'd', x'02', 1, 9, 0);
                 INSERT INTO queue (device_id, seq, sender_device, kind, group_id, epoch,
                                    message, ratchet_tree, created_at)
                 VALUES (2, 8, 1, 'application', x'67', 3, x'aa', NULL, 0),
                        (2, 9, 1, 'welcome', x'67', 4, x'bb', x'cc', 0);",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path, Durability::Process).unwrap();
        let page = store.fetch(2, 0, 10, usize::MAX).unwrap();
        let got: Vec<_> = page
            .items
            .iter()
            .map(|i| (i.seq, i.kind, i.epoch, i.message.0.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (8, MessageKind::Application, 3, vec![0xaa]),
                (9, MessageKind::Welcome, 4, vec![0xbb])
            ]
        );
        assert_eq!(page.items[1].ratchet_tree.as_ref().unwrap().0, vec![0xcc]);
        // V6 counted what each queue held, and acknowledging gives it back.
        assert_eq!(queued(&store, 2), (2, 3));
        assert_eq!(store.ack(2, 8, nonce("n1")).unwrap(), 1);
        assert_eq!(queued(&store, 2), (1, 2));
        assert_eq!(store.ack(2, 9, nonce("n2")).unwrap(), 1);
        assert_eq!(queued(&store, 2), (0, 0));
        assert_eq!(store.queue_depth().unwrap(), 0);
    }

    /// A device's queue counters (items, bytes).
    fn queued(store: &SqliteStore, device: i64) -> (i64, i64) {
        store
            .read(|conn| {
                Ok(conn.query_row(
                    "SELECT queued_items, queued_bytes FROM devices WHERE id = ?1",
                    [device],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .unwrap()
    }

    fn nonce(text: &str) -> Nonce {
        Nonce {
            nonce: text.into(),
            expires_at: u64::MAX / 2,
        }
    }
}
