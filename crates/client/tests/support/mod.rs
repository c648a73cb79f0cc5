//! A real delivery service on 127.0.0.1 in the test process, and client helpers.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use conclave_client::{Client, ClientConfig, ClientEvent, ConversationId, MessageKind, UserName};
pub use conclave_test_support::TestServer;

/// Settings for tests: no scheduled rotation (tests rotate explicitly), quick retries.
pub fn config() -> ClientConfig {
    ClientConfig {
        rotation_interval: None,
        key_package_stock: 4,
        min_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        request_timeout: Duration::from_secs(20),
        ..ClientConfig::default()
    }
}

pub async fn client(dir: &Path, name: &str, server: &TestServer) -> Client {
    Client::create_with(&dir.join(name), name, &server.url(), config())
        .await
        .unwrap()
}

pub async fn reopen(dir: &Path, name: &str) -> Client {
    Client::open_with(&dir.join(name), config()).await.unwrap()
}

pub fn user(name: &str) -> UserName {
    UserName::new(name).unwrap()
}

/// The texts of a conversation's text messages, oldest first, as `user: body`.
pub async fn texts(client: &Client, conversation: ConversationId) -> Vec<String> {
    let mut messages = client.history(conversation, None, 10_000).await.unwrap();
    messages.reverse();
    messages
        .into_iter()
        .filter(|m| m.message.kind == MessageKind::Text)
        .map(|m| format!("{}: {}", m.message.sender.user, m.message.body))
        .collect()
}

/// The conversation a client has for the group `of` has (by group id), as it is (a request
/// stays a request).
pub async fn same_group(client: &Client, of: &Client, id: ConversationId) -> ConversationId {
    let group = of.conversation(id).await.unwrap().group_id;
    client
        .conversations()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.conversation.group_id == group)
        .map(|c| c.conversation.id)
        .unwrap_or_else(|| panic!("{} has no conversation for {group}", client.me()))
}

/// [`same_group`], accepted as its user would accept an invitation from someone new before
/// replying.
pub async fn same_conversation(client: &Client, of: &Client, id: ConversationId) -> ConversationId {
    let found = same_group(client, of, id).await;
    client.accept(found).await.unwrap();
    found
}

pub async fn authenticator(client: &Client, id: ConversationId) -> (u64, String) {
    let s = client.security(id).await.unwrap();
    (s.epoch, s.epoch_authenticator)
}

/// Waits (bounded) for an event that matches.
pub async fn wait_for(
    events: &mut tokio::sync::broadcast::Receiver<ClientEvent>,
    what: impl Fn(&ClientEvent) -> bool,
) -> ClientEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(event)) if what(&event) => return event,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("event stream failed: {e}"),
            Err(_) => panic!("timed out waiting for an event"),
        }
    }
}

/// `owner` creates a conversation with the users of `others`, who sync and find it. Returns
/// the owner's conversation id and each other's, in order.
pub async fn start_conversation(
    owner: &Client,
    name: &str,
    others: &[&Client],
) -> (ConversationId, Vec<ConversationId>) {
    let users: Vec<UserName> = others.iter().map(|c| c.me().user.clone()).collect();
    let id = owner.create_conversation(name, &users).await.unwrap();
    let mut theirs = Vec::new();
    for other in others {
        other.sync().await.unwrap();
        theirs.push(same_conversation(other, owner, id).await);
    }
    (id, theirs)
}

/// The devices of `clients`, as envelopes name recipients.
pub fn devices_of(clients: &[&Client]) -> Vec<conclave_delivery_api::DeviceRef> {
    clients
        .iter()
        .map(|c| conclave_delivery_api::DeviceRef {
            user: c.me().user.to_string(),
            device: c.me().device.to_string(),
        })
        .collect()
}

/// Posts `envelope` to the server signed by `identity`, as a client of that device would
/// (for attacks a real client does not make): the status and the JSON body.
pub async fn post_envelope(
    server: &TestServer,
    identity: &conclave_protocol::Identity,
    envelope: &conclave_delivery_api::Envelope,
) -> (reqwest::StatusCode, serde_json::Value) {
    post_signed(
        server,
        identity,
        conclave_delivery_api::paths::MESSAGES,
        envelope,
    )
    .await
}

/// Posts `body` as JSON to `path` signed by `identity`: the status and the JSON answer.
pub async fn post_signed(
    server: &TestServer,
    identity: &conclave_protocol::Identity,
    path: &str,
    body: &impl serde::Serialize,
) -> (reqwest::StatusCode, serde_json::Value) {
    use conclave_delivery_api::auth::{fresh_identity, sign_request};
    let body = serde_json::to_vec(body).unwrap();
    let member = identity.member();
    let signed = sign_request(
        identity,
        "POST",
        path,
        &body,
        &fresh_identity(member.user.as_str(), member.device.as_str()),
    )
    .unwrap();
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", server.url()))
        .body(body);
    for (name, value) in signed {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or_default())
}

/// Restores `name`'s profile from the copy in `backup` (its client closed), and opens it.
pub async fn restore(dir: &Path, name: &str, backup: &Path) -> Client {
    std::fs::remove_dir_all(dir.join(name)).unwrap();
    copy_dir(backup, &dir.join(name));
    reopen(dir, name).await
}

/// Copies a profile directory (a backup, or its restoring), the client on it closed.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
