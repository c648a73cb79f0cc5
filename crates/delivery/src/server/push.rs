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

/// Read buffer and largest frame accepted from a device on its push socket.
const PUSH_READ_BUFFER: usize = 4096;

/// Connected devices' push channels; each carries ready-to-send JSON frames.
#[derive(Default)]
pub struct Hub {
    channels: Mutex<HashMap<i64, Vec<mpsc::UnboundedSender<String>>>>,
}

/// JSON frames for queue items, encoding what consecutive items share once: a message to
/// ten devices is ten items that differ only in `seq`, the first field.
#[derive(Default)]
struct Frames {
    /// The last item encoded (its `seq` aside), and its encoding after the `seq` value.
    last: Option<(QueueItem, String)>,
}

impl Frames {
    fn frame(&mut self, item: &QueueItem) -> Option<String> {
        let same = self
            .last
            .as_ref()
            .is_some_and(|(last, _)| same_but_seq(last, item));
        if !same {
            let encoded = serde_json::to_string(&QueueItem {
                seq: 0,
                ..item.clone()
            })
            .ok()?;
            let rest = encoded.strip_prefix(r#"{"seq":0"#)?.to_owned();
            self.last = Some((item.clone(), rest));
        }
        let rest = &self.last.as_ref()?.1;
        Some(format!(r#"{{"seq":{}{rest}"#, item.seq))
    }
}

/// Whether two items are equal in all but `seq`. (Destructured, so that a new field cannot be
/// forgotten here.)
fn same_but_seq(a: &QueueItem, b: &QueueItem) -> bool {
    let QueueItem {
        seq: _,
        sender,
        kind,
        group_id,
        epoch,
        message,
        ratchet_tree,
    } = a;
    *sender == b.sender
        && *kind == b.kind
        && *group_id == b.group_id
        && *epoch == b.epoch
        && *message == b.message
        && *ratchet_tree == b.ratchet_tree
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
    pub fn push(&self, items: Vec<(i64, QueueItem)>) {
        let Ok(mut channels) = self.channels.lock() else {
            return;
        };
        let mut frames = Frames::default();
        for (device, item) in items {
            if let Some(senders) = channels.get_mut(&device) {
                let Some(frame) = frames.frame(&item) else {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Bytes, DeviceRef, MessageKind};

    fn item(seq: u64, message: &[u8], tree: Option<&[u8]>) -> QueueItem {
        QueueItem {
            seq,
            sender: DeviceRef {
                user: "alice".into(),
                device: "laptop \"1\"".into(),
            },
            kind: MessageKind::Application,
            group_id: Bytes(b"g".to_vec()),
            epoch: 7,
            message: Bytes(message.to_vec()),
            ratchet_tree: tree.map(|t| Bytes(t.to_vec())),
        }
    }

    /// Every frame is exactly the item's JSON, whether its shared part was reused or not.
    #[test]
    fn frames_are_the_items_json() {
        let items = [
            item(1, b"one", None),
            item(2, b"one", None),
            item(u64::MAX, b"one", None),
            item(3, b"two", None),
            item(4, b"two", Some(b"tree")),
            item(0, b"two", Some(b"tree")),
        ];
        let mut frames = Frames::default();
        for item in &items {
            let frame = frames.frame(item).unwrap();
            assert_eq!(frame, serde_json::to_string(item).unwrap());
            assert_eq!(&serde_json::from_str::<QueueItem>(&frame).unwrap(), item);
        }
    }
}
