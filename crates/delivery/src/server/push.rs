//! WebSocket push: a connected device receives each new queue item as a JSON text frame as
//! soon as it is durably queued. It still fetches after its last sequence on (re)connect and
//! acknowledges over HTTP; push only saves the polling.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use crate::api::QueueItem;
use crate::server::Shared;
use crate::server::authn::authenticate;

/// Connected devices' push channels.
#[derive(Default)]
pub struct Hub {
    channels: Mutex<HashMap<i64, Vec<mpsc::UnboundedSender<QueueItem>>>>,
}

impl Hub {
    fn subscribe(&self, device: i64) -> mpsc::UnboundedReceiver<QueueItem> {
        let (tx, rx) = mpsc::unbounded_channel();
        if let Ok(mut channels) = self.channels.lock() {
            channels.entry(device).or_default().push(tx);
        }
        rx
    }

    /// Sends items to their devices' connections, dropping closed ones.
    pub fn push(&self, items: Vec<(i64, QueueItem)>) {
        let Ok(mut channels) = self.channels.lock() else {
            return;
        };
        for (device, item) in items {
            if let Some(senders) = channels.get_mut(&device) {
                senders.retain(|s| s.send(item.clone()).is_ok());
                if senders.is_empty() {
                    channels.remove(&device);
                }
            }
        }
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        self.channels
            .lock()
            .map(|c| c.values().map(Vec::len).sum())
            .unwrap_or(0)
    }
}

/// `GET /v1/ws`: a signed upgrade request (empty body).
pub async fn websocket(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    map: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    shared.metrics.request("ws");
    let authed = match authenticate(&shared, &method, &uri, &map, b"") {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let items = shared.hub.subscribe(authed.device.id);
    upgrade.on_upgrade(move |socket| run(socket, items))
}

async fn run(socket: WebSocket, mut items: mpsc::UnboundedReceiver<QueueItem>) {
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            item = items.recv() => {
                let Some(item) = item else { break };
                let Ok(text) = serde_json::to_string(&item) else { continue };
                if sink.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {} // pings are answered by the library; other frames ignored
            }
        }
    }
}
