//! `conclave-ds`: the Conclave delivery service.

// One reviewed `unsafe` call, to set an allocator option: `return_freed_memory_soon`.
#![deny(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use conclave_delivery::{Config, Database, Durability, Limits, Server};
use tracing_subscriber::EnvFilter;

/// See the `mimalloc` line in Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Stores and forwards MLS ciphertext for Conclave devices, serves key packages and orders
/// commits. It never sees plaintext.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "CONCLAVE_DS_LISTEN", default_value = "127.0.0.1:7300")]
    listen: SocketAddr,
    /// The database: a SQLite file [default: conclave-ds.sqlite in the platform data
    /// directory], or `postgres://USER[:PASSWORD]@HOST[:PORT]/NAME` for PostgreSQL, which
    /// several nodes may share (give a password through the environment, not the command
    /// line, where other users of the machine can read it).
    #[arg(long, env = "CONCLAVE_DS_DB")]
    db: Option<String>,
    /// Connections to a PostgreSQL database [default: twice this machine's cores]. Nodes
    /// sharing one database do best with about twice the database's cores between them.
    #[arg(long, env = "CONCLAVE_DS_DB_CONNECTIONS", value_parser = clap::value_parser!(u16).range(1..))]
    db_connections: Option<u16>,
    /// PEM certificate chain (leaf first): serve HTTPS and WSS. Needs --tls-key. Read at
    /// start; to load a renewed certificate, restart (clients reconnect by themselves).
    #[arg(long, env = "CONCLAVE_DS_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "CONCLAVE_DS_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// PEM file of CA certificates: admit only clients presenting a certificate one of them
    /// issued (mutual TLS). Needs --tls-cert.
    #[arg(long, env = "CONCLAVE_DS_CLIENT_CA", requires = "tls_cert")]
    client_ca: Option<PathBuf>,
    /// Bearer token for `GET /metrics` (`Authorization: Bearer TOKEN`); without one, metrics
    /// are not served.
    #[arg(long, env = "CONCLAVE_DS_METRICS_TOKEN")]
    metrics_token: Option<String>,
    /// Days after which never-acknowledged queue items are dropped.
    #[arg(long, env = "CONCLAVE_DS_RETENTION_DAYS", default_value_t = 30)]
    retention_days: u64,
    /// Largest request body in bytes.
    #[arg(long, env = "CONCLAVE_DS_MAX_BODY", default_value_t = Limits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Most recipients per envelope.
    #[arg(long, env = "CONCLAVE_DS_MAX_RECIPIENTS", default_value_t = Limits::default().max_recipients)]
    max_recipients: usize,
    /// Most one-time key packages per device.
    #[arg(long, env = "CONCLAVE_DS_MAX_KEY_PACKAGES", default_value_t = Limits::default().max_key_packages)]
    max_key_packages: u32,
    /// Sustained requests per second per device.
    #[arg(long, env = "CONCLAVE_DS_RATE", default_value_t = Limits::default().requests_per_second)]
    requests_per_second: u32,
    /// Request burst per device.
    #[arg(long, env = "CONCLAVE_DS_BURST", default_value_t = Limits::default().burst)]
    burst: u32,
    /// Claims one device may make of one user's key packages per hour.
    #[arg(long, env = "CONCLAVE_DS_CLAIMS_PER_TARGET", default_value_t = Limits::default().claims_per_target)]
    claims_per_target: u32,
    /// Claims per hour, from all devices, served one user's one-time key packages (then its
    /// last-resort one).
    #[arg(long, env = "CONCLAVE_DS_ONE_TIME_CLAIMS_PER_TARGET", default_value_t = Limits::default().one_time_claims_per_target)]
    one_time_claims_per_target: u32,
    /// Most items in one queue page.
    #[arg(long, env = "CONCLAVE_DS_MAX_PAGE", default_value_t = Limits::default().max_page)]
    max_page: u32,
    /// Most bytes of messages in one queue page (a page holds at least one item).
    #[arg(long, env = "CONCLAVE_DS_MAX_PAGE_BYTES", default_value_t = Limits::default().max_page_bytes)]
    max_page_bytes: usize,
    /// Most devices per user.
    #[arg(long, env = "CONCLAVE_DS_MAX_DEVICES", default_value_t = Limits::default().max_devices_per_user)]
    max_devices_per_user: u32,
    /// Most items waiting in one device's queue; past it, senders get `queue_full`.
    #[arg(long, env = "CONCLAVE_DS_QUEUE_MAX_ITEMS", default_value_t = Limits::default().queue_max_items)]
    queue_max_items: u64,
    /// Most bytes waiting in one device's queue; past it, senders get `queue_full`.
    #[arg(long, env = "CONCLAVE_DS_QUEUE_MAX_BYTES", default_value_t = Limits::default().queue_max_bytes)]
    queue_max_bytes: u64,
    /// Most open connections; past it, new ones wait in the kernel's backlog.
    #[arg(long, env = "CONCLAVE_DS_MAX_CONNECTIONS", default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Most open connections from one address (IPv6: one /64).
    #[arg(long, env = "CONCLAVE_DS_CONNECTIONS_PER_ADDRESS", default_value_t = Limits::default().connections_per_address)]
    connections_per_address: usize,
    /// Seconds a client may take to send a request's headers.
    #[arg(long, env = "CONCLAVE_DS_HEADER_TIMEOUT_SECS", default_value_t = Limits::default().header_timeout.as_secs())]
    header_timeout_secs: u64,
    /// Most open push sockets.
    #[arg(long, env = "CONCLAVE_DS_MAX_PUSH_SOCKETS", default_value_t = Limits::default().max_push_sockets)]
    max_push_sockets: usize,
    /// Push sockets per device (a new one closes the oldest).
    #[arg(long, env = "CONCLAVE_DS_SOCKETS_PER_DEVICE", default_value_t = Limits::default().sockets_per_device)]
    sockets_per_device: usize,
    /// Registrations per hour from one address (IPv6: one /64).
    #[arg(long, env = "CONCLAVE_DS_REGISTRATIONS_PER_ADDRESS", default_value_t = Limits::default().registrations_per_address)]
    registrations_per_address: u32,
    /// Registrations per hour from everyone.
    #[arg(long, env = "CONCLAVE_DS_REGISTRATIONS_PER_HOUR", default_value_t = Limits::default().registrations_per_hour)]
    registrations_per_hour: u32,
    /// Bytes of request bodies and queue pages held at once.
    #[arg(long, env = "CONCLAVE_DS_MEMORY_BUDGET", default_value_t = Limits::default().memory_budget_bytes)]
    memory_budget_bytes: usize,
    /// Bytes one device link's transfer (history archive) may hold.
    #[arg(long, env = "CONCLAVE_DS_MAX_LINK_BYTES", default_value_t = Limits::default().max_link_bytes)]
    max_link_bytes: u64,
    /// Unsigned link chunk reads per second from one address.
    #[arg(long, env = "CONCLAVE_DS_LINK_READS_PER_SECOND", default_value_t = Limits::default().link_reads_per_second)]
    link_reads_per_second: u32,
    /// Bytes of one attachment's ciphertext.
    #[arg(long, env = "CONCLAVE_DS_MAX_BLOB_BYTES", default_value_t = Limits::default().max_blob_bytes)]
    max_blob_bytes: u64,
    /// Bytes of attachments one user may hold until they expire (with --retention-days).
    #[arg(long, env = "CONCLAVE_DS_BLOB_QUOTA_BYTES", default_value_t = Limits::default().blob_quota_bytes)]
    blob_quota_bytes: u64,
    /// Minutes after which a device link's transfer is deleted, fetched or not.
    #[arg(long, env = "CONCLAVE_DS_LINK_RETENTION_MINUTES", default_value_t = 60)]
    link_retention_minutes: u64,
    /// `full`: accepted messages survive power loss (fsync per group commit). `normal`: they
    /// survive a crash of this process, not of the machine; much lower latency on slow disks.
    #[arg(long, env = "CONCLAVE_DS_SYNCHRONOUS", default_value = "full", value_parser = ["full", "normal"])]
    synchronous: String,
}

fn default_db() -> PathBuf {
    directories::ProjectDirs::from("org", "Conclave", "conclave")
        .map(|d| d.data_dir().join("conclave-ds.sqlite"))
        .unwrap_or_else(|| PathBuf::from("conclave-ds.sqlite"))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Threads for blocking work (database reads and the like), at most. Reads take one of a few
/// connections, so more threads would only wait; and each thread that ever held a large
/// page keeps its allocator's cache of it, which with tokio's default of 512 threads was
/// most of the server's memory under a flood of fetches (docs/PERFORMANCE.md).
const BLOCKING_THREADS: usize = 32;

/// mimalloc's `mi_option_purge_delay` (mimalloc.h of the v3 that libmimalloc-sys 0.1.49,
/// pinned by Cargo.lock, builds); the crate names no constant for it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// Its default in that version, which tells that the number names the option we mean.
const DEFAULT_PURGE_DELAY_MS: std::ffi::c_long = 1000;
/// What the server sets it to: at once.
const PURGE_DELAY_MS: std::ffi::c_long = 0;

/// mimalloc keeps freed memory for a second before it gives it back to the system. Under a
/// flood of fetches the server frees hundreds of MiB a second (pages of large messages and
/// their JSON), and a second of them was most of its resident memory: 540-810 MiB with 1,000
/// devices fetching 1 MiB messages at once, 280 MiB with memory given back at once
/// (docs/PERFORMANCE.md); 440-480 MiB with 10 ms (mimalloc v2's default). The load
/// generator's deliveries per second did not move.
fn return_freed_memory_soon() {
    // SAFETY: both calls read or store one integer in mimalloc's option table, are made
    // before any other thread exists, and name the option by the number checked against
    // its known default first (a different mimalloc would leave the option alone).
    #[allow(unsafe_code)]
    unsafe {
        if libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) == DEFAULT_PURGE_DELAY_MS {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS);
        }
    }
}

fn main() -> std::process::ExitCode {
    return_freed_memory_soon();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let db = args
        .db
        .as_deref()
        .map_or_else(|| Database::Sqlite(default_db()), Database::parse);
    if let Database::Sqlite(path) = &db
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        tracing::error!(dir = %dir.display(), error = %e, "cannot create the database directory");
        return std::process::ExitCode::FAILURE;
    }
    let config = Config {
        db: db.clone(),
        limits: Limits {
            max_body_bytes: args.max_body_bytes,
            max_recipients: args.max_recipients,
            max_key_packages: args.max_key_packages,
            requests_per_second: args.requests_per_second,
            burst: args.burst,
            claims_per_target: args.claims_per_target,
            one_time_claims_per_target: args.one_time_claims_per_target,
            max_page: args.max_page,
            max_page_bytes: args.max_page_bytes,
            max_devices_per_user: args.max_devices_per_user,
            queue_max_items: args.queue_max_items,
            queue_max_bytes: args.queue_max_bytes,
            max_connections: args.max_connections,
            connections_per_address: args.connections_per_address,
            header_timeout: Duration::from_secs(args.header_timeout_secs.max(1)),
            max_push_sockets: args.max_push_sockets,
            sockets_per_device: args.sockets_per_device,
            registrations_per_address: args.registrations_per_address,
            registrations_per_hour: args.registrations_per_hour,
            memory_budget_bytes: args.memory_budget_bytes,
            max_link_bytes: args.max_link_bytes,
            link_reads_per_second: args.link_reads_per_second,
            max_blob_bytes: args.max_blob_bytes,
            blob_quota_bytes: args.blob_quota_bytes,
        },
        retention: Duration::from_secs(args.retention_days * 24 * 3600),
        link_retention: Duration::from_secs(args.link_retention_minutes.max(1) * 60),
        metrics_token: args.metrics_token.clone(),
        db_connections: args.db_connections.map(usize::from),
        durability: if args.synchronous == "normal" {
            Durability::Process
        } else {
            Durability::Full
        },
    };
    let server = match Server::open(config) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(%db, error = %e, "cannot open the database");
            return std::process::ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(listen = %args.listen, error = %e, "cannot listen");
            return std::process::ExitCode::FAILURE;
        }
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            match conclave_delivery::tls::server_config(cert, key, args.client_ca.as_deref()) {
                Ok(tls) => Some(tls),
                Err(e) => {
                    tracing::error!(error = %e, "cannot load the TLS certificate");
                    return std::process::ExitCode::FAILURE;
                }
            }
        }
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(listen = %args.listen, %scheme, %db, "conclave-ds listening");
    let served = match tls {
        Some(tls) => server.serve_tls(listener, tls, shutdown_signal()).await,
        None => server.serve(listener, shutdown_signal()).await,
    };
    match served {
        Ok(()) => {
            tracing::info!("stopped");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            std::process::ExitCode::FAILURE
        }
    }
}
