//! WebSocket push: a connected device is told each new queue item's sequence number (a
//! `PushFrame`, JSON) as soon as the item is durably queued, and fetches what it has not
//! processed yet over HTTP. The fetch is the one path by which items arrive; push only saves
//! the polling, and a frame is a few bytes whatever the message's size.
//!
//! Bounded: a device holds at most `sockets_per_device` sockets (a new one closes its
//! oldest, so a device that reconnects is never locked out by a dead socket), and the server
//! at most `max_push_sockets`. A socket holds at most one frame not yet written: frames
//! coalesce into the newest sequence number (a device that hears of item 9 fetches 1 to 9
//! alike), so a slow socket costs no memory however much arrives; one that does not take a
//! frame within `SEND_TIMEOUT` is closed, and its device fetches when it reconnects.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::watch;

use crate::Shared;
use crate::error::ApiError;
use crate::extract::SignedEmpty;
use conclave_delivery_api::{ErrorCode, PushFrame};

/// Read buffer and largest frame accepted from a device on its push socket.
const PUSH_READ_BUFFER: usize = 4096;

/// WebSocket close code 1013, "try again later": the socket was closed by the server's
/// limits, and the device should fetch its queue and reconnect.
const TRY_AGAIN_LATER: u16 = 1013;

/// How long a frame may take to be written. A device that stops reading its socket fills
/// the TCP buffers, then waits this long, and its socket is dropped.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Connected devices' push channels; each holds the newest sequence number not yet told.
pub struct Hub {
    channels: Mutex<Channels>,
    per_device: usize,
    max: usize,
}

#[derive(Default)]
struct Channels {
    /// Per device, its sockets' channels, oldest first, each with its id.
    by_device: HashMap<i64, Vec<(u64, watch::Sender<u64>)>>,
    open: usize,
    next_id: u64,
}

impl Channels {
    fn remove(&mut self, device: i64, id: u64) {
        if let Some(senders) = self.by_device.get_mut(&device) {
            let before = senders.len();
            senders.retain(|(i, _)| *i != id);
            self.open -= before - senders.len();
            if senders.is_empty() {
                self.by_device.remove(&device);
            }
        }
    }
}

/// One socket's place in the hub: its frames, and its removal from the hub when dropped
/// (whether the socket ran and closed, or its upgrade never completed).
pub(crate) struct Subscription {
    /// The newest sequence number pushed (0: none yet).
    newest: watch::Receiver<u64>,
    device: i64,
    id: u64,
    shared: Arc<Shared>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Ok(mut channels) = self.shared.hub.channels.lock() {
            channels.remove(self.device, self.id);
        }
    }
}

impl Hub {
    pub(crate) fn new(per_device: usize, max: usize) -> Self {
        Self {
            channels: Mutex::new(Channels::default()),
            per_device: per_device.max(1),
            max,
        }
    }

    /// A channel for a new socket of `device`, closing the device's oldest beyond its
    /// limit; `None` when the server has as many sockets as it allows.
    fn subscribe(&self, shared: &Arc<Shared>, device: i64) -> Option<Subscription> {
        let mut channels = self.channels.lock().ok()?;
        let channels = &mut *channels;
        if channels.open >= self.max {
            return None;
        }
        let (tx, rx) = watch::channel(0);
        let id = channels.next_id;
        channels.next_id += 1;
        let senders = channels.by_device.entry(device).or_default();
        while senders.len() >= self.per_device {
            senders.remove(0); // its socket sees its channel end and closes
            channels.open -= 1;
        }
        senders.push((id, tx));
        channels.open += 1;
        Some(Subscription {
            newest: rx,
            device,
            id,
            shared: shared.clone(),
        })
    }

    /// Tells items to their devices' sockets; a socket that is gone loses its channel.
    pub fn push(&self, items: Vec<(i64, u64)>) {
        let Ok(mut channels) = self.channels.lock() else {
            return;
        };
        let channels = &mut *channels;
        for (device, seq) in items {
            let Some(senders) = channels.by_device.get_mut(&device) else {
                continue;
            };
            let before = senders.len();
            senders.retain(|(_, s)| {
                s.send_if_modified(|newest| {
                    let newer = seq > *newest;
                    if newer {
                        *newest = seq;
                    }
                    newer
                });
                !s.is_closed()
            });
            channels.open -= before - senders.len();
            if senders.is_empty() {
                channels.by_device.remove(&device);
            }
        }
    }

    /// Closes every socket of `device` (its channels end, and so do the sockets).
    pub fn disconnect(&self, device: i64) {
        if let Ok(mut channels) = self.channels.lock()
            && let Some(senders) = channels.by_device.remove(&device)
        {
            channels.open -= senders.len();
        }
    }

    /// Open sockets.
    pub fn connections(&self) -> usize {
        self.channels.lock().map(|c| c.open).unwrap_or(0)
    }
}

/// `GET /v1/ws`: a signed upgrade request (empty body).
pub async fn websocket(
    State(shared): State<Arc<Shared>>,
    SignedEmpty(authed): SignedEmpty,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(subscription) = shared.hub.subscribe(&shared, authed.device.id) else {
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyConnections,
            "the server has as many push sockets as it allows; fetch, and retry later",
        )
        .into_response();
    };
    // Devices send nothing but control frames on this socket. tungstenite zero-fills its
    // whole read buffer (128 KiB by default) on every read, which with many sockets was the
    // server's largest single cost, and 1,000 idle sockets held 128 MiB of it.
    upgrade
        .read_buffer_size(PUSH_READ_BUFFER)
        .max_message_size(PUSH_READ_BUFFER)
        .max_frame_size(PUSH_READ_BUFFER)
        .on_upgrade(move |socket| run(socket, subscription))
}

async fn run(socket: WebSocket, mut subscription: Subscription) {
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            changed = subscription.newest.changed() => {
                if changed.is_err() {
                    // Closed by the hub: replaced by a newer socket of the device.
                    let close = Message::Close(Some(CloseFrame {
                        code: TRY_AGAIN_LATER,
                        reason: "push closed by the server: fetch the queue".into(),
                    }));
                    let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(close)).await;
                    break;
                }
                let seq = *subscription.newest.borrow_and_update();
                let Ok(frame) = serde_json::to_string(&PushFrame { seq }) else {
                    break;
                };
                let sent = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(frame.into())));
                if !matches!(sent.await, Ok(Ok(()))) {
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

#[cfg(test)]
mod tests {
    /// However many items arrive for a socket that is not read, it holds one number.
    #[test]
    fn pushes_to_an_unread_socket_coalesce_and_a_new_socket_replaces_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::Config::new(dir.path().join("ds.sqlite"));
        config.limits.sockets_per_device = 2;
        let server = crate::Server::open(config).unwrap();
        let shared = &server.shared;
        let mut unread = shared.hub.subscribe(shared, 7).unwrap();
        shared.hub.push((1..=100_000).map(|seq| (7, seq)).collect());
        assert!(unread.newest.has_changed().unwrap());
        assert_eq!(*unread.newest.borrow_and_update(), 100_000);
        assert!(
            !unread.newest.has_changed().unwrap(),
            "one frame, not 100,000"
        );

        let _second = shared.hub.subscribe(shared, 7).unwrap();
        let _third = shared.hub.subscribe(shared, 7).unwrap();
        assert_eq!(shared.hub.connections(), 2);
        assert!(unread.newest.has_changed().is_err(), "the oldest is closed");
        drop(unread);
        assert_eq!(shared.hub.connections(), 2);
    }
}
