//! The local delivery service: where no server is configured, the app uses the local
//! default address; if nothing answers there it hosts a delivery service itself, in
//! process, on a SQLite file in the platform data directory shared by all local profiles.
//!
//! Every instance keeps watching the address: when the hosting instance quits, the next one
//! to find it silent takes over the same file (the address is free again and the hosting
//! process is gone, so the file is free too), and nothing accepted is lost (the delivery
//! service is durable before it answers).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use conclave_delivery::{Config, Running, Server};
use tokio::sync::watch;

/// The local default address (what `conclave-ds` listens on by default).
pub const DEFAULT_LOCAL_ADDRESS: &str = "127.0.0.1:7300";

/// Who serves the local address, as the status bar says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocalServerState {
    /// Not yet checked.
    Checking,
    /// Another process serves it (another app window, or a `conclave-ds`).
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
) -> (watch::Receiver<LocalServerState>, watch::Sender<()>) {
    let (state_tx, state_rx) = watch::channel(LocalServerState::Checking);
    let (stop_tx, mut stop_rx) = watch::channel(());
    tokio::spawn(async move {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(800))
            .build()
            .unwrap_or_default();
        let health = format!("http://{address}/health");
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
                    match host(address, &db).await {
                        Ok(task) => {
                            tracing::info!("hosting the local delivery service on {address}");
                            hosted = Some(task);
                            state_tx.send_replace(LocalServerState::Hosting);
                        }
                        // Someone else bound it first: they host; we use theirs.
                        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                            state_tx.send_replace(LocalServerState::Elsewhere);
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

async fn host(address: SocketAddr, db: &std::path::Path) -> std::io::Result<Running> {
    // Bind first: if another process holds the address, its server owns the file too.
    let probe = std::net::TcpListener::bind(address)?;
    drop(probe);
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let server = Server::open(Config::new(db.to_path_buf()))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    server.spawn(address).await
}
