//! Linking a device whose user has 20 conversations and 100,000 messages: the time until the
//! new device is usable (it joined its conversations), until its history is complete, and
//! the history's size per message. A real server on 127.0.0.1, real profiles on disk.
//!
//! `cargo bench -p conclave-client --bench link` (one round; `LINK_BENCH_MESSAGES` and
//! `LINK_BENCH_CONVERSATIONS` change the sizes).

use std::time::{Duration, Instant};

use conclave_client::link::{LinkCode, LinkProgress, PendingLink};
use conclave_client::{Client, ClientConfig, MessageKind, MessageState, NewMessage, UserName};
use conclave_storage::Store;
use conclave_test_support::TestServer;

fn config() -> ClientConfig {
    ClientConfig {
        rotation_interval: None,
        request_timeout: Duration::from_secs(60),
        ..ClientConfig::default()
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo test --benches` runs this too: one tiny round then.
    let quick = std::env::args().any(|a| a == "--test" || a == "--list");
    let conversations = if quick {
        2
    } else {
        env("LINK_BENCH_CONVERSATIONS", 20)
    };
    let messages = if quick {
        200
    } else {
        env("LINK_BENCH_MESSAGES", 100_000)
    };
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice_dir = dir.path().join("alice");
    let alice = Client::create_with(&alice_dir, "alice", &server.url(), config())
        .await
        .unwrap();
    let bob = Client::create_with(&dir.path().join("bob"), "bob", &server.url(), config())
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..conversations {
        let id = alice
            .create_conversation(
                &format!("Conversation {i}"),
                &[UserName::new("bob").unwrap()],
            )
            .await
            .unwrap();
        alice.send_text(id, "hello").await.unwrap();
        ids.push(id);
    }
    bob.sync().await.unwrap();
    let me = alice.me().clone();
    drop(alice);
    // The history, as alice's client would have stored it: texts of 40-120 characters from
    // both users, spread over the conversations.
    {
        let mut store = Store::open(alice_dir.join(conclave_client::PROFILE_FILE)).unwrap();
        let tx = store.transaction().unwrap();
        let bob_id = bob.me().clone();
        for i in 0..messages {
            let outgoing = i % 2 == 0;
            let body = format!(
                "message {i}: {}",
                "lorem ipsum dolor sit amet ".repeat(1 + i % 4)
            );
            tx.insert_message(&NewMessage {
                conversation: ids[i % ids.len()],
                uid: format!("bench-{i}").into_bytes(),
                sender: if outgoing { me.clone() } else { bob_id.clone() },
                sent_at: i as i64,
                received_at: (!outgoing).then_some(i as i64),
                body,
                state: if outgoing {
                    MessageState::Sent
                } else {
                    MessageState::Received
                },
                server_seq: None,
                outgoing,
                kind: MessageKind::Text,
                reply_to: None,
                expires_at: None,
                attachment: None,
            })
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let alice = Client::open_with(&alice_dir, config()).await.unwrap();

    let wait = Duration::from_secs(300);
    let pending = PendingLink::start(
        &dir.path().join("desktop"),
        &server.url(),
        Some("desktop"),
        wait,
        config(),
    )
    .await
    .unwrap();
    let code = LinkCode::parse(&pending.code()).unwrap();
    let start = Instant::now();
    let (marks, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let new_device = tokio::spawn(pending.complete(wait, move |p| {
        let _ = marks.send((start.elapsed(), p));
    }));
    let report = alice.approve_link(&code, wait, |_| {}).await.unwrap();
    let sent = start.elapsed();
    let desktop = new_device.await.unwrap().unwrap();
    let complete = start.elapsed();
    let mut usable = None;
    while let Ok((at, p)) = seen.try_recv() {
        if matches!(p, LinkProgress::Joined { .. }) {
            usable = Some(at);
        }
    }
    let mut stored = 0;
    for c in desktop.conversations().await.unwrap() {
        stored += desktop.message_count(c.conversation.id).await.unwrap();
    }
    println!(
        "link: {conversations} conversations, {} messages of history",
        report.messages
    );
    println!(
        "  usable (joined every conversation): {:.2} s",
        usable.unwrap_or_default().as_secs_f64()
    );
    println!(
        "  approving device done sending:      {:.2} s",
        sent.as_secs_f64()
    );
    println!(
        "  history complete:                   {:.2} s",
        complete.as_secs_f64()
    );
    println!(
        "  history: {:.1} MB sent, {:.0} bytes per message; {stored} messages stored",
        report.bytes as f64 / 1e6,
        report.bytes as f64 / report.messages.max(1) as f64
    );
    assert!(stored as usize >= messages, "{stored} < {messages}");
}
