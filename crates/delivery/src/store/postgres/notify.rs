//! How nodes sharing one database hear of each other: a write that another node must know
//! of (a device registered, added or revoked; items queued, to push) sends a notification
//! on the `conclave_ds` channel in its own transaction (PostgreSQL delivers it at commit,
//! never for a rolled-back one), and each node listens on a connection of its own and turns
//! the other nodes' notifications into [`StoreEvent`]s. Push stays a wake-up: a lost
//! notification delays a device's fetch, it loses nothing.

use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;

use super::super::StoreEvent;
use super::pool::{Db, PgError};

/// The channel every node listens on.
const CHANNEL: &str = "conclave_ds";

/// Queued items per notification: a payload must stay under PostgreSQL's 8,000 bytes.
pub(super) const ITEMS_PER_NOTIFICATION: usize = 250;

/// Events waiting for the server to take them. Pushes beyond are dropped (their devices
/// fetch on their next wake-up); device changes and resyncs wait for room.
const EVENTS_QUEUED: usize = 4_096;

#[derive(Serialize, Deserialize)]
struct Payload {
    /// The node that sent it (a node ignores its own).
    node: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    device: Option<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    queued: Vec<(i64, u64)>,
}

async fn send(db: &Db<'_>, payload: &Payload) -> Result<(), PgError> {
    let text = serde_json::to_string(payload)
        .map_err(|e| super::super::StoreError::Internal(format!("notification: {e}")))?;
    db.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &text])
        .await?;
    Ok(())
}

/// Tells the other nodes that a device's record changed.
pub(super) async fn device_changed(db: &Db<'_>, user: &str, device: &str) -> Result<(), PgError> {
    let payload = Payload {
        node: db.node(),
        device: Some((user.to_owned(), device.to_owned())),
        queued: Vec::new(),
    };
    send(db, &payload).await
}

/// Tells the other nodes of queued items, for the pushes of their devices' sockets.
pub(super) async fn queued(db: &Db<'_>, items: &[(i64, u64)]) -> Result<(), PgError> {
    for chunk in items.chunks(ITEMS_PER_NOTIFICATION) {
        let payload = Payload {
            node: db.node(),
            device: None,
            queued: chunk.to_vec(),
        };
        send(db, &payload).await?;
    }
    Ok(())
}

/// Starts listening, on a thread with a connection of its own, for the notifications of
/// nodes other than `node`; reconnects when the connection is lost (then sends
/// [`StoreEvent::Resync`]), and stops when the receiver is dropped.
pub(super) fn listen(
    config: tokio_postgres::Config,
    node: i64,
) -> Result<mpsc::Receiver<StoreEvent>, super::super::StoreError> {
    let (tx, rx) = mpsc::channel(EVENTS_QUEUED);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| super::super::StoreError::Internal(format!("postgres runtime: {e}")))?;
    std::thread::Builder::new()
        .name("ds-postgres-listen".into())
        .spawn(move || {
            runtime.block_on(async move {
                let mut first = true;
                while !tx.is_closed() {
                    if !first && tx.send(StoreEvent::Resync).await.is_err() {
                        return;
                    }
                    first = false;
                    if let Err(e) = listen_once(&config, node, &tx).await {
                        tracing::warn!(error = %e, "listening for other nodes failed; again in 1 s");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            });
        })
        .map_err(|e| super::super::StoreError::Internal(e.to_string()))?;
    Ok(rx)
}

/// Listens on one connection until nobody takes the events any more (`Ok`) or the
/// connection is lost (`Err`).
async fn listen_once(
    config: &tokio_postgres::Config,
    node: i64,
    tx: &mpsc::Sender<StoreEvent>,
) -> Result<(), String> {
    let (client, mut connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| e.to_string())?;
    let (notes_tx, mut notes) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(note)) => {
                    if notes_tx.send(note.payload().to_owned()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map_err(|e| e.to_string())?;
    loop {
        // Nobody taking the events any more (the server stopped): the connection goes now,
        // not at the next notification.
        let text = tokio::select! {
            note = notes.recv() => match note {
                Some(text) => text,
                None => break,
            },
            () = tx.closed() => return Ok(()),
        };
        let Ok(payload) = serde_json::from_str::<Payload>(&text) else {
            continue;
        };
        if payload.node == node {
            continue;
        }
        if let Some((user, device)) = payload.device
            && tx.send(StoreEvent::Device { user, device }).await.is_err()
        {
            return Ok(());
        }
        if !payload.queued.is_empty() {
            // A push that finds no room is dropped: its device fetches on its next wake-up.
            let _ = tx.try_send(StoreEvent::Queued(payload.queued));
        }
    }
    driver.abort();
    drop(client);
    Err("the listening connection ended".into())
}
