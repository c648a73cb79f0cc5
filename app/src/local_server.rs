//! The local delivery service: where no server is configured, the app uses the local
//! default address; if nothing answers there it hosts a delivery service itself, in
//! process, on a SQLite file in the platform data directory shared by all local profiles.
//!
//! Every instance keeps watching the address: when the hosting instance quits, the next one
//! to find it silent takes over the same file (the address is free again and the hosting
//! process is gone, so the file is free too), and nothing accepted is lost (the delivery
//! service is durable before it answers).
//!
//! The local server speaks TLS with a certificate from this OS user's own CA
//! ([`LocalTls`]), and instances (and clients) trust only that: a process of another user
//! holding the address is never taken for the local server
//! ([`LocalServerState::Unavailable`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use conclave_delivery::{Config, Running, Server};
use tokio::sync::watch;

use crate::local_tls::LocalTls;

/// The local default address (what `conclave-ds` listens on by default).
pub const DEFAULT_LOCAL_ADDRESS: &str = "127.0.0.1:7300";

/// Who serves the local address, as the status bar says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocalServerState {
    /// Not yet checked.
    Checking,
    /// Another process of this user serves it (another app window).
    Elsewhere,
    /// This app hosts it.
    Hosting,
    /// Nobody serves it and hosting failed (why).
    Unavailable(String),
}

/// Keeps the local address served: checks it now, hosts it if silent, and takes over
/// later if the host goes away. Runs until the returned sender is dropped.
pub fn supervise(
    address: SocketAddr,
    db: PathBuf,
    tls: LocalTls,
) -> (watch::Receiver<LocalServerState>, watch::Sender<()>) {
    let (state_tx, state_rx) = watch::channel(LocalServerState::Checking);
    let (stop_tx, mut stop_rx) = watch::channel(());
    tokio::spawn(async move {
        let http = tls
            .client_config()
            .ok()
            .and_then(|trust| {
                reqwest::Client::builder()
                    .timeout(Duration::from_millis(800))
                    .use_preconfigured_tls((*trust).clone())
                    .build()
                    .ok()
            })
            .unwrap_or_default();
        let health = format!("{}/health", url(address));
        let mut hosted: Option<Running> = None;
        loop {
            if hosted.as_ref().is_some_and(Running::is_finished) {
                hosted = None;
            }
            if hosted.is_none() {
                let answered = http
                    .get(&health)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if answered {
                    state_tx.send_replace(LocalServerState::Elsewhere);
                } else {
                    match host(address, &db, &tls).await {
                        Ok(task) => {
                            tracing::info!("hosting the local delivery service on {address}");
                            hosted = Some(task);
                            state_tx.send_replace(LocalServerState::Hosting);
                        }
                        // Held, but not by a server of this user (that would have answered
                        // with our certificate), or another instance bound it a moment ago:
                        // the next check tells.
                        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                            state_tx.send_replace(LocalServerState::Unavailable(format!(
                                "{address} is held by a process that is not this user's \
                                 Conclave; close it, or use another server"
                            )));
                        }
                        Err(e) => {
                            state_tx.send_replace(LocalServerState::Unavailable(e.to_string()));
                        }
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                _ = stop_rx.changed() => break,
            }
        }
        if let Some(running) = hosted {
            let _ = running.stop().await;
        }
    });
    (state_rx, stop_tx)
}

/// The local server's address as clients use it: `https://localhost:PORT` (the name its
/// certificate carries).
pub fn url(address: SocketAddr) -> String {
    format!("https://localhost:{}", address.port())
}

async fn host(
    address: SocketAddr,
    db: &std::path::Path,
    tls: &LocalTls,
) -> std::io::Result<Running> {
    // Bind first: if another process holds the address, its server owns the file too.
    let probe = std::net::TcpListener::bind(address)?;
    drop(probe);
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let server = Server::open(Config::new(db.to_path_buf()))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    server.spawn_tls(address, tls.server_config()?).await
}
