//! The PostgreSQL store: several `conclave-ds` nodes on one database, with the guarantees
//! the SQLite store gets from its single writer kept in the database itself (row locks, a
//! compare-and-set of a group's epoch, unique nonces, per-device queue counters), so that
//! any node can serve any request. Connections run on threads of their own (`pool.rs`);
//! the store's parts follow the SQLite store's: devices, key packages, deliveries, queues,
//! groups, files.

mod deliver;
mod devices;
mod files;
mod groups;
mod key_packages;
mod notify;
mod pool;
mod queue;
mod retention;

use std::str::FromStr;

use conclave_delivery_api::{
    ClaimResponse, DeviceGrant, DeviceInfo, JoinAnswer, JoinRequest, KeyPackageStock,
    KeyPackageStocks, QueuePage, RejectResponse, SealedGroupInfo,
};

use super::{
    Delivered, Delivery, DeliveryStore, DeviceRecord, GroupInfoRecord, KeyPackageEntry, LinkRecord,
    Nonce, QueueQuota, StoreError, StoreEvent,
};
use devices::Registration;
use pool::{Pool, connect};

#[allow(missing_docs)]
mod embedded {
    refinery::embed_migrations!("migrations_postgres");
}

/// Connections a node opens to the database unless told otherwise: twice the node's cores.
///
/// PostgreSQL does the most work with about twice its cores in connections, all nodes
/// together; more only wait for one another and the CPU. On this 2-core machine, where
/// database, node and load generator share the cores, one node's durable deliveries/s
/// were 4,400-4,800 with 16 connections, 5,000-5,700 with 2 to 4 (docs/PERFORMANCE.md).
/// Several nodes on one database should share about twice the database's cores between
/// them (`--db-connections`).
pub fn default_connections() -> usize {
    2 * std::thread::available_parallelism().map_or(2, usize::from)
}

/// The PostgreSQL store. See the module docs.
pub struct PostgresStore {
    pool: Pool,
    /// The other nodes' events, until the server takes them.
    events: std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<StoreEvent>>>,
}

/// The key of the advisory lock nodes take while they migrate the schema: nodes started
/// together apply it once, one after another.
const MIGRATION_LOCK: i64 = 0x636f_6e63_6c61_7665; // "conclave"

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host/db`, or key=value pairs),
    /// migrates its schema, and opens `connections` connections as requests need them.
    pub fn open(url: &str, connections: usize) -> Result<Self, StoreError> {
        let config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::Internal(format!("postgres url: {e}")))?;
        // Migrated on a thread of its own: `open` may be called from within an async runtime.
        let migrating = config.clone();
        std::thread::spawn(move || migrate(&migrating))
            .join()
            .map_err(|_| StoreError::Internal("the migration thread panicked".into()))??;
        // Tells this node's notifications from the others'.
        let node = rand::random::<i64>();
        Ok(Self {
            events: std::sync::Mutex::new(Some(notify::listen(config.clone(), node)?)),
            pool: Pool::start(config, connections, node)?,
        })
    }
}

fn migrate(config: &tokio_postgres::Config) -> Result<(), StoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::Internal(format!("postgres runtime: {e}")))?;
    runtime.block_on(async {
        let failed = |e: tokio_postgres::Error| StoreError::Internal(format!("migration: {e}"));
        let mut client = connect(config).await?;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(failed)?;
        let mut runner = embedded::migrations::runner();
        runner.set_migration_table_name("conclave_ds_migrations");
        let migrated = runner
            .run_async(&mut client)
            .await
            .map_err(|e| StoreError::Internal(format!("migration: {e}")));
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(failed)?;
        migrated.map(drop)
    })
}

impl DeliveryStore for PostgresStore {
    fn all_devices(&self) -> Result<Vec<DeviceRecord>, StoreError> {
        self.pool
            .read(async move |db| devices::all_devices(db).await)
    }

    fn devices_named(&self, names: &[(String, String)]) -> Result<Vec<DeviceRecord>, StoreError> {
        let names = names.to_vec();
        self.pool
            .read(async move |db| devices::devices_named(db, &names).await)
    }

    fn events(&self) -> Option<tokio::sync::mpsc::Receiver<StoreEvent>> {
        self.events.lock().ok()?.take()
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
        self.pool.transaction(async move |db| {
            let new = Registration {
                user: &user,
                device: &device,
                key: &key,
                ciphersuite,
                max_devices,
            };
            devices::register(db, &new, &nonce).await
        })
    }

    fn grant_device(
        &self,
        by: &DeviceRecord,
        grant: DeviceGrant,
        expires_at: u64,
        nonce: Nonce,
    ) -> Result<(), StoreError> {
        let by = by.clone();
        self.pool.transaction(async move |db| {
            devices::grant_device(db, &by, &grant, expires_at, &nonce).await
        })
    }

    fn revoke_device(
        &self,
        by: &DeviceRecord,
        device: &str,
        nonce: Nonce,
    ) -> Result<DeviceRecord, StoreError> {
        let (by, device) = (by.clone(), device.to_owned());
        self.pool
            .transaction(async move |db| devices::revoke_device(db, &by, &device, &nonce).await)
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
        self.pool.transaction(async move |db| {
            files::put_link_chunk(db, &by, (&link, index, &data), max_bytes, &nonce).await
        })
    }

    fn link_chunk(&self, link: &[u8], index: u32) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let link = link.to_vec();
        self.pool
            .read(async move |db| files::link_chunk(db, &link, index).await)
    }

    fn delete_link(
        &self,
        by: &DeviceRecord,
        link: Vec<u8>,
        nonce: Nonce,
    ) -> Result<(), StoreError> {
        let by = by.clone();
        self.pool
            .transaction(async move |db| files::delete_link(db, &by, &link, &nonce).await)
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
        self.pool.transaction(async move |db| {
            let new = Registration {
                user: &by.user,
                device: &device,
                key: &key,
                ciphersuite,
                max_devices,
            };
            devices::add_device(db, &by, &new, &nonce).await
        })
    }

    fn user_devices(&self, user: &str) -> Result<Vec<DeviceInfo>, StoreError> {
        let user = user.to_owned();
        self.pool
            .read(async move |db| devices::user_devices(db, &user).await)
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
        self.pool.transaction(async move |db| {
            let publication = key_packages::Publication {
                device,
                ciphersuite,
                key_packages: &key_packages,
                last_resort: last_resort.as_ref(),
                max,
            };
            key_packages::publish(db, &publication, &nonce).await
        })
    }

    fn stock(&self, device: i64) -> Result<KeyPackageStocks, StoreError> {
        self.pool
            .read(async move |db| key_packages::stocks(db, device).await)
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
        self.pool.transaction(async move |db| {
            let claim = key_packages::Claim {
                by,
                user: &user,
                device: device.as_deref(),
                ciphersuite,
                one_time,
            };
            key_packages::claim(db, &claim, &nonce).await
        })
    }

    fn deliver(
        &self,
        sender: &DeviceRecord,
        delivery: Delivery,
        quota: QueueQuota,
        nonce: Nonce,
    ) -> Result<Delivered, StoreError> {
        let sender = sender.clone();
        self.pool.transaction(async move |db| {
            deliver::deliver(db, &sender, &delivery, quota, &nonce).await
        })
    }

    fn reject_commit(
        &self,
        voter: i64,
        group_id: Vec<u8>,
        epoch: u64,
        nonce: Nonce,
    ) -> Result<RejectResponse, StoreError> {
        self.pool.transaction(async move |db| {
            deliver::reject_commit(db, voter, &group_id, epoch, &nonce).await
        })
    }

    fn fetch(
        &self,
        device: i64,
        after: u64,
        limit: u32,
        max_bytes: usize,
    ) -> Result<QueuePage, StoreError> {
        self.pool
            .read(async move |db| queue::fetch(db, device, after, limit, max_bytes).await)
    }

    fn page_bytes(
        &self,
        device: i64,
        after: u64,
        limit: u32,
        max_bytes: usize,
    ) -> Result<usize, StoreError> {
        self.pool
            .read(async move |db| queue::page_bytes(db, device, after, limit, max_bytes).await)
    }

    fn ack(&self, device: i64, up_to: u64, nonce: Nonce) -> Result<u64, StoreError> {
        self.pool.transaction(async move |db| {
            let up_to = i64::try_from(up_to).unwrap_or(i64::MAX);
            let now = super::rules::now() as i64;
            // Sent together (one round trip): a replay's deletions are rolled back with it.
            let ((), deleted) = tokio::try_join!(
                devices::insert_nonce(db, device, &nonce),
                queue::dequeue_device(db, device, up_to, Some(now))
            )?;
            Ok(deleted)
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
        self.pool.transaction(async move |db| {
            files::create_blob(db, &by, &id, (size, quota), &nonce).await
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
        self.pool.transaction(async move |db| {
            files::put_blob_chunk(db, &by, (&id, index, &data), &nonce).await
        })
    }

    fn blob_chunk(&self, id: &[u8], index: u32) -> Result<Option<Vec<u8>>, StoreError> {
        let id = id.to_vec();
        self.pool
            .read(async move |db| files::blob_chunk(db, &id, index).await)
    }

    fn prune(&self, before: u64, links_before: u64, now: u64) -> Result<u64, StoreError> {
        self.pool.transaction(async move |db| {
            retention::prune_rest(db, before, links_before, now).await
        })?;
        retention::collect_released(&self.pool)?;
        retention::prune_messages(&self.pool, before)
    }

    fn queue_depth(&self) -> Result<u64, StoreError> {
        self.pool.read(async move |db| queue::queue_depth(db).await)
    }

    fn put_group_info(
        &self,
        by: i64,
        group_id: Vec<u8>,
        info: GroupInfoRecord,
        nonce: Nonce,
    ) -> Result<(), StoreError> {
        self.pool.transaction(async move |db| {
            groups::put_group_info(db, by, &group_id, &info, &nonce).await
        })
    }

    fn group_info(&self, by: i64, group_id: &[u8]) -> Result<SealedGroupInfo, StoreError> {
        let group_id = group_id.to_vec();
        self.pool
            .read(async move |db| groups::group_info(db, by, &group_id).await)
    }

    fn set_group_link(
        &self,
        by: i64,
        group_id: Vec<u8>,
        link: Option<LinkRecord>,
        nonce: Nonce,
    ) -> Result<(), StoreError> {
        self.pool.transaction(async move |db| {
            groups::set_group_link(db, by, &group_id, link.as_ref(), &nonce).await
        })
    }

    fn join_by_link(
        &self,
        by: i64,
        group_id: Vec<u8>,
        token_hash: Vec<u8>,
        now: u64,
        nonce: Nonce,
    ) -> Result<(JoinAnswer, Vec<(i64, u64)>), StoreError> {
        self.pool.transaction(async move |db| {
            groups::join_by_link(db, by, &group_id, &token_hash, now, &nonce).await
        })
    }

    fn join_requests(&self, by: i64, group_id: &[u8]) -> Result<Vec<JoinRequest>, StoreError> {
        let group_id = group_id.to_vec();
        self.pool
            .read(async move |db| groups::join_requests(db, by, &group_id).await)
    }

    fn answer_join_requests(
        &self,
        by: i64,
        group_id: Vec<u8>,
        user: String,
        nonce: Nonce,
    ) -> Result<(), StoreError> {
        self.pool.transaction(async move |db| {
            groups::answer_join_requests(db, by, &group_id, &user, &nonce).await
        })
    }

    fn ask_rejoin(
        &self,
        by: i64,
        group_id: Vec<u8>,
        ask: Vec<u8>,
        quota: QueueQuota,
        nonce: Nonce,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        self.pool.transaction(async move |db| {
            groups::ask_rejoin(db, by, &group_id, &ask, quota, &nonce).await
        })
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
        self.pool.transaction(async move |db| {
            groups::answer_rejoin(db, by, &group_id, asker, &key, quota, &nonce).await
        })
    }
}
