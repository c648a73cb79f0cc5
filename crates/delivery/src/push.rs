//! WebSocket push: a connected device is told each new queue item's sequence number (a
//! `PushFrame`, JSON) as soon as the item is durably queued, and fetches what it has not
//! processed yet over HTTP. The fetch is the one path by which items arrive; push only saves
//! the polling, and a frame is a few bytes whatever the message's size.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use crate::Shared;
use crate::extract::SignedEmpty;
use conclave_delivery_api::PushFrame;

/// Read buffer and largest frame accepted from a device on its push socket.
const PUSH_READ_BUFFER: usize = 4096;

/// Connected devices' push channels; each carries ready-to-send JSON frames.
#[derive(Default)]
pub struct Hub {
    channels: Mutex<HashMap<i64, Vec<mpsc::UnboundedSender<String>>>>,
}

impl Hub {
    fn subscribe(&self, device: i64) -> mpsc::UnboundedReceiver<String> {
        let (tx, rx) = mpsc::unbounded_channel();
        if let Ok(mut channels) = self.channels.lock() {
            channels.entry(device).or_default().push(tx);
        }
        rx
    }

    /// Sends items to their devices' connections, dropping closed ones.
    pub fn push(&self, items: Vec<(i64, u64)>) {
        let Ok(mut channels) = self.channels.lock() else {
            return;
        };
        for (device, seq) in items {
            if let Some(senders) = channels.get_mut(&device) {
                let Ok(frame) = serde_json::to_string(&PushFrame { seq }) else {
                    continue;
                };
                senders.retain(|s| s.send(frame.clone()).is_ok());
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
    SignedEmpty(authed): SignedEmpty,
    upgrade: WebSocketUpgrade,
) -> Response {
    let items = shared.hub.subscribe(authed.device.id);
    // Devices send nothing but control frames on this socket. tungstenite zero-fills its
    // whole read buffer (128 KiB by default) on every read, which with many sockets was the
    // server's largest single cost, and 1,000 idle sockets held 128 MiB of it.
    upgrade
        .read_buffer_size(PUSH_READ_BUFFER)
        .max_message_size(PUSH_READ_BUFFER)
        .max_frame_size(PUSH_READ_BUFFER)
        .on_upgrade(move |socket| run(socket, items))
}

async fn run(socket: WebSocket, mut frames: mpsc::UnboundedReceiver<String>) {
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            frame = frames.recv() => {
                let Some(frame) = frame else { break };
                if sink.send(Message::Text(frame.into())).await.is_err() {
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
