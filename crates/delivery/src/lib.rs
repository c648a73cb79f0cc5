//! # conclave-delivery
//!
//! Conclave's delivery service (DS), `conclave-ds`: it stores and forwards MLS ciphertext
//! between devices, serves key packages, and orders commits so that groups never fork. It
//! never sees a plaintext: everything it holds is an MLS message, Welcome or key package.
//! This crate is the server (axum over SQLite); the wire types, paths and request signing a
//! client needs are the crate `conclave-delivery-api`. Every endpoint, body and error is
//! documented in `crates/delivery/API.md`.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use conclave_delivery::{Config, Server};
//! let config = Config::new(std::path::PathBuf::from("ds.sqlite"));
//! let server = Server::open(config).expect("database opens");
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:7300").await?;
//! server.serve(listener, std::future::pending()).await
//! # }
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod authn;
mod blob;
mod budget;
pub mod error;
mod extract;
mod groups;
mod handlers;
mod http;
mod limiter;
mod link;
mod listener;
mod metrics;
mod nodes;
mod push;
pub mod store;
pub mod tls;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use conclave_delivery_api::paths;

use limiter::Limiter;

/// Largest registration request body.
const REGISTER_BODY_LIMIT: usize = 64 * 1024;

/// The period of the claim limits.
const HOUR: Duration = Duration::from_secs(3600);

pub use listener::Peer;
pub use store::{
    DeliveryStore, DeviceRecord, Durability, PostgresStore, QueueQuota, SqliteStore, StoreError,
    default_connections,
};

/// Request limits. Each breach is a 4xx with a JSON [`conclave_delivery_api::ErrorBody`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, bytes. Default 16 MiB (a commit adding 5,000 members is ~1.5 MB).
    pub max_body_bytes: usize,
    /// Most recipients of one envelope (and of its Welcome). Default 10,000.
    pub max_recipients: usize,
    /// Most one-time key packages a device may have on file. Default 1,000.
    pub max_key_packages: u32,
    /// Sustained requests per second per device. Default 200.
    pub requests_per_second: u32,
    /// Burst above that. Default 400.
    pub burst: u32,
    /// Largest queue page. Default 500.
    pub max_page: u32,
    /// Claims one device may make of one user's key packages per hour. Default 60.
    pub claims_per_target: u32,
    /// Claims per hour, from all devices together, that are served one-time key packages of
    /// one user; further claims get the user's last-resort package, so the user can still
    /// be invited but nobody can drain the stock. Default 100.
    pub one_time_claims_per_target: u32,
    /// Largest queue page in bytes of messages and trees (a page always holds at least one
    /// item, whatever its size). Default 4 MiB.
    pub max_page_bytes: usize,
    /// Devices one user may have. Default 10.
    pub max_devices_per_user: u32,
    /// Items one device's queue may hold. Default 50,000.
    pub queue_max_items: u64,
    /// Bytes one device's queue may hold (each message counted per queue). Default 1 GiB.
    pub queue_max_bytes: u64,
    /// Open connections (HTTP and WebSocket together); past it, new ones wait in the
    /// kernel's backlog. Default 20,000.
    pub max_connections: usize,
    /// Open connections from one source address (an IPv6 address by its /64); past it, new
    /// ones are closed at once. Default 1,000 (a NAT can hide many users).
    pub connections_per_address: usize,
    /// How long a client may take to send a request's headers (from the connection's start,
    /// or the end of its previous request); past it, the connection is closed. Default 30 s.
    pub header_timeout: std::time::Duration,
    /// Open push sockets, all devices together; past it, an upgrade gets
    /// `too_many_connections`. Default 10,000.
    pub max_push_sockets: usize,
    /// Push sockets one device may hold; a new one closes its oldest. Default 2.
    pub sockets_per_device: usize,
    /// Registrations from one source address (IPv4, or an IPv6 /64) per hour. Default 10.
    pub registrations_per_address: u32,
    /// Registrations from everyone together per hour. Default 1,000.
    pub registrations_per_hour: u32,
    /// Bytes of request bodies and queue pages the server holds at once, all requests
    /// together, counting what it holds for each (a body three times, a page four); requests
    /// beyond it wait their turn. Default 64 MiB.
    pub memory_budget_bytes: usize,
    /// Bytes one device link's transfer (its history archive) may hold. Default 256 MiB.
    pub max_link_bytes: u64,
    /// Link chunk reads per second from one source address (they are unsigned: the link's
    /// id is the capability). Default 20.
    pub link_reads_per_second: u32,
    /// Bytes of one attachment's ciphertext. Default 100 MiB.
    pub max_blob_bytes: u64,
    /// Bytes of attachments one user may hold at once (until they expire with the
    /// retention). Default 2 GiB.
    pub blob_quota_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 << 20,
            max_recipients: 10_000,
            max_key_packages: 1_000,
            requests_per_second: 200,
            burst: 400,
            max_page: 500,
            claims_per_target: 60,
            one_time_claims_per_target: 100,
            max_page_bytes: 4 << 20,
            max_devices_per_user: 10,
            queue_max_items: 50_000,
            queue_max_bytes: 1 << 30,
            max_connections: 20_000,
            connections_per_address: 1_000,
            header_timeout: std::time::Duration::from_secs(30),
            max_push_sockets: 10_000,
            sockets_per_device: 2,
            registrations_per_address: 10,
            registrations_per_hour: 1_000,
            memory_budget_bytes: 64 << 20,
            max_link_bytes: 256 << 20,
            link_reads_per_second: 20,
            max_blob_bytes: 100 << 20,
            blob_quota_bytes: 2 << 30,
        }
    }
}

/// Where the server keeps its state.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file: the embedded default, for one node.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its URL (`postgres://user[:password]@host[:port]/name`, or
    /// `host=... dbname=...` pairs): several nodes may share it.
    Postgres(String),
}

impl Database {
    /// What `--db` names: a `postgres://` or `postgresql://` URL, else a SQLite file.
    pub fn parse(db: &str) -> Self {
        if db.starts_with("postgres://") || db.starts_with("postgresql://") {
            Database::Postgres(db.to_owned())
        } else {
            Database::Sqlite(PathBuf::from(db))
        }
    }
}

impl From<PathBuf> for Database {
    fn from(path: PathBuf) -> Self {
        Database::Sqlite(path)
    }
}

/// Names the database for logs, without a password its URL may hold.
impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => match url.split_once("://") {
                Some((scheme, rest)) => match rest.rsplit_once('@') {
                    Some((user, host)) => {
                        let user = user.split_once(':').map_or(user, |(user, _)| user);
                        write!(f, "{scheme}://{user}@{host}")
                    }
                    None => write!(f, "{url}"),
                },
                None => write!(f, "postgres database"),
            },
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Database({self})")
    }
}

/// Server configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The database.
    pub db: Database,
    /// Request limits.
    pub limits: Limits,
    /// Never-acknowledged queue items and attachments older than this are dropped (items
    /// counted in metrics). Default: 30 days.
    pub retention: Duration,
    /// Link chunks older than this are deleted, fetched or not. Default: one hour.
    pub link_retention: Duration,
    /// When an accepted message is on disk. Default: [`Durability::Full`].
    pub durability: Durability,
    /// The bearer token `GET /metrics` requires. Default: none, and then metrics are not
    /// served at all (they tell who is active and how much).
    pub metrics_token: Option<String>,
    /// Connections to a PostgreSQL database (SQLite has one writer and its readers).
    /// Default: [`default_connections`].
    pub db_connections: Option<usize>,
}

impl Config {
    /// Defaults with the given database (a SQLite file's path, or a [`Database`]).
    pub fn new(db: impl Into<Database>) -> Self {
        Self {
            db: db.into(),
            limits: Limits::default(),
            retention: Duration::from_secs(30 * 24 * 3600),
            link_retention: Duration::from_secs(3600),
            durability: Durability::Full,
            metrics_token: None,
            db_connections: None,
        }
    }
}

pub(crate) struct Shared {
    pub store: Arc<dyn DeliveryStore>,
    pub limits: Limits,
    pub retention: Duration,
    pub link_retention: Duration,
    pub metrics_token: Option<String>,
    /// (user, device) -> record: keys never change once registered, so auth reads memory.
    /// On a store other nodes share, a cache that their events keep current (`nodes.rs`).
    pub directory: RwLock<HashMap<(String, String), DeviceRecord>>,
    /// Whether other nodes share the store (PostgreSQL).
    pub shares_store: bool,
    /// The other nodes' events, until the server starts following them.
    events: Mutex<Option<tokio::sync::mpsc::Receiver<store::StoreEvent>>>,
    /// Recently seen nonces (all requests); write requests also store theirs durably.
    pub nonces: Mutex<HashMap<(i64, String), u64>>,
    /// Requests per user (all its devices together: adding devices does not add requests).
    requests: Limiter<String>,
    /// Registrations per source address (an IPv6 address by its /64).
    pub registrations: Limiter<std::net::IpAddr>,
    /// Registrations from everyone.
    pub all_registrations: Limiter<()>,
    /// Unsigned link chunk reads per source address.
    pub link_reads: Limiter<std::net::IpAddr>,
    /// Bodies and pages in memory.
    pub(crate) budget: budget::Budget,
    /// Open connections.
    pub(crate) connections: listener::Cap,
    /// Claims per (claiming device, target user).
    pub claims: Limiter<(i64, String)>,
    /// Claims served one-time key packages, per target user.
    pub one_time_claims: Limiter<String>,
    pub hub: push::Hub,
    pub metrics: metrics::Metrics,
}

impl Shared {
    /// Takes a token from the user's request bucket.
    pub fn allow(&self, user: &str) -> bool {
        self.requests.allow(user.to_owned())
    }

    /// The recipients' queue quota.
    pub fn quota(&self) -> QueueQuota {
        QueueQuota {
            items: self.limits.queue_max_items,
            bytes: self.limits.queue_max_bytes,
        }
    }
}

/// A delivery service ready to serve.
#[derive(Clone)]
pub struct Server {
    shared: Arc<Shared>,
}

impl Server {
    /// Opens the store `config` names.
    pub fn open(config: Config) -> Result<Self, StoreError> {
        let store: Arc<dyn DeliveryStore> = match &config.db {
            Database::Sqlite(path) => Arc::new(SqliteStore::open(path, config.durability)?),
            Database::Postgres(url) => Arc::new(PostgresStore::open(
                url,
                config.db_connections.unwrap_or_else(default_connections),
            )?),
        };
        Self::with_store(store, config)
    }

    /// A server over any store.
    pub fn with_store(store: Arc<dyn DeliveryStore>, config: Config) -> Result<Self, StoreError> {
        let directory = store
            .all_devices()?
            .into_iter()
            .map(|d| ((d.user.clone(), d.device.clone()), d))
            .collect();
        let events = store.events();
        Ok(Self {
            shared: Arc::new(Shared {
                store,
                limits: config.limits,
                retention: config.retention,
                link_retention: config.link_retention,
                metrics_token: config.metrics_token,
                directory: RwLock::new(directory),
                shares_store: events.is_some(),
                events: Mutex::new(events),
                nonces: Mutex::new(HashMap::new()),
                requests: Limiter::with_burst(
                    config.limits.burst,
                    f64::from(config.limits.requests_per_second),
                ),
                claims: Limiter::new(config.limits.claims_per_target, HOUR),
                one_time_claims: Limiter::new(config.limits.one_time_claims_per_target, HOUR),
                registrations: Limiter::new(config.limits.registrations_per_address, HOUR),
                all_registrations: Limiter::new(config.limits.registrations_per_hour, HOUR),
                link_reads: Limiter::with_burst(
                    config.limits.link_reads_per_second.saturating_mul(2),
                    f64::from(config.limits.link_reads_per_second),
                ),
                budget: budget::Budget::new(
                    config.limits.memory_budget_bytes,
                    config.limits.max_body_bytes,
                ),
                connections: listener::Cap::new(
                    config.limits.max_connections,
                    config.limits.connections_per_address,
                ),
                hub: push::Hub::new(
                    config.limits.sockets_per_device,
                    config.limits.max_push_sockets,
                ),
                metrics: metrics::Metrics::new(),
            }),
        })
    }

    /// The axum router.
    pub fn router(&self) -> Router {
        Router::new()
            .route(paths::HEALTH, get(handlers::health))
            .route(paths::METRICS, get(handlers::metrics))
            // A registration is a name, a key and a signature.
            .route(
                paths::REGISTER,
                post(handlers::register).layer(DefaultBodyLimit::max(REGISTER_BODY_LIMIT)),
            )
            .route(paths::DEVICES, post(handlers::add_device))
            .route(paths::DEVICE_GRANTS, post(handlers::grant_device))
            .route(paths::DEVICE_REVOKE, post(handlers::revoke_device))
            .route(
                paths::LINK_CHUNK,
                axum::routing::put(link::put_chunk).get(link::get_chunk),
            )
            .route(paths::LINK, axum::routing::delete(link::delete))
            .route(paths::BLOBS, post(blob::create))
            .route(paths::BLOB_CHUNK, get(blob::get_chunk).put(blob::put_chunk))
            .route(paths::USER_DEVICES, get(handlers::user_devices))
            .route(paths::DIRECTORY, post(handlers::directory))
            .route(paths::REJECT, post(handlers::reject))
            .route(
                paths::GROUP_INFO,
                get(groups::get_info).put(groups::put_info),
            )
            .route(
                paths::GROUP_LINK,
                axum::routing::put(groups::put_link).delete(groups::delete_link),
            )
            .route(paths::GROUP_JOIN, post(groups::join))
            .route(paths::GROUP_REQUESTS, get(groups::requests))
            .route(paths::GROUP_REJOIN, post(groups::ask_rejoin))
            .route(paths::GROUP_REJOIN_KEY, post(groups::answer_rejoin))
            .route(
                paths::GROUP_REQUEST,
                axum::routing::delete(groups::answer_request),
            )
            .route(paths::KEY_PACKAGES, post(handlers::publish_key_packages))
            .route(paths::KEY_PACKAGE_STOCK, get(handlers::stock))
            .route(paths::CLAIM, post(handlers::claim))
            .route(paths::MESSAGES, post(handlers::send))
            .route(paths::QUEUE, get(handlers::fetch))
            .route(paths::QUEUE_ACK, post(handlers::ack))
            .route(paths::PUSH, get(push::websocket))
            .fallback(handlers::not_found)
            // Outermost last: every request is counted, those the budget refuses too.
            .layer(axum::middleware::from_fn_with_state(
                self.shared.clone(),
                budget::hold,
            ))
            .layer(axum::middleware::from_fn_with_state(
                self.shared.clone(),
                metrics::count_requests,
            ))
            .layer(DefaultBodyLimit::max(self.shared.limits.max_body_bytes))
            .with_state(self.shared.clone())
    }

    /// Serves plain HTTP on `listener` until `shutdown` resolves, then finishes the requests
    /// in flight. Also prunes expired items and nonces every minute.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let listener = listener::CappedTcp::new(listener, self.shared.connections.clone());
        self.serve_on(listener, shutdown).await
    }

    /// [`Server::serve`] over TLS (HTTPS and WSS), with `tls` from [`tls::server_config`].
    pub async fn serve_tls(
        self,
        listener: tokio::net::TcpListener,
        tls: Arc<rustls::ServerConfig>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let listener = tls::TlsListener::new(listener, tls, self.shared.connections.clone())?;
        self.serve_on(listener, shutdown).await
    }

    async fn serve_on<L>(
        self,
        listener: L,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()>
    where
        L: axum::serve::Listener<Addr = std::net::SocketAddr>,
    {
        let shared = self.shared.clone();
        let pruner = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let now = conclave_delivery_api::auth::now_secs();
                let before = now.saturating_sub(shared.retention.as_secs());
                let links_before = now.saturating_sub(shared.link_retention.as_secs());
                let store = shared.store.clone();
                match tokio::task::spawn_blocking(move || store.prune(before, links_before, now))
                    .await
                {
                    Ok(Ok(dropped)) => shared.metrics.retention_dropped.inc_by(dropped),
                    Ok(Err(e)) => tracing::warn!(error = %e, "pruning failed"),
                    Err(e) => tracing::warn!(error = %e, "pruning task failed"),
                }
                if let Ok(mut nonces) = shared.nonces.lock() {
                    nonces.retain(|_, expires| *expires >= now);
                }
                shared.requests.prune();
                shared.registrations.prune();
                shared.all_registrations.prune();
                shared.link_reads.prune();
                shared.claims.prune();
                shared.one_time_claims.prune();
            }
        });
        let events = self.shared.events.lock().ok().and_then(|mut e| e.take());
        let follower =
            events.map(|events| tokio::spawn(nodes::follow(self.shared.clone(), events)));
        let header_timeout = self.shared.limits.header_timeout;
        let result = http::serve(listener, self.router(), header_timeout, shutdown).await;
        pruner.abort();
        if let Some(follower) = follower {
            follower.abort();
        }
        result
    }
}

/// A server running in this process on a bound address: what embedding apps and tests use.
/// Dropping it stops it (requests in flight are finished first).
pub struct Running {
    addr: std::net::SocketAddr,
    scheme: &'static str,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Binds `addr` (port 0: any free port) and serves plain HTTP in the background.
    pub async fn spawn(self, addr: std::net::SocketAddr) -> std::io::Result<Running> {
        self.spawn_with(addr, None).await
    }

    /// [`Server::spawn`], serving HTTPS and WSS with `tls`.
    pub async fn spawn_tls(
        self,
        addr: std::net::SocketAddr,
        tls: Arc<rustls::ServerConfig>,
    ) -> std::io::Result<Running> {
        self.spawn_with(addr, Some(tls)).await
    }

    async fn spawn_with(
        self,
        addr: std::net::SocketAddr,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> std::io::Result<Running> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let stopped = async {
            let _ = stopped.await;
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let task = match tls {
            Some(tls) => tokio::spawn(self.serve_tls(listener, tls, stopped)),
            None => tokio::spawn(self.serve(listener, stopped)),
        };
        Ok(Running {
            addr,
            scheme,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

impl Running {
    /// The bound address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// `http://ADDR`, or `https://ADDR` when it serves TLS.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Whether it stopped by itself (an I/O error).
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Stops, waiting for the requests in flight.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
