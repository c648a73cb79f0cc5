//! The background work of [`Client::start`]: the push socket with reconnects, and the worker
//! that syncs, retries the outbox, rotates keys and expires past epochs.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::engine::Op;
use crate::{Client, ClientError, ClientEvent, ConnectionState};

/// The background tasks of [`Client::start`]; dropping this stops them.
pub struct Background {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

pub(crate) fn start(client: Client) -> Background {
    let push = tokio::spawn(push_loop(client.clone()));
    let work = tokio::spawn(work_loop(client));
    Background {
        tasks: vec![push, work],
    }
}

/// Keeps a WebSocket open to the server; every frame (a new queue item) wakes the worker,
/// whose one fetch after the cursor brings whatever arrived.
async fn push_loop(client: Client) {
    let inner = client.inner();
    let (min_backoff, max_backoff) = (inner.config.min_backoff, inner.config.max_backoff);
    let mut backoff = min_backoff;
    loop {
        client.emit(ClientEvent::Connection(ConnectionState::Connecting));
        match inner.ds.connect_push().await {
            Ok(mut socket) => {
                backoff = min_backoff;
                client.emit(ClientEvent::Connection(ConnectionState::Online));
                // Catch up on what arrived while disconnected.
                inner.wake.notify_one();
                while socket.next_seq().await.is_some() {
                    inner.wake.notify_one();
                }
                // Closed by the server: among the reasons, this device's revocation, which
                // the worker's next request learns.
                inner.wake.notify_one();
            }
            Err(e) => tracing::debug!("push connection failed: {e}"),
        }
        if inner.revoked.load(std::sync::atomic::Ordering::Relaxed) {
            return; // nothing more to hear
        }
        client.emit(ClientEvent::Connection(ConnectionState::Offline));
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(max_backoff);
    }
}

/// Syncs when woken (push) and every 30 s; sends due outbox entries; rotates keys; drops
/// past epochs' keys when their lifetime is over; deletes messages whose time is up.
async fn work_loop(client: Client) {
    const POLL: Duration = Duration::from_secs(30);
    const TICK: Duration = Duration::from_secs(1);
    let inner = client.inner();
    let mut since_sync = POLL; // sync at once
    loop {
        let woken = tokio::select! {
            _ = inner.wake.notified() => true,
            _ = tokio::time::sleep(TICK) => false,
        };
        since_sync += if woken { Duration::ZERO } else { TICK };
        let mut engine = inner.engine.lock().await;
        if woken || since_sync >= POLL {
            since_sync = Duration::ZERO;
            match engine.sync().await {
                Ok(_) => {}
                // The engine deleted the groups and told the UI: there is nothing more to do.
                Err(ClientError::Revoked) => {
                    inner
                        .revoked
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    return;
                }
                Err(e) => {
                    report(&client, e);
                    continue;
                }
            }
        }
        match engine.outbox_due() {
            Ok(true) => {
                if let Err(e) = engine.flush_outbox().await {
                    report(&client, e);
                }
            }
            Ok(false) => {}
            Err(e) => report(&client, e),
        }
        let due = match engine.rotations_due() {
            Ok(due) => due,
            Err(e) => {
                report(&client, e);
                Vec::new()
            }
        };
        for conversation in due {
            if let Err(e) = engine.commit_op(conversation, Op::Update).await {
                report(&client, e);
                break;
            }
        }
        if let Err(e) = engine.expire_past_epochs() {
            report(&client, e);
        }
        match crate::engine::sweep_expired(&inner.store, crate::engine::now_ms()) {
            Ok(events) => events.into_iter().for_each(|e| client.emit(e)),
            Err(e) => report(&client, e),
        }
    }
}

fn report(client: &Client, error: ClientError) {
    if error.is_offline() {
        tracing::debug!("{error}");
    } else {
        client.emit(ClientEvent::Error {
            message: error.to_string(),
        });
    }
}
